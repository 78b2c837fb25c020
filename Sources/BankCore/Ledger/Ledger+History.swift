/// One line of an account's history: a posted movement and the balance after it.
public struct HistoryEntry: Sendable, Hashable {
  /// The transfer's public identifier: its key, or `#` and its number.
  public let transfer: String
  /// What kind of movement it was.
  public let kind: TransferKind
  /// When it was recorded.
  public let time: Instant
  /// Signed from the account's view: negative for money out of a deposit account.
  public let amount: Amount
  /// The posted balance after this entry.
  public let balance: Amount
  /// The caller's memo.
  public let memo: String
  /// The other account.
  public let counterparty: AccountNumber
  /// Where this entry is: pass it as `before` to read the entries older than it.
  public internal(set) var cursor: HistoryCursor
  /// Who made the movement, and through what: the origin stamped on its record (for a posted
  /// hold, on the posting). `nil` when the reader may not see it: the Authenticator shows it to
  /// staff and the operator, not to customers.
  public internal(set) var origin: Origin?

  /// When it was recorded, in nanoseconds since 1970; see ``time``.
  @available(*, deprecated, message: "use time, an Instant")
  public var timestamp: Int64 { time.nanoseconds }
}

/// A position in an account's history: the entries older than one entry. Its text form (two
/// integers, `SEQUENCE.BALANCE`) is what `bankctl history --before` takes; treat it as opaque.
///
/// It names the journal sequence of the entry and the account's posted balance just before it,
/// so the next page starts without reading anything newer.
public struct HistoryCursor: Sendable, Hashable, CustomStringConvertible {
  /// The journal sequence number of the entry.
  public let sequence: UInt64
  /// The account's posted balance (minor units, on its normal side) just before the entry.
  public let balanceBefore: Int64
  /// A check of the account, the sequence and the balance under a key of the store, so that a
  /// cursor edited by hand, or taken from another account, is refused instead of printing wrong
  /// running balances.
  let check: UInt64

  init(sequence: UInt64, balanceBefore: Int64, check: UInt64) {
    self.sequence = sequence
    self.balanceBefore = balanceBefore
    self.check = check
  }

  /// A cursor without its check: ``Ledger/history(of:limit:before:)`` refuses it. Cursors come
  /// from ``HistoryEntry/cursor`` (or their text form).
  public init(sequence: UInt64, balanceBefore: Int64) {
    self.init(sequence: sequence, balanceBefore: balanceBefore, check: 0)
  }

  /// Parses the text form, `SEQUENCE.BALANCE.CHECK`; `nil` when it is not one.
  public init?(_ text: String) {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
      let s = UInt64(parts[0]), s > 0, let b = Int64(parts[1]),
      parts[1].allSatisfy({ ($0.isASCII && $0.isNumber) || $0 == "-" }),
      parts[2].utf8.count == 16, parts[2].allSatisfy({ $0.isHexDigit && !$0.isUppercase }),
      let c = UInt64(parts[2], radix: 16)
    else { return nil }
    self.init(sequence: s, balanceBefore: b, check: c)
  }

  /// `SEQUENCE.BALANCE.CHECK`, the check in 16 lower-case hexadecimal digits.
  public var description: String {
    let hex = String(check, radix: 16)
    return "\(sequence).\(balanceBefore).\(String(repeating: "0", count: 16 - hex.count))\(hex)"
  }
}

extension Bank {
  /// The check of a history cursor of `account` (see ``HistoryCursor``).
  func cursorCheck(_ account: AccountNumber, sequence: UInt64, balanceBefore: Int64) -> UInt64 {
    var message = ByteWriter(capacity: 24)
    message.u64(account.rawValue)
    message.u64(sequence)
    message.i64(balanceBefore)
    let code = cursorKey.authenticationCode(for: message.bytes)
    return code.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
  }
}

