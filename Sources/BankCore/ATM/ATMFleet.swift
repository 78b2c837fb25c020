import Foundation

/// The ATM fleet's limits and automated responses, with documented defaults (`Docs/ATM.md`).
public struct ATMConfiguration: Sendable, Equatable {
  /// The most one card may withdraw per UTC day in one currency, in major units (20,000.00).
  public var dailyAmountLimit: Int64
  /// The most withdrawals one card may make per UTC day in one currency (10).
  public var dailyCountLimit: Int
  /// The notes one dispense may present (40).
  public var maxNotesPerDispense: Int
  /// How terminals choose notes (fewest notes).
  public var policy: MixPolicy
  /// Dispense faults in a row that put a terminal out of service (3).
  public var faultsBeforeOutOfService: Int
  /// A cassette's low threshold when `atm load` sets none (50 notes).
  public var defaultLowThreshold: Int
  /// A forecast under this many hours to empty raises a `replenishment` alert (48).
  public var forecastLeadHours: Int

  /// The defaults.
  public init(
    dailyAmountLimit: Int64 = 20_000, dailyCountLimit: Int = 10, maxNotesPerDispense: Int = 40,
    policy: MixPolicy = .fewestNotes, faultsBeforeOutOfService: Int = 3,
    defaultLowThreshold: Int = 50, forecastLeadHours: Int = 48
  ) {
    self.dailyAmountLimit = dailyAmountLimit
    self.dailyCountLimit = dailyCountLimit
    self.maxNotesPerDispense = maxNotesPerDispense
    self.policy = policy
    self.faultsBeforeOutOfService = faultsBeforeOutOfService
    self.defaultLowThreshold = defaultLowThreshold
    self.forecastLeadHours = forecastLeadHours
  }
}

/// One cassette as `atm status` shows it, with its forecast.
public struct CassetteReport: Sendable, Hashable, Encodable {
  /// The value of one note.
  public let denomination: Amount
  /// Notes in it.
  public let count: Int
  /// `ok`, `low`, `empty` or `inoperative`.
  public let status: CassetteStatus
  /// At or under this many notes it is `low`.
  public let lowThreshold: Int
  /// Notes dispensed per day over the last 7 days (the 168 hours before now, divided by 7), two
  /// decimals rounded half-even: `"12.43"`.
  public let perDay: String
  /// Whole hours until empty at that rate, rounded down; `nil` when nothing was dispensed.
  public let hoursToEmpty: Int?

  private enum Keys: String, CodingKey {
    case denomination, count, status
    case perDay = "per_day"
    case hoursToEmpty = "hours_to_empty"
  }

  /// Encodes as `{"denomination","count","status","per_day","hours_to_empty"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(denomination, forKey: .denomination)
    try c.encode(count, forKey: .count)
    try c.encode(status, forKey: .status)
    try c.encode(perDay, forKey: .perDay)
    if let hoursToEmpty {
      try c.encode(hoursToEmpty, forKey: .hoursToEmpty)
    } else {
      try c.encodeNil(forKey: .hoursToEmpty)
    }
  }
}

/// A terminal as `atm status` shows it.
public struct TerminalStatus: Sendable, Hashable, Encodable {
  /// Its ID, such as `ATM-01`.
  public let terminal: String
  /// Whether it serves customers.
  public let inService: Bool
  /// The currency of its notes.
  public let currency: Currency
  /// The balance of its cash account: the value of its cassettes and deposit bin.
  public let cash: Amount
  /// Its cassettes, largest denomination first.
  public let cassettes: [CassetteReport]
  /// Notes customers deposited, kept apart and never dispensed.
  public let deposits: [NoteCount]
  /// Withdrawal holds at this terminal not yet posted or voided (after a crash): the next
  /// session start resolves them from the device's counters, else `atm reconcile`.
  public let pendingHolds: [UInt64]

  private enum Keys: String, CodingKey {
    case terminal, currency, cash, cassettes, deposits, holds
    case inService = "in_service"
  }

