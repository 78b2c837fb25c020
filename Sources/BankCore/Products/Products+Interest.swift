/// What an interest run did.
public struct InterestRun: Sendable, Hashable, Encodable {
  /// The last day accrued.
  public let date: Day
  /// Accounts whose interest was accrued in this run (those already accrued through the date are
  /// skipped: a run is idempotent per account and day).
  public internal(set) var accounts = 0
  /// Monthly postings made (one transfer each).
  public internal(set) var postings = 0
  /// Savings interest paid, per currency.
  public internal(set) var savingsPaid: [String: Int64] = [:]
  /// Overdraft interest charged, per currency.
  public internal(set) var overdraftCharged: [String: Int64] = [:]
  /// Loans whose monthly interest was charged.
  public internal(set) var loansCharged = 0
  /// Loans this run found more than 90 days overdue and marked `defaulted`.
  public internal(set) var loansDefaulted: [LoanID] = []
  /// Transactions committed (a run over many accounts commits in batches).
  public internal(set) var batches = 0
  /// Accounts whose month's interest could not be posted because a balance would pass what 64
  /// bits hold: it stays owed, whole, and is posted by a later run once it fits.
  public internal(set) var unposted: [AccountNumber] = []

  init(date: Day) { self.date = date }

  private enum Keys: String, CodingKey {
    case date, accounts, postings, batches
    case savingsPaid = "savings_paid"
    case overdraftCharged = "overdraft_charged"
    case loansCharged = "loans_charged"
    case loansDefaulted = "loans_defaulted"
    case unposted
  }

  /// Encodes as `{"date","accounts","postings","savings_paid":{"USD":"31.00"},…}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(date.description, forKey: .date)
    try c.encode(accounts, forKey: .accounts)
    try c.encode(postings, forKey: .postings)
    func amounts(_ m: [String: Int64]) -> [String: String] {
      var out: [String: String] = [:]
      for (code, v) in m {
        let digits = (try? Currency.named(code))?.minorDigits ?? 2
        out[code] = Amount.format(v, digits: digits)
      }
      return out
    }
    try c.encode(amounts(savingsPaid), forKey: .savingsPaid)
    try c.encode(amounts(overdraftCharged), forKey: .overdraftCharged)
    try c.encode(loansCharged, forKey: .loansCharged)
    try c.encode(loansDefaulted, forKey: .loansDefaulted)
    try c.encode(batches, forKey: .batches)
    try c.encode(unposted, forKey: .unposted)
  }
}

/// An account's unposted interest, as `interest show` and reports give it.
public struct AccruedInterest: Sendable, Hashable {
  /// The last day accrued, if any.
  public let through: Day?
  /// This month's accrual plus the carried remainder, unrounded, in major units: a decimal with
  /// the currency's digits and up to ten more (`"-0.0032"`, `"12.3456789"`, `"0.00"`).
  public let owed: String
}

extension Products {
  /// How many accounts one transaction of a run covers.
  public static let defaultInterestBatch = 10_000

