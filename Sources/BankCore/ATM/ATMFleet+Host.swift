/// The bank as a remote terminal's host: the terminal's key, its own reports (the event socket of
/// `bankd`), and withdrawals whose notes a device the bank does not drive pays, in two steps.

/// A withdrawal authorised for a remote terminal and not yet paid: the hold placed on the
/// account and the notes the terminal is to dispense. The terminal then reports whether the
/// notes were taken (``ATMFleet/completeWithdrawal(hold:taken:terminal:)``).
public struct PendingWithdrawal: Sendable, Hashable, Encodable {
  /// The hold's number.
  public let hold: UInt64
  /// The amount held.
  public let amount: Amount
  /// The notes to dispense, largest first.
  public let notes: [NoteCount]

  /// `{"hold","amount","notes":[{"denomination","count"}]}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(hold, forKey: .hold)
    try c.encode(amount, forKey: .amount)
    try c.encode(notes, forKey: .notes)
  }

  enum Keys: String, CodingKey { case hold, amount, notes }
}

/// The cash device of a remote terminal: the terminal dispenses on its own and reports the
/// outcome, so the bank never calls ``dispense(_:terminal:)`` (it answers `jammed` if asked),
/// and keeps no counters (a pending hold waits for the terminal's report or `atm reconcile`).
public struct RemoteCashDevice: CashDevice {
  /// A remote device.
  public init() {}
  /// Never called by the host's two-step withdrawal; `jammed`.
  public func dispense(_ notes: [NoteCount], terminal: String) -> DispenseOutcome { .jammed }
  /// Unknown: `nil`.
  public func dispensed(hold: UInt64, terminal: String) -> Bool? { nil }
}

extension ATMSession {
  /// A remote terminal's withdrawal, first step: checks the card's daily limits, the mix and the
  /// funds as ``withdraw(_:from:)`` does and places the hold, but dispenses nothing. The
  /// terminal pays the notes and reports with ``ATMFleet/completeWithdrawal(hold:taken:terminal:)``.
  ///
  /// - Throws: as ``withdraw(_:from:)``.
  public mutating func authorizeWithdrawal(_ amount: Amount, from number: AccountNumber? = nil)
    throws(BankError) -> PendingWithdrawal
  {
    try requireMenu()
    let number = try account(number)
    let (hold, mix, _, _) = try fleet.placeWithdrawalHold(
      amount, from: number, card: pan, masked: maskedCard, terminal: terminal, origin: origin)
    return PendingWithdrawal(hold: hold, amount: amount, notes: mix.notes)
  }
}

extension ATMFleet {
  /// The origin of what a terminal does on its own (its reports, a completed withdrawal).
  static let terminalOrigin = Origin(principal: .operator, channel: .terminal)

  /// The longest detail a terminal's report may carry, in characters.
  public static let maxReportDetail = 500

  /// Checks a terminal's key (from `atm register`), in constant time. The same error whether
  /// the terminal is unknown, unregistered or the key wrong, so a caller learns nothing.
  ///
  /// - Throws: `authentication_failed`.
  public func authenticateTerminal(_ terminal: String, key: String) throws(BankError) {
    let known = (try? Self.validateTerminalID(terminal)) != nil
    guard known, key.utf8.count <= 256, try checkKey(key, terminal: terminal) else {
      throw BankError(.authenticationFailed, "the terminal's ID or key is not valid")
    }
  }

