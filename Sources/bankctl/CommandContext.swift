import BankCore
import Foundation

/// Runs one parsed command against the store.
struct CommandContext {
  let parsed: ParsedArguments
  let storePath: String
  let lockTimeout: Duration
  let console: Console
  /// `$BANKCTL_SESSION`, when set.
  var environmentSession: String? = nil
  /// Where secrets (passwords, PINs, reset tokens) are read from.
  var secrets = SecretInput()
  /// The Authenticator's costs and timeouts: always the documented defaults in the binary;
  /// in-process tests lower the password cost here.
  var authConfiguration = AuthConfiguration()

  var json: Bool { parsed.json }

  /// The clock commands run on: `--now` fixed, else the system clock.
  var clock: BankClock {
    guard let now = parsed.now else { return .system }
    return BankClock { now.nanoseconds }
  }

  func execute(_ command: String) throws {
    switch command {
    case "open": try open()
    case "deposit", "withdraw": try cash(command)
    case "transfer": try transfer()
    case "balance": try balance()
    case "accounts": try accounts()
    case "history": try history()
    case "freeze", "unfreeze", "close": try setStatus(command)
    case "verify": try verify()
    case "export": try export()
    case "demo": try Demo.run(self)
    case "customer register": try customerRegister()
    case "customer update": try customerUpdate()
    case "customer show": try customerShow()
    case "staff add": try staffAdd()
    case "login": try login()
    case "logout": try logout()
    case "session revoke": try sessionRevoke()
    case "pin-key reset": try pinKeyReset()
    case "password forgot": try passwordForgot()
    case "password reset": try passwordReset()
    case "card issue": try cardIssue()
    case "card set-pin": try cardSetPIN(change: false)
    case "card change-pin": try cardSetPIN(change: true)
    case "card block": try cardBlock(true)
    case "card unblock": try cardBlock(false)
    default: throw ArgumentParser.unknownCommand(command)
    }
  }

  // MARK: Store

  /// Opens the store's ledger as the operator; see ``withBank(create:readOnly:pins:_:)``.
  func withLedger<R>(create: Bool = false, readOnly: Bool = false, _ body: (Ledger) throws -> R)
    throws -> R
  {
    try withBank(create: create, readOnly: readOnly) { acting in
      guard acting.principal == .operator else {
        throw BankError(.permissionDenied, "this command is for the store's operator only")
      }
      return try body(acting.ledger)
    }
  }

  /// Opens the store's bank and resolves who is acting: the session of `--session` (or
  /// `$BANKCTL_SESSION`), else the operator who owns the file. Only `open`, `demo` and
  /// registrations may create a missing store. Readers (`readOnly`) take no lock and never write:
  /// they see the durable prefix as of their start, and a session they use is not extended.
  ///
  /// - Parameters:
  ///   - pins: load the store's PIN key (creating it when `.create`), for card commands.
  ///   - forNobody: the command acts for nobody (`login`, `password forgot`, `password reset`):
  ///     a session in the environment, perhaps ended, is not looked at.
  func withBank<R>(
    create: Bool = false, readOnly: Bool = false, pins: PINKey = .ifPresent,
    forNobody: Bool = false, _ body: (Acting) throws -> R
  ) throws -> R {
    let session = forNobody ? nil : self.session
    if create, session != nil, !FileManager.default.fileExists(atPath: storePath) {
      // No session can exist in a store that does not: refused before anything is created.
      throw BankError(
        .authenticationFailed, "session is unknown, expired or logged out; log in again")
    }
    let storage: FileStorage
    do throws(StorageError) {
      storage = try FileStorage(
        path: storePath,
        options: FileStorage.Options(
          lockTimeout: lockTimeout, createIfMissing: create && !readOnly, readOnly: readOnly))
    } catch {
      throw BankError(error)
    }
    if let warning = storeModeWarning(), parsed.command != "verify" {
      // verify lists it among its warnings.
      console.error("warning: \(warning)")
    }
    if let problem = storage.openInfo.closeBlockProblem, parsed.command != "verify" {
      // verify lists it among its warnings.
      console.error("warning: the close block could not be used: \(problem)")
    }
    if let tail = storage.openInfo.tornTail {
      // Recovery never discards silently: say exactly what was cut (or, for a reader, ignored).
      console.error(
        "warning: \(readOnly ? "ignored" : "cut") a torn tail of the journal: \(tail)")
    }
    let ledger: Ledger
    let acting: Acting
    do {
      ledger = Ledger(
        try Bank(
          storage: storage, configuration: BankConfiguration(clock: clock, snapshotEvery: 10_000)))
      // Compared at the microsecond precision times are printed with: the records of one
      // command share its time, a nanosecond apart, and a second command at the same --now is
      // not "earlier" than the first's.
      let newest = ledger.bank.lastRecordedTime.nanoseconds
      if let now = parsed.now, now.nanoseconds < newest - newest % 1_000 {
        // Journal time never goes backwards: nothing may be stamped before what is recorded.
        throw BankError(
          .invalidArgument,
          "--now \(now) is earlier than the newest record in the store (\(ledger.bank.lastRecordedTime)); journal time never goes backwards"
        )
      }
      var pepper: [UInt8]?
      let keyPath = storePath + ".key"
      switch pins {
      case .create:
        if !FileManager.default.fileExists(atPath: keyPath),
          try Authenticator(bank: ledger.bank).cardsWithPIN() > 0
        {
          // A new key would silently make every existing PIN wrong.
          throw BankError(
            .ioError,
            "the PIN key file \(keyPath) is missing while cards have PINs; restore it from a backup (or reset every PIN after creating a new one by hand)"
          )
        }
        pepper = try Authenticator.pepperKey(forStore: storePath, create: true)
      case .ifPresent:
        if FileManager.default.fileExists(atPath: keyPath) {
          pepper = try? Authenticator.pepperKey(forStore: storePath, create: false)
        }
      }
      let auth = try Authenticator(
        bank: ledger.bank, configuration: authConfiguration, pepper: pepper)
      var principal = Principal.operator
      if let token = session {
        // Checked without writing: a refused command leaves the store byte for byte unchanged.
        principal = try auth.authenticate(token: token, recordActivity: false)
      }
      acting = Acting(ledger: ledger, auth: auth, principal: principal)
    } catch {
      storage.close()
      throw error
    }
    defer { ledger.close() }
    let result = try body(acting)
    if !readOnly, let token = session {
      // A command that did its work keeps its session alive (activity is recorded at most once
      // a minute); a logout has just ended it, so there is nothing to record.
      _ = try? acting.auth.authenticate(token: token, recordActivity: true)
    }
    return result
  }

