/// A sum of minor units that may pass what 64 bits hold (a vault's gross totals), printed as an
/// exact decimal.
public struct WideAmount: Sendable, Hashable, Encodable, CustomStringConvertible {
  /// The value in minor units.
  public let minorUnits: Int128
  /// The currency it is counted in.
  public let currency: Currency

  /// A sum of `minorUnits` in `currency`.
  public init(minorUnits: Int128, currency: Currency) {
    self.minorUnits = minorUnits
    self.currency = currency
  }

  public var description: String {
    let negative = minorUnits < 0
    var s = String(negative ? -minorUnits : minorUnits)
    let d = currency.minorDigits
    guard d > 0 else { return (negative ? "-" : "") + s }
    if s.count <= d { s = String(repeating: "0", count: d - s.count + 1) + s }
    s.insert(".", at: s.index(s.endIndex, offsetBy: -d))
    return (negative ? "-" : "") + s
  }

  /// Encodes as the decimal string.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

/// The trial balance of one currency: every ledger account with its posted debits and credits.
public struct TrialBalance: Sendable, Hashable, Encodable {
  public struct Line: Sendable, Hashable, Encodable {
    public let account: AccountNumber
    public let name: String
    public let kind: AccountKind
    public let debits: WideAmount
    public let credits: WideAmount
    /// On the account's normal side (credits less debits for deposits and incomes).
    public let balance: WideAmount
    private enum Keys: String, CodingKey { case account, name, kind, debits, credits, balance }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: Keys.self)
      try c.encode(account, forKey: .account)
      try c.encode(name, forKey: .name)
      try c.encode(kind.description, forKey: .kind)
      try c.encode(debits, forKey: .debits)
      try c.encode(credits, forKey: .credits)
      try c.encode(balance, forKey: .balance)
    }
  }
  public let currency: Currency
  public let accounts: [Line]
  public let totalDebits: WideAmount
  public let totalCredits: WideAmount

  private enum Keys: String, CodingKey {
    case currency, accounts
    case totalDebits = "total_debits"
    case totalCredits = "total_credits"
  }
  /// Encodes as `{"currency","accounts":[{"account","name","kind","debits","credits","balance"}],
  /// "total_debits","total_credits"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(currency.code, forKey: .currency)
    try c.encode(accounts, forKey: .accounts)
    try c.encode(totalDebits, forKey: .totalDebits)
    try c.encode(totalCredits, forKey: .totalCredits)
  }
}

/// Deposits by product and currency.
public struct DepositLine: Sendable, Hashable, Encodable {
  public let type: AccountKind
  public let currency: Currency
  /// Open accounts (not closed).
  public let accounts: Int
  /// The sum of their posted balances.
  public let balance: WideAmount
  /// Accounts below zero, and the sum of their negative balances (a positive figure).
  public let overdrawn: Int
  public let overdrawnTotal: WideAmount
  /// Accounts past their overdraft limit (interest or fees took them there).
  public let overLimit: Int
  private enum Keys: String, CodingKey {
    case type, currency, accounts, balance, overdrawn
    case overdrawnTotal = "overdrawn_total"
    case overLimit = "over_limit"
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(type.description, forKey: .type)
    try c.encode(currency.code, forKey: .currency)
    try c.encode(accounts, forKey: .accounts)
    try c.encode(balance, forKey: .balance)
    try c.encode(overdrawn, forKey: .overdrawn)
    try c.encode(overdrawnTotal, forKey: .overdrawnTotal)
    try c.encode(overLimit, forKey: .overLimit)
  }
}

/// The loan portfolio of one status and currency.
public struct LoanPortfolioLine: Sendable, Hashable, Encodable {
  public let status: LoanStatus
  public let currency: Currency
  public let count: Int
  public let principal: WideAmount
  public let outstandingPrincipal: WideAmount
  public let interestDue: WideAmount
  public let arrears: WideAmount
  private enum Keys: String, CodingKey {
    case status, currency, count, principal, arrears
    case outstandingPrincipal = "outstanding_principal"
    case interestDue = "interest_due"
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(status, forKey: .status)
    try c.encode(currency.code, forKey: .currency)
    try c.encode(count, forKey: .count)
    try c.encode(principal, forKey: .principal)
    try c.encode(outstandingPrincipal, forKey: .outstandingPrincipal)
    try c.encode(interestDue, forKey: .interestDue)
    try c.encode(arrears, forKey: .arrears)
  }
}

/// Counts and sums of one kind of movement in one period and currency.
public struct VolumeLine: Sendable, Hashable, Encodable {
  /// `YYYY-MM-DD` or `YYYY-MM`.
  public let period: String
  public let operation: TransferKind
  public let currency: Currency
  public let count: Int
  public let total: WideAmount
  private enum Keys: String, CodingKey { case period, operation, currency, count, total }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(period, forKey: .period)
    try c.encode(operation.description, forKey: .operation)
    try c.encode(currency.code, forKey: .currency)
    try c.encode(count, forKey: .count)
    try c.encode(total, forKey: .total)
  }
}