  /// A terminal's own report of something that happened at it (the ATM event socket): the event
  /// is logged and the fleet's rules answer it in the same batch. A report never moves money.
  ///
  /// | type | response |
  /// |---|---|
  /// | `hardware_failure` | out of service and a `maintenance` alert |
  /// | `dispense_fault` | counted; the last allowed in a row takes it out of service |
  /// | `out_of_service` | out of service (back in only by `atm service --in`) |
  /// | `card_retained` | a `security` alert |
  /// | `cassette_low`, `cassette_empty` | a `replenishment` alert |
  /// | `alert` | its detail must start with `replenishment`, `maintenance`, `security` or `reconciliation` |
  /// | any other type | logged |
  ///
  /// The caller authenticated the terminal (``authenticateTerminal(_:key:)``).
  ///
  /// - Returns: the event's sequence number.
  /// - Throws: `invalid_argument` (an empty or too long detail, control characters, an alert
  ///   without its kind), `terminal_not_found`.
  public func report(_ type: ATMEventType, detail: String, terminal: String) throws(BankError)
    -> UInt64
  {
    try Self.validateTerminalID(terminal)
    guard !detail.isEmpty, detail.count <= Self.maxReportDetail else {
      throw BankError(
        .invalidArgument,
        "an event's detail must be 1 to \(Self.maxReportDetail) characters, not \(detail.count)")
    }
    guard !detail.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
    else {
      throw BankError(.invalidArgument, "an event's detail may not hold control characters")
    }
    if type == .alert {
      let kinds = ["replenishment", "maintenance", "security", "reconciliation"]
      guard kinds.contains(where: { detail.hasPrefix($0) }) else {
        throw BankError(
          .invalidArgument,
          "an alert's detail starts with \(kinds.joined(separator: ", ")), not '\(String(detail.prefix(40)).debugSanitized)'"
        )
      }
    }
    return try Origin.withOrigin(Self.terminalOrigin) { () throws(BankError) -> UInt64 in
      try commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, UInt64> in
        guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
        let configuration = effective(atm)
        let now = Instant(nanoseconds: tx.now)
        let sequence = state.sequence + UInt64(tx.batch.count) + 1
        let reported = "reported by \(terminal): \(detail)"
        var records: [ATMRecord]
        switch type {
        case .hardwareFailure:
          records = ATMRules.hardwareFailure(t, detail: reported, time: now)
        case .dispenseFault:
          records = ATMRules.dispenseFault(
            t, detail: reported, configuration: configuration, now: now)
        case .outOfService:
          records = [
            .event(terminal: terminal, type: type, detail: reported, cassette: 0, time: now)
          ]
          if t.inService {
            records.append(.serviceChanged(terminal: terminal, inService: false, time: now))
          }
        case .cardRetained:
          records = [
            .event(terminal: terminal, type: type, detail: reported, cassette: 0, time: now),
            .event(
              terminal: terminal, type: .alert,
              detail: "security: \(terminal) reported a retained card: \(detail)", cassette: 0,
              time: now),
          ]
        case .cassetteLow, .cassetteEmpty:
          records = [
            .event(terminal: terminal, type: type, detail: reported, cassette: 0, time: now),
            .event(
              terminal: terminal, type: .alert,
              detail: "replenishment: \(terminal) reported: \(detail)", cassette: 0, time: now),
          ]
        default:
          records = [
            .event(terminal: terminal, type: type, detail: reported, cassette: 0, time: now)
          ]
        }
        return CoreOutcome(records: records, result: .success(sequence))
      }
    }
  }

  /// A remote terminal's withdrawal, second step: the notes of hold `hold` were taken (the
  /// hold is posted and the notes leave the cassettes, with the rules' alerts) or not (it is
  /// voided and nothing is debited). A hold already completed is `hold_not_found`.
  ///
  /// - Returns: the account debited, after the step.
  /// - Throws: `hold_not_found` (unknown, completed, or placed at another terminal).
  public func completeWithdrawal(hold: UInt64, taken: Bool, terminal: String) throws(BankError)
    -> Account
  {
    try Origin.withOrigin(Self.terminalOrigin) { () throws(BankError) -> Account in
      try commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Account> in
        guard let h = atm.holds[hold], h.terminal == terminal, let t = atm.terminals[terminal],
          let ledgerHold = state.ledger.holds[hold]
        else {
          throw BankError(
            .holdNotFound, "terminal \(terminal) has no pending withdrawal with hold #\(hold)")
        }
        let configuration = effective(atm)
        let now = Instant(nanoseconds: tx.now)
        let account = ledgerHold.record.debit
        let number = state.ledger.info[account.index].number
        let amount = Amount(
          minorUnits: h.notes.reduce(Int64(0)) { $0 + $1.denomination * Int64($1.count) },
          currency: t.currency)
        let masked = (try? PAN(parsing: String(h.card)))?.masked ?? "****"
        // The notes must still be there (an operator may have unloaded them since the hold).
        if taken {
          for b in h.notes
          where (t.cassetteIndex(b.denomination).map { t.cassettes[$0].count } ?? 0) < b.count {
            throw BankError(
              .cannotDispense,
              "terminal \(terminal)'s \(Dispenser.spoken(Amount(minorUnits: b.denomination, currency: t.currency))) cassette no longer holds the \(b.count) notes of hold #\(hold); complete it as not taken, or reconcile the terminal"
            )
          }
        }
        _ = try state.ledger.stage(
          taken ? .postHold(.number(hold)) : .voidHold(.number(hold)), now: tx.now,
          stage: &tx.ledgerStage, batch: &tx.batch)
        var records: [ATMRecord] = []
        if taken { records.append(.notesDispensed(terminal: terminal, notes: h.notes, time: now)) }
        records.append(.holdResolved(hold: hold, posted: taken, time: now))
        records.append(
          .event(
            terminal: terminal, type: .withdrawal,
            detail: taken
              ? "\(amount.formatted) from \(number) for card \(masked): \(Self.describe(h.notes, t.currency))"
              : "\(amount.formatted) from \(number) for card \(masked) not taken; hold #\(hold) voided, nothing debited",
            cassette: 0, time: now))
        if taken {
          var after = atm
          for r in records { _ = after.applyChecked(r) }
          if let t2 = after.terminals[terminal] {
            records += ATMRules.afterDispense(
              t2, touched: Set(h.notes.map(\.denomination)), configuration: configuration,
              now: now)
          }
        }
        return CoreOutcome(records: records, result: .success(state.ledger.account(account)))
      }
    }
  }
}