  /// Encodes as `{"terminal","in_service","currency","cash","cassettes"}`, with `"deposits"`
  /// and `"holds"` (as `#N`) only when there are any.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(terminal, forKey: .terminal)
    try c.encode(inService, forKey: .inService)
    try c.encode(currency, forKey: .currency)
    try c.encode(cash, forKey: .cash)
    try c.encode(cassettes, forKey: .cassettes)
    if !deposits.isEmpty { try c.encode(deposits, forKey: .deposits) }
    if !pendingHolds.isEmpty { try c.encode(pendingHolds.map { "#\($0)" }, forKey: .holds) }
  }
}

/// One event of the ATM event log.
public struct ATMEvent: Sendable, Hashable, Encodable {
  /// The journal sequence number of the event's record: its position in the log.
  public let sequence: UInt64
  /// When it was recorded.
  public let time: Instant
  /// The terminal it concerns.
  public let terminal: String
  /// What happened.
  public let type: ATMEventType
  /// A sentence with the particulars (amounts, notes, the reason of a fault); never a secret.
  public let detail: String

  private enum Keys: String, CodingKey { case event, time, terminal, type, detail }

  /// Encodes as `{"event","time","terminal","type","detail"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(sequence, forKey: .event)
    try c.encode(time, forKey: .time)
    try c.encode(terminal, forKey: .terminal)
    try c.encode(type, forKey: .type)
    try c.encode(detail, forKey: .detail)
  }

  /// The event a committed record holds, or `nil` for any other record.
  public init?(_ record: CommittedRecord) {
    guard ATMState.tags.contains(record.tag) else { return nil }
    let decoded = record.bytes.withUnsafeBytes { b in try? ATMState.decodeStored(b) }
    guard case .event(let terminal, let type, let detail, _, let time) = decoded else {
      return nil
    }
    self.init(sequence: record.sequence, time: time, terminal: terminal, type: type, detail: detail)
  }

  init(sequence: UInt64, time: Instant, terminal: String, type: ATMEventType, detail: String) {
    self.sequence = sequence
    self.time = time
    self.terminal = terminal
    self.type = type
    self.detail = detail
  }
}

/// The ATM fleet of a bank: terminals whose cash is money on the books, their events and
/// automated responses, and cardholder sessions (``ATMSession``).
///
/// Every call commits through the bank's one commit path, in one batch with the ledger's
/// movements and the Authenticator's records it causes. **Which calls block:** as the
/// Authenticator's: each write waits for its records to be durable; from Swift concurrency, run
/// them through ``perform(_:)``.
public final class ATMFleet: Sendable {
  /// The bank.
  public let bank: Bank
  /// The Authenticator that checks cards, PINs and permissions.
  public let authenticator: Authenticator
  /// Limits and automated responses.
  public let configuration: ATMConfiguration

  /// The terminal commands use when none is named.
  public static let defaultTerminal = "ATM-01"

  /// The most notes one ATM deposit takes (a deposit module's bundle).
  public static let maxNotesPerDeposit = 200

  /// The fleet of `authenticator`'s bank.
  public init(authenticator: Authenticator, configuration: ATMConfiguration = .init()) {
    self.bank = authenticator.bank
    self.authenticator = authenticator
    self.configuration = configuration
  }

  /// Runs `body` with this fleet on a thread of its own, off the cooperative pool.
  public func perform<R: Sendable, E: Error>(
    _ body: @escaping @Sendable (ATMFleet) throws(E) -> R
  ) async throws(E) -> R {
    try await BlockingWork.run(for: bank) { () throws(E) in try body(self) }
  }

  // MARK: Validation

  /// A terminal ID: 1 to 32 characters from `A-Z a-z 0-9 . _ -`.
  ///
  /// - Throws: `invalid_argument` naming the ID.
  public static func validateTerminalID(_ id: String) throws(BankError) {
    let ok =
      !id.isEmpty && id.utf8.count <= 32
      && id.utf8.allSatisfy {
        ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 46
          || $0 == 95 || $0 == 45
      }
    guard ok else {
      throw BankError(
        .invalidArgument,
        "invalid terminal ID '\(id.debugSanitized)': expected 1 to 32 characters from A-Z a-z 0-9 . _ -, such as ATM-01"
      )
    }
  }

  static func require(_ op: BankOperation, _ principal: Principal) throws(BankError) {
    try requirePermission(op, for: principal, ownsTarget: false)
  }

  static func noTerminal(_ id: String) -> BankError {
    BankError(.terminalNotFound, "no terminal \(id); load it first (atm load --terminal \(id))")
  }

