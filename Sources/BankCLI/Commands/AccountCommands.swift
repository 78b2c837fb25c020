import BankCore
import Foundation

// Accounts: open, list, freeze, unfreeze and close.

extension Commands {
  /// Accounts: open, list, freeze, unfreeze and close.
  static let accounts: [CommandSpec] = [
    CommandSpec(
      name: "open",
      valueOptions: ["name", "type", "currency", "overdraft", "number", "customer", "id"],
      flagOptions: [],
      positionals: [], summary: "Open an account.",
      usage:
        "bankctl open --name <name> [--type checking|savings] [--currency <code>] [--overdraft <amount>] [--number <account>] [--customer <customer>] [--id <key>]",
      details: """
        OPTIONS:
          --name <name>           The owner's name: 1 to 100 characters (400 bytes), not blank, no
                                  control, bidirectional or invisible characters. Optional with
                                  --customer (the customer's name).
          --customer <customer>   Open an extra account owned by this customer (C000001); the
                                  store must exist.
          --type <type>           checking (default) or savings.
          --currency <code>       An ISO 4217 code from the built-in table (default USD).
          --overdraft <amount>    Checking only: how far below zero the balance may go (default 0;
                                  managers and the operator only).
          --number <account>      Choose the account number (nine digits with a valid check digit,
                                  below 9000-: that range is the bank's own).

        Without --customer, creates the store if it does not exist.
        JSON: {"account","name","type","currency","status","balance","available","pending",
        "overdraft_limit"}
        """,
      permission: .operation(.openAccount),
      run: { try $0.open() }),
    CommandSpec(
      name: "accounts", valueOptions: [], flagOptions: ["all"], positionals: [],
      summary: "List customer accounts with their balances.", usage: "bankctl accounts [--all]",
      details: """
        OPTIONS:
          --all                   Include the bank's internal accounts (vaults).

        JSON: {"accounts":[...]} with each element shaped like the output of 'open'.
        """,
      permission: .anyone,
      run: { try $0.accounts() }),
    CommandSpec(
      name: "freeze", valueOptions: ["id"], flagOptions: [], positionals: ["account"],
      summary: "Freeze an account: credits only.", usage: "bankctl freeze <account> [--id <key>]",
      details:
        "ARGUMENTS:\n  <account>               The account number.\n\nA frozen account accepts credits but no debits.\nJSON: shaped like the output of 'open'.",
      permission: .operation(.freeze),
      run: { try $0.setStatus("freeze") }),
    CommandSpec(
      name: "unfreeze", valueOptions: ["id"], flagOptions: [], positionals: ["account"],
      summary: "Make a frozen account active again.",
      usage: "bankctl unfreeze <account> [--id <key>]",
      details:
        "ARGUMENTS:\n  <account>               The account number.\n\nJSON: shaped like the output of 'open'.",
      permission: .operation(.unfreeze),
      run: { try $0.setStatus("unfreeze") }),
    CommandSpec(
      name: "close", valueOptions: ["id", "settle"], flagOptions: [], positionals: ["account"],
      summary: "Close an account, posting its accrued interest first.",
      usage: "bankctl close <account> [--settle <account>] [--id <key>]",
      details: """
        ARGUMENTS:
          <account>               The account number.
        OPTIONS:
          --settle <account>      Move what is left after the interest posting to this account
                                  (or take an overdrawn balance from it), in the same batch.

        First posts the interest accrued through yesterday (rounded half to even, nothing
        carried). Refused with account_not_empty when a balance is left and no --settle is
        given, or a hold is pending: nothing changes then. With --id, a retry after the close
        committed replays. Managers and the operator.
        JSON: shaped like the output of 'open', plus "interest", "settled", "settled_with".
        """,
      permission: .operation(.close),
      run: { try $0.closeAccount() }),
  ]
}

extension CommandContext {
  func open() throws {
    let owner = try parsed.options["customer"].map(customerID)
    // A customer's extra account is named after the customer unless --name says otherwise.
    guard let name = parsed.options["name"] ?? owner.map({ _ in "-" }) else {
      throw UsageError(message: "missing option '--name'", command: "open")
    }
    let kind = try customerAccountKind()
    let currency = try Currency.named(parsed.options["currency"] ?? "USD")
    let overdraft = try parsed.options["overdraft"].map { t throws(BankError) in
      try Amount(parsing: t, currency: currency)
    }
    let number = try parsed.options["number"].map { t throws(BankError) in try account(t) }
    var spec = AccountSpec(
      name: name, kind: kind, currency: currency, overdraftLimit: overdraft, number: number)
    try spec.validate()
    let k = try key()
    let a = try withBank(create: owner == nil) { acting in
      if let owner {
        // Permission first, so a session cannot probe which customer IDs exist.
        try acting.require(.openAccount)
        if spec.overdraftLimit?.minorUnits ?? 0 != 0 { try acting.require(.overdraft) }
        if parsed.options["name"] == nil {
          spec.name = try acting.auth.customer(owner, as: .operator).name
        }
        return try acting.auth.openAccount(
          for: owner, spec: spec, key: k, as: acting.principal)
      }
      return try acting.auth.open(spec, key: k, as: acting.principal)
    }
    emit(
      accountJSON(a),
      human: """
        Opened \(a.kind) account \(a.number) for \(a.name)
          currency:  \(a.currency.code)
          balance:   \(a.balance.formatted)
          overdraft: \(a.overdraftLimit.formatted)
        """)
  }

  func accounts() throws {
    let (all, mine) = try withBank(readOnly: true) { acting in
      (try acting.ledger.accounts(), try acting.auth.visibleAccounts(as: acting.principal))
    }
    var shown = parsed.flags.contains("all") ? all : all.filter { $0.kind.isCustomer }
    if let mine {
      let visible = Set(mine)
      shown = shown.filter { visible.contains($0.number) }
    }
    if json {
      console.print(JSON.object([("accounts", .array(shown.map(accountJSON)))]).rendered)
      return
    }
    let rows = shown.map { a in
      [
        a.number.description, a.name, a.kind.description, a.status.description,
        a.balance.description, a.available.description, a.currency.code,
      ]
    }
    console.print(
      Table.render(
        header: ["ACCOUNT", "NAME", "TYPE", "STATUS", "BALANCE", "AVAILABLE", "CCY"], rows: rows,
        rightAligned: [4, 5]))
  }

  func setStatus(_ command: String) throws {
    let number = try account(parsed.positionals[0])
    let status: AccountStatus =
      command == "close" ? .closed : command == "freeze" ? .frozen : .active
    let k = try key()
    let a = try withBank { acting in
      try acting.auth.setStatus(status, of: number, key: k, as: acting.principal)
    }
    emit(accountJSON(a), human: "Account \(a.number) is now \(a.status)")
  }

  /// An account as the library encodes it (DESIGN.md's keys, and `pending`).
  func accountJSON(_ a: Account) -> JSON { .encoding(a) }

  /// `--type`: a customer's account is checking (the default) or savings.
  func customerAccountKind() throws -> AccountKind {
    let typeName = parsed.options["type"] ?? "checking"
    guard let kind = AccountKind(name: typeName), kind == .checking || kind == .savings else {
      throw BankError(
        .invalidArgument,
        "invalid --type '\(Validate.escaped(typeName))': expected checking or savings")
    }
    return kind
  }
}
