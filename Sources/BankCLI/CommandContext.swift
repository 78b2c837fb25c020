import BankCore
import Foundation

/// Runs one parsed command against the store.
struct CommandContext {
  let parsed: ParsedArguments
  /// How the store is reached.
  let opener: any StoreOpener
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

  /// The store as messages name it.
  var storePath: String { opener.displayName }

  /// A clock that replaces `--now` and the system clock (the demo writes a year of history).
  var clockOverride: BankClock? = nil

  /// The clock commands run on: `--now` fixed, else the system clock.
  var clock: BankClock {
    if let clockOverride { return clockOverride }
    guard let now = parsed.now else { return .system }
    return BankClock { now.nanoseconds }
  }

  /// Runs the command `command` names, through its registry entry.
  func execute(_ command: String) throws {
    guard let spec = Commands.named(command) else { throw ArgumentParser.unknownCommand(command) }
    try spec.run(self)
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
    if create, session != nil, !opener.storeExists() {
      // No session can exist in a store that does not: refused before anything is created.
      throw BankError(
        .authenticationFailed, "session is unknown, expired or logged out; log in again")
    }
    let opened = try opener.open(
      readOnly ? .read : create ? .create : .write, lockTimeout: lockTimeout)
    let storage = opened.storage
    if parsed.command != "verify" {
      // verify lists these among its warnings.
      for w in opener.conditions() + opened.warnings { console.error("warning: \(w)") }
    }
    // Recovery never discards silently: say exactly what was cut (or, for a reader, ignored).
    for n in opened.notices { console.error("warning: \(n)") }
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
      switch pins {
      case .create:
        if !opener.pinKeyExists(), try Authenticator(bank: ledger.bank).cardsWithPIN() > 0 {
          // A new key would silently make every existing PIN wrong.
          throw BankError(
            .ioError,
            "the PIN key file \(opener.pinKeyLocation) is missing while cards have PINs; restore it from a backup (or reset every PIN after creating a new one by hand)"
          )
        }
        pepper = try opener.pinKey(create: true)
      case .ifPresent:
        if opener.pinKeyExists() { pepper = try? opener.pinKey(create: false) }
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
    // Every record the command writes names who acted, on the command line.
    let result = try Origin.withOrigin(Origin(principal: acting.principal, channel: .cli)) {
      try body(acting)
    }
    if !readOnly, let token = session {
      // A command that did its work keeps its session alive (activity is recorded at most once
      // a minute); a logout has just ended it, so there is nothing to record.
      _ = try? acting.auth.authenticate(token: token, recordActivity: true)
    }
    return result
  }

  /// The session token: `--session`, else `$BANKCTL_SESSION`.
  var session: String? { parsed.session ?? environmentSession }

  // MARK: Parsing helpers

  func account(_ text: String) throws(BankError) -> AccountNumber {
    try AccountNumber(parsing: text)
  }

  func key() throws(BankError) -> IdempotencyKey? {
    guard let k = parsed.options["id"] else { return nil }
    return try IdempotencyKey(k)
  }

  // MARK: Rendering

  func money(_ a: Amount) -> JSON { .string(a.description) }

  func emit(_ value: JSON, human: @autoclosure () -> String) {
    console.print(json ? value.rendered : human())
  }

  // MARK: Commands

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