  /// Notes merged by denomination, largest first, each checked: positive counts, positive
  /// denominations in `currency`, a total value that fits.
  static func bundles(_ notes: [NoteCount], currency: Currency) throws(BankError) -> (
    [NoteBundle], Amount
  ) {
    guard !notes.isEmpty else { throw BankError(.invalidArgument, "no notes given") }
    var merged: [Int64: Int] = [:]
    var total: Int64 = 0
    for n in notes {
      guard n.denomination.currency == currency else {
        throw BankError(
          .currencyMismatch,
          "notes of \(n.denomination.formatted) cannot go into a terminal whose notes are \(currency.code)"
        )
      }
      try currency.requireWithinMaximum(n.denomination, "a note")
      guard n.denomination.minorUnits > 0, n.count > 0, n.count <= 1_000_000 else {
        throw BankError(
          .invalidArgument,
          "invalid notes \(n.denomination)x\(n.count): a positive denomination and 1 to 1000000 notes"
        )
      }
      let (v, o1) = n.denomination.minorUnits.multipliedReportingOverflow(by: Int64(n.count))
      let (t, o2) = total.addingReportingOverflow(v)
      guard !o1, !o2 else { throw BankError(.overflow, "the notes' value overflows") }
      total = t
      merged[n.denomination.minorUnits, default: 0] += n.count
    }
    let list = merged.sorted { $0.key > $1.key }.map {
      NoteBundle(denomination: $0.key, count: $0.value)
    }
    return (list, Amount(minorUnits: total, currency: currency))
  }

  static func describe(_ notes: [NoteBundle], _ currency: Currency) -> String {
    notes.map {
      "\(Dispenser.spoken(Amount(minorUnits: $0.denomination, currency: currency), grouped: false))x\($0.count)"
    }
    .joined(separator: ",")
  }

  // MARK: Commit and read

  func commit<V: Sendable>(
    _ build: (ATMState, inout BankState, inout Transaction) throws(BankError) -> CoreOutcome<
      ATMRecord, V
    >
  ) throws(BankError) -> V {
    try bank.commit(ATMState.self, build)
  }

  func read<R>(_ body: (ATMState, borrowing BankState) throws(BankError) -> R) throws(BankError)
    -> R
  {
    try bank.read(current: true) { s throws(BankError) in
      try body(try s.requireCore(ATMState.self), s)
    }
  }

  func now() -> Instant { Instant(nanoseconds: bank.configuration.clock.now()) }

  // MARK: Cash

