/// One account's interest: the days accrued and what is owed but not yet posted.
struct InterestPot: Sendable, Equatable {
  /// The last day accrued, or `nil` before the first run reached the account.
  var through: Day?
  /// The posted balance at the end of `through` (0 before): where the next run starts.
  var balance: Int64 = 0
  /// This month's accrual, unrounded (units of ``Exact/accrualDenominator``).
  var accrued: Int128 = 0
  /// What rounding left from earlier postings (negative when a posting rounded up).
  var carry: Int128 = 0
  /// The last month posted.
  var lastPosted: YearMonth?
}

/// A loan as the products core keeps it.
struct LoanState: Sendable, Equatable {
  let id: LoanID
  let customer: CustomerID
  /// The customer's deposit account the principal is paid into and repaid from by default.
  let account: AccountID
  let principal: Int64
  let months: Int
  let rate: AnnualRate
  let requestedAt: Instant
  var status: LoanStatus = .requested
  var decidedAt: Instant?
  var reason = ""
  /// The loan's own ledger account (debit-normal: the outstanding principal).
  var loanAccount: AccountID?
  /// The disbursement day: installments fall due monthly from it.
  var start: Day?
  var installment: Int64 = 0
  var outstanding: Int64 = 0
  /// Interest of charged periods not yet paid.
  var interestDue: Int64 = 0
  /// How many monthly periods have had their interest charged (the first at disbursement).
  var charged = 0
  var paidInterest: Int64 = 0
  var paidPrincipal: Int64 = 0

  /// The day period `n` (1-based) begins: the disbursement day for the first, the day after the
  /// previous installment's due date for the others.
  func periodStart(_ n: Int) -> Day? {
    guard let start else { return nil }
    return n == 1 ? start : LoanMath.due(n - 1, from: start).adding(days: 1)
  }

  /// The periods charged and the interest due once every period begun by `day` is charged:
  /// each period's interest is the outstanding principal × r, rounded half to even, charged when
  /// the period begins.
  func charges(through day: Day) -> (charged: Int, interestDue: Int64) {
    var c = charged
    var due = interestDue
    guard status == .active || status == .defaulted else { return (c, due) }
    while outstanding > 0, let s = periodStart(c + 1), s <= day {
      let (sum, overflow) = due.addingReportingOverflow(LoanMath.monthInterest(outstanding, rate))
      if overflow { break }
      due = sum
      c += 1
    }
    return (c, due)
  }
}

/// The banking products' state: rates, each account's interest, loans and reversals. A pure
/// core of the bank (section 4 of the snapshot, record tags 96–127).
struct ProductState: Sendable, Equatable {
  var lastTime: Int64 = 0
  /// Each rate type's history, oldest first: the rate in force from a day on.
  var rates: [RateType: [(from: Day, rate: AnnualRate)]] = [:]
  var pots: [AccountID: InterestPot] = [:]
  var loans: [LoanID: LoanState] = [:]
  /// Transfer number of a reversed transfer → its reversal's, and back.
  var reversals: [UInt64: UInt64] = [:]
  var reversalOf: [UInt64: UInt64] = [:]

  static func == (a: ProductState, b: ProductState) -> Bool {
    a.lastTime == b.lastTime && a.pots == b.pots && a.loans == b.loans
      && a.reversals == b.reversals && a.reversalOf == b.reversalOf
      && a.rates.keys.sorted(by: { $0.rawValue < $1.rawValue })
        == b.rates.keys.sorted(by: { $0.rawValue < $1.rawValue })
      && a.rates.allSatisfy { k, v in
        let w = b.rates[k] ?? []
        return v.count == w.count
          && zip(v, w).allSatisfy { $0.from == $1.from && $0.rate == $1.rate }
      }
  }

