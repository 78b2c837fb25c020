import BankCore
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

// The ATM fleet: cash, status, the cardholder session, faults, service and the event log.

extension Commands {
  /// The ATM fleet and its event log.
  static let atm: [CommandSpec] = [
    CommandSpec(
      name: "atm load", valueOptions: ["terminal", "notes", "currency", "low-threshold"],
      flagOptions: [], positionals: [], summary: "Load notes into a terminal's cassettes.",
      usage:
        "bankctl atm load [--terminal <id>] --notes <notes> [--currency <code>] [--low-threshold <n>]",
      details: """
        OPTIONS:
          --terminal <id>         The terminal (default ATM-01); the first load creates it.
          --notes <notes>         Notes by denomination, such as 2000x50,500x200,100x300.
          --currency <code>       The notes' currency (default USD; a terminal keeps its first).
          --low-threshold <n>     The cassettes' low threshold (default 50 notes).

        Moves the notes' value from the vault to the terminal's cash account in the same batch.
        Managers and the operator. JSON: as atm status.
        """,
      permission: .operation(.loadATM),
      run: { try $0.atmLoad() }),
    CommandSpec(
      name: "atm unload", valueOptions: ["terminal", "notes"], flagOptions: [], positionals: [],
      summary: "Return a terminal's notes to the vault.",
      usage: "bankctl atm unload [--terminal <id>] [--notes <notes>]",
      details: """
        OPTIONS:
          --terminal <id>         The terminal (default ATM-01).
          --notes <notes>         Notes to take from the cassettes (default: every note, the
                                  deposit bin's too).

        Managers and the operator. JSON: as atm status.
        """,
      permission: .operation(.loadATM),
      run: { try $0.atmUnload() }),
    CommandSpec(
      name: "atm status", valueOptions: ["terminal"], flagOptions: ["all"], positionals: [],
      summary: "Show a terminal's cassettes, cash and forecast.",
      usage: "bankctl atm status [--terminal <id> | --all]",
      details: """
        OPTIONS:
          --terminal <id>         The terminal (default ATM-01).
          --all                   Every terminal: {"terminals":[...]}.

        JSON: {"terminal","in_service","currency","cash","cassettes":[{"denomination","count",
        "status","per_day","hours_to_empty"}]}, with "deposits" and "holds" (withdrawals left
        pending by a crash) when there are any. per_day: notes dispensed over the last 168 hours
        divided by 7; hours_to_empty: whole hours to empty at that rate (null when none).
        Staff and the operator.
        """,
      permission: .operation(.viewATMs),
      run: { try $0.atmStatus() }),
    CommandSpec(
      name: "atm mix", valueOptions: ["terminal"], flagOptions: [], positionals: ["amount"],
      summary: "Show the notes a terminal would pay, changing nothing.",
      usage: "bankctl atm mix <amount> [--terminal <id>]",
      details: """
        ARGUMENTS:
          <amount>                The amount, in the terminal's currency.

        JSON: {"amount","notes":[{"denomination","count"}]}, or exit 1 with cannot_dispense,
        whose message says what the terminal can pay. Staff and the operator.
        """,
      permission: .operation(.viewATMs),
      run: { try $0.atmMix() }),
    CommandSpec(
      name: "atm session", valueOptions: ["card", "terminal"], flagOptions: [], positionals: [],
      summary: "Run a cardholder's session at a terminal.",
      usage: "bankctl atm session --card <pan> [--terminal <id>]  (PIN, then requests, on stdin)",
      details: """
        OPTIONS:
          --card <pan>            The card number (16 digits).
          --terminal <id>         The terminal (default ATM-01).

        STDIN: PIN attempts, one per line, until one is accepted (or the third wrong one retains
        the card); then one request per line:
          balance [ACCOUNT]       withdraw AMOUNT [ACCOUNT]     statement [ACCOUNT]
          deposit NOTES [ACCOUNT] change-pin (then the new PIN twice)     end
        Without ACCOUNT, the card's first linked account. The numbers 1 to 6 name the same
        requests in that order (on a terminal the menu prompts for what they need).
        JSON: one line per step, {"step","ok",...}: pin (tries_left when wrong), balance
        (account, balance, available), withdraw (amount, notes, balance), statement (entries),
        deposit (amount, balance), change_pin, end; a refused step carries
        "error":{"code","message"} and the session goes on. Exit 0 when it ends; 1 with
        card_retained (third wrong PIN) or card_blocked, card_expired, out_of_service.
        """,
      permission: .anyone,
      run: { try $0.atmSession() }),
    CommandSpec(
      name: "atm fault", valueOptions: ["terminal", "kind", "denomination"], flagOptions: [],
      positionals: [], summary: "Script a device fault, as a drill or a test harness does.",
      usage:
        "bankctl atm fault --terminal <id> --kind jam|cassette_empty|shutter|hardware [--denomination <d>]",
      details: """
        OPTIONS:
          --terminal <id>         The terminal.
          --kind <kind>           jam, cassette_empty or shutter: the next dispense fails so;
                                  hardware: the machine fails now (out of service).
          --denomination <d>      The cassette that fails (cassette_empty).

        Managers and the operator. JSON: {"ok":true,"terminal","fault"}
        """,
      permission: .operation(.serviceATM),
      run: { try $0.atmFault() }),
    CommandSpec(
      name: "atm service", valueOptions: ["terminal"], flagOptions: ["in", "out"],
      positionals: [], summary: "Put a terminal in or out of service.",
      usage: "bankctl atm service --terminal <id> --in|--out",
      details: """
        OPTIONS:
          --terminal <id>         The terminal.
          --in                    Back in service (failed cassettes are usable again).
          --out                   Out of service: sessions are refused with out_of_service.

        Managers and the operator. JSON: as atm status.
        """,
      permission: .operation(.serviceATM),
      run: { try $0.atmService() }),
    CommandSpec(
      name: "atm register", valueOptions: ["terminal"], flagOptions: [], positionals: [],
      summary: "Register a terminal for the event socket and print its key once.",
      usage: "bankctl atm register --terminal <id>",
      details: """
        OPTIONS:
          --terminal <id>         The terminal (loaded before).

        Only the key's SHA-256 is stored; a new registration replaces the key.
        Managers and the operator. JSON: {"terminal","key"}
        """,
      permission: .operation(.loadATM),
      run: { try $0.atmRegister() }),
    CommandSpec(
      name: "atm reconcile", valueOptions: ["terminal", "counted"], flagOptions: [],
      positionals: [], summary: "Book a physical count of a terminal's cassettes.",
      usage: "bankctl atm reconcile --terminal <id> --counted <notes>",
      details: """
        OPTIONS:
          --terminal <id>         The terminal.
          --counted <notes>       The notes counted in its cassettes, such as 2000x48,500x199
                                  (a denomination not listed counts as none).

        First resolves the withdrawal holds a crash left pending (posted when the count shows
        their notes gone, voided otherwise), then books any difference between the count and
        the books to the cash over/short account, with a reconciliation alert.
        Managers and the operator.
        JSON: {"terminal","counted","books","difference","holds_posted","holds_voided"}
        """,
      permission: .operation(.loadATM),
      run: { try $0.atmReconcile() }),
    CommandSpec(
      name: "atm rules", valueOptions: [], flagOptions: [], positionals: ["action", "file"],
      summary: "Store a new rules table for every terminal (atm rules load FILE).",
      usage: "bankctl atm rules load <file>",
      details: """
        ARGUMENTS:
          <file>                  The table: one 'name = value' per line, '#' comments.

        Rules and defaults: daily_amount_limit 20000 (major units, per card, UTC day and
        currency), daily_count_limit 10, max_notes_per_dispense 40, policy fewest_notes
        (or equal_emptying), faults_before_out_of_service 3, low_threshold 50 (new
        cassettes), forecast_lead_hours 48. A rule not in the file takes its default.
        Stored in the journal, so every process applies it. Managers and the operator.
        JSON: {"ok":true,"rules":{...}} with every rule in force.
        """,
      permission: .operation(.loadATM),
      run: { try $0.atmRules() }),
    CommandSpec(
      name: "events", valueOptions: ["terminal", "type", "since", "limit"],
      flagOptions: ["follow"], positionals: [], summary: "Show the ATM event log.",
      usage:
        "bankctl events [--terminal <id>] [--type <type>] [--since <seq>] [--limit <n>] [--follow]",
      details: """
        OPTIONS:
          --terminal <id>         Only this terminal's events.
          --type <type>           Only this type (withdrawal, deposit, balance_inquiry,
                                  statement, pin_failed, pin_changed, card_retained,
                                  dispense_fault, cassette_low, cassette_empty, hardware_failure,
                                  out_of_service, in_service, cash_loaded, cash_unloaded,
                                  reconciled, alert).
          --since <seq>           Only events after this sequence number (to resume).
          --limit <n>             At most n events (1 to 1000000).
          --follow                Keep printing events as they are committed, by this or another
                                  process, until interrupted (exit 0).

        Oldest first, one line each. Reads without the writer's lock. Auditors, managers and the
        operator. JSON: {"event","time","terminal","type","detail"} per line.
        """,
      permission: .operation(.events),
      run: { try $0.events() }),
  ]
}