  /// What to say about a store file that others may read or write: it is used as it is (the
  /// operator may have a reason), but the journal holds customers' details in clear. A key file
  /// readable by others stays refused (Docs/Security.md).
  func storeModeWarning() -> String? {
    var st = stat()
    guard stat(storePath, &st) == 0, st.st_mode & 0o077 != 0 else { return nil }
    let mode = String(st.st_mode & 0o777, radix: 8)
    let read = st.st_mode & 0o044 != 0
    let write = st.st_mode & 0o022 != 0
    let who =
      read && write
      ? "others may read and change it" : write ? "others may change it" : "others may read it"
    return
      "the store \(Validate.escaped(storePath, limit: nil)) has mode 0\(mode): \(who); run chmod 600 on it"
  }

  /// The session token: `--session`, else `$BANKCTL_SESSION`.
  var session: String? { parsed.session ?? environmentSession }

  // MARK: Parsing helpers

  func account(_ text: String) throws(BankError) -> AccountNumber {
    try AccountNumber(parsing: text)
  }

  /// Checks an amount's syntax before the store is opened (so bad input never creates or touches
  /// a store); the currency's exponent is checked once the account is known.
  func preCheckAmount(_ text: String) throws(BankError) {
    let decimals =
      text.split(separator: ".", omittingEmptySubsequences: false).dropFirst().first?.count ?? 0
    _ = try Amount(parsing: text, currency: Currency(code: "XXX", minorDigits: min(9, decimals)))
  }

  func key() throws(BankError) -> IdempotencyKey? {
    guard let k = parsed.options["id"] else { return nil }
    return try IdempotencyKey(k)
  }

  func memo() throws(BankError) -> String {
    let m = parsed.options["memo"] ?? ""
    try Validate.text(m, field: "memo", max: 200, allowEmpty: true)
    return m
  }

  // MARK: Rendering

  func money(_ a: Amount) -> JSON { .string(a.description) }

  func accountJSON(_ a: Account) -> JSON {
    .object([
      ("account", .string(a.number.description)), ("name", .string(a.name)),
      ("type", .string(a.kind.description)),
      ("currency", .string(a.currency.code)), ("status", .string(a.status.description)),
      ("balance", money(a.balance)),
      ("available", money(a.available)), ("overdraft_limit", money(a.overdraftLimit)),
    ])
  }

  func emit(_ value: JSON, human: @autoclosure () -> String) {
    console.print(json ? value.rendered : human())
  }

