import BankCore
import Synchronization

/// The built-in demonstration: a sample bank and a short scripted session.
enum Demo {
  static let names = [
    "Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov",
    "Donald Knuth", "Frances Allen", "Tony Hoare", "Leslie Lamport", "Margaret Hamilton",
  ]

  static func run(_ base: CommandContext) throws {
    var log: [String] = []
    var steps: [JSON] = []
    // A new store gets a year of history: it is written as of a year ago, then moves forward
    // through the months to now. An existing store carries on from its own time.
    let now = base.clock.now()
    let history = base.opener.storeExists() ? nil : DemoClock(now - 365 * DemoClock.day)
    var ctx = base
    if let history { ctx.clockOverride = BankClock { history.read() } }
    let (accounts, initial) = try ctx.withLedger(create: true) {
      l -> ([AccountNumber], [Account]) in
      var numbers: [AccountNumber] = []
      for (i, name) in names.enumerated() {
        let a = try l.open(AccountSpec(name: name, kind: i % 3 == 2 ? .savings : .checking))
        let opening = Amount(minorUnits: Int64(i + 1) * 1_000_00, currency: .usd)
        try l.deposit(opening, to: a.number, memo: "opening deposit")
        numbers.append(a.number)
        log.append("opened \(a.kind) account \(a.number) for \(name) with \(opening.formatted)")
        steps.append(
          .object([
            ("step", .string("open")), ("account", .string(a.number.description)),
            ("amount", .string(opening.description)),
          ]))
      }
      func usd(_ minor: Int64) -> Amount { Amount(minorUnits: minor, currency: .usd) }
      let script: [(String, () throws -> String)] = [
        (
          "deposit",
          {
            let r = try l.deposit(usd(250_00), to: numbers[0], memo: "salary");
            return
              "deposited 250.00 USD to \(numbers[0]); balance \(r.creditAccount.balance.formatted)"
          }
        ),
        (
          "withdraw",
          {
            let r = try l.withdraw(usd(120_00), from: numbers[1], memo: "ATM cash");
            return
              "withdrew 120.00 USD from \(numbers[1]); balance \(r.debitAccount.balance.formatted)"
          }
        ),
        (
          "transfer",
          {
            let r = try l.transfer(usd(75_50), from: numbers[2], to: numbers[3], memo: "dinner");
            return
              "transferred 75.50 USD from \(numbers[2]) to \(numbers[3]) (transfer \(r.transfer.id))"
          }
        ),
        (
          "refused",
          {
            do {
              try l.withdraw(usd(1_000_000_00), from: numbers[4]); return "unexpectedly allowed"
            } catch let e as BankError {
              return "refused a 1,000,000.00 USD withdrawal from \(numbers[4]): \(e.code.rawValue)"
            }
          }
        ),
        (
          "idempotent",
          {
            let key = try IdempotencyKey("demo-\(numbers[5].rawValue)")
            try l.transfer(usd(10_00), from: numbers[5], to: numbers[6], key: key, memo: "gift")
            let again = try l.transfer(
              usd(10_00), from: numbers[5], to: numbers[6], key: key, memo: "gift")
            return "retried transfer \(key): replayed=\(again.replayed), money moved once"
          }
        ),
      ]
      for (name, step) in script {
        let line = try step()
        log.append(line)
        steps.append(.object([("step", .string(name)), ("result", .string(line))]))
      }
      return (numbers, try numbers.map { try l.account($0) })
    }
    var final = initial
    let people = try demoPeople(ctx)
    if let history, !people.isEmpty {
      let lines = try demoYear(ctx, history, accounts: accounts, until: now)
      log.append(contentsOf: lines)
      steps.append(
        contentsOf: lines.map { .object([("step", .string("products")), ("result", .string($0))]) })
    }
    ctx = base
    if history != nil {
      final = try ctx.withLedger(readOnly: true) { l in try accounts.map { try l.account($0) } }
    }
    // The terminal and its session come with the demo people, the first time only.
    if !people.isEmpty,
      let atm = try demoATM(ctx, cards: people.compactMap { p in p.first { $0.0 == "card" }?.1 })
    {
      log.append(contentsOf: atm)
      steps.append(
        contentsOf: atm.map { .object([("step", .string("atm")), ("result", .string($0))]) })
    }
    if ctx.json {
      ctx.console.print(
        JSON.object([
          ("store", .string(ctx.storePath)), ("steps", .array(steps)),
          ("accounts", .array(final.map(ctx.accountJSON))),
          ("credentials", .array(people.map { .object($0.map { ($0.0, .string($0.1)) }) })),
        ]).rendered)
      return
    }
    ctx.console.print("BankCore demo on store \(Validate.escaped(ctx.storePath, limit: nil))")
    for l in log { ctx.console.print("  - \(l)") }
    ctx.console.print("")
    ctx.console.print(
      Table.render(
        header: ["ACCOUNT", "NAME", "TYPE", "BALANCE", "CCY"],
        rows: final.map {
          [
            $0.number.description, $0.name, $0.kind.description, $0.balance.description,
            $0.currency.code,
          ]
        },
        rightAligned: [3]))
    if !people.isEmpty {
      ctx.console.print("")
      ctx.console.print("Demo people (these credentials are printed only now):")
      for p in people {
        ctx.console.print("  " + p.map { "\($0.0): \($0.1)" }.joined(separator: "  "))
      }
      ctx.console.print(
        "  Log in with: echo '<password>' | bankctl --store \(Validate.escaped(ctx.storePath, limit: nil)) login --customer C000001"
      )
      if let card = people.first?.first(where: { $0.0 == "card" })?.1 {
        ctx.console.print(
          "  At the ATM: printf '2468\\nwithdraw 600\\nbalance\\nend\\n' | bankctl --store \(Validate.escaped(ctx.storePath, limit: nil)) atm session --card \(card)"
        )
      }
    }
    ctx.console.print(
      """

      Try: bankctl --store \(Validate.escaped(ctx.storePath, limit: nil)) history \(final[0].number)
      (If your shell cannot find bankctl, build it and put it on your PATH from the checkout:
        swift build -c release && export PATH="$PWD/.build/release:$PATH"
      or run it as 'swift run bankctl …'.)
      """)
  }

