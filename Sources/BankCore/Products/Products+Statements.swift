/// One line of a statement.
public struct StatementEntry: Sendable, Hashable, Encodable {
  /// The transfer's public identifier (`#12` or its key).
  public let transfer: String
  /// When it posted.
  public let time: Instant
  /// What it was, for a person: "Cash deposit", "Transfer to 100000017 (Bob)", "Interest for
  /// 2026-01", with the memo.
  public let description: String
  /// Signed from the account's view.
  public let amount: Amount
  /// The balance after it.
  public let balance: Amount
  /// What kind of movement it was.
  public let kind: TransferKind
  /// The other account.
  public let counterparty: AccountNumber

  private enum Keys: String, CodingKey {
    case transfer, time, description, amount, balance, kind, counterparty
  }
  /// Encodes as `{"transfer","time","description","amount","balance","kind"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(transfer, forKey: .transfer)
    try c.encode(time, forKey: .time)
    try c.encode(description, forKey: .description)
    try c.encode(amount.description, forKey: .amount)
    try c.encode(balance.description, forKey: .balance)
    try c.encode(kind.description, forKey: .kind)
    try c.encode(counterparty, forKey: .counterparty)
  }
}

/// An account's statement over whole days.
public struct Statement: Sendable, Hashable, Encodable {
  public let account: AccountNumber
  public let name: String
  public let from: Day
  public let to: Day
  /// The posted balance at the start of `from`.
  public let openingBalance: Amount
  /// Oldest first.
  public let entries: [StatementEntry]
  /// The sum of credits (positive entries).
  public let totalIn: Amount
  /// The sum of debits, as a positive amount.
  public let totalOut: Amount
  /// The posted balance at the end of `to`: the opening balance plus in less out.
  public let closingBalance: Amount

  private enum Keys: String, CodingKey {
    case account, name, from, to, entries, currency
    case openingBalance = "opening_balance"
    case totalIn = "total_in"
    case totalOut = "total_out"
    case closingBalance = "closing_balance"
  }

  /// Encodes as DESIGN.md 4.7's `{"account","from","to","opening_balance","entries":[…],
  /// "total_in","total_out","closing_balance"}` plus `name` and `currency`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(account, forKey: .account)
    try c.encode(name, forKey: .name)
    try c.encode(openingBalance.currency.code, forKey: .currency)
    try c.encode(from.description, forKey: .from)
    try c.encode(to.description, forKey: .to)
    try c.encode(openingBalance.description, forKey: .openingBalance)
    try c.encode(entries, forKey: .entries)
    try c.encode(totalIn.description, forKey: .totalIn)
    try c.encode(totalOut.description, forKey: .totalOut)
    try c.encode(closingBalance.description, forKey: .closingBalance)
  }
}

/// The yearly interest summary of one customer: the tax document.
public struct InterestSummary: Sendable, Hashable, Encodable {
  public struct AccountLine: Sendable, Hashable, Encodable {
    public let account: AccountNumber
    public let type: AccountKind
    /// Interest the bank paid into it.
    public let interestEarned: Amount
    /// Overdraft interest the bank charged to it.
    public let interestPaid: Amount