/// A customer with their accounts and activity.
public struct CustomerActivity: Sendable, Hashable, Encodable {
  public struct AccountLine: Sendable, Hashable, Encodable {
    public let account: AccountNumber
    public let type: AccountKind
    public let status: AccountStatus
    public let balance: Amount
    /// When the account last moved money; `nil` when it never has.
    public let lastActivity: Instant?
    private enum Keys: String, CodingKey {
      case account, type, status, balance, currency
      case lastActivity = "last_activity"
    }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: Keys.self)
      try c.encode(account, forKey: .account)
      try c.encode(type.description, forKey: .type)
      try c.encode(status.description, forKey: .status)
      try c.encode(balance.description, forKey: .balance)
      try c.encode(balance.currency.code, forKey: .currency)
      if let lastActivity {
        try c.encode(lastActivity, forKey: .lastActivity)
      } else {
        try c.encodeNil(forKey: .lastActivity)
      }
    }
  }
  public let customer: CustomerID
  public let name: String
  /// Contact details: only for roles that may see customers' details (managers and the
  /// operator); `nil` otherwise.
  public let email: String?
  public let phone: String?
  public let registered: Instant
  public let accounts: [AccountLine]
  public let loans: Int
  private enum Keys: String, CodingKey {
    case customer, name, email, phone, registered, accounts, loans
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(customer.description, forKey: .customer)
    try c.encode(name, forKey: .name)
    if let email { try c.encode(email, forKey: .email) }
    if let phone { try c.encode(phone, forKey: .phone) }
    try c.encode(registered, forKey: .registered)
    try c.encode(accounts, forKey: .accounts)
    try c.encode(loans, forKey: .loans)
  }
}

/// How `report volume` groups time.
public enum VolumePeriod: String, Sendable, CaseIterable {
  case day, month
}

extension Products {
  /// The trial balance of one currency: every ledger account in it with its posted debits,
  /// credits and balance; the totals are equal (double entry).
  ///
  /// - Throws: `permission_denied` (managers, auditors and the operator).
  public func trialBalance(currency: Currency, as principal: Principal) throws(BankError)
    -> TrialBalance
  {
    try Self.require(.reports, principal)
    return try bank.read { s in
      var lines: [TrialBalance.Line] = []
      var debits: Int128 = 0
      var credits: Int128 = 0
      for (i, info) in s.ledger.info.enumerated() where info.currency == currency {
        let a = s.ledger.account(AccountID(UInt32(i + 1)))
        debits += a.postedDebits
        credits += a.postedCredits
        lines.append(
          .init(
            account: info.number, name: info.name, kind: info.kind,
            debits: WideAmount(minorUnits: a.postedDebits, currency: currency),
            credits: WideAmount(minorUnits: a.postedCredits, currency: currency),
            balance: WideAmount(
              minorUnits: info.kind.isCreditNormal
                ? a.postedCredits - a.postedDebits : a.postedDebits - a.postedCredits,
              currency: currency)))
      }
      return TrialBalance(
        currency: currency, accounts: lines,
        totalDebits: WideAmount(minorUnits: debits, currency: currency),
        totalCredits: WideAmount(minorUnits: credits, currency: currency))
    }
  }

  /// Deposits by product (checking, savings) and currency, closed accounts left out.
  public func depositsReport(as principal: Principal) throws(BankError) -> [DepositLine] {
    try Self.require(.reports, principal)
    return try bank.read { s in
      struct Sum {
        var accounts = 0
        var balance: Int128 = 0
        var overdrawn = 0
        var overdrawnTotal: Int128 = 0
        var overLimit = 0
      }
      var sums: [String: (AccountKind, Currency, Sum)] = [:]
      for (i, info) in s.ledger.info.enumerated()
      where info.kind == .checking || info.kind == .savings {
        let b = s.ledger.bal[i]
        if b.status == .closed { continue }
        let key = "\(info.kind.rawValue)\(info.currency.code)"
        var entry = sums[key] ?? (info.kind, info.currency, Sum())
        entry.2.accounts += 1
        entry.2.balance += Int128(b.balance)
        if b.balance < 0 {
          entry.2.overdrawn += 1
          entry.2.overdrawnTotal -= Int128(b.balance)
        }
        if Int128(b.balance) + Int128(b.overdraftLimit) < 0 { entry.2.overLimit += 1 }
        sums[key] = entry
      }
      return sums.values.sorted { ($0.0.rawValue, $0.1.code) < ($1.0.rawValue, $1.1.code) }.map {
        DepositLine(
          type: $0.0, currency: $0.1, accounts: $0.2.accounts,
          balance: WideAmount(minorUnits: $0.2.balance, currency: $0.1),
          overdrawn: $0.2.overdrawn,
          overdrawnTotal: WideAmount(minorUnits: $0.2.overdrawnTotal, currency: $0.1),
          overLimit: $0.2.overLimit)
      }
    }
  }

