import BankCore
import Foundation
import TestSupport
import Testing

/// Issue 21: rates and interest to the cent, loans, reversals, statements and reports, with the
/// worked examples of DESIGN.md 4.7.
@Suite struct ProductsTests {
  final class Clock: @unchecked Sendable {
    let lock = NSLock()
    var now: Int64
    init(_ now: Int64) { self.now = now }
    func set(_ day: Day, hour: Int64 = 9) {
      lock.withLock { now = day.start.nanoseconds + hour * 3_600_000_000_000 }
    }
    func tick() { lock.withLock { now += 1_000_000 } }
    func read() -> Int64 { lock.withLock { now } }
  }

  struct World {
    let bank: Bank
    let auth: Authenticator
    let products: Products
    let clock: Clock
    var ledger: Ledger { bank.ledger }
  }

  static func day(_ y: Int, _ m: Int, _ d: Int) -> Day {
    Day(year: y, month: m, day: d) ?? Day(number: 0)
  }

  func world(path: String? = nil, start: Day = day(2026, 1, 1)) throws -> World {
    let clock = Clock(start.start.nanoseconds)
    let config = BankConfiguration(clock: BankClock { clock.read() })
    let bank =
      try path.map { try Bank(path: $0, configuration: config) }
      ?? Bank(storage: InMemoryStorage(), configuration: config)
    let auth = try Authenticator(
      bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000),
      pepper: Array(repeating: 7, count: 32))
    return World(bank: bank, auth: auth, products: Products(authenticator: auth), clock: clock)
  }

  /// The code a call is refused with, or `nil` when it succeeds.
  func refusal(_ body: () throws -> Any) -> BankError.Code? {
    do {
      _ = try body()
      return nil
    } catch {
      return (error as? BankError)?.code
    }
  }

  func usd(_ text: String) throws -> Amount { try Amount(parsing: text, currency: .usd) }

  func open(_ w: World, _ kind: AccountKind, overdraft: String? = nil) throws -> AccountNumber {
    try w.ledger.open(
      AccountSpec(name: "Holder", kind: kind, overdraftLimit: try overdraft.map(usd))
    ).number
  }

  /// Runs interest through `date` the day after it.
  @discardableResult
  func run(_ w: World, through date: Day, batch: Int = Products.defaultInterestBatch) throws
    -> InterestRun
  {
    w.clock.set(date.adding(days: 1), hour: 1)
    // As a manager: the run's own records, and the scan's reads, carry an origin stamp.
    return try w.products.runInterest(
      through: date, batchSize: batch, as: .staff(username: "mia", role: .manager))
  }

  func balance(_ w: World, _ a: AccountNumber) throws -> String {
    try w.ledger.account(a).balance.description
  }

  /// Every currency's trial balance sums to zero, and every invariant holds.
  func expectBalanced(_ w: World, _ comment: Comment? = nil) throws {
    #expect(w.bank.invariantViolation() == nil, comment)
    let currencies = Set(try w.ledger.accounts().map(\.currency))
    for c in currencies {
      let tb = try w.products.trialBalance(currency: c, as: .operator)
      #expect(tb.totalDebits == tb.totalCredits, comment)
      #expect(tb.totalDebits.minorUnits == tb.accounts.reduce(0) { $0 + $1.debits.minorUnits })
    }
  }

  // MARK: Rates and interest

  @Test func theWorkedSavingsExamplePostsToTheCent() throws {
    let w = try world()
    let a = try open(w, .savings)
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "3.65"), from: Self.day(2026, 1, 1), as: .operator)
    try w.ledger.deposit(try usd("10000.00"), to: a)
    let jan = try run(w, through: Self.day(2026, 1, 31))
    #expect(jan.accounts == 1 && jan.postings == 1 && jan.savingsPaid["USD"] == 3100)
    #expect(try balance(w, a) == "10031.00")
    try run(w, through: Self.day(2026, 2, 28))
    #expect(try balance(w, a) == "10059.09")
    // February accrued 28 × 1.0031 = 28.0868, posted 28.09 and carries −0.0032.
    let owed = try w.products.accruedInterest(of: a)
    #expect(owed.owed == "-0.0032")
    #expect(owed.through == Self.day(2026, 2, 28))
    // Idempotent per account and day: again changes nothing.
    let again = try run(w, through: Self.day(2026, 2, 28))
    #expect(again.accounts == 0 && again.postings == 0)
    #expect(try balance(w, a) == "10059.09")
    // The posting is dated when made and names its month.
    let history = try w.ledger.history(of: a)
    #expect(history[0].memo == "interest for 2026-02" && history[0].kind == .interest)
    #expect(Day(history[0].time) == Self.day(2026, 3, 1))
    try expectBalanced(w)
  }

  @Test func aDayThatHasNotEndedIsRefusedAndChangesNothing() throws {
    let w = try world()
    let a = try open(w, .savings)
    try w.ledger.deposit(try usd("100"), to: a)
    w.clock.set(Self.day(2026, 1, 31), hour: 23)
    let before = w.ledger.lastSequence
    #expect(throws: BankError.self) {
      try w.products.runInterest(through: Self.day(2026, 1, 31), as: .operator)
    }
    #expect(w.ledger.lastSequence == before)
  }

  @Test func aRateChangeInMidMonthAppliesFromItsDay() throws {
    let w = try world()
    let a = try open(w, .savings)
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "3.65"), from: Self.day(2026, 1, 1), as: .operator)
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "7.3"), from: Self.day(2026, 1, 16), as: .operator)
    try w.ledger.deposit(try usd("10000.00"), to: a)
    try run(w, through: Self.day(2026, 1, 31))
    // 15 days at 1.00 and 16 at 2.00.
    #expect(try balance(w, a) == "10047.00")
    // A rate cannot change days already accrued.
    #expect(throws: BankError.self) {
      try w.products.setRate(.overdraft, annual: .zero, from: Self.day(2026, 1, 20), as: .operator)
    }
    #expect(try w.products.rates().count == 2)
  }

  @Test func aLeapYearAccruesOnItsThreeHundredSixtySixDaysOverThreeSixtyFive() throws {
    let w = try world(start: Self.day(2024, 2, 1))
    let a = try open(w, .savings)
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "3.65"), from: Self.day(2024, 1, 1), as: .operator)
    try w.ledger.deposit(try usd("10000.00"), to: a)
    try run(w, through: Self.day(2024, 2, 29))
    #expect(try balance(w, a) == "10029.00")
  }

  @Test func anAccountOpenedInMidMonthAccruesFromItsFirstDay() throws {
    let w = try world(start: Self.day(2026, 1, 20))
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "3.65"), from: Self.day(2026, 1, 1), as: .operator)
    let a = try open(w, .savings)
    try w.ledger.deposit(try usd("10000.00"), to: a)
    try run(w, through: Self.day(2026, 1, 31))
    #expect(try balance(w, a) == "10012.00")
  }

  @Test func closingInMidMonthPostsTheInterestSoFarRoundedAndCarriesNothing() throws {
    let w = try world()
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "3.65"), from: Self.day(2026, 1, 1), as: .operator)
    let a = try open(w, .savings)
    let other = try open(w, .checking)
    try w.ledger.deposit(try usd("10000.00"), to: a)
    w.clock.set(Self.day(2026, 1, 16))
    // Without a settlement account the balance left after the posting refuses the close.
    let before = w.ledger.lastSequence
    #expect(throws: BankError.self) { try w.products.close(a, as: .operator) }
    #expect(w.ledger.lastSequence == before)
    let closed = try w.products.close(a, settleWith: other, as: .operator)
    #expect(closed.interest.description == "15.00" && closed.settled.description == "10015.00")
    #expect(closed.account.status == .closed && closed.account.balance.minorUnits == 0)
    #expect(try balance(w, other) == "10015.00")
    #expect(try w.products.accruedInterest(of: a).owed == "0.00")
    // The month's run leaves the closed account alone.
    let jan = try run(w, through: Self.day(2026, 1, 31))
    #expect(jan.accounts == 1)
    try expectBalanced(w)
  }

  @Test func overdraftInterestMayPassTheLimitAndThenDebitsAreRefused() throws {
    let w = try world()
    try w.products.setRate(
      .overdraft, annual: AnnualRate(parsing: "36.5"), from: Self.day(2026, 1, 1), as: .operator)
    let a = try open(w, .checking, overdraft: "1000.00")
    try w.ledger.withdraw(try usd("1000.00"), from: a)
    let jan = try run(w, through: Self.day(2026, 1, 31))
    #expect(jan.overdraftCharged["USD"] == 3100)
    #expect(try balance(w, a) == "-1031.00")
    let account = try w.ledger.account(a)
    #expect(account.isOverLimit)
    #expect(throws: BankError.self) { try w.ledger.withdraw(try usd("0.01"), from: a) }
    #expect(
      try w.products.depositsReport(as: .operator).first { $0.type == .checking }?.overLimit == 1)
    try w.ledger.deposit(try usd("31.00"), to: a)
    #expect(!(try w.ledger.account(a)).isOverLimit)
    try expectBalanced(w)
  }

  /// Independent figures: each day's accrual b × r computed here in millionths of a percent, the
  /// month's sum plus the carry rounded half to even.
  @Test func aYearOfDailyRunsPostsTheExactAnnualFigureWithinTheCarry() throws {
    let daily = try world(start: Self.day(2024, 1, 1))
    let monthly = try world(start: Self.day(2024, 1, 1))
    var rng = SplitMix64(seed: 2124)
    print("seed 2124")
    var accounts: [(AccountNumber, AccountNumber)] = []
    for w in [daily, monthly] {
      try w.products.setRate(
        .savings, annual: AnnualRate(parsing: "4.123456"), from: Self.day(2024, 1, 1), as: .operator
      )
    }
    for _ in 0..<3 {
      let a = try open(daily, .savings)
      let b = try open(monthly, .savings)
      accounts.append((a, b))
    }
    var posted: Int128 = 0
    var exact: Int128 = 0
    var balances = [Int64](repeating: 0, count: accounts.count)
    var day = Self.day(2024, 1, 1)
    while day <= Self.day(2024, 12, 31) {
      // Activity during the day, the same in both banks.
      for (i, (a, b)) in accounts.enumerated() where rng.next() % 4 == 0 {
        let amount = Int64(rng.next() % 500_000) + 1
        daily.clock.set(day, hour: 12)
        monthly.clock.set(day, hour: 12)
        try daily.ledger.deposit(Amount(minorUnits: amount, currency: .usd), to: a)
        try monthly.ledger.deposit(Amount(minorUnits: amount, currency: .usd), to: b)
        balances[i] += amount
      }
      for (i, _) in accounts.enumerated() { exact += Int128(balances[i]) * 4_123_456 }
      let r = try run(daily, through: day)
      for (i, (a, _)) in accounts.enumerated() {
        balances[i] = try daily.ledger.account(a).balance.minorUnits
      }
      posted += Int128(r.savingsPaid["USD"] ?? 0) * 36_500_000_000
      if day.isLastOfMonth { try run(monthly, through: day) }
      day = day.adding(days: 1)
      _ = r
    }
    // The daily runs and the monthly ones agree to the cent on every account.
    for (a, b) in accounts { #expect(try balance(daily, a) == (try balance(monthly, b))) }
    // What was posted plus what is carried equals the exact sum of the daily accruals.
    var carried: Int128 = 0
    for (a, _) in accounts {
      let owed = try daily.products.accruedInterest(of: a).owed
      // Padded to twelve decimals of a major unit: ten of a minor unit, each 3.65 accrual units.
      let parts = owed.split(separator: ".")
      let fraction = String(parts[1]) + String(repeating: "0", count: 12 - parts[1].count)
      let whole = Int128(String(parts[0]).replacingOccurrences(of: "-", with: ""))!
      let digits = whole * 1_000_000_000_000 + Int128(fraction)!
      carried += (owed.hasPrefix("-") ? -digits : digits) * 365 / 100
    }
    #expect(abs(posted + carried - exact) <= Int128(accounts.count) * 4)
    #expect(abs(exact - posted) <= Int128(accounts.count) * 36_500_000_000 / 2)
    try expectBalanced(daily)
  }

  @Test func aRunInBatchesIsResumableAndDoublesNothing() throws {
    let dir = TempDirectory("products")
    defer { dir.remove() }
    let path = dir.file("bank.journal")
    var numbers: [AccountNumber] = []
    do {
      let w = try world(path: path)
      try w.products.setRate(
        .savings, annual: AnnualRate(parsing: "3.65"), from: Self.day(2026, 1, 1), as: .operator)
      for _ in 0..<7 {
        let a = try open(w, .savings)
        try w.ledger.deposit(try usd("10000.00"), to: a)
        numbers.append(a)
      }
      // A run that stopped after its first batches: only some accounts are done.
      w.clock.set(Self.day(2026, 2, 1))
      var seen = 0
      let r = try w.products.runInterest(
        through: Self.day(2026, 1, 31), batchSize: 3, progress: { done, _ in seen = done },
        as: .operator)
      #expect(r.batches == 3 && seen == 7)
      w.bank.close()
    }
    let w = try world(path: path)
    w.clock.set(Self.day(2026, 2, 2))
    let again = try w.products.runInterest(through: Self.day(2026, 1, 31), as: .operator)
    #expect(again.accounts == 0)
    for a in numbers { #expect(try balance(w, a) == "10031.00") }
    try expectBalanced(w)
  }

  // MARK: Loans

  func borrower(_ w: World) throws -> (CustomerID, AccountNumber) {
    let c = try w.auth.registerCustomer(
      CustomerRegistration(
        name: "Ben Okafor", email: "ben@example.org", phone: "+14155550123", age: 41),
      password: "quiet harbour lantern 77", as: .operator)
    return (c.id, c.accounts[0])
  }

  @Test func theWorkedLoanScheduleIsExact() throws {
    let rows = try LoanMath.schedule(
      principal: try usd("12000.00"), months: 12, rate: AnnualRate(parsing: "12"),
      start: Self.day(2026, 1, 31))
    #expect(rows.count == 12)
    #expect(rows.dropLast().allSatisfy { $0.payment.description == "1066.19" })
    #expect(rows.last?.payment.description == "1066.14")
    #expect(rows.reduce(Int64(0)) { $0 + $1.interest.minorUnits } == 79_423)
    #expect(rows[0].interest.description == "120.00" && rows[0].principal.description == "946.19")
    #expect(rows.last?.remaining.minorUnits == 0)
    // Due dates fall on the disbursement's day, or the month's last day.
    #expect(rows[0].due == Self.day(2026, 2, 28) && rows[1].due == Self.day(2026, 3, 31))
    #expect(rows[2].due == Self.day(2026, 4, 30))
    // A month's interest that ends in exactly half a cent rounds half to even, exactly: 156.00
    // at 5.5 % is 0.715, so 0.72 (the installment 123 of 208.69 over 300 months).
    let tie = try LoanMath.schedule(
      principal: try usd("208.69"), months: 300, rate: AnnualRate(parsing: "5.5"),
      start: Self.day(2026, 1, 31))
    #expect(tie[121].remaining.description == "156.00")
    #expect(tie[122].interest.description == "0.72" && tie[122].principal.description == "0.56")
    // At a rate of 0: P ÷ n half to even, the last absorbing the rest.
    let zero = try LoanMath.schedule(
      principal: try usd("1000.00"), months: 3, rate: .zero, start: Self.day(2026, 1, 1))
    #expect(zero.map(\.payment.description) == ["333.33", "333.33", "333.34"])
    #expect(zero.allSatisfy { $0.interest.minorUnits == 0 })
  }

  @Test func aLoanIsRequestedApprovedRepaidAndItsBooksAgree() throws {
    let w = try world(start: Self.day(2026, 1, 31))
    let (c, account) = try borrower(w)
    let requested = try w.products.requestLoan(
      customer: c, account: account, amount: try usd("12000.00"), months: 12,
      annualRate: AnnualRate(parsing: "12"), as: .customer(c))
    #expect(requested.status == .requested)
    // Only a manager or the operator approves.
    #expect(throws: BankError.self) { try w.products.approveLoan(requested.id, as: .customer(c)) }
    w.clock.tick()
    let loan = try w.products.approveLoan(requested.id, as: .operator)
    #expect(loan.status == .active && loan.installment.description == "1066.19")
    #expect(try balance(w, account) == "12000.00")
    #expect(try w.ledger.account(loan.loanAccount!).balance.description == "12000.00")
    #expect(throws: BankError.self) { try w.products.approveLoan(requested.id, as: .operator) }
    let schedule = try w.products.schedule(of: loan.id, as: .operator)
    // Each installment paid on its due date splits as the schedule does.
    try w.ledger.deposit(try usd("1000.00"), to: account)
    for row in schedule {
      w.clock.set(row.due, hour: 10)
      let paid = try w.products.repayLoan(loan.id, amount: row.payment, as: .customer(c))
      #expect(paid.interest == row.interest && paid.principal == row.principal, "\(row.number)")
      #expect(paid.loan.outstandingPrincipal == row.remaining)
    }
    let done = try w.products.loan(loan.id, as: .operator)
    #expect(done.status == .repaid && done.paidInterest.description == "794.23")
    #expect(done.nextDue == nil)
    #expect(throws: BankError.self) {
      try w.products.repayLoan(loan.id, amount: try usd("1"), as: .operator)
    }
    try expectBalanced(w)
  }

  @Test func installmentsPaidAheadSplitAsTheScheduleAndAPrepaymentShortensTheTerm() throws {
    let w = try world(start: Self.day(2026, 1, 31))
    let (c, account) = try borrower(w)
    let loan = try w.products.requestLoan(
      customer: c, account: account, amount: try usd("12000.00"), months: 12,
      annualRate: AnnualRate(parsing: "12"), as: .operator)
    try w.products.approveLoan(loan.id, as: .operator)
    try w.ledger.deposit(try usd("10000.00"), to: account)
    let schedule = try w.products.schedule(of: loan.id, as: .operator)
    for row in schedule.prefix(2) {
      w.clock.tick()
      let paid = try w.products.repayLoan(loan.id, amount: row.payment, as: .operator)
      #expect(paid.interest == row.interest && paid.principal == row.principal)
    }
    // 5,000.00 more: interest first, the rest principal; the installment stays.
    w.clock.tick()
    let big = try w.products.repayLoan(loan.id, amount: try usd("5000.00"), as: .operator)
    #expect(big.loan.installment.description == "1066.19")
    var payments = 3
    var status = big.loan.status
    var day = Self.day(2026, 1, 31)
    while status != .repaid {
      day = day.adding(months: 1)
      w.clock.set(day, hour: 10)
      let l = try w.products.loan(loan.id, as: .operator)
      let owed = l.outstandingPrincipal.minorUnits + l.interestDue.minorUnits
      let pay = min(owed, 106_619)
      status = try w.products.repayLoan(
        loan.id, amount: Amount(minorUnits: pay, currency: .usd), as: .operator
      ).loan.status
      payments += 1
      #expect(payments < 14)
    }
    #expect(payments < 12, "the term shortened: \(payments) payments")
    // Repaying more than is owed is refused.
    try expectBalanced(w)
  }

  @Test func aLoanMoreThanNinetyDaysOverdueDefaultsAtTheNextRun() throws {
    let w = try world(start: Self.day(2026, 1, 10))
    let (c, account) = try borrower(w)
    let loan = try w.products.requestLoan(
      customer: c, account: account, amount: try usd("1200.00"), months: 6,
      annualRate: AnnualRate(parsing: "12"), as: .operator)
    try w.products.approveLoan(loan.id, as: .operator)
    // The first installment falls due on 10 February; 90 days later it is not yet default.
    try run(w, through: Self.day(2026, 5, 11))
    #expect(try w.products.loan(loan.id, as: .operator).status == .active)
    let r = try run(w, through: Self.day(2026, 5, 12))
    #expect(r.loansDefaulted == [loan.id])
    let l = try w.products.loan(loan.id, as: .operator)
    #expect(l.status == .defaulted && l.daysOverdue > 90 && l.arrears.minorUnits > 0)
    #expect(l.interestDue.minorUnits > 0)
    let (portfolio, _) = try w.products.loansReport(as: .operator)
    #expect(portfolio.first?.status == .defaulted)
    try expectBalanced(w)
  }

  @Test func aRejectedLoanMovesNoMoney() throws {
    let w = try world()
    let (c, account) = try borrower(w)
    let loan = try w.products.requestLoan(
      customer: c, account: account, amount: try usd("500"), months: 3,
      annualRate: AnnualRate(parsing: "9.9"), as: .customer(c))
    let rejected = try w.products.rejectLoan(loan.id, reason: "income too low", as: .operator)
    #expect(rejected.status == .rejected && rejected.reason == "income too low")
    #expect(try balance(w, account) == "0.00")
    #expect(throws: BankError.self) { try w.products.approveLoan(loan.id, as: .operator) }
  }

  // MARK: Reversals

  @Test func aReversalMovesTheMoneyBackOnceAndNeverBreaksALimit() throws {
    let w = try world()
    let a = try open(w, .checking)
    let b = try open(w, .checking)
    try w.ledger.deposit(try usd("100"), to: a)
    let t = try w.ledger.transfer(try usd("60"), from: a, to: b).transfer
    let r = try w.products.reverse(t.id, reason: "sent in error", as: .operator)
    #expect(r.reversal.debit == b && r.reversal.credit == a && r.reversal.kind == .reversal)
    #expect(try balance(w, a) == "100.00" && (try balance(w, b)) == "0.00")
    #expect(
      refusal { try w.products.reverse(t.id, reason: "again", as: .operator) } == .alreadyReversed)
    #expect(
      refusal { try w.products.reverse(r.reversal.id, reason: "undo", as: .operator) }
        == .alreadyReversed)
    // The credited account spent the money: reversing would take it below zero.
    let t2 = try w.ledger.transfer(try usd("50"), from: a, to: b).transfer
    try w.ledger.withdraw(try usd("50"), from: b)
    let before = w.ledger.lastSequence
    #expect(
      refusal { try w.products.reverse("#\(t2.number)", reason: "dispute", as: .operator) }
        == .insufficientFunds)
    #expect(w.ledger.lastSequence == before)
    #expect(
      refusal { try w.products.reverse("#999999", reason: "x", as: .operator) } == .transferNotFound
    )
    try expectBalanced(w)
  }

  // MARK: Statements and reports

  @Test func monthlyStatementsChainOverAYearOfRandomActivity() throws {
    let w = try world()
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "2.5"), from: Self.day(2026, 1, 1), as: .operator)
    let a = try open(w, .savings)
    let b = try open(w, .checking, overdraft: "500.00")
    var rng = SplitMix64(seed: 2126)
    print("seed 2126")
    var day = Self.day(2026, 1, 1)
    while day <= Self.day(2026, 12, 31) {
      w.clock.set(day, hour: 8)
      for _ in 0..<Int(rng.next() % 3) {
        w.clock.tick()
        let amount = Amount(minorUnits: Int64(rng.next() % 20_000) + 1, currency: .usd)
        switch rng.next() % 4 {
        case 0: try w.ledger.deposit(amount, to: a)
        case 1: try w.ledger.deposit(amount, to: b)
        case 2: _ = try? w.ledger.transfer(amount, from: a, to: b)
        default: _ = try? w.ledger.withdraw(amount, from: b)
        }
      }
      if day.isLastOfMonth { try run(w, through: day) }
      day = day.adding(days: 1)
    }
    w.clock.set(Self.day(2027, 1, 5))
    for account in [a, b] {
      var previous: Statement?
      for m in 1...12 {
        let month = YearMonth(year: 2026, month: m)
        let s = try w.products.statement(
          of: account, from: month.firstDay, to: month.lastDay, as: .operator)
        if let previous { #expect(previous.closingBalance == s.openingBalance, "\(month)") }
        var running = s.openingBalance.minorUnits
        for e in s.entries {
          running += e.amount.minorUnits
          #expect(e.balance.minorUnits == running)
        }
        #expect(
          s.openingBalance.minorUnits + s.totalIn.minorUnits - s.totalOut.minorUnits
            == s.closingBalance.minorUnits)
        previous = s
      }
      // The year in one statement agrees with the twelve.
      let year = try w.products.statement(
        of: account, from: Self.day(2026, 1, 1), to: Self.day(2026, 12, 31), as: .operator)
      #expect(year.closingBalance == previous?.closingBalance)
      #expect(year.openingBalance.minorUnits == 0)
    }
    try expectBalanced(w)
  }

  @Test func aCustomerSeesOnlyTheirOwnStatementsAndTaxSummary() throws {
    let w = try world(start: Self.day(2026, 1, 31))
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "3.65"), from: Self.day(2026, 1, 1), as: .operator)
    let (c, account) = try borrower(w)
    let other = try w.auth.registerCustomer(
      CustomerRegistration(
        name: "Ida Lind", email: "ida@example.org", phone: "+14155550999", age: 33,
        accountKind: .savings),
      password: "quiet harbour lantern 78", as: .operator)
    try w.ledger.deposit(try usd("10000"), to: other.accounts[0])
    #expect(throws: BankError.self) {
      try w.products.statement(
        of: other.accounts[0], from: Self.day(2026, 1, 1), to: Self.day(2026, 1, 31),
        as: .customer(c))
    }
    _ = try w.products.statement(
      of: account, from: Self.day(2026, 1, 1), to: Self.day(2026, 1, 31), as: .customer(c))
    let loan = try w.products.requestLoan(
      customer: c, account: account, amount: try usd("1200"), months: 12,
      annualRate: AnnualRate(parsing: "12"), as: .operator)
    try w.products.approveLoan(loan.id, as: .operator)
    w.clock.tick()
    try w.products.repayLoan(loan.id, amount: try usd("106.62"), as: .operator)
    try run(w, through: Self.day(2026, 2, 28))
    w.clock.set(Self.day(2027, 1, 2))
    let mine = try w.products.interestSummary(of: c, year: 2026, as: .customer(c))
    #expect(mine.loans.first?.interestPaid.description == "12.00")
    #expect(mine.loans.first?.principalPaid.description == "94.62")
    let hers = try w.products.interestSummary(of: other.id, year: 2026, as: .operator)
    #expect(hers.accounts.first?.interestEarned.description == "29.00")
    #expect(throws: BankError.self) {
      try w.products.interestSummary(of: other.id, year: 2026, as: .customer(c))
    }
    // Reports are for managers, auditors and the operator; contacts for managers and the operator.
    #expect(throws: BankError.self) { try w.products.customersReport(as: .customer(c)) }
    let report = try w.products.customersReport(as: .operator)
    #expect(report.count == 2 && report[0].email != nil)
    try expectBalanced(w)
  }

  @Test func theStateSurvivesReplayAndSnapshots() throws {
    let dir = TempDirectory("products-replay")
    defer { dir.remove() }
    let path = dir.file("bank.journal")
    var shown: (Loan, String, [RatePeriod])
    do {
      let w = try world(path: path, start: Self.day(2026, 1, 5))
      try w.products.setRate(
        .savings, annual: AnnualRate(parsing: "3.65"), from: Self.day(2026, 1, 1), as: .operator)
      let (c, account) = try borrower(w)
      let s = try open(w, .savings)
      try w.ledger.deposit(try usd("2500.00"), to: s)
      let loan = try w.products.requestLoan(
        customer: c, account: account, amount: try usd("3000"), months: 24,
        annualRate: AnnualRate(parsing: "7.25"), as: .operator)
      try w.products.approveLoan(loan.id, as: .operator)
      try run(w, through: Self.day(2026, 2, 10))
      w.clock.tick()
      try w.products.repayLoan(loan.id, amount: try usd("200"), as: .operator)
      shown = (
        try w.products.loan(loan.id, as: .operator), try w.products.accruedInterest(of: s).owed,
        try w.products.rates()
      )
      try w.bank.takeSnapshot()
      w.bank.close()
      let again = try world(path: path, start: Self.day(2026, 2, 11))
      #expect(try again.products.loan(loan.id, as: .operator) == shown.0)
      #expect(try again.products.accruedInterest(of: s).owed == shown.1)
      #expect(try again.products.rates() == shown.2)
      let report = try again.bank.verify()
      #expect(report.warnings.isEmpty, "\(report.warnings)")
      again.bank.close()
    }
  }
}

