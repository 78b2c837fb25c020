/// The name, number and kind of an account: what does not change as money moves.
struct AccountInfo: Sendable, Equatable {
  var number: AccountNumber
  var name: String
  var kind: AccountKind
  var currency: Currency
  var openedAt: Int64
}

/// A pending hold: its record and the journal sequence of that record. A hold leaves memory when it
/// is posted, voided or expired; its record stays findable through the journal (by its key, or by
/// a scan for ``Ledger/hold(_:)``).
struct Hold: Sendable, Equatable {
  var record: TransferRecord
  var sequence: UInt64
}

/// Reads a committed record's bytes by sequence number (the commit path's window on the journal,
/// for the idempotency check of a key whose record is already stored).
typealias RecordReader = @Sendable (UInt64) throws(BankError) -> [UInt8]

/// What a batch changed, so that a refused batch or a failed append can be rolled back exactly.
struct Stage {
  var balanceUndo: [(Int, Balances)] = []
  var keysAdded = 0
  var holdUndo: [(UInt64, Hold?)] = []
  var rebaseUndo: [(Int, Int128?)] = []
  /// Expiry-index entries taken out by `expireHolds`, put back on rollback.
  var expiryTaken: [ExpiryIndex.Entry] = []
  var accountCount: Int
  var counters: LedgerState.Counters
  /// The sequence of the last record stored before this batch: the batch's records follow it.
  var baseSequence: UInt64 = 0
  /// Reads a stored record; `nil` only in tests that never look a key up.
  var read: RecordReader?

  /// A stage for a transaction on `state` after `baseSequence`, taking `undo`'s buffer (empty,
  /// kept for its capacity) for its undo log.
  init(
    _ state: LedgerState, baseSequence: UInt64, read: RecordReader?,
    undo: inout [(Int, Balances)]
  ) {
    accountCount = state.info.count
    counters = state.counters
    self.baseSequence = baseSequence
    self.read = read
    swap(&balanceUndo, &undo)
  }
}

/// The ledger's pure core: accounts, balances, holds and idempotency keys.
///
/// Commands are validated against the current state and turned into records; records are applied
/// by ``apply(_:stage:)``, which never reads a clock and never fails for a validated record. Replay
/// of the same records therefore rebuilds the same state.
struct LedgerState: Sendable {
  /// The ledger's snapshot section.
  static let coreID: UInt8 = 1
  /// The record tags the ledger owns.
  static let tags: ClosedRange<UInt8> = 1...31

  struct Counters: Sendable, Equatable {
    var nextTransfer: UInt64 = 1
    var lastTimestamp: Int64 = 0
    var nextCustomerBase: UInt64 = 10_000_001
    var nextInternalBase: UInt64 = 90_000_001
    /// The first base of the bank's own range: `9000-0000-…` and above are vaults and the other
    /// internal accounts, never a customer's.
    static let internalNumberBase: UInt64 = 90_000_000
  }

  var info: [AccountInfo] = []
  var bal: [Balances] = []
  var byNumber = AccountIndex()
  /// The vault of each currency code (``Currency/letters``).
  var vaults: [UInt32: AccountID] = [:]
  /// Every idempotency key ever used: digest and record sequence (``KeyIndex``).
  var keys = KeyIndex()
  /// Pending holds by transfer number.
  var holds: [UInt64: Hold] = [:]
  /// Pending holds with an expiry, soonest first (may hold entries of holds already resolved,
  /// skipped when they come up).
  var expiry = ExpiryIndex()
  var counters = Counters()
  /// Per account (by index), what was taken off both its posted totals to keep them in 64 bits
  /// (see ``post(_:debit:credit:stage:)``); empty until an account's totals pass 2^63.
  var rebased: [Int: Int128] = [:]

  // MARK: Lookups

  func account(_ id: AccountID) -> Account {
    let i = info[id.index]
    let b = bal[id.index]
    let gross = grossPosted(id.index)
    return Account(
      id: id, number: i.number, name: i.name, kind: i.kind, currency: i.currency, status: b.status,
      overdraftLimitMinor: b.overdraftLimit, postedDebits: gross.debits,
      postedCredits: gross.credits, pendingDebits: b.pendingDebits,
      pendingCredits: b.pendingCredits, opened: Instant(nanoseconds: i.openedAt))
  }

  func id(of number: AccountNumber) throws(BankError) -> AccountID {
    guard let id = byNumber[number.rawValue] else {
      throw BankError(.accountNotFound, "account \(number) does not exist")
    }
    return id
  }

