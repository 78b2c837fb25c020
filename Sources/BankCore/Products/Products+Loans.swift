/// A loan as `loan show` gives it.
public struct Loan: Sendable, Hashable, Encodable {
  /// Its number, `L000001`.
  public let id: LoanID
  /// The borrower.
  public let customer: CustomerID
  /// The borrower's account the principal was paid into.
  public let account: AccountNumber
  /// The loan's own ledger account (debit-normal: its balance is the outstanding principal);
  /// `nil` before approval.
  public let loanAccount: AccountNumber?
  /// What was lent.
  public let principal: Amount
  /// The annual rate in percent.
  public let annualRate: AnnualRate
  /// The term in months.
  public let months: Int
  /// Where it is in its life.
  public let status: LoanStatus
  /// Principal still owed (the loan account's balance).
  public let outstandingPrincipal: Amount
  /// Interest of the periods begun and not yet paid.
  public let interestDue: Amount
  /// The monthly installment (0 before approval).
  public let installment: Amount
  /// The due date of the first installment that payments do not yet cover; `nil` once repaid,
  /// rejected or before approval.
  public let nextDue: Day?
  /// Scheduled installments fallen due and not covered by payments.
  public let arrears: Amount
  /// Days since the oldest uncovered installment fell due (0 when none has).
  public let daysOverdue: Int
  /// Interest and principal repaid so far.
  public let paidInterest: Amount
  public let paidPrincipal: Amount
  /// When it was requested and decided.
  public let requested: Instant
  public let decided: Instant?
  /// Why it was rejected.
  public let reason: String

  private enum Keys: String, CodingKey {
    case loan, customer, account, principal, months, status, installment, arrears, requested,
      decided, reason
    case loanAccount = "loan_account"
    case annualRate = "annual_rate"
    case outstandingPrincipal = "outstanding_principal"
    case interestDue = "interest_due"
    case nextDue = "next_due"
    case daysOverdue = "days_overdue"
    case paidInterest = "paid_interest"
    case paidPrincipal = "paid_principal"
  }

  /// Encodes as DESIGN.md 4.7's `{"loan","customer","account","principal","annual_rate","months",
  /// "status","outstanding_principal","installment","next_due"}` with the other fields after.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(id, forKey: .loan)
    try c.encode(customer.description, forKey: .customer)
    try c.encode(account, forKey: .account)
    try c.encode(principal.description, forKey: .principal)
    try c.encode(annualRate, forKey: .annualRate)
    try c.encode(months, forKey: .months)
    try c.encode(status, forKey: .status)
    try c.encode(outstandingPrincipal.description, forKey: .outstandingPrincipal)
    try c.encode(installment.description, forKey: .installment)
    if let nextDue {
      try c.encode(nextDue.description, forKey: .nextDue)
    } else {
      try c.encodeNil(forKey: .nextDue)
    }
    try c.encode(interestDue.description, forKey: .interestDue)
    try c.encode(arrears.description, forKey: .arrears)
    try c.encode(daysOverdue, forKey: .daysOverdue)
    try c.encode(paidInterest.description, forKey: .paidInterest)
    try c.encode(paidPrincipal.description, forKey: .paidPrincipal)
    if let loanAccount {
      try c.encode(loanAccount, forKey: .loanAccount)
    } else {
      try c.encodeNil(forKey: .loanAccount)
    }
    try c.encode(requested, forKey: .requested)
    if let decided {
      try c.encode(decided, forKey: .decided)
    } else {
      try c.encodeNil(forKey: .decided)
    }
    try c.encode(reason, forKey: .reason)
  }
}

/// A repayment's split.
public struct LoanRepayment: Sendable, Hashable, Encodable {
  /// The loan after it.
  public let loan: Loan
  /// The part that paid interest due.
  public let interest: Amount
  /// The part that reduced the principal.
  public let principal: Amount

  private enum Keys: String, CodingKey { case loan, interest, principal, paid }
  /// Encodes as `{"loan":{…},"paid":{"interest","principal"}}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(loan, forKey: .loan)
    var paid = c.nestedContainer(keyedBy: Keys.self, forKey: .paid)
    try paid.encode(interest.description, forKey: .interest)
    try paid.encode(principal.description, forKey: .principal)
  }
}

extension LoanState {
  /// The contractual schedule (from the disbursement day, or from `day` before approval).
  func schedule(currency: Currency, from day: Day) throws(BankError) -> [Installment] {
    try LoanMath.schedule(
      principal: Amount(minorUnits: principal, currency: currency), months: months, rate: rate,
      start: start ?? day)
  }

