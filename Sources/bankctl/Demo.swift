import BankCore

/// The built-in demonstration: a sample bank and a short scripted session.
enum Demo {
  static let names = [
    "Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov",
    "Donald Knuth", "Frances Allen", "Tony Hoare", "Leslie Lamport", "Margaret Hamilton",
  ]

  static func run(_ ctx: CommandContext) throws {
    var log: [String] = []
    var steps: [JSON] = []
    let (accounts, final) = try ctx.withLedger(create: true) { l -> ([AccountNumber], [Account]) in
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
              "transferred 75.50 USD from \(numbers[2]) to \(numbers[3]) (transfer \(r.transfer.transferID))"
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
            let key = "demo-\(numbers[5].rawValue)"
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
    _ = accounts
    if ctx.json {
      ctx.console.print(
        JSON.object([
          ("store", .string(ctx.storePath)), ("steps", .array(steps)),
          ("accounts", .array(final.map(ctx.accountJSON))),
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
    ctx.console.print(
      """

      Try: bankctl --store \(Validate.escaped(ctx.storePath, limit: nil)) history \(final[0].number)
      (If your shell cannot find bankctl, build it and put it on your PATH from the checkout:
        swift build -c release && export PATH="$PWD/.build/release:$PATH"
      or run it as 'swift run bankctl …'.)
      """)
  }
}