  /// Accrues every savings and checking account's interest for each day up to and including
  /// `date` that has not been accrued yet, posts the interest of every month that ended, charges
  /// loans' interest for the periods begun, and marks loans more than 90 days overdue
  /// `defaulted` (DESIGN.md 4.7).
  ///
  /// A run commits `batchSize` accounts per transaction, so a crash in the middle loses nothing
  /// and doubles nothing: running it again continues where the durable part ended.
  ///
  /// - Throws: `permission_denied` (managers and the operator); `invalid_argument` when `date`
  ///   has not ended yet.
  ///
  /// - Note: Blocks the calling thread while it reads the journal and until each batch is
  ///   durable.
  public func runInterest(
    through date: Day, batchSize: Int = Products.defaultInterestBatch,
    progress: ((_ done: Int, _ total: Int) -> Void)? = nil, as principal: Principal
  ) throws(BankError) -> InterestRun {
    try Self.require(.runInterest, principal)
    var report = InterestRun(date: date)
    // The accounts to visit: every open savings and checking account not yet accrued through
    // the date, with the first day each still needs. Each batch judges its accounts again under
    // the lock.
    let (candidates, firsts, scannedUpTo) = try bank.read(current: true) {
      s throws(BankError) -> ([AccountID], [AccountID: Day], UInt64) in
      let p = try s.requireCore(ProductState.self)
      var out: [AccountID] = []
      var firsts: [AccountID: Day] = [:]
      for (i, info) in s.ledger.info.enumerated()
      where info.kind == .savings || info.kind == .checking {
        let id = AccountID(UInt32(i + 1))
        if s.ledger.bal[i].status == .closed { continue }
        let pot = p.pots[id]
        if let t = pot?.through, t >= date { continue }
        out.append(id)
        firsts[id] =
          pot?.through.map { $0.adding(days: 1) } ?? Day(Instant(nanoseconds: info.openedAt))
      }
      return (out, firsts, s.sequence)
    }
    // One forward scan of the journal over the days to accrue collects every candidate's posted
    // entries, instead of one walk back along each account's chain: the days have ended, so
    // nothing committed later falls in them (an account that moved since the scan is read back
    // along its chain in its batch, to be exact all the same).
    var known: [AccountID: [(time: Int64, signed: Int64)]] = [:]
    if let earliest = firsts.values.min(), earliest <= date {
      for (id, first) in firsts where first <= date { known[id] = [] }
      let startSequence = try bank.firstSequence(
        notBefore: earliest.start.nanoseconds, upTo: scannedUpTo)
      let end = date.end.nanoseconds
      var holds: [UInt64: (debit: AccountID, credit: AccountID)] = [:]
      var complete = true
      func note(_ debit: AccountID, _ credit: AccountID, _ amount: Int64, _ time: Int64) {
        guard time < end else { return }
        known[debit]?.append((time, -amount))
        known[credit]?.append((time, amount))
      }
      if startSequence <= scannedUpTo {
        try ledger.scan(after: startSequence - 1, upTo: scannedUpTo) {
          seq, record throws(BankError) in
          switch record {
          case .transfer(let t):
            if t.timestamp >= end &+ BankState.batchTimeSpread { return false }
            if t.isHold {
              holds[t.number] = (t.debit, t.credit)
            } else {
              note(t.debit, t.credit, t.amount, t.timestamp)
            }
          case .holdResolved(let r):
            if r.timestamp >= end &+ BankState.batchTimeSpread { return false }
            guard r.outcome == .posted else { break }
            if let h = holds[r.hold] {
              note(h.debit, h.credit, r.amount, r.timestamp)
            } else if let back = r.links?.holdBack, back > 0, back < seq,
              let bytes = try ledger.readRecord(seq - back),
              case .transfer(let t) = try ledger.decode(bytes, seq - back), t.number == r.hold
            {
              note(t.debit, t.credit, r.amount, r.timestamp)
            } else {
              // A hold of the first release (no links): every account is read back instead.
              complete = false
              return false
            }
          default: break
          }
          return true
        }
      }
      if !complete { known = [:] }
    }
    let size = max(1, batchSize)
    var done = 0
    var start = 0
    repeat {
      let chunk = Array(candidates[start..<min(start + size, candidates.count)])
      let last = start + size >= candidates.count
      let part = try commit(as: principal) {
        p, state, tx throws(BankError) -> ([ProductRecord], InterestRun) in
        let now = Instant(nanoseconds: tx.now)
        guard date < Day(now) else {
          throw BankError(
            .invalidArgument,
            "interest runs only for days that have ended: \(date) ends at \(Instant(nanoseconds: date.end.nanoseconds)), and it is \(now) now"
          )
        }
        var records: [ProductRecord] = []
        var part = InterestRun(date: date)
        var accounts: [String: AccountNumber] = [:]
        for id in chunk {
          guard state.ledger.bal[id.index].status != .closed else { continue }
          let pot = p.pots[id] ?? InterestPot()
          if let t = pot.through, t >= date { continue }
          // Entries committed after the scan: read back along the chain instead.
          let scanned = state.ledger.bal[id.index].lastEntry <= scannedUpTo ? known[id] : nil
          let outcome = try accrue(
            id, pot: pot, through: date, close: false, known: scanned, p, &state, &tx, &accounts)
          records += outcome.records
          part.accounts += 1
          part.postings += outcome.postings
          let code = state.ledger.info[id.index].currency.code
          if outcome.unposted { part.unposted.append(state.ledger.info[id.index].number) }
          if state.ledger.info[id.index].kind == .savings {
            if outcome.posted > 0 {
              part.savingsPaid[code, default: 0].saturatingAdd(outcome.posted)
            }
          } else if outcome.posted > 0 {
            part.overdraftCharged[code, default: 0].saturatingAdd(outcome.posted)
          }
        }
        if last {
          let (loanRecords, charged, defaulted) = Self.chargeLoans(p, through: date, now: now)
          records += loanRecords
          part.loansCharged = charged
          part.loansDefaulted = defaulted
        }
        return (records, part)
      }
      report.accounts += part.accounts
      report.postings += part.postings
      for (k, v) in part.savingsPaid { report.savingsPaid[k, default: 0].saturatingAdd(v) }
      for (k, v) in part.overdraftCharged {
        report.overdraftCharged[k, default: 0].saturatingAdd(v)
      }
      report.unposted += part.unposted
      report.loansCharged += part.loansCharged
      report.loansDefaulted += part.loansDefaulted
      report.batches += 1
      done += chunk.count
      progress?(done, candidates.count)
      start += size
    } while start < candidates.count
    return report
  }