  // MARK: Commands

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
      .object([
        ("transfer", .string(r.transfer.id)), ("from", .string(from.description)),
        ("to", .string(to.description)),
        ("amount", money(r.amount)), ("currency", .string(r.amount.currency.code)),
        ("from_balance", money(r.debitAccount.balance)),
        ("to_balance", r.creditAccountHidden ? .null : money(r.creditAccount.balance)),
        ("replayed", .bool(r.replayed)),
      ]),
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

  func history() throws {
    let number = try account(parsed.positionals[0])
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
      let items: [JSON] = entries.map { e in
        .object([
          ("transfer", .string(e.transfer)), ("time", .string(Time.iso8601(e.time.nanoseconds))),
          ("amount", money(e.amount)),
          ("balance", money(e.balance)), ("memo", .string(e.memo)),
        ])
      }
      let nextJSON: JSON = next.map { .string($0.description) } ?? .null
      console.print(
        JSON.object([
          ("account", .string(number.description)), ("entries", .array(items)),
          ("next", nextJSON),
        ]).rendered)
      return
    }
    let rows = entries.map { e in
      [
        Time.iso8601(e.time.nanoseconds), e.transfer, e.kind.description, e.amount.description,
        e.balance.description, e.memo,
      ]
    }
    console.print("History of \(number), newest first")
    console.print(
      Table.render(
        header: ["TIME", "TRANSFER", "KIND", "AMOUNT", "BALANCE", "MEMO"], rows: rows,
        rightAligned: [3, 4]))
    if let next {
      console.print(
        "Older entries: bankctl history \(number) --limit \(limit ?? 0) --before \(next)")
    }
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

  func verify() throws {
    var (report, pinCards, haveKey) = try withBank(readOnly: true) { acting in
      try acting.require(.verify)
      return (try acting.ledger.verify(), try acting.auth.cardsWithPIN(), acting.auth.hasPINKey)
    }
    if pinCards > 0 && !haveKey {
      // Not damage to the journal, but PINs cannot be checked without the key file.
      report = VerifyReport(
        records: report.records, batches: report.batches, headHash: report.headHash,
        warnings: report.warnings + [
          "the PIN key file \(storePath).key is missing or unreadable: the PINs of \(pinCards) card(s) cannot be checked until it is restored, or every one of them is reset"
        ])
    }
    if let w = storeModeWarning() {
      report = VerifyReport(
        records: report.records, batches: report.batches, headHash: report.headHash,
        warnings: report.warnings + [w], snapshotSequence: report.snapshotSequence)
    }
    for w in report.warnings { console.error("warning: \(w)") }
    emit(
      .object([
        ("ok", .bool(true)), ("records", .int(Int64(report.records))),
        ("batches", .int(Int64(report.batches))),
        ("head_hash", .string(report.headHash)),
        ("warnings", .array(report.warnings.map { .string($0) })),
      ]),
      human: """
        Store \(Validate.escaped(storePath, limit: nil)) verified: every checksum, link and hash matches,
        and a full replay reproduces \(report.snapshotSequence.map { "the snapshot (at sequence \($0)) and " } ?? "")the state.
          records:   \(report.records)
          batches:   \(report.batches)
          head hash: \(report.headHash)
        """)
  }

  func export() throws {
    let format = parsed.options["format"] ?? "ledger"
    guard ["ledger", "csv", "jsonl"].contains(format) else {
      throw BankError(
        .invalidArgument,
        "invalid --format '\(Validate.escaped(format))': expected ledger, csv or jsonl")
    }
    try withBank(readOnly: true) { acting in
      try acting.require(.export)
      try Exporter.export(acting.ledger, format: format, to: console)
    }
  }
}

/// Column-aligned plain-text tables.
enum Table {
  static func render(header: [String], rows: [[String]], rightAligned: Set<Int>) -> String {
    // Cells may hold names and memos written before today's validation: shown escaped.
    let rows = rows.map { $0.map { Validate.escaped($0, limit: nil) } }
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
      var parts: [String] = []
      for (i, c) in cells.enumerated() {
        let pad = String(repeating: " ", count: widths[i] - c.count)
        parts.append(rightAligned.contains(i) ? pad + c : (i == cells.count - 1 ? c : c + pad))
      }
      return parts.joined(separator: "  ")
    }
    var out = [line(header)]
    out += rows.map(line)
    if rows.isEmpty { out.append("(none)") }
    return out.joined(separator: "\n")
  }
}

/// Timestamps as RFC 3339 UTC with microseconds.
enum Time {
  /// RFC 3339 in UTC with microseconds: ``Instant``'s form, the one every output uses.
  static func iso8601(_ ns: Int64) -> String { Instant(nanoseconds: ns).description }

  static func date(_ ns: Int64) -> String { String(iso8601(ns).prefix(10)) }
}