  /// The next timestamp: the clock's reading, but always after the last recorded one so that
  /// record times are strictly increasing even if the clock steps back.
  mutating func nextTimestamp(_ now: Int64) -> Int64 {
    let last = counters.lastTimestamp
    return now > last ? now : last &+ 1
  }

  // MARK: Apply (shared by commit and replay)

  /// Applies a transfer or hold record (see ``apply(_:sequence:stage:)``).
  mutating func applyTransfer(_ r: borrowing TransferRecord, sequence: UInt64, stage: inout Stage?)
    -> Bool
  {
    let d = Int(r.debit.rawValue) - 1
    let c = Int(r.credit.rawValue) - 1
    guard d >= 0, c >= 0, d < bal.count, c < bal.count, d != c else { return false }
    if stage != nil {
      stage?.balanceUndo.append((d, bal[d]))
      stage?.balanceUndo.append((c, bal[c]))
    }
    if r.isHold {
      bal[d].pendingDebits &+= r.amount
      bal[c].pendingCredits &+= r.amount
      if stage != nil { stage?.holdUndo.append((r.number, holds[r.number])) }
      holds[r.number] = Hold(record: copy r, sequence: sequence)
      if r.expiresAt != 0 { expiry.insert(.init(expiresAt: r.expiresAt, hold: r.number)) }
    } else {
      post(r.amount, debit: d, credit: c, stage: &stage)
      bal[d].lastEntry = sequence
      bal[c].lastEntry = sequence
    }
    if let key = r.key {
      keys.insert(digest: KeyIndex.digest(key), sequence: sequence)
      stage?.keysAdded += 1
    }
    if r.number >= counters.nextTransfer { counters.nextTransfer = r.number &+ 1 }
    bump(r.timestamp)
    return true
  }

  /// Applies one record stored (or about to be stored) at `sequence`. Returns `false` when the
  /// record refers to something that does not exist, which only a damaged or foreign journal can
  /// contain; commit never produces such a record.
  @discardableResult
  mutating func apply(_ record: JournalRecord, sequence: UInt64, stage: inout Stage?) -> Bool {
    switch record {
    case .accountOpened(let r):
      guard Int(r.id.rawValue) == info.count + 1, byNumber[r.number.rawValue] == nil else {
        return false
      }
      info.append(
        AccountInfo(
          number: r.number, name: r.name, kind: r.kind, currency: r.currency, openedAt: r.timestamp)
      )
      var b = Balances()
      b.overdraftLimit = r.overdraftLimit
      b.limited = r.kind.isCustomer && r.kind.isCreditNormal
      b.creditNormal = r.kind.isCreditNormal
      bal.append(b)
      byNumber.insert(r.number.rawValue, r.id)
      if r.kind == .vault && vaults[r.currency.letters] == nil { vaults[r.currency.letters] = r.id }
      let base = r.number.base
      if base >= 90_000_000 {
        if base >= counters.nextInternalBase { counters.nextInternalBase = base + 1 }
      } else if base >= counters.nextCustomerBase {
        counters.nextCustomerBase = base + 1
      }
      bump(r.timestamp)
      return true
    case .transfer(let r):
      return applyTransfer(r, sequence: sequence, stage: &stage)
    case .holdResolved(let r):
      guard let hold = holds[r.hold], r.amount <= hold.record.amount else {
        return false
      }
      let d = hold.record.debit.index
      let c = hold.record.credit.index
      if stage != nil {
        stage?.balanceUndo.append((d, bal[d]))
        stage?.balanceUndo.append((c, bal[c]))
        stage?.holdUndo.append((r.hold, hold))
      }
      bal[d].pendingDebits &-= hold.record.amount
      bal[c].pendingCredits &-= hold.record.amount
      if r.outcome == .posted {
        post(r.amount, debit: d, credit: c, stage: &stage)
        bal[d].lastEntry = sequence
        bal[c].lastEntry = sequence
      }
      holds[r.hold] = nil
      if r.number >= counters.nextTransfer { counters.nextTransfer = r.number &+ 1 }
      bump(r.timestamp)
      return true
    case .accountChanged(let r):
      let i = r.id.index
      guard i >= 0, i < bal.count else { return false }
      stage?.balanceUndo.append((i, bal[i]))
      bal[i].status = r.status
      bal[i].overdraftLimit = r.overdraftLimit
      bump(r.timestamp)
      return true
    }
  }