/// What an adversarial review of issue 21 found, each kept fixed.
extension ProductsTests {
  @Test func aLoansAccountMovesOnlyThroughTheLoan() throws {
    let w = try world(start: Self.day(2026, 1, 10))
    let (c, account) = try borrower(w)
    let loan = try w.products.requestLoan(
      customer: c, account: account, amount: try usd("1000"), months: 12,
      annualRate: AnnualRate(parsing: "12"), as: .operator)
    let active = try w.products.approveLoan(loan.id, as: .operator)
    let loanAccount = try #require(active.loanAccount)
    // The disbursement cannot be reversed, nor repaid from the loan's own account.
    let disbursement = try #require(try w.ledger.history(of: account).first)
    let before = w.ledger.lastSequence
    #expect(
      refusal { try w.products.reverse(disbursement.transfer, reason: "x", as: .operator) }
        == .invalidArgument)
    #expect(
      refusal {
        try w.products.repayLoan(loan.id, amount: try usd("10"), from: loanAccount, as: .operator)
      } == .invalidArgument)
    #expect(w.ledger.lastSequence == before)
    w.clock.tick()
    let paid = try w.products.repayLoan(loan.id, amount: try usd("88.85"), as: .operator)
    let principalEntry = try #require(
      try w.ledger.history(of: account).first { $0.memo.hasPrefix("principal of loan") })
    #expect(
      refusal { try w.products.reverse(principalEntry.transfer, reason: "x", as: .operator) }
        == .invalidArgument)
    #expect(paid.interest.description == "10.00" && paid.principal.description == "78.85")
    // A small payment on a loan paid ahead goes to principal: no period is charged ahead.
    w.clock.tick()
    let small = try w.products.repayLoan(loan.id, amount: try usd("0.01"), as: .operator)
    #expect(small.interest.minorUnits == 0 && small.principal.minorUnits == 1)
    try expectBalanced(w)
  }

  @Test func aRetriedRepaymentWithAKeyPaysOnce() throws {
    let w = try world(start: Self.day(2026, 1, 10))
    let (c, account) = try borrower(w)
    let loan = try w.products.requestLoan(
      customer: c, account: account, amount: try usd("1200"), months: 12,
      annualRate: AnnualRate(parsing: "12"), as: .operator)
    try w.products.approveLoan(loan.id, as: .operator)
    let key = try IdempotencyKey("repay-1")
    let first = try w.products.repayLoan(
      loan.id, amount: try usd("106.62"), key: key, as: .customer(c))
    w.clock.tick()
    let again = try w.products.repayLoan(
      loan.id, amount: try usd("106.62"), key: key, as: .customer(c))
    #expect(again.interest == first.interest && again.principal == first.principal)
    #expect(again.loan.paidPrincipal == first.loan.paidPrincipal)
    #expect(try balance(w, account) == "1093.38")
    #expect(
      refusal {
        try w.products.repayLoan(loan.id, amount: try usd("50"), key: key, as: .customer(c))
      } == .idempotencyConflict)
  }

  @Test func aCustomerLearnsNothingAboutOthersAccountsFromALoanRequest() throws {
    let w = try world()
    let (c, _) = try borrower(w)
    let other = try open(w, .checking)
    for target in [other, try AccountNumber(parsing: "1000-0999-2")] {
      #expect(
        refusal {
          try w.products.requestLoan(
            customer: c, account: target, amount: try usd("10"), months: 1, annualRate: .zero,
            as: .customer(c))
        } == .permissionDenied)
    }
  }

  @Test func interestTooLargeForOneTransferIsSplitAndOneAccountBlocksNoOther() throws {
    let w = try world()
    try w.products.setRate(
      .savings, annual: AnnualRate(parsing: "1000"), from: Self.day(2026, 1, 1), as: .operator)
    let big = try w.ledger.open(AccountSpec(name: "Big", kind: .savings, currency: .kwd)).number
    let small = try open(w, .savings)
    let kwdMax = Currency.kwd.maximumAmount
    try w.ledger.deposit(kwdMax, to: big)
    try w.ledger.deposit(try usd("100.00"), to: small)
    for m in 1...3 {
      let r = try run(w, through: YearMonth(year: 2026, month: m).lastDay)
      #expect(r.accounts == 2 && r.unposted.isEmpty, "\(r)")
    }
    #expect(try w.ledger.account(big).balance > kwdMax)
    #expect(try w.ledger.account(small).balance.minorUnits > 100_00)
    try expectBalanced(w)
  }

  @Test func aReversedInterestPostingIsNotInTheTaxSummary() throws {
    let w = try world(start: Self.day(2026, 1, 5))
    try w.products.setRate(
      .overdraft, annual: AnnualRate(parsing: "36.5"), from: Self.day(2026, 1, 1), as: .operator)
    let c = try w.auth.registerCustomer(
      CustomerRegistration(
        name: "Ola Nordmann", email: "ola@example.org", phone: "+4791234567", age: 44),
      password: "quiet harbour lantern 79", as: .operator)
    let a = c.accounts[0]
    try w.auth.setOverdraftLimit(try usd("1000"), of: a, as: .operator)
    try w.ledger.withdraw(try usd("1000.00"), from: a)
    try run(w, through: Self.day(2026, 1, 31))
    let charge = try #require(try w.ledger.history(of: a).first { $0.kind == .interest })
    #expect(charge.amount.description == "-27.00")
    w.clock.tick()
    try w.products.reverse(charge.transfer, reason: "goodwill", as: .operator)
    w.clock.set(Self.day(2027, 1, 2))
    let summary = try w.products.interestSummary(of: c.id, year: 2026, as: .operator)
    #expect(summary.accounts.first?.interestPaid.minorUnits == 0)
    // Closing a checking account takes its overdraft limit with it.
    w.clock.set(Self.day(2027, 1, 3))
    let other = try open(w, .checking)
    try w.ledger.deposit(try usd("2000.00"), to: other)
    let closed = try w.products.close(a, settleWith: other, as: .operator)
    #expect(
      closed.account.overdraftLimit.minorUnits == 0 && closed.account.available.minorUnits == 0)
    try expectBalanced(w)
  }
}