extension Ledger {
  /// The posted movements of an account with the running balance, newest first, a page at a time.
  ///
  /// Each account's entries form a chain in the journal: every transfer or posted hold written by
  /// this release records, for both accounts, how far back their previous entry is, and the state
  /// keeps each account's newest entry. A page therefore reads only its own entries (one random
  /// read each, two for a posted hold), whatever the size of the store. Entries written by the
  /// first release carry no links; the chain ends at the newest of them, and what lies below is
  /// found by a scan of the journal up to there, keeping only the entries a page needs.
  ///
  /// - Parameters:
  ///   - limit: at most this many entries; `nil` for all.
  ///   - before: continue after this entry (the last entry's ``HistoryEntry/cursor`` of the
  ///     previous page); `nil` to start from the newest.
  /// - Throws: `account_not_found`; `invalid_argument` for a cursor that is not one of the
  ///   account's entries; `store_corrupt` when a record does not decode.
  /// - Complexity: O(entries returned) reads; O(records) for entries of the first release.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func history(
    of number: AccountNumber, limit: Int? = nil, before: HistoryCursor? = nil
  ) throws(BankError) -> [HistoryEntry] {
    try history(of: number, limit: limit, before: before, checkedCursors: true)
  }

  /// ``history(of:limit:before:)``; without `checkedCursors` only the last entry's cursor
  /// carries its check (enough to read the next page), which saves an HMAC per entry for a
  /// reader that walks many pages (a statement).
  func history(
    of number: AccountNumber, limit: Int?, before: HistoryCursor?, checkedCursors: Bool
  ) throws(BankError) -> [HistoryEntry] {
    var entries = try historyPage(
      of: number, limit: limit, before: before, checkedCursors: checkedCursors)
    if !checkedCursors, let last = entries.last {
      entries[entries.count - 1].cursor = HistoryCursor(
        sequence: last.cursor.sequence, balanceBefore: last.cursor.balanceBefore,
        check: bank.cursorCheck(
          number, sequence: last.cursor.sequence, balanceBefore: last.cursor.balanceBefore))
    }
    return entries
  }

  private func historyPage(
    of number: AccountNumber, limit: Int?, before: HistoryCursor?, checkedCursors: Bool
  ) throws(BankError) -> [HistoryEntry] {
    // One read, so the account table, its head and balance and the sequence bound agree.
    let ((id, currency, creditNormal, head, balance, ids), upTo) = try readWithSequence {
      s throws(BankError) in
      let id = try s.id(of: number)
      let i = s.info[id.index]
      let b = s.bal[id.index]
      return (
        id, i.currency, i.kind.isCreditNormal, b.lastEntry, b.balance, s.info.map(\.number)
      )
    }
    let want = limit ?? Int.max
    var entries: [HistoryEntry] = []
    if want <= 0 { return entries }
    var seq = head
    var after = balance
    if let before {
      guard
        before.check
          == bank.cursorCheck(
            number, sequence: before.sequence, balanceBefore: before.balanceBefore),
        before.sequence <= upTo, let bytes = try readRecord(before.sequence),
        let e = try entry(at: before.sequence, bytes, of: id)
      else {
        throw BankError(
          .invalidArgument, "cursor \(before) is not an entry of account \(number)")
      }
      after = before.balanceBefore
      guard let back = e.back else {
        try scanHistory(
          below: before.sequence, of: id, want: want, balanceAfter: after, currency: currency,
          creditNormal: creditNormal, ids: ids, into: &entries)
        return entries
      }
      seq = back == 0 ? 0 : before.sequence - back
    }
    while entries.count < want, seq != 0 {
      guard let bytes = try readRecord(seq), let e = try entry(at: seq, bytes, of: id) else {
        throw BankError(
          .storeCorrupt, "record \(seq) is on the history chain of \(number) but is not its entry")
      }
      guard let back = e.back else {
        // A record of the first release: no links below here.
        try scanHistory(
          below: seq + 1, of: id, want: want - entries.count, balanceAfter: after,
          currency: currency, creditNormal: creditNormal, ids: ids, into: &entries)
        return entries
      }
      let signed = Self.signed(e.transfer, e.amount, for: id, creditNormal: creditNormal)
      let origin = try RecordEnvelope.origin(ofStored: bytes, sequence: seq)
      entries.append(
        historyEntry(
          e.transfer, amount: signed, timestamp: e.timestamp, balanceAfter: after, at: seq,
          for: id, currency: currency, ids: ids, origin: origin, checked: checkedCursors))
      after &-= signed
      seq = back == 0 ? 0 : seq - back
    }
    return entries
  }

  /// One history entry's record: the movement (the hold's record for a posted hold), the amount
  /// moved, when, and the distance back to the account's previous entry (`nil` for a record of
  /// the first release). `nil` when the record is not an entry of the account.
  private func entry(at seq: UInt64, _ bytes: [UInt8], of id: AccountID) throws(BankError)
    -> (transfer: TransferRecord, amount: Int64, timestamp: Int64, back: UInt64?)?
  {
    switch try decode(bytes, seq) {
    case .transfer(let t) where !t.isHold && (t.debit == id || t.credit == id):
      return (
        t, t.amount, t.timestamp, t.links.map { t.debit == id ? $0.debitBack : $0.creditBack }
      )
    case .holdResolved(let r) where r.outcome == .posted:
      guard let links = r.links else {
        // First release: the hold is found by the scan.
        return (
          TransferRecord(
            number: r.hold, key: nil, kind: .transfer, debit: id, credit: id, amount: r.amount,
            timestamp: r.timestamp, memo: "", isHold: true, expiresAt: 0), r.amount, r.timestamp,
          nil
        )
      }
      guard links.holdBack > 0, links.holdBack < seq,
        let holdBytes = try readRecord(seq - links.holdBack),
        case .transfer(let t) = try decode(holdBytes, seq - links.holdBack), t.isHold,
        t.number == r.hold
      else {
        throw BankError(.storeCorrupt, "record \(seq) does not lead to its hold's record")
      }
      guard t.debit == id || t.credit == id else { return nil }
      return (
        t, r.amount, r.timestamp,
        t.debit == id ? links.entry.debitBack : links.entry.creditBack
      )
    default:
      return nil
    }
  }

  private static func signed(
    _ t: TransferRecord, _ amount: Int64, for id: AccountID, creditNormal: Bool
  ) -> Int64 {
    (t.debit == id) == creditNormal ? -amount : amount
  }

  private func historyEntry(
    _ t: TransferRecord, amount signed: Int64, timestamp: Int64, balanceAfter: Int64,
    at seq: UInt64, for id: AccountID, currency: Currency, ids: [AccountNumber],
    origin: Origin = .operatorOnCLI, checked: Bool = true
  ) -> HistoryEntry {
    HistoryEntry(
      transfer: t.transferID, kind: t.kind, time: Instant(nanoseconds: timestamp),
      amount: Amount(minorUnits: signed, currency: currency),
      balance: Amount(minorUnits: balanceAfter, currency: currency), memo: t.memo,
      counterparty: ids[(t.debit == id ? t.credit : t.debit).index],
      cursor: HistoryCursor(
        sequence: seq, balanceBefore: balanceAfter &- signed,
        check: checked
          ? bank.cursorCheck(ids[id.index], sequence: seq, balanceBefore: balanceAfter &- signed)
          : 0),
      origin: origin)
  }

  /// The fallback for entries without links: scans the journal below `limit` (exclusive) and
  /// appends the account's newest `want` entries there, newest first, keeping only those in
  /// memory (plus the account's holds, to name a posted hold). Records without links come from
  /// the first release, which stamped no origin: each reads as ``Origin/operatorOnCLI``.
  private func scanHistory(
    below limit: UInt64, of id: AccountID, want: Int, balanceAfter: Int64, currency: Currency,
    creditNormal: Bool, ids: [AccountNumber], into entries: inout [HistoryEntry]
  ) throws(BankError) {
    guard limit > 1 else { return }
    var ring: [(TransferRecord, Int64, Int64, UInt64)] = []
    var next = 0
    var holdSides: [UInt64: TransferRecord] = [:]
    let keep = min(want, 1 << 20)
    func note(_ e: (TransferRecord, Int64, Int64, UInt64)) {
      if ring.count < keep {
        ring.append(e)
      } else if keep > 0 {
        ring[next] = e
        next = (next + 1) % keep
      }
    }
    try scan(after: 0, upTo: limit - 1) { seq, record in
      switch record {
      case .transfer(let t) where t.debit == id || t.credit == id:
        if t.isHold { holdSides[t.number] = t } else { note((t, t.amount, t.timestamp, seq)) }
      case .holdResolved(let r):
        if let t = holdSides.removeValue(forKey: r.hold), r.outcome == .posted {
          note((t, r.amount, r.timestamp, seq))
        }
      default: break
      }
      return true
    }
    // Oldest first in the ring from `next`; emit newest first.
    let ordered = Array(ring[next...] + ring[..<next]).reversed()
    var after = balanceAfter
    for (t, amount, ts, seq) in ordered {
      let signed = Self.signed(t, amount, for: id, creditNormal: creditNormal)
      entries.append(
        historyEntry(
          t, amount: signed, timestamp: ts, balanceAfter: after, at: seq, for: id,
          currency: currency, ids: ids))
      after &-= signed
    }
  }
}