    private enum Keys: String, CodingKey {
      case account, type, currency
      case interestEarned = "interest_earned"
      case interestPaid = "interest_paid"
    }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: Keys.self)
      try c.encode(account, forKey: .account)
      try c.encode(type.description, forKey: .type)
      try c.encode(interestEarned.currency.code, forKey: .currency)
      try c.encode(interestEarned.description, forKey: .interestEarned)
      try c.encode(interestPaid.description, forKey: .interestPaid)
    }
  }
  public struct LoanLine: Sendable, Hashable, Encodable {
    public let loan: LoanID
    public let interestPaid: Amount
    public let principalPaid: Amount
    private enum Keys: String, CodingKey {
      case loan, currency
      case interestPaid = "interest_paid"
      case principalPaid = "principal_paid"
    }
    public func encode(to encoder: any Encoder) throws {
      var c = encoder.container(keyedBy: Keys.self)
      try c.encode(loan, forKey: .loan)
      try c.encode(interestPaid.currency.code, forKey: .currency)
      try c.encode(interestPaid.description, forKey: .interestPaid)
      try c.encode(principalPaid.description, forKey: .principalPaid)
    }
  }
  public let customer: CustomerID
  public let name: String
  public let year: Int
  public let accounts: [AccountLine]
  public let loans: [LoanLine]

  private enum Keys: String, CodingKey { case customer, name, year, accounts, loans }
  /// Encodes as `{"customer","name","year","accounts":[{"account","type","currency",
  /// "interest_earned","interest_paid"}],"loans":[{"loan","currency","interest_paid",
  /// "principal_paid"}]}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(customer.description, forKey: .customer)
    try c.encode(name, forKey: .name)
    try c.encode(year, forKey: .year)
    try c.encode(accounts, forKey: .accounts)
    try c.encode(loans, forKey: .loans)
  }
}

extension Products {
  /// An account's statement from the start of `from` to the end of `to` (UTC days): the opening
  /// balance, every posted entry with its running balance and a description, the totals in and
  /// out, and the closing balance. A customer may read only their own accounts'.
  ///
  /// - Throws: `permission_denied`, `account_not_found`; `invalid_argument` when `to` is before
  ///   `from`.
  /// - Complexity: O(entries from the start of `from` to now): the history is read newest first.
  ///
  /// - Note: Blocks the calling thread while it reads the journal.
  public func statement(of number: AccountNumber, from: Day, to: Day, as principal: Principal)
    throws(BankError) -> Statement
  {
    guard from <= to else {
      throw BankError(.invalidArgument, "the statement's end \(to) is before its start \(from)")
    }
    try authenticator.authorizeRead(.statement, of: number, as: principal)
    let (account, names) = try bank.read { s throws(BankError) in
      let id = try s.ledger.id(of: number)
      return (
        s.ledger.account(id),
        Dictionary(uniqueKeysWithValues: s.ledger.info.map { ($0.number, $0.name) })
      )
    }
    let currency = account.currency
    var inRange: [HistoryEntry] = []
    var opening: Int64?
    var before: HistoryCursor?
    let startNanos = from.start.nanoseconds
    let endNanos = to.end.nanoseconds
    var current = account.balance.minorUnits
    outer: while true {
      let page = try ledger.history(
        of: number, limit: 512, before: before, checkedCursors: false)
      for e in page {
        let t = e.time.nanoseconds
        if t >= endNanos {
          current = e.balance.minorUnits - e.amount.minorUnits
          continue
        }
        if t < startNanos {
          opening = e.balance.minorUnits
          break outer
        }
        inRange.append(e)
      }
      guard page.count == 512, let last = page.last else { break }
      before = last.cursor
    }
    inRange.reverse()
    let open =
      opening ?? (inRange.first.map { $0.balance.minorUnits - $0.amount.minorUnits } ?? current)
    var totalIn: Int128 = 0
    var totalOut: Int128 = 0
    var entries: [StatementEntry] = []
    entries.reserveCapacity(inRange.count)
    for e in inRange {
      let a = e.amount.minorUnits
      if a >= 0 { totalIn += Int128(a) } else { totalOut -= Int128(a) }
      entries.append(
        StatementEntry(
          transfer: e.transfer, time: e.time,
          description: Self.describe(e, counterpartyName: names[e.counterparty]), amount: e.amount,
          balance: e.balance, kind: e.kind, counterparty: e.counterparty))
    }
    func amount(_ v: Int64) -> Amount { Amount(minorUnits: v, currency: currency) }
    guard let totalIn = Int64(exactly: totalIn), let totalOut = Int64(exactly: totalOut) else {
      throw BankError(
        .overflow,
        "the totals of the statement of \(number) do not fit in 64 bits; use a shorter period")
    }
    return Statement(
      account: number, name: account.name, from: from, to: to, openingBalance: amount(open),
      entries: entries, totalIn: amount(totalIn), totalOut: amount(totalOut),
      closingBalance: amount(entries.last?.balance.minorUnits ?? open))
  }