  /// What accruing one account did.
  struct Accrual {
    var records: [ProductRecord] = []
    var postings = 0
    /// Minor units posted (paid for savings, charged for overdrafts).
    var posted: Int64 = 0
    /// A month's interest could not be posted (a balance would leave 64 bits): it stays owed.
    var unposted = false
  }

  /// Accrues account `id` for its days after `pot.through` up to `date` and posts each month that
  /// ended; with `close`, also posts what is owed for the month so far, rounded, carrying
  /// nothing. Stages the transfers; returns the records.
  func accrue(
    _ id: AccountID, pot: InterestPot, through date: Day, close: Bool,
    known: [(time: Int64, signed: Int64)]? = nil, _ p: ProductState,
    _ state: inout BankState, _ tx: inout Transaction, _ accounts: inout [String: AccountNumber]
  ) throws(BankError) -> Accrual {
    let info = state.ledger.info[id.index]
    let b = state.ledger.bal[id.index]
    let savings = info.kind == .savings
    let type: RateType = savings ? .savings : .overdraft
    let now = Instant(nanoseconds: tx.now)
    var out = Accrual()
    let first = pot.through.map { $0.adding(days: 1) } ?? Day(Instant(nanoseconds: info.openedAt))
    var accrued = pot.accrued
    var carry = pot.carry
    if first <= date {
      // The account's posted entries during the days to accrue, oldest first: from the run's
      // scan of the journal, or read back along the account's chain.
      let startNanos = first.start.nanoseconds
      let endNanos = date.end.nanoseconds
      let entries: [(time: Int64, signed: Int64)]
      if let known {
        entries = known.filter { $0.time >= startNanos && $0.time < endNanos }
      } else {
        entries = try ledger.entries(
          of: id, head: b.lastEntry, creditNormal: true, since: startNanos
        ).filter { $0.time < endNanos }.reversed()
      }
      // Forward from the balance at the end of the last day accrued (0 before the first).
      var balance = pot.balance
      var k = 0
      let count = date.number - first.number + 1
      var segment: Int128 = 0
      for i in 0..<count {
        let day = Day(number: first.number + i)
        let dayEnd = day.end.nanoseconds
        while k < entries.count, entries[k].time < dayEnd {
          balance &+= entries[k].signed
          k += 1
        }
        let e = balance
        let base: Int64 = savings ? (e > 0 ? e : 0) : (e < 0 ? -e : 0)
        if base > 0 {
          let r = p.rate(type, on: day)
          if r.microPercent > 0 { segment += Int128(base) * Int128(r.microPercent) }
        }
        if day.isLastOfMonth || i == count - 1 {
          out.records.append(
            .accrued(account: id, through: day, amount: segment, balance: e, time: now))
          accrued += segment
          segment = 0
          if day.isLastOfMonth {
            let total = accrued + carry
            let q = Exact.roundHalfEven(total, Exact.accrualDenominator)
            accrued = 0
            // What cannot be posted (a balance that would leave 64 bits) stays owed, whole.
            let amount =
              try Int64(exactly: q).flatMap { minor throws(BankError) in
                try Self.postInterest(
                  minor, id, month: day.month, savings: savings, &state, &tx, &accounts)
              } ?? 0
            if amount == q {
              carry = total - q * Exact.accrualDenominator
            } else {
              carry = total
              out.unposted = true
            }
            out.records.append(
              .interestPosted(
                account: id, month: day.month, amount: amount, carry: carry, time: now))
            if amount > 0 {
              out.postings += 1
              out.posted.saturatingAdd(amount)
            }
          }
        }
      }
    }
    if close, accrued != 0 || carry != 0 {
      let q = Exact.roundHalfEven(accrued + carry, Exact.accrualDenominator)
      let month = Day(now).month
      guard
        let minor = Int64(exactly: max(0, q)),
        let amount = try Self.postInterest(
          minor, id, month: month, savings: savings, &state, &tx, &accounts)
      else {
        throw BankError(
          .overflow,
          "the interest owed on account \(info.number) cannot be posted: a balance would pass what 64 bits hold"
        )
      }
      out.records.append(
        .interestPosted(account: id, month: month, amount: amount, carry: 0, time: now))
      if amount > 0 {
        out.postings += 1
        out.posted.saturatingAdd(amount)
      }
    }
    return out
  }