  /// Registers two customers with cards and PINs, a teller and a manager, the first time the
  /// demo runs on a store, and returns their credentials to print once. Demo credentials are
  /// fixed and public: they exist to show a login and the permission matrix at work.
  static func demoPeople(_ ctx: CommandContext) throws -> [[(String, String)]] {
    try ctx.withBank(pins: .create) { acting in
      let auth = acting.auth
      if (try? auth.customer(CustomerID(1), as: .operator)) != nil { return [] }
      var out: [[(String, String)]] = []
      for (name, email, phone, password, pin) in [
        ("Ada Lovelace", "ada@example.com", "+14155550111", "analytical engine 1843", "2468"),
        ("Alan Turing", "alan@example.com", "+14155550112", "enigma bombe 1941 bletchley", "1357"),
      ] {
        let p = try auth.registerCustomer(
          CustomerRegistration(name: name, email: email, phone: phone, age: 36),
          password: password, as: .operator)
        try auth.deposit(p, ctx: acting)
        let card = try auth.issueCard(customer: p.id, accounts: p.accounts, as: .operator)
        try auth.setPIN(pan: card.pan, pin: pin, as: .operator)
        out.append([
          ("customer", p.id.description), ("password", password), ("card", card.pan),
          ("pin", pin),
        ])
      }
      for (user, name, role, password) in [
        ("tina", "Tina Counter", Role.teller, "service desk 2026 blue"),
        ("mark", "Mark Branch", Role.manager, "approvals desk 2026 green"),
      ] {
        _ = try auth.addStaff(
          username: user, name: name, role: role, password: password, as: .operator)
        out.append([("staff", user), ("role", role.description), ("password", password)])
      }
      return out
    }
  }