  /// Loads notes into a terminal's cassettes and moves their value from the vault to the
  /// terminal's cash account, in one batch; the first load creates the terminal and its cash
  /// account. Managers and the operator.
  ///
  /// - Parameters:
  ///   - lowThreshold: the cassettes' new low threshold (default: unchanged, 50 for new ones).
  /// - Throws: `permission_denied`, `invalid_argument`, `currency_mismatch` (notes of another
  ///   currency than the terminal's), `overflow`.
  @discardableResult
  public func load(
    _ notes: [NoteCount], terminal: String = ATMFleet.defaultTerminal, lowThreshold: Int? = nil,
    as principal: Principal
  ) throws(BankError) -> TerminalStatus {
    try Self.validateTerminalID(terminal)
    try Self.require(.loadATM, principal)
    guard let first = notes.first else { throw BankError(.invalidArgument, "no notes given") }
    if let lowThreshold, lowThreshold < 0 || lowThreshold > 1_000_000 {
      throw BankError(.invalidArgument, "a low threshold is 0 to 1000000 notes")
    }
    let threshold = lowThreshold
    try Origin.acting(as: principal, channel: bank.configuration.channel) { () throws(BankError) in
      try commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
        var records: [ATMRecord] = []
        let currency = atm.terminals[terminal]?.currency ?? first.denomination.currency
        let (bundles, value) = try Self.bundles(notes, currency: currency)
        let cash: AccountID
        if let t = atm.terminals[terminal] {
          cash = t.cashAccount
        } else {
          guard
            case .opened(let id) = try state.ledger.stage(
              .open(AccountSpec(name: "\(terminal) cash", kind: .terminalCash, currency: currency)),
              now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
          else { throw BankError(.invalidArgument, "the terminal's cash account did not open") }
          cash = id
          records.append(
            .terminalAdded(
              id: terminal, currency: currency, cashAccount: id,
              time: Instant(nanoseconds: tx.now)))
        }
        let vault = try state.ledger.vault(
          for: currency, now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        _ = try state.ledger.stage(
          .transfer(
            amount: value, from: state.ledger.info[cash.index].number,
            to: state.ledger.info[vault.index].number, key: nil, memo: "load \(terminal)",
            kind: .transfer),
          now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        // The terminal that results must still work: its cash representable, its mix's table
        // bounded (a 0.01 note beside 2000s would make every mix refuse).
        if let t = atm.terminals[terminal] {
          let after = t.cashValue + Int128(value.minorUnits)
          guard after <= Int128(currency.maximumMinorUnits) else {
            throw BankError(
              .invalidArgument,
              "terminal \(terminal) would hold more than \(currency.maximumAmount.formatted)")
          }
        }
        let denominations = Set(
          (atm.terminals[terminal]?.cassettes.map(\.denomination) ?? [])
            + bundles.map(\.denomination))
        _ = try Dispenser(
          currency: currency,
          cassettes: denominations.map {
            Cassette(denomination: Amount(minorUnits: $0, currency: currency), count: 0)
          }, maxNotesPerDispense: effective(atm).maxNotesPerDispense)
        let known = Set(atm.terminals[terminal]?.cassettes.map(\.denomination) ?? [])
        let defaultThreshold = effective(atm).defaultLowThreshold
        let thresholds = bundles.map {
          known.contains($0.denomination) ? threshold : threshold ?? defaultThreshold
        }
        let time = Instant(nanoseconds: tx.now)
        records.append(
          .notesLoaded(terminal: terminal, notes: bundles, lowThresholds: thresholds, time: time))
        records.append(
          .event(
            terminal: terminal, type: .cashLoaded,
            detail: "loaded \(Self.describe(bundles, currency)) (\(value.formatted))", cassette: 0,
            time: time))
        return CoreOutcome(records: records, result: .success(()))
      }
    }
    return try status(of: terminal, as: principal)
  }

  /// Returns notes from a terminal to the vault: the given ones from the cassettes, or every
  /// note (the deposit bin's too) when `notes` is `nil`. Managers and the operator.
  ///
  /// - Throws: `permission_denied`, `terminal_not_found`, `invalid_argument` (more notes than
  ///   the cassette holds).
  @discardableResult
  public func unload(
    _ notes: [NoteCount]? = nil, terminal: String = ATMFleet.defaultTerminal,
    as principal: Principal
  ) throws(BankError) -> TerminalStatus {
    try Self.validateTerminalID(terminal)
    try Self.require(.loadATM, principal)
    try Origin.acting(as: principal, channel: bank.configuration.channel) { () throws(BankError) in
      try commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
        guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
        let cassettes: [NoteBundle]
        var bin: [NoteBundle] = []
        if let notes {
          cassettes = try Self.bundles(notes, currency: t.currency).0
          for n in cassettes {
            let have = t.cassetteIndex(n.denomination).map { t.cassettes[$0].count } ?? 0
            guard have >= n.count else {
              throw BankError(
                .invalidArgument,
                "terminal \(terminal) holds \(have) notes of \(Amount(minorUnits: n.denomination, currency: t.currency)), not \(n.count)"
              )
            }
          }
        } else {
          cassettes = t.cassettes.filter { $0.count > 0 }.map {
            NoteBundle(denomination: $0.denomination, count: $0.count)
          }
          bin = t.bin.sorted { $0.key > $1.key }.map {
            NoteBundle(denomination: $0.key, count: $0.value)
          }
        }
        guard !cassettes.isEmpty || !bin.isEmpty else {
          throw BankError(.invalidArgument, "terminal \(terminal) holds no notes to unload")
        }
        let value = (cassettes + bin).reduce(Int64(0)) { $0 + $1.denomination * Int64($1.count) }
        let amount = Amount(minorUnits: value, currency: t.currency)
        let vault = try state.ledger.vault(
          for: t.currency, now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        _ = try state.ledger.stage(
          .transfer(
            amount: amount, from: state.ledger.info[vault.index].number,
            to: state.ledger.info[t.cashAccount.index].number, key: nil, memo: "unload \(terminal)",
            kind: .transfer),
          now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        let time = Instant(nanoseconds: tx.now)
        return CoreOutcome(
          records: [
            .notesUnloaded(terminal: terminal, cassettes: cassettes, bin: bin, time: time),
            .event(
              terminal: terminal, type: .cashUnloaded,
              detail:
                "unloaded \(Self.describe(cassettes + bin, t.currency)) (\(amount.formatted))",
              cassette: 0, time: time),
          ], result: .success(()))
      }
    }
    return try status(of: terminal, as: principal)
  }

  // MARK: Status

  /// A terminal's status and forecast as of now. Staff and the operator.
  ///
  /// - Throws: `permission_denied`, `terminal_not_found`.
  public func status(of terminal: String = ATMFleet.defaultTerminal, as principal: Principal)
    throws(BankError) -> TerminalStatus
  {
    try Self.validateTerminalID(terminal)
    try Self.require(.viewATMs, principal)
    let now = now()
    return try read { atm, state throws(BankError) in
      guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
      // Journal time never goes backwards: "now" is never before what is recorded (a command
      // stamps its records a few nanoseconds after its --now).
      return Self.status(t, atm, state.ledger, now: Self.notBefore(now, atm))
    }
  }

  /// Every terminal's status, by ID. Staff and the operator.
  public func statuses(as principal: Principal) throws(BankError) -> [TerminalStatus] {
    try Self.require(.viewATMs, principal)
    let now = now()
    return try read { atm, state throws(BankError) in
      atm.terminals.values.sorted { $0.id < $1.id }.map {
        Self.status($0, atm, state.ledger, now: Self.notBefore(now, atm))
      }
    }
  }

  static func notBefore(_ now: Instant, _ atm: ATMState) -> Instant {
    Instant(nanoseconds: max(now.nanoseconds, atm.lastTime))
  }

  static func status(
    _ t: ATMState.Terminal, _ atm: ATMState, _ ledger: borrowing LedgerState, now: Instant
  ) -> TerminalStatus {
    let cash = ledger.account(t.cashAccount).balance
    let reports = t.cassettes.map { c in
      let f = forecast(t, c, now: now)
      return CassetteReport(
        denomination: Amount(minorUnits: c.denomination, currency: t.currency), count: c.count,
        status: Cassette(
          denomination: Amount(minorUnits: c.denomination, currency: t.currency), count: c.count,
          lowThreshold: c.lowThreshold, isInoperative: c.inoperative
        ).status, lowThreshold: c.lowThreshold, perDay: f.perDay, hoursToEmpty: f.hours)
    }
    return TerminalStatus(
      terminal: t.id, inService: t.inService, currency: t.currency, cash: cash,
      cassettes: reports,
      deposits: t.bin.sorted { $0.key > $1.key }.map {
        NoteCount(denomination: Amount(minorUnits: $0.key, currency: t.currency), count: $0.value)
      },
      pendingHolds: atm.holds.filter { $0.value.terminal == t.id }.map(\.key).sorted())
  }

  /// Notes of a cassette dispensed in the 168 hours before `now`, as a rate per day (two
  /// decimals, half-even) and whole hours to empty at that rate.
  static func forecast(_ t: ATMState.Terminal, _ c: ATMState.CassetteState, now: Instant) -> (
    perDay: String, hours: Int?
  ) {
    // At the microsecond resolution times are printed with: a command stamps its records a few
    // nanoseconds after its --now, and a dispense 168 hours before now is out of the window.
    let start = now.nanoseconds - ATMState.forecastWindow
    let from = start - start % 1_000 + 999
    let dispensed = Int(
      t.dispensed[c.denomination]?.sum(after: from, upTo: now.nanoseconds) ?? 0)
    // dispensed / 7 to two places, half-even: hundredths = dispensed * 100 / 7.
    let scaled = dispensed * 100
    var hundredths = scaled / 7
    let remainder = scaled % 7
    if remainder * 2 > 7 || (remainder * 2 == 7 && hundredths % 2 == 1) { hundredths += 1 }
    let perDay = "\(hundredths / 100).\(hundredths % 100 < 10 ? "0" : "")\(hundredths % 100)"
    // count / (dispensed / 168 per hour), rounded down.
    let hours = dispensed == 0 ? nil : c.count * 168 / dispensed
    return (perDay, hours)
  }

  /// What a terminal would pay for `amount`, changing nothing. Staff and the operator.
  ///
  /// - Throws: `permission_denied`, `terminal_not_found`, `cannot_dispense` (saying what it can
  ///   pay), `currency_mismatch`, `invalid_amount`.
  public func mix(
    _ amount: Amount, terminal: String = ATMFleet.defaultTerminal, as principal: Principal
  ) throws(BankError) -> Mix {
    try Self.validateTerminalID(terminal)
    try Self.require(.viewATMs, principal)
    return try dispenser(terminal).mix(for: amount)
  }

  /// The currency of a terminal's notes, or `nil` when no terminal has that ID.
  public func currency(of terminal: String) throws(BankError) -> Currency? {
    try read { atm, _ throws(BankError) in atm.terminals[terminal]?.currency }
  }

  /// A terminal's dispenser as its cassettes stand.
  ///
  /// - Throws: `terminal_not_found`.
  public func dispenser(_ terminal: String) throws(BankError) -> Dispenser {
    let (t, rules) = try read { atm, _ throws(BankError) in
      guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
      return (t, atm.rules)
    }
    return try Self.dispenser(t, configuration.applying(rules))
  }

  static func dispenser(_ t: ATMState.Terminal, _ configuration: ATMConfiguration)
    throws(BankError) -> Dispenser
  {
    try Dispenser(
      currency: t.currency,
      cassettes: t.cassettes.map {
        Cassette(
          denomination: Amount(minorUnits: $0.denomination, currency: t.currency), count: $0.count,
          lowThreshold: $0.lowThreshold, isInoperative: $0.inoperative)
      }, policy: configuration.policy, maxNotesPerDispense: configuration.maxNotesPerDispense)
  }

  // MARK: Service, faults, registration

  /// Puts a terminal in or out of service (managers and the operator); putting it in also
  /// returns its failed cassettes to use and clears its fault run.
  ///
  /// - Throws: `permission_denied`, `terminal_not_found`.
  @discardableResult
  public func setService(
    _ inService: Bool, terminal: String = ATMFleet.defaultTerminal, as principal: Principal
  ) throws(BankError) -> TerminalStatus {
    try Self.validateTerminalID(terminal)
    try Self.require(.serviceATM, principal)
    try Origin.acting(as: principal, channel: bank.configuration.channel) { () throws(BankError) in
      try commit { atm, _, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
        guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
        let time = Instant(nanoseconds: tx.now)
        var records: [ATMRecord] = []
        if inService {
          for c in t.cassettes where c.inoperative {
            records.append(
              .cassetteState(
                terminal: terminal, denomination: c.denomination, inoperative: false, time: time))
          }
        }
        guard t.inService != inService || !records.isEmpty else {
          return CoreOutcome(records: [], result: .success(()))
        }
        records.append(.serviceChanged(terminal: terminal, inService: inService, time: time))
        records.append(
          .event(
            terminal: terminal, type: inService ? .inService : .outOfService,
            detail: inService ? "put back in service" : "taken out of service", cassette: 0,
            time: time))
        return CoreOutcome(records: records, result: .success(()))
      }
    }
    return try status(of: terminal, as: principal)
  }

  /// Scripts a device fault, as a test harness or an operator's drill does: a jam, a cassette
  /// failure or a shutter failure for the next dispense; a hardware failure for the machine at
  /// once (it goes out of service with a `maintenance` alert). Managers and the operator.
  ///
  /// - Throws: `permission_denied`, `terminal_not_found`, `invalid_argument` (a denomination
  ///   the terminal has no cassette of).
  public func scriptFault(
    _ fault: DeviceFault, terminal: String = ATMFleet.defaultTerminal,
    denomination: Amount? = nil, as principal: Principal
  ) throws(BankError) {
    try Self.validateTerminalID(terminal)
    try Self.require(.serviceATM, principal)
    try Origin.acting(as: principal, channel: bank.configuration.channel) { () throws(BankError) in
      try commit { atm, _, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
        guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
        if denomination != nil && fault != .cassetteEmpty {
          throw BankError(
            .invalidArgument,
            "--denomination names the failing cassette of a cassette_empty fault only")
        }
        if let denomination {
          guard denomination.currency == t.currency, t.cassetteIndex(denomination.minorUnits) != nil
          else {
            throw BankError(
              .invalidArgument, "terminal \(terminal) has no \(denomination.formatted) cassette")
          }
        }
        let time = Instant(nanoseconds: tx.now)
        if fault == .hardware {
          return CoreOutcome(
            records: ATMRules.hardwareFailure(t, detail: "hardware failure (scripted)", time: time),
            result: .success(()))
        }
        return CoreOutcome(
          records: [
            .faultScripted(
              terminal: terminal, fault: fault, denomination: denomination?.minorUnits ?? 0,
              time: time)
          ], result: .success(()))
      }
    }
  }

  /// Registers a terminal for the event socket and returns its key, shown once (only its
  /// SHA-256 is stored). Managers and the operator.
  ///
  /// - Throws: `permission_denied`, `terminal_not_found`.
  public func register(terminal: String, as principal: Principal) throws(BankError) -> String {
    try Self.validateTerminalID(terminal)
    try Self.require(.loadATM, principal)
    var random = SystemRandomNumberGenerator()
    let keyBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
    let key = keyBytes.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }
      .joined()
    let digest = SHA256.hash(Array(key.utf8))
    try Origin.acting(as: principal, channel: bank.configuration.channel) { () throws(BankError) in
      try commit { atm, _, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
        guard atm.terminals[terminal] != nil else { throw Self.noTerminal(terminal) }
        return CoreOutcome(
          records: [
            .terminalRegistered(
              terminal: terminal, keyDigest: digest, time: Instant(nanoseconds: tx.now))
          ], result: .success(()))
      }
    }
    return key
  }

  /// Whether `key` is the registered key of `terminal` (compared in constant time).
  public func checkKey(_ key: String, terminal: String) throws(BankError) -> Bool {
    let digest = SHA256.hash(Array(key.utf8))
    return try read { atm, _ throws(BankError) in
      guard let stored = atm.terminals[terminal]?.keyDigest else { return false }
      return ConstantTime.equals(stored, digest)
    }
  }

  // MARK: Events

  /// The event log, oldest first: events after `sequence`, of one terminal and one type when
  /// given, at most `limit`. Auditors, managers and the operator.
  ///
  /// - Note: Blocks while it reads the journal.
  /// - Throws: `permission_denied`.
  public func events(
    after sequence: UInt64 = 0, terminal: String? = nil, type: ATMEventType? = nil,
    limit: Int? = nil, as principal: Principal
  ) throws(BankError) -> [ATMEvent] {
    try Self.require(.events, principal)
    _ = try bank.refresh()
    var out: [ATMEvent] = []
    let tag = ATMRecord.Tag.event.rawValue
    try bank.forEachCommitted(after: sequence, tags: tag...tag) { seq, bytes in
      let record = try? ATMState.decodeStored(bytes)
      if case .event(let t, let ty, let detail, _, let time) = record,
        terminal == nil || t == terminal, type == nil || ty == type
      {
        out.append(ATMEvent(sequence: seq, time: time, terminal: t, type: ty, detail: detail))
      }
      return limit.map { out.count < $0 } ?? true
    }
    return out
  }

  /// The events committed after `sequence`, in order, as they commit: an `AsyncThrowingStream`
  /// that delivers only committed events, resumes from any sequence (pass the last one handled)
  /// and, on a bank that follows another process's store read-only, sees that process's events
  /// too. It ends when the bank closes; a storage failure is thrown. Auditors, managers and the
  /// operator.
  ///
  /// - Throws: `permission_denied` (at once, before any event).
  public func eventStream(
    after sequence: UInt64 = 0, pollInterval: Duration = .milliseconds(50), as principal: Principal
  ) throws(BankError) -> AsyncThrowingStream<ATMEvent, any Error> {
    try Self.require(.events, principal)
    let feed = bank.records(after: sequence, pollInterval: pollInterval)
    return AsyncThrowingStream { continuation in
      let task = Task {
        do {
          for try await record in feed {
            if let event = ATMEvent(record) { continuation.yield(event) }
          }
          continuation.finish()
        } catch {
          continuation.finish(throwing: error)
        }
      }
      continuation.onTermination = { _ in task.cancel() }
    }
  }
}