  /// Posts `minor` units of a month's interest on account `id`: paid from interest expense to a
  /// savings account, or charged from a checking account to interest income; in several
  /// transfers when it is more than one transfer may carry (``Currency/maximumAmount``). `nil`
  /// when a balance would pass what 64 bits hold: nothing is posted then.
  static func postInterest(
    _ minor: Int64, _ id: AccountID, month: YearMonth, savings: Bool, _ state: inout BankState,
    _ tx: inout Transaction, _ accounts: inout [String: AccountNumber]
  ) throws(BankError) -> Int64? {
    guard minor > 0 else { return 0 }
    let info = state.ledger.info[id.index]
    let balance = Int128(state.ledger.bal[id.index].balance)
    guard
      savings
        ? balance + Int128(minor) <= Int128(Int64.max)
        : balance - Int128(minor) >= Int128(Int64.min + 1)
    else { return nil }
    let kind: AccountKind = savings ? .interest : .interestIncome
    let cacheKey = "\(kind.rawValue)\(info.currency.code)"
    let bankSide: AccountNumber
    if let n = accounts[cacheKey] {
      bankSide = n
    } else {
      bankSide = try bankAccount(kind, info.currency, &state, &tx)
      accounts[cacheKey] = bankSide
    }
    let bankID = try state.ledger.id(of: bankSide)
    let bankBalance = Int128(state.ledger.bal[bankID.index].balance)
    guard bankBalance + Int128(minor) <= Int128(Int64.max) else { return nil }
    var left = minor
    while left > 0 {
      let part = min(left, info.currency.maximumMinorUnits)
      try move(
        part, info.currency, from: savings ? bankSide : info.number,
        to: savings ? info.number : bankSide, kind: .interest,
        memo: savings ? "interest for \(month)" : "overdraft interest for \(month)", &state, &tx)
      left -= part
    }
    return minor
  }

  /// The interest an account owes or is owed but has not been posted: the accrual and the carried
  /// remainder.
  public func accruedInterest(of number: AccountNumber) throws(BankError) -> AccruedInterest {
    try read { p, s throws(BankError) in
      let id = try s.ledger.id(of: number)
      let pot = p.pots[id] ?? InterestPot()
      let digits = s.ledger.info[id.index].currency.minorDigits
      var owed = Exact.minorDecimal(pot.accrued + pot.carry, places: 10, digits: digits)
      // Trailing zeros beyond the currency's own digits say nothing: "-0.0032", "0.00".
      if let point = owed.firstIndex(of: ".") {
        let keep =
          owed.index(point, offsetBy: digits + 1, limitedBy: owed.endIndex) ?? owed.endIndex
        while owed.hasSuffix("0"), owed.endIndex > keep { owed.removeLast() }
      }
      return AccruedInterest(through: pot.through, owed: owed)
    }
  }
}

extension Int64 {
  /// Adds, stopping at the largest value instead of trapping (report totals).
  mutating func saturatingAdd(_ v: Int64) {
    let (sum, overflow) = addingReportingOverflow(v)
    self = overflow ? (v > 0 ? .max : .min) : sum
  }
}