  /// Adds a posted movement to both accounts' totals. The totals of an account are kept as two
  /// 64-bit words plus, once either would overflow, an amount taken off both alike
  /// (``rebased``): an account's gross debits and credits grow without bound over its life (a
  /// vault's credits are every withdrawal ever paid), while its balance, their difference, is
  /// bounded. Taking the same amount off both keeps the balance, the available funds and every
  /// derived figure exact, and the gross totals are the words plus that amount, in 128 bits.
  /// Deterministic, so replay takes the same amounts off at the same records.
  @inline(__always)
  private mutating func post(_ amount: Int64, debit d: Int, credit c: Int, stage: inout Stage?) {
    if bal[d].postedDebits.addingReportingOverflow(amount).overflow { rebase(d, stage: &stage) }
    if bal[c].postedCredits.addingReportingOverflow(amount).overflow { rebase(c, stage: &stage) }
    bal[d].postedDebits &+= amount
    bal[c].postedCredits &+= amount
  }

  /// Takes the smaller of an account's two posted totals off both (see ``post``).
  private mutating func rebase(_ i: Int, stage: inout Stage?) {
    let m = min(bal[i].postedDebits, bal[i].postedCredits)
    guard m > 0 else { return }
    if stage != nil { stage?.rebaseUndo.append((i, rebased[i])) }
    bal[i].postedDebits -= m
    bal[i].postedCredits -= m
    rebased[i, default: 0] += Int128(m)
  }

  /// An account's gross posted debits and credits since it was opened, in 128 bits.
  func grossPosted(_ i: Int) -> (debits: Int128, credits: Int128) {
    let r = rebased[i] ?? 0
    return (Int128(bal[i].postedDebits) + r, Int128(bal[i].postedCredits) + r)
  }

  /// An account's posted credits less its posted debits, exactly.
  static func net(_ b: Balances) -> Int128 { Int128(b.postedCredits) - Int128(b.postedDebits) }

  private mutating func bump(_ ts: Int64) {
    if ts > counters.lastTimestamp { counters.lastTimestamp = ts }
  }

  /// Undoes everything a stage recorded, newest first.
  mutating func rollback(_ stage: Stage) {
    for (i, old) in stage.balanceUndo.reversed() { bal[i] = old }
    for _ in 0..<stage.keysAdded { keys.removeLast() }
    for (n, old) in stage.holdUndo.reversed() { holds[n] = old }
    for (i, old) in stage.rebaseUndo.reversed() { rebased[i] = old }
    for e in stage.expiryTaken { expiry.insert(e) }
    while info.count > stage.accountCount {
      let removed = info.removeLast()
      bal.removeLast()
      byNumber.remove(removed.number.rawValue)
      if removed.kind == .vault,
        vaults[removed.currency.letters]?.rawValue == UInt32(info.count + 1)
      {
        vaults.removeValue(forKey: removed.currency.letters)
      }
    }
    counters = stage.counters
  }
}

/// The pending holds that expire, as a binary min-heap of (expiry, hold number): `expireHolds`
/// takes only the due ones instead of scanning every hold. A hold resolved before its expiry
/// leaves a stale entry, dropped when it comes up.
struct ExpiryIndex: Sendable {
  struct Entry: Sendable, Equatable {
    var expiresAt: Int64
    var hold: UInt64
    static func < (a: Entry, b: Entry) -> Bool {
      a.expiresAt != b.expiresAt ? a.expiresAt < b.expiresAt : a.hold < b.hold
    }
  }
  private(set) var heap: [Entry] = []

  var count: Int { heap.count }

  mutating func insert(_ e: Entry) {
    heap.append(e)
    var i = heap.count - 1
    while i > 0 {
      let p = (i - 1) / 2
      guard heap[i] < heap[p] else { break }
      heap.swapAt(i, p)
      i = p
    }
  }

  /// Removes and returns the soonest entry if it expires at or before `time`.
  mutating func popDue(at time: Int64) -> Entry? {
    guard let top = heap.first, top.expiresAt <= time else { return nil }
    let last = heap.removeLast()
    if !heap.isEmpty {
      heap[0] = last
      var i = 0
      while true {
        let l = 2 * i + 1
        let r = l + 1
        var m = i
        if l < heap.count && heap[l] < heap[m] { m = l }
        if r < heap.count && heap[r] < heap[m] { m = r }
        if m == i { break }
        heap.swapAt(i, m)
        i = m
      }
    }
    return top
  }
}