extension Ledger {
  /// The posted entries of account `id` recorded at or after `since` (nanoseconds), newest first,
  /// as their times and signed amounts: for end-of-day balances. It reads the journal along the
  /// account's chain without taking the bank's lock, so a transaction may call it; `head` is the
  /// account's newest entry in the state the caller holds.
  func entries(
    of id: AccountID, head: UInt64, creditNormal: Bool, since: Int64
  ) throws(BankError) -> [(time: Int64, signed: Int64)] {
    var out: [(time: Int64, signed: Int64)] = []
    var seq = head
    while seq != 0 {
      guard let bytes = try readRecord(seq), let e = try entry(at: seq, bytes, of: id) else {
        throw BankError(
          .storeCorrupt, "record \(seq) is on the history chain of an account but is not its entry")
      }
      if e.timestamp < since { return out }
      guard let back = e.back else {
        // Records of the first release carry no links: scan what lies below.
        var holds: [UInt64: TransferRecord] = [:]
        var older: [(time: Int64, signed: Int64)] = []
        try scan(after: 0, upTo: seq) { _, record throws(BankError) in
          switch record {
          case .transfer(let t) where t.debit == id || t.credit == id:
            if t.isHold {
              holds[t.number] = t
            } else if t.timestamp >= since {
              older.append(
                (t.timestamp, Self.signed(t, t.amount, for: id, creditNormal: creditNormal)))
            }
          case .holdResolved(let r):
            if let t = holds.removeValue(forKey: r.hold), r.outcome == .posted, r.timestamp >= since
            {
              older.append(
                (r.timestamp, Self.signed(t, r.amount, for: id, creditNormal: creditNormal)))
            }
          default: break
          }
          return true
        }
        return out + older.reversed()
      }
      out.append(
        (e.timestamp, Self.signed(e.transfer, e.amount, for: id, creditNormal: creditNormal)))
      seq = back == 0 ? 0 : seq - back
    }
    return out
  }
}