  /// A person's description of an entry.
  static func describe(_ e: HistoryEntry, counterpartyName: String?) -> String {
    let incoming = e.amount.minorUnits >= 0
    let other = "\(e.counterparty)" + (counterpartyName.map { " (\($0))" } ?? "")
    let base: String
    switch e.kind {
    case .deposit: base = "Cash deposit"
    case .withdrawal: base = "Cash withdrawal"
    case .transfer: base = incoming ? "Transfer from \(other)" : "Transfer to \(other)"
    case .interest: base = incoming ? "Interest paid" : "Interest charged"
    case .fee: base = "Fee"
    case .loanDisbursement: base = "Loan disbursement"
    case .loanRepayment: base = "Loan repayment"
    case .reversal: base = incoming ? "Reversal from \(other)" : "Reversal to \(other)"
    }
    return e.memo.isEmpty ? base : "\(base): \(e.memo)"
  }

  /// The interest a customer earned and paid in a calendar year, per account and per loan: the
  /// yearly tax document. A customer may read only their own.
  ///
  /// - Throws: `permission_denied`, `customer_not_found`.
  public func interestSummary(of customer: CustomerID, year: Int, as principal: Principal)
    throws(BankError) -> InterestSummary
  {
    guard (1970...9999).contains(year) else {
      throw BankError(.invalidArgument, "invalid year \(year)")
    }
    let c = try authenticator.customer(customer, as: principal)
    let (loans, incomeAccounts, reversed) = try read { p, s in
      (
        p.loans.values.filter { $0.customer == customer && $0.start != nil }.sorted {
          $0.id < $1.id
        },
        Set(
          s.ledger.info.filter { $0.kind == .interestIncome || $0.kind == .interest }.map(\.number)),
        Set(p.reversals.keys.map { "#\($0)" })
      )
    }
    let from = YearMonth(year: year, month: 1).firstDay
    let to = YearMonth(year: year, month: 12).lastDay
    var lines: [InterestSummary.AccountLine] = []
    var loanInterest: [String: Int64] = [:]
    var loanPrincipal: [String: Int64] = [:]
    var loanCurrency: [String: Currency] = [:]
    for number in c.accounts {
      let s = try statement(of: number, from: from, to: to, as: .operator)
      let account = try ledger.account(number)
      var earned: Int64 = 0
      var paid: Int64 = 0
      // A posting that was reversed was not paid.
      for e in s.entries where !reversed.contains(e.transfer) {
        switch e.kind {
        case .interest:
          if e.amount.minorUnits > 0 {
            earned += e.amount.minorUnits
          } else {
            paid -= e.amount.minorUnits
          }
        case .loanRepayment:
          // "interest on loan L000001" / "principal of loan L000001"
          let words = e.description.split(separator: " ")
          guard let loan = words.last.map(String.init) else { break }
          loanCurrency[loan] = account.currency
          if e.description.contains("interest on loan"), incomeAccounts.contains(e.counterparty) {
            loanInterest[loan, default: 0] -= e.amount.minorUnits
          } else {
            loanPrincipal[loan, default: 0] -= e.amount.minorUnits
          }
        default: break
        }
      }
      if account.kind == .checking || account.kind == .savings {
        lines.append(
          .init(
            account: number, type: account.kind,
            interestEarned: Amount(minorUnits: earned, currency: account.currency),
            interestPaid: Amount(minorUnits: paid, currency: account.currency)))
      }
    }
    let loanLines = loans.map { l -> InterestSummary.LoanLine in
      let key = l.id.description
      let currency = loanCurrency[key] ?? .usd
      return .init(
        loan: l.id, interestPaid: Amount(minorUnits: loanInterest[key] ?? 0, currency: currency),
        principalPaid: Amount(minorUnits: loanPrincipal[key] ?? 0, currency: currency))
    }
    return InterestSummary(
      customer: customer, name: c.name, year: year, accounts: lines, loans: loanLines)
  }
}