  /// Installments covered by what was paid, the arrears and the days overdue as of `day`.
  func standing(_ schedule: [Installment], on day: Day) -> (
    covered: Int, arrears: Int64, daysOverdue: Int
  ) {
    let paid = paidInterest + paidPrincipal
    var cumulative: Int64 = 0
    var covered = 0
    var dueSoFar: Int64 = 0
    var oldest: Day?
    for i in schedule {
      cumulative += i.payment.minorUnits
      if cumulative <= paid { covered += 1 } else if i.due <= day, oldest == nil { oldest = i.due }
      if i.due <= day { dueSoFar = cumulative }
    }
    guard status == .active || status == .defaulted else { return (covered, 0, 0) }
    return (covered, max(0, dueSoFar - paid), oldest.map { day.number - $0.number } ?? 0)
  }
}

extension Products {
  static func noLoan(_ id: LoanID) -> BankError {
    BankError(.loanNotFound, "no loan \(id)")
  }

  /// The public view of a loan as of `day`, with the interest of the periods begun by then.
  static func view(_ l: LoanState, _ s: borrowing BankState, on day: Day) throws(BankError) -> Loan
  {
    let currency = s.ledger.info[l.account.index].currency
    let schedule = try l.schedule(currency: currency, from: day)
    let (covered, arrears, overdue) = l.standing(schedule, on: day)
    let (_, due) = l.charges(through: day)
    let live = l.status == .active || l.status == .defaulted
    func amount(_ v: Int64) -> Amount { Amount(minorUnits: v, currency: currency) }
    return Loan(
      id: l.id, customer: l.customer, account: s.ledger.info[l.account.index].number,
      loanAccount: l.loanAccount.map { s.ledger.info[$0.index].number },
      principal: amount(l.principal), annualRate: l.rate, months: l.months, status: l.status,
      outstandingPrincipal: amount(l.outstanding), interestDue: amount(due),
      installment: amount(l.installment),
      nextDue: live && l.outstanding > 0
        ? (covered < schedule.count
          ? schedule[covered].due
          : (l.start.map { LoanMath.due(l.charged, from: $0) } ?? Day(number: 0)))
        : nil,
      arrears: amount(arrears), daysOverdue: overdue, paidInterest: amount(l.paidInterest),
      paidPrincipal: amount(l.paidPrincipal), requested: l.requestedAt, decided: l.decidedAt,
      reason: l.reason)
  }

  /// The view of loan `loan` in a state a command just built.
  static func view(_ p: ProductState, _ loan: LoanID, _ s: borrowing BankState, on day: Day)
    throws(BankError) -> Loan
  {
    guard let l = p.loans[loan] else { throw noLoan(loan) }
    return try view(l, s, on: day)
  }

  /// Charges every live loan's periods begun by `date` and marks those more than 90 days
  /// overdue as `defaulted`.
  static func chargeLoans(_ p: ProductState, through date: Day, now: Instant) -> (
    [ProductRecord], Int, [LoanID]
  ) {
    var records: [ProductRecord] = []
    var charged = 0
    var defaulted: [LoanID] = []
    for l in p.loans.values.sorted(by: { $0.id < $1.id })
    where l.status == .active || l.status == .defaulted {
      let (c, due) = l.charges(through: date)
      if c != l.charged {
        records.append(.loanCharged(loan: l.id, charged: c, interestDue: due, time: now))
        charged += 1
      }
      if l.status == .active, let start = l.start {
        let schedule =
          (try? LoanMath.schedule(
            principal: Amount(minorUnits: l.principal, currency: .usd), months: l.months,
            rate: l.rate, start: start)) ?? []
        if l.standing(schedule, on: date).daysOverdue > 90 {
          records.append(.loanStatus(loan: l.id, status: .defaulted, time: now))
          defaulted.append(l.id)
        }
      }
    }
    return (records, charged, defaulted)
  }