  /// The rate of a type in force on a day (0 before the first).
  func rate(_ type: RateType, on day: Day) -> AnnualRate {
    guard let list = rates[type] else { return .zero }
    var lo = 0
    var hi = list.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if list[mid].from <= day { lo = mid + 1 } else { hi = mid }
    }
    return lo == 0 ? .zero : list[lo - 1].rate
  }

  /// The next loan's ID.
  var nextLoan: LoanID { LoanID(UInt32(loans.count + 1)) }

  /// Applies a record; `false` when it refers to something that does not exist.
  mutating func apply(_ record: ProductRecord) -> Bool {
    lastTime = max(lastTime, record.time.nanoseconds)
    switch record {
    case .rateSet(let type, let from, let rate, _):
      var list = rates[type] ?? []
      if let i = list.firstIndex(where: { $0.from == from }) {
        list[i].rate = rate
      } else {
        list.append((from, rate))
        list.sort { $0.from < $1.from }
      }
      rates[type] = list
    case .accrued(let account, let through, let amount, let balance, _):
      pots[account, default: InterestPot()].through = through
      pots[account, default: InterestPot()].balance = balance
      pots[account, default: InterestPot()].accrued += amount
    case .interestPosted(let account, let month, _, let carry, _):
      pots[account, default: InterestPot()].accrued = 0
      pots[account, default: InterestPot()].carry = carry
      pots[account, default: InterestPot()].lastPosted = month
    case .loanRequested(
      let loan, let customer, let account, let principal, let months, let rate, let time):
      guard loan == nextLoan else { return false }
      loans[loan] = LoanState(
        id: loan, customer: customer, account: account, principal: principal, months: months,
        rate: rate, requestedAt: time)
    case .loanApproved(let loan, let loanAccount, let start, let installment, let time):
      guard var l = loans[loan], l.status == .requested else { return false }
      l.status = .active
      l.decidedAt = time
      l.loanAccount = loanAccount
      l.start = start
      l.installment = installment
      l.outstanding = l.principal
      loans[loan] = l
    case .loanRejected(let loan, let reason, let time):
      guard var l = loans[loan], l.status == .requested else { return false }
      l.status = .rejected
      l.decidedAt = time
      l.reason = reason
      loans[loan] = l
    case .loanCharged(let loan, let charged, let interestDue, _):
      guard var l = loans[loan], l.start != nil else { return false }
      l.charged = charged
      l.interestDue = interestDue
      loans[loan] = l
    case .loanRepaid(let loan, let interest, let principal, _):
      guard var l = loans[loan], l.start != nil, interest <= l.interestDue,
        principal <= l.outstanding
      else { return false }
      l.interestDue -= interest
      l.outstanding -= principal
      l.paidInterest += interest
      l.paidPrincipal += principal
      if l.outstanding == 0 { l.status = .repaid }
      loans[loan] = l
    case .loanStatus(let loan, let status, _):
      guard var l = loans[loan] else { return false }
      l.status = status
      loans[loan] = l
    case .reversed(let original, let reversal, _, _):
      guard reversals[original] == nil else { return false }
      reversals[original] = reversal
      reversalOf[reversal] = original
    }
    return true
  }
}

/// The products as a core of the bank: section 4 of the snapshot, record tags 96–127.
extension ProductState: StateCore {
  typealias Record = ProductRecord

  static let coreID: UInt8 = 4
  static let coreName = "products"
  static let tags: ClosedRange<UInt8> = 96...127
  static let snapshotVersion: UInt8 = 1

  static func encode(_ record: ProductRecord, into w: inout ByteWriter) { record.encode(into: &w) }

  static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> ProductRecord {
    try RecordCodec.decodeWhole(bytes, core: "products") { r throws(DecodeError) in
      try ProductRecord.decode(&r)
    }
  }

  mutating func applyRecord(_ record: ProductRecord) -> Bool { apply(record) }

  static func time(of record: ProductRecord) -> Int64 { record.time.nanoseconds }

  var lastTimestamp: Int64 { lastTime }

  func encodeSnapshot() -> [UInt8] {
    var w = ByteWriter(capacity: 64 + pots.count * 56 + loans.count * 96)
    w.i64(lastTime)
    let types = rates.keys.sorted { $0.rawValue < $1.rawValue }
    w.u8(UInt8(types.count))
    for t in types {
      let list = rates[t] ?? []
      w.u8(t.rawValue)
      w.u32(UInt32(list.count))
      for p in list {
        w.i64(Int64(p.from.number))
        w.i64(p.rate.microPercent)
      }
    }
    let potList = pots.sorted { $0.key < $1.key }
    w.u32(UInt32(potList.count))
    for (id, p) in potList {
      w.u32(id.rawValue)
      w.i64(p.through.map { Int64($0.number) } ?? Int64.min)
      w.i64(p.balance)
      w.i128(p.accrued)
      w.i128(p.carry)
      w.u32(p.lastPosted.map { UInt32($0.year * 100 + $0.month) } ?? 0)
    }
    let loanList = loans.values.sorted { $0.id < $1.id }
    w.u32(UInt32(loanList.count))
    for l in loanList {
      w.u32(l.id.rawValue)
      w.u32(l.customer.rawValue)
      w.u32(l.account.rawValue)
      w.i64(l.principal)
      w.u16(UInt16(l.months))
      w.i64(l.rate.microPercent)
      w.instant(l.requestedAt)
      w.u8(l.status.rawValue)
      w.i64(l.decidedAt?.nanoseconds ?? Int64.min)
      w.string(l.reason)
      w.u32(l.loanAccount?.rawValue ?? 0)
      w.i64(l.start.map { Int64($0.number) } ?? Int64.min)
      w.i64(l.installment)
      w.i64(l.outstanding)
      w.i64(l.interestDue)
      w.u32(UInt32(l.charged))
      w.i64(l.paidInterest)
      w.i64(l.paidPrincipal)
    }
    let revList = reversals.sorted { $0.key < $1.key }
    w.u32(UInt32(revList.count))
    for (o, r) in revList {
      w.u64(o)
      w.u64(r)
    }
    return w.bytes
  }