/// A change of an account's status or overdraft limit, and who made it.
public struct AccountChange: Sendable, Hashable, Encodable {
  /// When it was made.
  public let time: Instant
  /// `opened`, `frozen`, `unfrozen`, `closed` or `overdraft`.
  public let change: String
  /// The status from then on.
  public let status: AccountStatus
  /// The overdraft limit from then on.
  public let overdraftLimit: Amount
  /// Who made it and through what.
  public let origin: Origin

  private enum Keys: String, CodingKey {
    case time, change, status, by, channel
    case overdraftLimit = "overdraft_limit"
  }

  /// Encodes as `{"time","change","status","overdraft_limit","by","channel"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(time, forKey: .time)
    try c.encode(change, forKey: .change)
    try c.encode(status.description, forKey: .status)
    try c.encode(overdraftLimit, forKey: .overdraftLimit)
    try c.encode(origin.by, forKey: .by)
    try c.encode(origin.channel.description, forKey: .channel)
  }
}

extension Ledger {
  /// An account's opening and every change of its status or overdraft limit, oldest first, each
  /// with who made it: the account's own lifecycle, beside its movements in ``history(of:limit:before:)``.
  ///
  /// - Throws: `account_not_found`; `store_corrupt` when a record does not decode.
  /// - Complexity: O(records): it reads the journal.
  ///
  /// - Note: Blocks the calling thread while it reads the journal.
  public func changes(of number: AccountNumber) throws(BankError) -> [AccountChange] {
    let ((id, currency), upTo) = try readWithSequence { s throws(BankError) in
      let id = try s.id(of: number)
      return (id, s.info[id.index].currency)
    }
    var out: [AccountChange] = []
    var status = AccountStatus.active
    var limit: Int64 = 0
    try bank.forEachCommitted(after: 0, upTo: upTo, tags: LedgerState.tags) {
      seq, raw throws(BankError) in
      guard let tag = raw.first,
        tag == JournalRecord.Tag.accountOpened.rawValue
          || tag == JournalRecord.Tag.accountChanged.rawValue
      else { return true }
      let bytes = Array(raw)
      let change: (Int64, String, AccountStatus, Int64)?
      switch try JournalRecord.decodeOrCorrupt(bytes, sequence: seq) {
      case .accountOpened(let o) where o.id == id:
        change = (o.timestamp, "opened", .active, o.overdraftLimit)
      case .accountChanged(let c) where c.id == id:
        let what =
          c.status != status
          ? (c.status == .closed ? "closed" : c.status == .frozen ? "frozen" : "unfrozen")
          : "overdraft"
        change = (c.timestamp, what, c.status, c.overdraftLimit)
      default:
        change = nil
      }
      if let (time, what, newStatus, newLimit) = change {
        status = newStatus
        limit = newLimit
        out.append(
          AccountChange(
            time: Instant(nanoseconds: time), change: what, status: status,
            overdraftLimit: Amount(minorUnits: limit, currency: currency),
            origin: try RecordEnvelope.origin(ofStored: bytes, sequence: seq)))
      }
      return true
    }
    return out
  }
}