  /// Asks for a loan into one of the customer's own deposit accounts.
  ///
  /// - Throws: `permission_denied` (the customer themself, or the operator);
  ///   `customer_not_found`, `account_not_found`; `invalid_argument` for an account the customer
  ///   does not own, a term outside 1 to 480 months; `invalid_amount`, `currency_mismatch`.
  ///
  /// - Note: Blocks the calling thread until its records are durable.
  @discardableResult
  public func requestLoan(
    customer: CustomerID, account: AccountNumber, amount: Amount, months: Int,
    annualRate: AnnualRate, as principal: Principal
  ) throws(BankError) -> Loan {
    if case .customer(let me) = principal, me != customer {
      throw BankError(
        .permissionDenied, "a customer may request loans only for themself, not for \(customer)")
    }
    try requirePermission(.requestLoan, for: principal, ownsTarget: true)
    guard (1...480).contains(months) else {
      throw BankError(.invalidArgument, "a loan's term must be 1 to 480 months, not \(months)")
    }
    guard amount.minorUnits > 0 else {
      throw BankError(.invalidAmount, "a loan's amount must be positive, got \(amount.formatted)")
    }
    try amount.currency.requireWithinMaximum(amount, "a loan's amount")
    _ = try LoanMath.installment(principal: amount.minorUnits, months: months, rate: annualRate)
    return try commit(as: principal) { p, state, tx throws(BankError) in
      guard let auth = state.core(AuthState.self), auth.customer(customer) != nil else {
        throw BankError(.customerNotFound, "no customer \(customer)")
      }
      let customerActs: Bool
      if case .customer = principal { customerActs = true } else { customerActs = false }
      // A customer learns nothing about accounts that are not theirs.
      let notTheirs = BankError(.permissionDenied, "account \(account) is not \(customer)'s")
      let id: AccountID
      do throws(BankError) { id = try state.ledger.id(of: account) } catch {
        throw customerActs ? notTheirs : error
      }
      guard auth.owner(of: id) == customer else {
        throw customerActs
          ? notTheirs : BankError(.invalidArgument, "account \(account) is not \(customer)'s")
      }
      let info = state.ledger.info[id.index]
      guard info.kind == .checking || info.kind == .savings else {
        throw BankError(.invalidArgument, "a loan is paid into a checking or savings account")
      }
      guard info.currency == amount.currency else {
        throw BankError(
          .currencyMismatch,
          "account \(account) is in \(info.currency.code); the loan is \(amount.formatted)")
      }
      guard state.ledger.bal[id.index].status != .closed else {
        throw BankError(.accountClosed, "account \(account) is closed")
      }
      let now = Instant(nanoseconds: tx.now)
      let loan = p.nextLoan
      var after = p
      let record = ProductRecord.loanRequested(
        loan: loan, customer: customer, account: id, principal: amount.minorUnits, months: months,
        rate: annualRate, time: now)
      _ = after.apply(record)
      return ([record], try Self.view(after, loan, state, on: Day(now)))
    }
  }