  /// The loan portfolio by status and currency, with arrears, and every loan.
  public func loansReport(as principal: Principal) throws(BankError) -> (
    [LoanPortfolioLine], [Loan]
  ) {
    let all = try loans(as: principal)
    var sums: [String: (LoanStatus, Currency, Int, Int128, Int128, Int128, Int128)] = [:]
    for l in all {
      let key = "\(l.status.rawValue)\(l.principal.currency.code)"
      var e = sums[key] ?? (l.status, l.principal.currency, 0, 0, 0, 0, 0)
      e.2 += 1
      e.3 += Int128(l.principal.minorUnits)
      e.4 += Int128(l.outstandingPrincipal.minorUnits)
      e.5 += Int128(l.interestDue.minorUnits)
      e.6 += Int128(l.arrears.minorUnits)
      sums[key] = e
    }
    let lines = sums.values.sorted { ($0.0.rawValue, $0.1.code) < ($1.0.rawValue, $1.1.code) }.map {
      LoanPortfolioLine(
        status: $0.0, currency: $0.1, count: $0.2,
        principal: WideAmount(minorUnits: $0.3, currency: $0.1),
        outstandingPrincipal: WideAmount(minorUnits: $0.4, currency: $0.1),
        interestDue: WideAmount(minorUnits: $0.5, currency: $0.1),
        arrears: WideAmount(minorUnits: $0.6, currency: $0.1))
    }
    return (lines, all)
  }

  /// Counts and sums of posted movements by operation (transfer kind), per day or month, from
  /// the start of `from` to the end of `to` (all time when `nil`).
  ///
  /// - Complexity: O(records): it reads the whole journal.
  public func volumeReport(
    by period: VolumePeriod, from: Day? = nil, to: Day? = nil, as principal: Principal
  ) throws(BankError) -> [VolumeLine] {
    try Self.require(.reports, principal)
    let currencies = try bank.read { s in s.ledger.info.map(\.currency) }
    let start = from?.start.nanoseconds ?? Int64.min
    let end = to?.end.nanoseconds ?? Int64.max
    var sums: [String: (String, TransferKind, Currency, Int, Int128)] = [:]
    var holds: [UInt64: TransferRecord] = [:]
    func note(_ t: TransferRecord, amount: Int64, time: Int64) {
      guard time >= start, time < end, t.debit.index < currencies.count else { return }
      let day = Day(Instant(nanoseconds: time))
      let label = period == .day ? day.description : day.month.description
      let currency = currencies[t.debit.index]
      let key = "\(label)|\(t.kind.rawValue)|\(currency.code)"
      var e = sums[key] ?? (label, t.kind, currency, 0, 0)
      e.3 += 1
      e.4 += Int128(amount)
      sums[key] = e
    }
    try ledger.scan(after: 0, upTo: ledger.lastSequence) { _, record in
      switch record {
      case .transfer(let t):
        if t.isHold { holds[t.number] = t } else { note(t, amount: t.amount, time: t.timestamp) }
      case .holdResolved(let r):
        if let t = holds.removeValue(forKey: r.hold), r.outcome == .posted {
          note(t, amount: r.amount, time: r.timestamp)
        }
      default: break
      }
      return true
    }
    return sums.values.sorted {
      ($0.0, $0.1.rawValue, $0.2.code) < ($1.0, $1.1.rawValue, $1.2.code)
    }.map {
      VolumeLine(
        period: $0.0, operation: $0.1, currency: $0.2, count: $0.3,
        total: WideAmount(minorUnits: $0.4, currency: $0.2))
    }
  }

  /// Every customer with their accounts, balances and last activity; contact details only for
  /// roles that may see customers' details.
  public func customersReport(as principal: Principal) throws(BankError) -> [CustomerActivity] {
    try Self.require(.reports, principal)
    let contacts = matrixAllows(.updateCustomer, for: principal, ownsTarget: false)
    let rows = try read { p, s throws(BankError) in
      let auth = try s.requireCore(AuthState.self)
      return auth.customers.values.sorted { $0.id < $1.id }.map { c in
        (
          c,
          c.accounts.map { id in (s.ledger.account(id), s.ledger.bal[id.index].lastEntry) },
          p.loans.values.filter { $0.customer == c.id }.count
        )
      }
    }
    var out: [CustomerActivity] = []
    for (c, accounts, loans) in rows {
      var lines: [CustomerActivity.AccountLine] = []
      for (a, head) in accounts {
        var last: Instant?
        if head != 0, let bytes = try ledger.readRecord(head) {
          switch try ledger.decode(bytes, head) {
          case .transfer(let t): last = Instant(nanoseconds: t.timestamp)
          case .holdResolved(let r): last = Instant(nanoseconds: r.timestamp)
          default: break
          }
        }
        lines.append(
          .init(
            account: a.number, type: a.kind, status: a.status, balance: a.balance,
            lastActivity: last))
      }
      out.append(
        CustomerActivity(
          customer: c.id, name: c.name, email: contacts ? c.email : nil,
          phone: contacts ? c.phone : nil, registered: c.registeredAt, accounts: lines, loans: loans
        ))
    }
    return out
  }
}