  /// A year of banking products on a new store: rates, a savings account earning monthly
  /// interest, an approved loan repaid on its due dates, and a last month of everyday activity
  /// on the sample accounts; the clock moves from a year ago to `until`. Returns what happened.
  static func demoYear(
    _ ctx: CommandContext, _ clock: DemoClock, accounts: [AccountNumber], until: Int64
  ) throws -> [String] {
    try ctx.withBank { acting in
      let products = Products(authenticator: acting.auth)
      let l = acting.ledger
      func usd(_ minor: Int64) -> Amount { Amount(minorUnits: minor, currency: .usd) }
      let start = Day(Instant(nanoseconds: clock.read()))
      var out: [String] = []
      try products.setRate(
        .savings, annual: AnnualRate(microPercent: 3_500_000), from: start, as: .operator)
      try products.setRate(
        .overdraft, annual: AnnualRate(microPercent: 18_000_000), from: start, as: .operator)
      out.append("rates from \(start): savings 3.5 %, overdraft 18 %")
      let ada = CustomerID(1)
      let alan = CustomerID(2)
      clock.advance(minutes: 5)
      let savings = try acting.auth.openAccount(
        for: ada, spec: AccountSpec(name: "Ada Lovelace", kind: .savings), as: .operator)
      try l.deposit(usd(8_000_00), to: savings.number, memo: "savings")
      out.append("opened savings account \(savings.number) for \(ada) with 8000.00 USD")
      let alanAccount = try acting.auth.customer(alan, as: .operator).accounts[0]
      clock.advance(minutes: 5)
      let loan = try products.requestLoan(
        customer: alan, account: alanAccount, amount: usd(6_000_00), months: 24,
        annualRate: AnnualRate(microPercent: 9_500_000), as: .customer(alan))
      clock.advance(minutes: 60)
      let approved = try products.approveLoan(loan.id, as: .staff(username: "mark", role: .manager))
      out.append(
        "loan \(loan.id): 6000.00 USD over 24 months at 9.5 % for \(alan), approved; installment \(approved.installment.formatted)"
      )
      let schedule = try products.schedule(of: loan.id, as: .operator)
      let lastMonth = until - 30 * DemoClock.day
      var rng = SplitMix(seed: 2026)
      var day = start.adding(days: 1)
      let end = Day(Instant(nanoseconds: until))
      var repaid = 0
      while day < end {
        // Salary, the installment on its due date, and in the last month everyday activity.
        if let row = schedule.first(where: { $0.due == day }) {
          clock.set(day.start.nanoseconds + 9 * 3_600 * 1_000_000_000)
          try l.deposit(usd(2_500_00), to: alanAccount, memo: "salary")
          clock.advance(minutes: 30)
          try products.repayLoan(loan.id, amount: row.payment, as: .customer(alan))
          repaid += 1
        }
        if day.start.nanoseconds >= lastMonth {
          clock.set(day.start.nanoseconds + 12 * 3_600 * 1_000_000_000)
          for _ in 0..<Int(rng.next() % 3) {
            clock.advance(minutes: 7)
            let from = accounts[Int(rng.next() % UInt64(accounts.count))]
            let to = accounts[Int(rng.next() % UInt64(accounts.count))]
            let amount = usd(Int64(rng.next() % 150_00) + 1_00)
            switch rng.next() % 3 {
            case 0: try l.deposit(amount, to: to, memo: "cash in")
            case 1: _ = try? l.withdraw(amount, from: from, memo: "cash out")
            default:
              if from != to { _ = try? l.transfer(amount, from: from, to: to, memo: "payment") }
            }
          }
        }
        if day.isLastOfMonth {
          clock.set(day.adding(days: 1).start.nanoseconds + 2 * 3_600 * 1_000_000_000)
          try products.runInterest(through: day, as: .staff(username: "mark", role: .manager))
        }
        day = day.adding(days: 1)
      }
      // Interest through yesterday, so the current month's accrual shows.
      clock.set(max(clock.read(), until - 3_600 * 1_000_000_000))
      if Day(Instant(nanoseconds: clock.read())) > end.adding(days: -1) {
        try products.runInterest(through: end.adding(days: -1), as: .operator)
      }
      let s = try l.account(savings.number)
      out.append(
        "savings \(savings.number) earned a year of monthly interest: balance \(s.balance.formatted)"
      )
      let shown = try products.loan(loan.id, as: .operator)
      out.append(
        "loan \(loan.id): \(repaid) installments repaid, \(shown.outstandingPrincipal.formatted) outstanding, next due \(shown.nextDue?.description ?? "-")"
      )
      out.append("a month of everyday activity on the sample accounts")
      return out
    }
  }

  /// Loads terminal ATM-01 with 100, 500 and 2000 notes and runs a cardholder's session on the
  /// first demo card, the first time the demo runs on a store; returns what happened.
  static func demoATM(_ ctx: CommandContext, cards: [String]) throws -> [String]? {
    guard let card = cards.first else { return nil }
    return try ctx.withBank(pins: .ifPresent) { acting in
      let fleet = ATMFleet(authenticator: acting.auth)
      func usd(_ major: Int64) -> Amount { Amount(minorUnits: major * 100, currency: .usd) }
      let loaded = try fleet.load(
        [
          NoteCount(denomination: usd(2000), count: 50),
          NoteCount(denomination: usd(500), count: 200),
          NoteCount(denomination: usd(100), count: 300),
        ], as: .operator)
      var out = ["loaded terminal ATM-01 with 2000x50, 500x200, 100x300 (\(loaded.cash.formatted))"]
      var session = try ATMSession(
        fleet: fleet, card: card, device: SimulatedCashDevice(fleet: fleet))
      do { try session.enterPIN("0000") } catch let error as BankError {
        out.append("ATM-01: a wrong PIN for card \(session.maskedCard): \(error.message)")
      }
      try session.enterPIN("2468")
      do { _ = try session.withdraw(usd(150)) } catch let error as BankError {
        out.append("ATM-01: 150.00 USD refused (\(error.code.rawValue)): \(error.message)")
      }
      let paid = try session.withdraw(usd(2600))
      out.append(
        "ATM-01: withdrew \(paid.amount.formatted) in notes \(paid.notes.map { "\($0.denomination)x\($0.count)" }.joined(separator: ", ")); balance \(paid.account.balance.formatted)"
      )
      session.end()
      return out
    }
  }
}

extension Authenticator {
  /// Gives a demo customer's first account an opening balance.
  fileprivate func deposit(_ p: Customer, ctx acting: Acting) throws {
    guard let first = p.accounts.first else { return }
    try acting.ledger.deposit(
      Amount(minorUnits: 5_000_00, currency: .usd), to: first, memo: "opening deposit")
  }
}

/// The demo's clock: a year ago, moved forward by the demo's script.
final class DemoClock: Sendable {
  static let day: Int64 = 86_400 * 1_000_000_000
  private let now: Mutex<Int64>

  init(_ start: Int64) { now = Mutex(start) }

  func read() -> Int64 { now.withLock { $0 } }
  func set(_ t: Int64) { now.withLock { $0 = max($0, t) } }
  func advance(minutes: Int64) { now.withLock { $0 += minutes * 60 * 1_000_000_000 } }
}

/// A small seeded generator (SplitMix64), so the demo writes the same history every time.
struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