  /// Approves a requested loan: opens its account and disburses the principal to the borrower's
  /// account in the same batch; the first period's interest is charged at once.
  ///
  /// - Throws: `permission_denied` (managers and the operator); `invalid_argument` for an unknown
  ///   loan or one already decided; as a transfer (a frozen or closed account).
  @discardableResult
  public func approveLoan(_ loan: LoanID, as principal: Principal) throws(BankError) -> Loan {
    try Self.require(.approveLoan, principal)
    return try commit(as: principal) { p, state, tx throws(BankError) in
      guard let l = p.loans[loan] else { throw Self.noLoan(loan) }
      guard l.status == .requested else {
        throw BankError(.loanNotActive, "loan \(loan) is \(l.status), not requested")
      }
      let info = state.ledger.info[l.account.index]
      let now = Instant(nanoseconds: tx.now)
      guard
        case .opened(let loanAccount) = try state.ledger.stage(
          .open(
            AccountSpec(name: "Loan \(loan) \(info.name)", kind: .loan, currency: info.currency)),
          now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
      else { throw BankError(.invalidArgument, "the loan's account did not open") }
      try Self.move(
        l.principal, info.currency, from: state.ledger.info[loanAccount.index].number,
        to: info.number, kind: .loanDisbursement, memo: "loan \(loan) disbursed", &state, &tx)
      let installment = try LoanMath.installment(
        principal: l.principal, months: l.months, rate: l.rate)
      var after = p
      var records: [ProductRecord] = [
        .loanApproved(
          loan: loan, loanAccount: loanAccount, start: Day(now), installment: installment, time: now
        )
      ]
      _ = after.apply(records[0])
      let (c, due) = (after.loans[loan]?.charges(through: Day(now)) ?? (0, 0))
      records.append(.loanCharged(loan: loan, charged: c, interestDue: due, time: now))
      _ = after.apply(records[1])
      return (records, try Self.view(after, loan, state, on: Day(now)))
    }
  }

  /// Rejects a requested loan.
  @discardableResult
  public func rejectLoan(_ loan: LoanID, reason: String = "", as principal: Principal)
    throws(BankError) -> Loan
  {
    try Self.require(.rejectLoan, principal)
    try Validate.text(reason, field: "reason", max: 200, allowEmpty: true)
    return try commit(as: principal) { p, state, tx throws(BankError) in
      guard let l = p.loans[loan] else { throw Self.noLoan(loan) }
      guard l.status == .requested else {
        throw BankError(.loanNotActive, "loan \(loan) is \(l.status), not requested")
      }
      let now = Instant(nanoseconds: tx.now)
      var after = p
      let record = ProductRecord.loanRejected(loan: loan, reason: reason, time: now)
      _ = after.apply(record)
      return ([record], try Self.view(after, loan, state, on: Day(now)))
    }
  }

  /// Repays `amount` of a loan from `from` (default: the account it was paid into): the interest
  /// due first (to the bank's interest income), then principal (to the loan's account). A
  /// repayment beyond the interest due reduces the principal, keeps the installment and shortens
  /// the term. With `key`, a retry after the repayment committed replays it instead of paying
  /// twice.
  ///
  /// - Throws: `permission_denied` (the borrower from their own account, or the operator);
  ///   `loan_not_found`; `loan_not_active`; `overpayment` for an amount beyond what it owes
  ///   (named); `invalid_argument` for a source that is not a checking or savings account;
  ///   `insufficient_funds` and the other transfer refusals; `idempotency_conflict` for a key
  ///   used with other arguments.
  ///
  /// - Note: Blocks the calling thread until its records are durable.
  @discardableResult
  public func repayLoan(
    _ loan: LoanID, amount: Amount, from: AccountNumber? = nil, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> LoanRepayment {
    guard amount.minorUnits > 0 else {
      throw BankError(.invalidAmount, "a repayment must be positive, got \(amount.formatted)")
    }
    return try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> LoanRepayment in
      var split: (interest: Int64, principal: Int64) = (0, 0)
      if let op = OperationKey(
        key, principal: principal, command: "loan_repay",
        arguments: [
          ("loan", loan.description), ("amount", amount.description),
          ("currency", amount.currency.code), ("from", from?.description ?? ""),
        ])
      {
        let done = try authenticator.commitKeyed(op) { state, tx throws(BankError) -> String in
          split = try Self.repayStaged(loan, amount: amount, from: from, principal, &state, &tx)
          return "\(split.interest) \(split.principal)"
        }
        if let done {
          let figures = done.split(separator: " ").compactMap { Int64($0) }
          if figures.count == 2 { split = (figures[0], figures[1]) }
        }
      } else {
        split = try bank.commit { state, tx throws(BankError) in
          try Self.repayStaged(loan, amount: amount, from: from, principal, &state, &tx)
        }
      }
      return LoanRepayment(
        loan: try self.loan(loan, as: .operator),
        interest: Amount(minorUnits: split.interest, currency: amount.currency),
        principal: Amount(minorUnits: split.principal, currency: amount.currency))
    }
  }

  /// Stages a repayment in a transaction: the interest and principal paid.
  static func repayStaged(
    _ loan: LoanID, amount: Amount, from: AccountNumber?, _ principal: Principal,
    _ state: inout BankState, _ tx: inout Transaction
  ) throws(BankError) -> (interest: Int64, principal: Int64) {
    let p = try state.requireCore(ProductState.self)
    guard let l = p.loans[loan] else { throw noLoan(loan) }
    if case .customer(let me) = principal, me != l.customer { throw noLoan(loan) }
    let source = from ?? state.ledger.info[l.account.index].number
    let auth = try state.requireCore(AuthState.self)
    try Authenticator.authorize(
      .transferOut, as: principal, account: source, auth: auth, state: state)
    let sourceKind = state.ledger.info[try state.ledger.id(of: source).index].kind
    guard sourceKind == .checking || sourceKind == .savings else {
      throw BankError(
        .invalidArgument,
        "a loan is repaid from a checking or savings account; \(source) is a \(sourceKind) account")
    }
    guard l.status == .active || l.status == .defaulted, let loanAccount = l.loanAccount else {
      throw BankError(.loanNotActive, "loan \(loan) is \(l.status); nothing is owed")
    }
    let currency = state.ledger.info[l.account.index].currency
    guard amount.currency == currency else {
      throw BankError(
        .currencyMismatch, "loan \(loan) is in \(currency.code), not \(amount.currency.code)")
    }
    let now = Instant(nanoseconds: tx.now)
    var records: [ProductRecord] = []
    var (c, due) = l.charges(through: Day(now))
    // A borrower who has paid every installment whose interest is charged and pays a whole
    // installment more is paying the next one ahead of its period: its interest (on what is
    // outstanding now) is charged now, once, so installments paid early split as the schedule
    // does. A smaller payment goes to principal; a payment that settles everything owed is a
    // payoff and charges nothing ahead.
    let covered = l.standing(try l.schedule(currency: currency, from: Day(now)), on: Day(now))
      .covered
    if covered >= c, l.outstanding > 0, amount.minorUnits >= l.installment,
      amount.minorUnits < due + l.outstanding
    {
      due += LoanMath.monthInterest(l.outstanding, l.rate)
      c += 1
    }
    if c != l.charged {
      records.append(.loanCharged(loan: loan, charged: c, interestDue: due, time: now))
    }
    let owed = due + l.outstanding
    guard amount.minorUnits <= owed else {
      throw BankError(
        .overpayment,
        "loan \(loan) owes \(Amount(minorUnits: owed, currency: currency).formatted) (interest \(Amount(minorUnits: due, currency: currency).formatted), principal \(Amount(minorUnits: l.outstanding, currency: currency).formatted)); \(amount.formatted) is more"
      )
    }
    let interest = min(amount.minorUnits, due)
    let principalPart = amount.minorUnits - interest
    if interest > 0 {
      let income = try bankAccount(.interestIncome, currency, &state, &tx)
      try move(
        interest, currency, from: source, to: income, kind: .loanRepayment,
        memo: "interest on loan \(loan)", &state, &tx)
    }
    try move(
      principalPart, currency, from: source, to: state.ledger.info[loanAccount.index].number,
      kind: .loanRepayment, memo: "principal of loan \(loan)", &state, &tx)
    records.append(.loanRepaid(loan: loan, interest: interest, principal: principalPart, time: now))
    for r in records { state.emit(r, of: ProductState.self, in: &tx) }
    return (interest, principalPart)
  }

  /// A loan as of now. A customer sees only their own.
  public func loan(_ loan: LoanID, as principal: Principal) throws(BankError) -> Loan {
    let today = Day(Instant(nanoseconds: bank.configuration.clock.now()))
    return try read { p, s throws(BankError) in
      guard let l = p.loans[loan] else { throw Self.noLoan(loan) }
      try Self.requireLoanReader(l, principal)
      return try Self.view(l, s, on: max(today, Day(Instant(nanoseconds: p.lastTime))))
    }
  }

  /// Every loan, oldest first (reports: managers, auditors and the operator).
  public func loans(as principal: Principal) throws(BankError) -> [Loan] {
    try Self.require(.reports, principal)
    let today = Day(Instant(nanoseconds: bank.configuration.clock.now()))
    return try read { p, s throws(BankError) in
      let day = max(today, Day(Instant(nanoseconds: p.lastTime)))
      var out: [Loan] = []
      for l in p.loans.values.sorted(by: { $0.id < $1.id }) {
        out.append(try Self.view(l, s, on: day))
      }
      return out
    }
  }

  /// The loan's contractual schedule: from its disbursement day, or from today before approval.
  public func schedule(of loan: LoanID, as principal: Principal) throws(BankError) -> [Installment]
  {
    let today = Day(Instant(nanoseconds: bank.configuration.clock.now()))
    return try read { p, s throws(BankError) in
      guard let l = p.loans[loan] else { throw Self.noLoan(loan) }
      try Self.requireLoanReader(l, principal)
      return try l.schedule(currency: s.ledger.info[l.account.index].currency, from: today)
    }
  }

  /// Installments of `schedule` that payments cover.
  public func coveredInstallments(of loan: LoanID, as principal: Principal) throws(BankError) -> Int
  {
    let today = Day(Instant(nanoseconds: bank.configuration.clock.now()))
    return try read { p, s throws(BankError) in
      guard let l = p.loans[loan] else { throw Self.noLoan(loan) }
      try Self.requireLoanReader(l, principal)
      let sched = try l.schedule(currency: s.ledger.info[l.account.index].currency, from: today)
      return l.standing(sched, on: today).covered
    }
  }

  static func requireLoanReader(_ l: LoanState, _ principal: Principal) throws(BankError) {
    if case .customer(let me) = principal {
      guard me == l.customer else { throw noLoan(l.id) }
      return
    }
    try requirePermission(.readAnyAccount, for: principal, ownsTarget: false)
  }
}