/// Set by SIGINT while `events --follow` runs.
private let interrupted = Atomic<Bool>(false)

extension CommandContext {
  var terminal: String { parsed.options["terminal"] ?? ATMFleet.defaultTerminal }

  /// `2000x50,500x200`: notes by denomination, in `currency`.
  func notes(_ text: String, currency: Currency, allowZero: Bool = false) throws -> [NoteCount] {
    var out: [NoteCount] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      let pieces = part.split(separator: "x", omittingEmptySubsequences: false)
      guard pieces.count == 2, let count = Int(pieces[1]), count >= (allowZero ? 0 : 1),
        count <= 1_000_000,
        pieces[1].allSatisfy({ $0.isASCII && $0.isNumber })
      else {
        throw BankError(
          .invalidArgument,
          "invalid notes '\(Validate.escaped(String(part)))': expected DENOMINATIONxCOUNT, such as 2000x50, with 1 to 1000000 notes"
        )
      }
      let denomination = try Amount(parsing: String(pieces[0]), currency: currency)
      guard denomination.minorUnits > 0 else {
        throw BankError(.invalidArgument, "a denomination must be positive, not \(pieces[0])")
      }
      out.append(NoteCount(denomination: denomination, count: count))
    }
    return out
  }

  /// A terminal's currency, or `terminal_not_found`.
  func terminalCurrency(_ f: ATMFleet, _ id: String) throws -> Currency {
    guard let c = try f.currency(of: id) else {
      throw BankError(
        .terminalNotFound, "no terminal \(id); load it first (atm load --terminal \(id))")
    }
    return c
  }

  func withFleet<R>(
    readOnly: Bool = false, pins: PINKey = .ifPresent, _ body: (ATMFleet, Acting) throws -> R
  ) throws -> R {
    try withBank(readOnly: readOnly, pins: pins) { a in
      try body(ATMFleet(authenticator: a.auth), a)
    }
  }

  func statusJSON(_ s: TerminalStatus) -> JSON { .encoding(s) }

  func statusText(_ s: TerminalStatus) -> String {
    var lines = [
      "Terminal \(s.terminal) (\(s.currency.code)): \(s.inService ? "in service" : "OUT OF SERVICE"), cash \(s.cash.formatted)"
    ]
    let rows = s.cassettes.map {
      [
        $0.denomination.description, String($0.count), $0.status.description, $0.perDay,
        $0.hoursToEmpty.map(String.init) ?? "-",
      ]
    }
    lines.append(
      Table.render(
        header: ["denomination", "count", "status", "per day", "hours to empty"], rows: rows,
        rightAligned: [0, 1, 3, 4]))
    if !s.deposits.isEmpty {
      lines.append(
        "deposit bin: "
          + s.deposits.map { "\($0.denomination)x\($0.count)" }.joined(separator: ", "))
    }
    if !s.pendingHolds.isEmpty {
      lines.append(
        "pending withdrawal holds (atm reconcile resolves them): "
          + s.pendingHolds.map { "#\($0)" }.joined(separator: ", "))
    }
    return lines.joined(separator: "\n")
  }

  func atmLoad() throws {
    let c = "atm load"
    let notesText = try requiredOption("notes", c)
    let given = try parsed.options["currency"].map { code throws(BankError) in
      try Currency.named(code)
    }
    // Checked before the store is opened, in the given currency (or USD): the format is the
    // same in every currency but for the decimals, which the terminal's currency checks again.
    _ = try notes(notesText, currency: given ?? .usd)
    var threshold: Int?
    if let t = parsed.options["low-threshold"] {
      guard let n = Int(t), n >= 0, n <= 1_000_000, t.allSatisfy({ $0.isASCII && $0.isNumber })
      else {
        throw BankError(
          .invalidArgument,
          "invalid --low-threshold '\(Validate.escaped(t))': expected 0 to 1000000")
      }
      threshold = n
    }
    try ATMFleet.validateTerminalID(terminal)
    let s = try withFleet { f, a in
      // A terminal keeps its first currency: without --currency, notes are in it.
      let existing = try f.currency(of: terminal)
      let notes = try notes(notesText, currency: given ?? existing ?? .usd)
      return try f.load(notes, terminal: terminal, lowThreshold: threshold, as: a.principal)
    }
    emit(statusJSON(s), human: statusText(s))
  }

  func atmUnload() throws {
    try ATMFleet.validateTerminalID(terminal)
    let s = try withFleet { f, a in
      let given = try parsed.options["notes"].map { t in
        try notes(t, currency: try terminalCurrency(f, terminal))
      }
      return try f.unload(given, terminal: terminal, as: a.principal)
    }
    emit(statusJSON(s), human: statusText(s))
  }

  func atmStatus() throws {
    if parsed.flags.contains("all") {
      guard parsed.options["terminal"] == nil else {
        throw UsageError(message: "--all and --terminal exclude each other", command: "atm status")
      }
      let all = try withFleet(readOnly: true) { f, a in try f.statuses(as: a.principal) }
      emit(
        .object([("terminals", .array(all.map(statusJSON)))]),
        human: all.isEmpty ? "(no terminals)" : all.map(statusText).joined(separator: "\n\n"))
      return
    }
    try ATMFleet.validateTerminalID(terminal)
    let s = try withFleet(readOnly: true) { f, a in try f.status(of: terminal, as: a.principal) }
    emit(statusJSON(s), human: statusText(s))
  }

  func atmMix() throws {
    try ATMFleet.validateTerminalID(terminal)
    let text = parsed.positionals[0]
    let mix = try withFleet(readOnly: true) { f, a in
      let amount = try Amount(parsing: text, currency: try terminalCurrency(f, terminal))
      return try f.mix(amount, terminal: terminal, as: a.principal)
    }
    emit(
      .object([("amount", money(mix.amount)), ("notes", notesJSON(mix.notes))]),
      human: "\(mix.amount.formatted): " + notesText(mix.notes))
  }

  func notesJSON(_ notes: [NoteCount]) -> JSON {
    .array(
      notes.map {
        .object([("denomination", money($0.denomination)), ("count", .int(Int64($0.count)))])
      })
  }

  func notesText(_ notes: [NoteCount]) -> String {
    notes.map { "\($0.count) x \($0.denomination)" }.joined(separator: " + ")
  }

  func atmFault() throws {
    let c = "atm fault"
    let id = try requiredOption("terminal", c)
    try ATMFleet.validateTerminalID(id)
    let kindName = try requiredOption("kind", c)
    guard let kind = DeviceFault(name: kindName) else {
      throw BankError(
        .invalidArgument,
        "invalid --kind '\(Validate.escaped(kindName))': expected jam, cassette_empty, shutter or hardware"
      )
    }
    try withFleet { f, a in
      let denomination = try parsed.options["denomination"].map { t in
        try Amount(parsing: t, currency: try terminalCurrency(f, id))
      }
      try f.scriptFault(kind, terminal: id, denomination: denomination, as: a.principal)
    }
    emit(
      .object([
        ("ok", .bool(true)), ("terminal", .string(id)), ("fault", .string(kind.description)),
      ]),
      human: "Fault \(kind) scripted for terminal \(id)")
  }

  func atmService() throws {
    let c = "atm service"
    let id = try requiredOption("terminal", c)
    try ATMFleet.validateTerminalID(id)
    let on = parsed.flags.contains("in")
    guard on != parsed.flags.contains("out") else {
      throw UsageError(message: "give exactly one of --in and --out", command: c)
    }
    let s = try withFleet { f, a in try f.setService(on, terminal: id, as: a.principal) }
    emit(statusJSON(s), human: statusText(s))
  }

  func atmRegister() throws {
    let id = try requiredOption("terminal", "atm register")
    try ATMFleet.validateTerminalID(id)
    let key = try withFleet { f, a in try f.register(terminal: id, as: a.principal) }
    emit(
      .object([("terminal", .string(id)), ("key", .string(key))]),
      human: "Terminal \(id) registered; its key (shown only now): \(key)")
  }

  func atmReconcile() throws {
    let c = "atm reconcile"
    let id = try requiredOption("terminal", c)
    try ATMFleet.validateTerminalID(id)
    let text = try requiredOption("counted", c)
    let r = try withFleet { f, a in
      let counted = try notes(text, currency: try terminalCurrency(f, id), allowZero: true)
      return try f.reconcile(terminal: id, counted: counted, as: a.principal)
    }
    emit(
      .encoding(r),
      human:
        "Terminal \(id): counted \(r.counted.formatted), books \(r.books.formatted), difference \(r.difference.formatted)"
        + (r.holdsPosted.isEmpty && r.holdsVoided.isEmpty
          ? ""
          : "; holds posted \(r.holdsPosted.map { "#\($0)" }), voided \(r.holdsVoided.map { "#\($0)" })")
    )
  }

  func atmRules() throws {
    guard parsed.positionals[0] == "load" else {
      throw UsageError(
        message: "unknown action '\(Validate.escaped(parsed.positionals[0]))'; expected load",
        command: "atm rules")
    }
    let path = parsed.positionals[1]
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw BankError(
        .ioError,
        "cannot read the rules file \(Validate.escaped(path)): \(error.localizedDescription)")
    }
    // Checked before the store is opened.
    _ = try ATMConfiguration.parseRules(text)
    let c = try withFleet { f, a in try f.loadRules(text, as: a.principal) }
    let rules: [(String, JSON)] = [
      ("daily_amount_limit", .int(c.dailyAmountLimit)),
      ("daily_count_limit", .int(Int64(c.dailyCountLimit))),
      ("max_notes_per_dispense", .int(Int64(c.maxNotesPerDispense))),
      ("policy", .string(c.policy.description)),
      ("faults_before_out_of_service", .int(Int64(c.faultsBeforeOutOfService))),
      ("low_threshold", .int(Int64(c.defaultLowThreshold))),
      ("forecast_lead_hours", .int(Int64(c.forecastLeadHours))),
    ]
    emit(
      .object([("ok", .bool(true)), ("rules", .object(rules))]),
      human: "Rules stored:\n"
        + rules.map { "  \($0.0) = \($0.1.rendered)" }.joined(separator: "\n"))
  }

  // MARK: Events

  func events() throws {
    var since: UInt64 = 0
    if let s = parsed.options["since"] {
      guard let n = UInt64(s), s.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        throw BankError(
          .invalidArgument, "invalid --since '\(Validate.escaped(s))': expected a sequence number")
      }
      since = n
    }
    var limit: Int?
    if let l = parsed.options["limit"] {
      guard let n = Int(l), n >= 1, n <= 1_000_000, l.allSatisfy({ $0.isASCII && $0.isNumber })
      else {
        throw BankError(
          .invalidArgument, "invalid --limit '\(Validate.escaped(l))': expected 1 to 1000000")
      }
      limit = n
    }
    var type: ATMEventType?
    if let t = parsed.options["type"] {
      guard let ty = ATMEventType(name: t) else {
        throw BankError(
          .invalidArgument,
          "invalid --type '\(Validate.escaped(t))': expected one of \(ATMEventType.allCases.map(\.description).joined(separator: ", "))"
        )
      }
      type = ty
    }
    let id = parsed.options["terminal"]
    if let id { try ATMFleet.validateTerminalID(id) }
    let follow = parsed.flags.contains("follow")
    if follow {
      interrupted.store(false, ordering: .relaxed)
      catchInterrupts()
    }
    try withFleet(readOnly: true) { f, a in
      var cursor = since
      var printed = 0
      while true {
        let page = try f.events(
          after: cursor, terminal: id, type: type,
          limit: limit.map { $0 - printed }, as: a.principal)
        for e in page {
          emit(
            .encoding(e),
            human:
              "\(e.sequence)  \(e.time)  \(e.terminal)  \(e.type)  \(Validate.escaped(e.detail, limit: nil))"
          )
          if console.outputFailure != nil { return }
        }
        printed += page.count
        cursor = max(cursor, f.bank.durableSequence)
        if let last = page.last { cursor = max(cursor, last.sequence) }
        if !follow || (limit.map { printed >= $0 } ?? false) { return }
        // A reader that went away (`| head -1`) ends the follow even while nothing is printed.
        if console.direct {
          var out = pollfd(fd: 1, events: 0, revents: 0)
          if poll(&out, 1, 0) > 0 && out.revents & Int16(POLLERR | POLLHUP) != 0 {
            throw BankError(.ioError, "standard output was closed; the follow ends")
          }
        }
        // Poll: a reader takes no lock, so it looks again a few times a second.
        for _ in 0..<4 {
          if interrupted.load(ordering: .relaxed) { return }
          usleep(50_000)
        }
        if interrupted.load(ordering: .relaxed) { return }
      }
    }
  }

  // MARK: The cardholder session

  /// `atm session`: the store is opened for each step and closed between them, so no lock is
  /// held while the customer thinks (another terminal's session, a teller, `bankd` may write
  /// meanwhile). A SIGINT or SIGTERM ends the session after the step under way.
  func atmSession() throws {
    let c = "atm session"
    let card = try requiredOption("card", c)
    try ATMFleet.validateTerminalID(terminal)
    let id = terminal
    interrupted.store(false, ordering: .relaxed)
    catchInterrupts()
    var (session, currency) = try withBank(pins: .ifPresent) { a -> (ATMSession, Currency) in
      let fleet = ATMFleet(authenticator: a.auth)
      let s = try ATMSession(
        fleet: fleet, terminal: id, card: card, device: SimulatedCashDevice(fleet: fleet))
      return (s, try terminalCurrency(fleet, id))
    }
    try runSession(&session, currency: currency)
  }

  /// Ends a follow or a session at the next safe point on SIGINT or SIGTERM (a parent may have
  /// started us with them blocked: a test runner's thread, a job shell).
  func catchInterrupts() {
    // Without SA_RESTART: a read of standard input that is waiting returns at once (EINTR), so a
    // session waiting for its customer ends instead of running the next line typed after it.
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in interrupted.store(true, ordering: .relaxed) }
    action.sa_flags = 0
    sigemptyset(&action.sa_mask)
    _ = sigaction(SIGINT, &action, nil)
    _ = sigaction(SIGTERM, &action, nil)
    var wanted = sigset_t()
    sigemptyset(&wanted)
    sigaddset(&wanted, SIGINT)
    sigaddset(&wanted, SIGTERM)
    _ = pthread_sigmask(SIG_UNBLOCK, &wanted, nil)
  }

  /// Runs one step of a session with the store open.
  func onStore<R>(_ s: inout ATMSession, _ body: (inout ATMSession) throws -> R) throws -> R {
    var copy = s
    // The session's state moves even when the step is refused (a wrong PIN uses a try).
    defer { s = copy }
    return try withBank(pins: .ifPresent) { a -> R in
      let fleet = ATMFleet(authenticator: a.auth)
      var attached = copy.attached(to: fleet, device: SimulatedCashDevice(fleet: fleet))
      defer { copy = attached }
      return try body(&attached)
    }
  }

  func step(_ name: String, _ fields: [(String, JSON)], human: String) {
    emit(.object([("step", .string(name)), ("ok", .bool(true))] + fields), human: human)
  }

  func refused(_ name: String, _ error: BankError, _ extra: [(String, JSON)] = []) {
    emit(
      .object(
        [("step", .string(name)), ("ok", .bool(false))] + extra + [
          (
            "error",
            .object([("code", .string(error.code.rawValue)), ("message", .string(error.message))])
          )
        ]),
      human: "Sorry: \(error.message)")
  }

  static let menu =
    "1 balance  2 withdraw  3 statement  4 deposit  5 change PIN  6 end"

  /// The next line, or `nil` at the end of the input; a line that cannot be read (over 64 KiB,
  /// not UTF-8) is an error the session reports as a refused step and goes on from.
  func nextLine(prompt: String, secret: String? = nil) -> Result<String?, BankError> {
    do {
      if let secret, secrets.isTerminal { return .success(try secrets.read(secret)) }
      return .success(try secrets.plainLine(prompt: prompt))
    } catch let e as BankError {
      return .failure(e)
    } catch {
      return .failure(BankError(.invalidArgument, "the input could not be read"))
    }
  }

  static let requests: Set<String> = [
    "balance", "withdraw", "statement", "deposit", "change-pin", "end",
  ]

  func runSession(_ s: inout ATMSession, currency: Currency) throws {
    let onTerminal = secrets.isTerminal
    // PIN attempts until one is accepted or the card is retained.
    while case .awaitingPIN(let left) = s.state {
      if interrupted.load(ordering: .relaxed) || console.outputFailure != nil { break }
      let pin: String
      switch nextLine(prompt: "", secret: "PIN") {
      case .failure(let e):
        refused("pin", e, [("tries_left", .int(Int64(left)))])
        continue
      case .success(nil):
        step("end", [], human: "Session ended. Please take your card.")
        return
      case .success(let line?):
        pin = line
      }
      if interrupted.load(ordering: .relaxed) || console.outputFailure != nil { break }
      do {
        try onStore(&s) { session in try session.enterPIN(pin) }
        step("pin", [], human: "PIN accepted.\n\(Self.menu)")
      } catch let error as BankError {
        if case .awaitingPIN(let now) = s.state,
          error.code == .authenticationFailed || error.code == .invalidArgument
        {
          // A wrong PIN uses a try; a malformed one (not 4 to 12 digits) is refused as the
          // keypad would refuse it, without using one.
          refused("pin", error, [("tries_left", .int(Int64(now)))])
        } else {
          refused("pin", error, s.state == .retained ? [("tries_left", .int(0))] : [])
          throw error
        }
      }
    }
    let verbs = [
      "1": "balance", "2": "withdraw", "3": "statement", "4": "deposit", "5": "change-pin",
      "6": "end",
    ]
    while s.state == .menu {
      if interrupted.load(ordering: .relaxed) || console.outputFailure != nil { break }
      let line: String
      switch nextLine(prompt: "> ") {
      case .failure(let e):
        refused("request", e)
        continue
      case .success(nil):
        s.end()
        continue
      case .success(let l?):
        line = l
      }
      // A signal while waiting, or a reader gone: nothing typed after it runs.
      if interrupted.load(ordering: .relaxed) || console.outputFailure != nil { break }
      var words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      guard !words.isEmpty else { continue }
      if let verb = verbs[words[0]] {
        words[0] = verb
        // A menu number alone is followed by what the request needs on the next line.
        if words.count == 1, verb == "withdraw" || verb == "deposit",
          case .success(let more?) = nextLine(
            prompt: verb == "withdraw" ? "Amount: " : "Notes (such as 500x2,100x3): ")
        {
          words.append(more.trimmingCharacters(in: .whitespaces))
        }
      }
      let verb = words[0]
      // The step names only a known request: an unknown line (perhaps a PIN typed again) is
      // never echoed.
      let stepName =
        Self.requests.contains(verb) ? (verb == "change-pin" ? "change_pin" : verb) : "request"
      do {
        guard Self.requests.contains(verb) else {
          throw BankError(
            .invalidArgument,
            "unknown request; expected balance, withdraw, statement, deposit, change-pin or end (or 1 to 6)"
          )
        }
        func account(_ i: Int) throws -> AccountNumber? {
          words.count > i ? try AccountNumber(parsing: words[i]) : nil
        }
        func arguments(_ allowed: ClosedRange<Int>) throws {
          guard allowed.contains(words.count - 1) else {
            throw BankError(
              .invalidArgument,
              "\(verb) takes \(allowed.lowerBound == allowed.upperBound ? "\(allowed.lowerBound)" : "\(allowed.lowerBound) to \(allowed.upperBound)") words after it, not \(words.count - 1)"
            )
          }
        }
        switch verb {
        case "balance":
          try arguments(0...1)
          let number = try account(1)
          let acct = try onStore(&s) { session in try session.balance(of: number) }
          step(
            "balance",
            [
              ("account", .string(acct.number.description)), ("balance", money(acct.balance)),
              ("available", money(acct.available)),
            ],
            human:
              "Balance of \(acct.number): \(acct.balance.formatted) (available \(acct.available.formatted))"
          )
        case "withdraw":
          try arguments(1...2)
          let amount = try Amount(parsing: words[1], currency: currency)
          let number = try account(2)
          let w = try onStore(&s) { session in try session.withdraw(amount, from: number) }
          step(
            "withdraw",
            [
              ("amount", money(w.amount)), ("notes", notesJSON(w.notes)),
              ("balance", money(w.account.balance)),
            ],
            human:
              "Please take your cash: \(notesText(w.notes)). Balance of \(w.account.number): \(w.account.balance.formatted)"
          )
        case "statement":
          try arguments(0...1)
          let number = try account(1)
          let entries = try onStore(&s) { session in try session.statement(of: number) }
          step(
            "statement", [("entries", .array(entries.map { JSON.encoding($0) }))],
            human: entries.isEmpty
              ? "No movements yet."
              : entries.map { "\($0.time)  \($0.kind)  \($0.amount)  balance \($0.balance)" }
                .joined(separator: "\n"))
        case "deposit":
          try arguments(1...2)
          let given = try notes(words[1], currency: currency)
          let number = try account(2)
          let d = try onStore(&s) { session in try session.deposit(given, to: number) }
          step(
            "deposit", [("amount", money(d.amount)), ("balance", money(d.account.balance))],
            human:
              "Deposited \(d.amount.formatted). Balance of \(d.account.number): \(d.account.balance.formatted)"
          )
        case "change-pin":
          try arguments(0...0)
          let first = try nextLine(prompt: "", secret: "new PIN").get()
          let second = try nextLine(prompt: "", secret: "new PIN again").get()
          guard let first, let second else {
            throw BankError(.invalidArgument, "the new PIN was expected twice on standard input")
          }
          guard first == second else {
            throw BankError(.invalidArgument, "the two entries of the new PIN differ")
          }
          try onStore(&s) { session in try session.changePIN(to: first) }
          step("change_pin", [], human: "PIN changed.")
        default:
          try arguments(0...0)
          s.end()
        }
      } catch let error as BankError {
        refused(stepName, error)
      }
      if console.outputFailure != nil { return }
      if onTerminal && s.state == .menu { console.error(Self.menu) }
    }
    step("end", [], human: "Session ended. Please take your card.")
  }
}
