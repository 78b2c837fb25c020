import BankCore
import Foundation

// Money: cash in and out, transfers, balances and history.

extension Commands {
  /// Money: cash in and out, transfers, balances and history.
  static let money: [CommandSpec] = [
    CommandSpec(
      name: "deposit", valueOptions: ["id", "memo"], flagOptions: [],
      positionals: ["account", "amount"],
      summary: "Deposit cash into an account.",
      usage: "bankctl deposit <account> <amount> [--id <key>] [--memo <text>]",
      details: """
        ARGUMENTS:
          <account>               The account number, e.g. 1000-0001-7.
          <amount>                A positive decimal with at most the currency's minor digits, e.g. 12.34.

        OPTIONS:
          --id <key>              Idempotency key (1-64 of A-Z a-z 0-9 . _ : -). A retry with the same key
                                  and arguments moves no money and reports "replayed": true.
          --memo <text>           Up to 200 characters.

        JSON: {"transfer","account","amount","currency","balance","replayed"}
        """,
      permission: .operation(.deposit),
      run: { try $0.cash("deposit") }),
    CommandSpec(
      name: "withdraw", valueOptions: ["id", "memo"], flagOptions: [],
      positionals: ["account", "amount"],
      summary: "Withdraw cash from an account.",
      usage: "bankctl withdraw <account> <amount> [--id <key>] [--memo <text>]",
      details: """
        ARGUMENTS:
          <account>               The account number, e.g. 1000-0001-7.
          <amount>                A positive decimal with at most the currency's minor digits, e.g. 12.34.

        OPTIONS:
          --id <key>              Idempotency key; see 'bankctl help deposit'.
          --memo <text>           Up to 200 characters.

        Refused with insufficient_funds (exit 1) when the available balance, overdraft included, is short.
        JSON: {"transfer","account","amount","currency","balance","replayed"}
        """,
      permission: .operation(.withdraw),
      run: { try $0.cash("withdraw") }),
    CommandSpec(
      name: "transfer", valueOptions: ["id", "memo"], flagOptions: [],
      positionals: ["from", "to", "amount"],
      summary: "Move money between two accounts.",
      usage: "bankctl transfer <from> <to> <amount> [--id <key>] [--memo <text>]",
      details: """
        ARGUMENTS:
          <from>                  The account debited.
          <to>                    The account credited (same currency, a different account).
          <amount>                A positive decimal, e.g. 12.34.

        OPTIONS:
          --id <key>              Idempotency key; see 'bankctl help deposit'.
          --memo <text>           Up to 200 characters.

        JSON: {"transfer","from","to","amount","currency","from_balance","to_balance","replayed"}
        (to_balance is null when the session may not read TO)
        """,
      permission: .operation(.transferOut),
      run: { try $0.transfer() }),
    CommandSpec(
      name: "balance", valueOptions: [], flagOptions: [], positionals: ["account"],
      summary: "Show an account's balance.", usage: "bankctl balance <account>",
      details: """
        ARGUMENTS:
          <account>               The account number.

        JSON: {"account","currency","balance","available","pending"}
        """,
      permission: .operation(.balance),
      run: { try $0.balance() }),
    CommandSpec(
      name: "history", valueOptions: ["limit", "before"], flagOptions: ["changes"],
      positionals: ["account"],
      summary: "Show an account's movements, newest first.",
      usage: "bankctl history <account> [--limit <n>] [--before <cursor>] [--changes]",
      details: """
        ARGUMENTS:
          <account>               The account number.

        OPTIONS:
          --limit <n>             At most n entries (1 to 1000000).
          --before <cursor>       Continue with the entries older than a page that ended here:
                                  the cursor a page with more entries prints ('next').
          --changes               Instead of movements: the account's opening and every change
                                  of its status or overdraft limit, oldest first, with who made
                                  it: {"account","changes":[{"time","change","status",
                                  "overdraft_limit","by","channel"}]} (staff and the operator).

        JSON: {"account","entries":[{"transfer","time","kind","amount","balance","memo",
        "counterparty"}],"next"}, newest first; amount is signed from the account's view;
        counterparty is the other account; next is the cursor of the following page, or null
        when there is none.
        """,
      permission: .operation(.history),
      run: { try $0.history() }),
  ]
}

extension CommandContext {
  func cash(_ command: String) throws {
    let number = try account(parsed.positionals[0])
    let amountText = parsed.positionals[1]
    try preCheckAmount(amountText)
    let key = try key()
    let memo = try memo()
    let r = try withBank { acting in
      let (auth, who) = (acting.auth, acting.principal)
      // Permission first, so a session cannot probe which accounts exist.
      try auth.authorize(command == "deposit" ? .deposit : .withdraw, as: who, account: number)
      let amount = try Amount(
        parsing: amountText, currency: try acting.ledger.account(number).currency)
      return command == "deposit"
        ? try auth.deposit(amount, to: number, key: key, memo: memo, as: who)
        : try auth.withdraw(amount, from: number, key: key, memo: memo, as: who)
    }
    let acct = command == "deposit" ? r.creditAccount : r.debitAccount
    let verb =
      command == "deposit"
      ? "Deposited \(r.amount.formatted) to" : "Withdrew \(r.amount.formatted) from"
    emit(
      .object([
        ("transfer", .string(r.transfer.id)), ("account", .string(acct.number.description)),
        ("amount", money(r.amount)), ("currency", .string(acct.currency.code)),
        ("balance", money(acct.balance)),
        ("replayed", .bool(r.replayed)),
      ]),
      human:
        "\(verb) \(acct.number) (transfer \(r.transfer.id))\(r.replayed ? " [replayed: already applied]" : "")\n  balance: \(acct.balance.formatted)"
    )
  }