  static func decodeSnapshot(_ bytes: [UInt8], version: UInt8) throws(DecodeError) -> ProductState {
    guard version == 1 else {
      throw DecodeError("products section version \(version); this release reads version 1")
    }
    return try RecordCodec.decodeWhole(bytes, core: "products") { r throws(DecodeError) in
      var s = ProductState()
      s.lastTime = try r.i64()
      for _ in 0..<Int(try r.u8()) {
        guard let t = RateType(rawValue: try r.u8()) else { throw DecodeError("unknown rate type") }
        var list: [(from: Day, rate: AnnualRate)] = []
        for _ in 0..<Int(try r.u32()) {
          list.append((Day(number: Int(try r.i64())), AnnualRate(microPercent: try r.i64())))
        }
        s.rates[t] = list
      }
      for _ in 0..<Int(try r.u32()) {
        let id = AccountID(try r.u32())
        let through = try r.i64()
        var p = InterestPot()
        p.through = through == Int64.min ? nil : Day(number: Int(through))
        p.balance = try r.i64()
        p.accrued = try r.i128()
        p.carry = try r.i128()
        let month = Int(try r.u32())
        if month != 0 {
          guard (1...12).contains(month % 100) else { throw DecodeError("bad month \(month)") }
          p.lastPosted = YearMonth(year: month / 100, month: month % 100)
        }
        s.pots[id] = p
      }
      for _ in 0..<Int(try r.u32()) {
        let id = LoanID(try r.u32())
        var l = LoanState(
          id: id, customer: CustomerID(try r.u32()), account: AccountID(try r.u32()),
          principal: try r.i64(), months: Int(try r.u16()),
          rate: AnnualRate(microPercent: try r.i64()), requestedAt: try r.instant())
        guard let status = LoanStatus(rawValue: try r.u8()) else {
          throw DecodeError("unknown loan status")
        }
        l.status = status
        let decided = try r.i64()
        l.decidedAt = decided == Int64.min ? nil : Instant(nanoseconds: decided)
        l.reason = try r.string()
        let account = try r.u32()
        l.loanAccount = account == 0 ? nil : AccountID(account)
        let start = try r.i64()
        l.start = start == Int64.min ? nil : Day(number: Int(start))
        l.installment = try r.i64()
        l.outstanding = try r.i64()
        l.interestDue = try r.i64()
        l.charged = Int(try r.u32())
        l.paidInterest = try r.i64()
        l.paidPrincipal = try r.i64()
        s.loans[id] = l
      }
      for _ in 0..<Int(try r.u32()) {
        let o = try r.u64()
        let v = try r.u64()
        s.reversals[o] = v
        s.reversalOf[v] = o
      }
      return s
    }
  }

  func invariantViolation() -> String? {
    for l in loans.values {
      if l.outstanding < 0 || l.interestDue < 0 { return "loan \(l.id) owes a negative amount" }
      if l.paidPrincipal + l.outstanding != (l.start == nil ? 0 : l.principal) {
        return
          "loan \(l.id): paid \(l.paidPrincipal) + outstanding \(l.outstanding) is not the principal \(l.principal)"
      }
    }
    return nil
  }

  /// Each loan's account holds exactly its outstanding principal.
  static func invariantViolation(across state: borrowing BankState) -> String? {
    guard let products = state.core(ProductState.self) else { return nil }
    for l in products.loans.values {
      guard let a = l.loanAccount else { continue }
      guard a.index < state.ledger.bal.count else { return "loan \(l.id) has no account" }
      let b = state.ledger.bal[a.index].balance
      if b != l.outstanding {
        return "loan \(l.id)'s account holds \(b), its outstanding principal is \(l.outstanding)"
      }
    }
    return nil
  }
}