  func transfer() throws {
    let from = try account(parsed.positionals[0])
    let to = try account(parsed.positionals[1])
    let amountText = parsed.positionals[2]
    try preCheckAmount(amountText)
    let key = try key()
    let memo = try memo()
    let r = try withBank { acting in
      let (auth, who) = (acting.auth, acting.principal)
      try auth.authorize(.transferOut, as: who, account: from)
      let amount = try Amount(
        parsing: amountText, currency: try acting.ledger.account(from).currency)
      return try auth.transfer(amount, from: from, to: to, key: key, memo: memo, as: who)
    }
    emit(
      .encoding(r),
      human: """
        Transferred \(r.amount.formatted) from \(from) to \(to) (transfer \(r.transfer.id))\(r.replayed ? " [replayed: already applied]" : "")
          \(from): \(r.debitAccount.balance.formatted)
        """ + (r.creditAccountHidden ? "" : "\n  \(to): \(r.creditAccount.balance.formatted)"))
  }

  func balance() throws {
    let number = try account(parsed.positionals[0])
    let a = try withBank(readOnly: true) { acting in
      try acting.auth.account(number, as: acting.principal)
    }
    emit(
      .object([
        ("account", .string(a.number.description)), ("currency", .string(a.currency.code)),
        ("balance", money(a.balance)),
        ("available", money(a.available)), ("pending", money(a.pending)),
      ]),
      human: """
        Account \(a.number) (\(Validate.escaped(a.name, limit: nil)), \(a.kind), \(a.status))
          balance:   \(a.balance.formatted)
          available: \(a.available.formatted)
          pending:   \(a.pending.formatted)
        """)
  }

  func history() throws {
    let number = try account(parsed.positionals[0])
    if parsed.flags.contains("changes") {
      let changes = try withBank(readOnly: true) { acting in
        // Who changed an account is staff's to see, as the origins of movements are.
        try acting.auth.authorizeRead(.history, of: number, as: acting.principal)
        if case .customer = acting.principal {
          throw BankError(.permissionDenied, "a customer may not see who changed an account")
        }
        return try acting.ledger.changes(of: number)
      }
      emit(
        .object([
          ("account", .string(number.description)),
          ("changes", .array(changes.map { JSON.encoding($0) })),
        ]),
        human: "Changes of \(number), oldest first\n"
          + Table.render(
            header: ["TIME", "CHANGE", "STATUS", "OVERDRAFT", "BY", "VIA"],
            rows: changes.map {
              [
                $0.time.description, $0.change, $0.status.description,
                $0.overdraftLimit.description, $0.origin.by, $0.origin.channel.description,
              ]
            }, rightAligned: [3]))
      return
    }
    var limit: Int?
    if let l = parsed.options["limit"] {
      guard let n = Int(l), n >= 1, n <= 1_000_000, l.allSatisfy({ $0.isASCII && $0.isNumber })
      else {
        throw BankError(
          .invalidArgument,
          "invalid --limit '\(Validate.escaped(l))': expected a whole number from 1 to 1000000")
      }
      limit = n
    }
    var before: HistoryCursor?
    if let c = parsed.options["before"] {
      guard let cursor = HistoryCursor(c) else {
        throw BankError(
          .invalidArgument,
          "invalid --before '\(Validate.escaped(c))': expected the cursor a history page printed as 'next'"
        )
      }
      before = cursor
    }
    // One entry more than shown tells whether a next page exists.
    var entries = try withBank(readOnly: true) { acting in
      try acting.auth.history(
        of: number, limit: limit.map { $0 + 1 }, before: before, as: acting.principal)
    }
    var next: HistoryCursor?
    if let limit, entries.count > limit {
      entries.removeLast(entries.count - limit)
      next = entries.last?.cursor
    }
    if json {
      // Entries as the library encodes them (DESIGN.md's keys, and `kind` and `counterparty`).
      let items = entries.map(JSON.encoding)
      let nextJSON: JSON = next.map { .string($0.description) } ?? .null
      console.print(
        JSON.object([
          ("account", .string(number.description)), ("entries", .array(items)),
          ("next", nextJSON),
        ]).rendered)
      return
    }
    // Staff and the operator see who made each movement and through what; customers do not.
    let showOrigin = entries.contains { $0.origin != nil }
    let rows = entries.map { e in
      [
        Time.iso8601(e.time.nanoseconds), e.transfer, e.kind.description, e.amount.description,
        e.balance.description,
      ]
        + (showOrigin
          ? [e.origin?.by ?? "", e.origin.map { $0.channel.description } ?? ""] : [])
        + [e.memo]
    }
    console.print("History of \(number), newest first")
    console.print(
      Table.render(
        header: ["TIME", "TRANSFER", "KIND", "AMOUNT", "BALANCE"]
          + (showOrigin ? ["BY", "VIA"] : []) + ["MEMO"], rows: rows,
        rightAligned: [3, 4]))
    if let next {
      console.print(
        "Older entries: bankctl history \(number) --limit \(limit ?? 0) --before \(next)")
    }
  }

  /// Checks an amount's syntax before the store is opened (so bad input never creates or touches
  /// a store); the currency's exponent is checked once the account is known.
  func preCheckAmount(_ text: String) throws(BankError) {
    let decimals =
      text.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
    _ = try Amount(parsing: text, currency: Currency(code: "XXX", minorDigits: min(9, decimals)))
  }

  func memo() throws(BankError) -> String {
    let m = parsed.options["memo"] ?? ""
    try Validate.text(m, field: "memo", max: 200, allowEmpty: true)
    return m
  }
}
