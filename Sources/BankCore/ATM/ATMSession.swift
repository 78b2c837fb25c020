/// What a cash device did with a dispense (the CEN/XFS present, then taken or retract).
public enum DispenseOutcome: Sendable, Equatable {
  /// The notes were presented and taken.
  case taken
  /// The notes were presented, not taken, and retracted.
  case retracted
  /// Nothing was presented: the notes jammed.
  case jammed
  /// A cassette failed while notes were being picked; `picked` are the notes of the mix picked
  /// before it failed (they wait in the stacker for the rest).
  case cassetteFailed(denomination: Amount, picked: [NoteCount])
  /// The shutter did not open: the notes were counted, not presented, and retracted.
  case shutterFailed
  /// The machine failed.
  case hardwareFailure
}

/// The device side of a terminal, behind a protocol that tests script: dispense results, notes
/// taken or not, jams, cassette faults, shutter and hardware failures.
public protocol CashDevice: Sendable {
  /// Picks, presents and hands over `notes` (a mix of the terminal's cassettes); the session
  /// calls it with no lock held.
  func dispense(_ notes: [NoteCount], terminal: String) -> DispenseOutcome
  /// Whether the notes of a dispense still pending after a crash left the machine, from the
  /// device's counters: `true` (post the hold), `false` (void it), `nil` (unknown: the hold
  /// stays for `atm reconcile`).
  func dispensed(hold: UInt64, terminal: String) -> Bool?
}

/// The simulated device of `bankctl atm session`: it pays what it is asked, unless a fault was
/// scripted for the terminal with `atm fault` (the session consumes it). It keeps no counters,
/// so a hold left by a crash waits for `atm reconcile`.
public struct SimulatedCashDevice: CashDevice {
  /// The fleet whose scripted faults it plays.
  public let fleet: ATMFleet

  /// A simulated device of `fleet`'s terminals.
  public init(fleet: ATMFleet) { self.fleet = fleet }

  public func dispense(_ notes: [NoteCount], terminal: String) -> DispenseOutcome {
    guard let (fault, denomination) = try? fleet.scriptedFault(terminal) else { return .taken }
    return play(notes, fault: fault, denomination: denomination)
  }

  /// What the device does with `notes` when `fault` is scripted (nothing: it pays).
  func play(_ notes: [NoteCount], fault: DeviceFault?, denomination: Amount?) -> DispenseOutcome {
    guard let fault else { return .taken }
    switch fault {
    case .jam: return .jammed
    case .shutter: return .shutterFailed
    case .hardware: return .hardwareFailure
    case .cassetteEmpty:
      let failing = denomination ?? notes.first?.denomination
      guard let failing, notes.contains(where: { $0.denomination == failing }) else {
        return .taken
      }
      // The larger notes were picked before the failing cassette's turn.
      return .cassetteFailed(
        denomination: failing,
        picked: notes.filter { $0.denomination.minorUnits > failing.minorUnits })
    }
  }

  public func dispensed(hold: UInt64, terminal: String) -> Bool? { nil }
}

/// A cardholder's session at a terminal: a state machine driven by inputs.
///
/// ```
/// start ── card refused (blocked, expired, retained; terminal out of service) ──▶ ended
///   │
///   ▼
/// awaiting PIN ── wrong PIN (tries left) ──▶ awaiting PIN
///   │        └── third wrong PIN: card retained ──▶ retained
///   ▼
/// menu ── balance | withdraw | statement | deposit | change PIN ──▶ menu (refusals too)
///   └── end ──▶ ended
/// ```
///
/// Every step is a persisted event. A refusal (`insufficient_funds`, `daily_limit_exceeded`,
/// `cannot_dispense`, `account_frozen`, …) throws a ``BankError`` whose message a customer can
/// act on, and the session stays at the menu.
public struct ATMSession: Sendable {
  /// Where the session is.
  public enum State: Sendable, Equatable {
    /// Waiting for the PIN, with the tries left before the card is retained.
    case awaitingPIN(triesLeft: Int)
    /// Waiting for a request.
    case menu
    /// Finished.
    case ended
    /// The card was retained after too many wrong PINs.
    case retained
  }

  /// A withdrawal as paid.
  public struct Withdrawal: Sendable, Hashable {
    /// The amount paid.
    public let amount: Amount
    /// The notes, largest first.
    public let notes: [NoteCount]
    /// The account debited, after the withdrawal.
    public let account: Account
  }

  /// The fleet.
  public let fleet: ATMFleet
  /// The terminal.
  public let terminal: String
  /// The card, masked.
  public let maskedCard: String
  /// The card's linked accounts; the first is the default.
  public let accounts: [AccountNumber]
  /// Where the session is.
  public private(set) var state: State

  let pan: PAN
  let holder: CustomerID
  let device: any CashDevice

  var origin: Origin { Origin(principal: .customer(holder), channel: .terminal) }

  /// Starts a session: the card is read and checked before any PIN.
  ///
  /// Holds this terminal left pending by a crash are resolved first from the device's counters.
  ///
  /// - Throws: `out_of_service`, `terminal_not_found`, `card_not_found`, `card_blocked`,
  ///   `card_retained`, `card_expired`, `authentication_failed` (no PIN set).
  public init(
    fleet: ATMFleet, terminal: String = ATMFleet.defaultTerminal, card: String,
    device: any CashDevice
  )
    throws(BankError)
  {
    try ATMFleet.validateTerminalID(terminal)
    let pan = try PAN(parsing: card)
    self.fleet = fleet
    self.terminal = terminal
    self.pan = pan
    self.device = device
    self.maskedCard = pan.masked
    let now = fleet.now()
    // One read: the card, the terminal, and whether a crash left holds here to resolve first.
    let start = try fleet.read {
      atm, state throws(BankError) -> (Bool, Result<(CustomerID, [AccountNumber], Int), BankError>)
      in
      let pending = atm.holds.values.contains { $0.terminal == terminal }
      return (
        pending,
        Result { () throws(BankError) in try Self.judgeStart(atm, state, terminal, pan, now, fleet)
        }
      )
    }
    if start.0 { try fleet.resolvePendingHolds(terminal: terminal, device: device) }
    let (holder, accounts, tries) = try start.1.get()
    self.holder = holder
    self.accounts = accounts
    self.state = .awaitingPIN(triesLeft: tries)
  }

  /// Whether a session may start: the terminal in service, the card usable with a PIN set.
  static func judgeStart(
    _ atm: ATMState, _ state: borrowing BankState, _ terminal: String, _ pan: PAN, _ now: Instant,
    _ fleet: ATMFleet
  ) throws(BankError) -> (CustomerID, [AccountNumber], Int) {
    guard let t = atm.terminals[terminal] else { throw ATMFleet.noTerminal(terminal) }
    guard t.inService else {
      throw BankError(
        .outOfService, "terminal \(terminal) is out of service; please use another ATM")
    }
    let auth = try state.requireCore(AuthState.self)
    let entry: AuthState.CardEntry
    do throws(BankError) { entry = try auth.usableCard(pan, now: now) } catch {
      // A card a terminal retained is a blocked card to every terminal after.
      if error.code == .cardRetained {
        throw BankError(
          .cardBlocked,
          "card \(pan) is blocked: a terminal retained it after too many wrong PINs; the bank can unblock it"
        )
      }
      throw error
    }
    guard entry.pinCode != nil else {
      throw BankError(.authenticationFailed, "card \(pan) has no PIN set yet")
    }
    return (
      entry.card.customer, entry.card.accounts.map { state.ledger.info[$0.index].number },
      max(1, fleet.authenticator.configuration.maxPINTries - entry.card.failedPINAttempts)
    )
  }

  // MARK: PIN

  /// Checks the PIN. A wrong one re-prompts (the error says the tries left); the third wrong
  /// one in a row retains the card (`card_retained`, with a `security` alert, in one batch).
  ///
  /// - Throws: `authentication_failed` (wrong PIN, tries left), `card_retained`,
  ///   `invalid_argument` (not awaiting a PIN, or not 4 to 12 digits).
  public mutating func enterPIN(_ pin: String) throws(BankError) {
    guard case .awaitingPIN = state else {
      throw BankError(.invalidArgument, "the PIN was already accepted")
    }
    let code = try fleet.authenticator.pinCode(pin, pan)
    let (pan, terminal, masked) = (self.pan, self.terminal, self.maskedCard)
    let authConfiguration = fleet.authenticator.configuration
    let result = Result { () throws(BankError) in
      try Origin.withOrigin(origin) { () throws(BankError) in
        try fleet.commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
          guard let t = atm.terminals[terminal] else { throw ATMFleet.noTerminal(terminal) }
          let auth = try state.requireCore(AuthState.self)
          let now = Instant(nanoseconds: tx.now)
          let outcome = auth.verifyPIN(
            pan, code: code, now: now, atTerminal: true, configuration: authConfiguration)
          for r in outcome.records { state.emit(r, of: AuthState.self, in: &tx) }
          var events: [ATMRecord] = []
          if case .failure(let error) = outcome.result {
            if error.code == .authenticationFailed {
              events.append(
                .event(
                  terminal: terminal, type: .pinFailed, detail: "wrong PIN for card \(masked)",
                  cassette: 0, time: now))
            } else if error.code == .cardRetained {
              events.append(
                .event(
                  terminal: terminal, type: .pinFailed, detail: "wrong PIN for card \(masked)",
                  cassette: 0, time: now))
              events += ATMRules.cardRetained(t, masked: masked, time: now)
            }
          }
          return CoreOutcome(records: events, result: outcome.result)
        }
      }
    }
    switch result {
    case .success:
      state = .menu
    case .failure(let error):
      if error.code == .cardRetained {
        state = .retained
      } else if error.code == .authenticationFailed, case .awaitingPIN(let left) = state {
        state = .awaitingPIN(triesLeft: max(0, left - 1))
      } else if error.code == .cardBlocked || error.code == .cardExpired {
        state = .ended
      }
      throw error
    }
  }

  // MARK: Requests

  mutating func requireMenu() throws(BankError) {
    switch state {
    case .menu: return
    case .awaitingPIN: throw BankError(.authenticationFailed, "enter the PIN first")
    case .ended: throw BankError(.invalidArgument, "the session has ended")
    case .retained: throw BankError(.cardRetained, "card \(pan) is retained")
    }
  }

  func account(_ number: AccountNumber?) throws(BankError) -> AccountNumber {
    guard let number else { return accounts[0] }
    guard accounts.contains(number) else {
      throw BankError(
        .invalidArgument,
        "account \(number) is not linked to this card; linked: \(accounts.map(\.description).joined(separator: ", "))"
      )
    }
    return number
  }

  /// The balance of a linked account (the first when `nil`), logged as a `balance_inquiry`.
  ///
  /// - Throws: `invalid_argument` (not linked), `authentication_failed` (no PIN yet).
  public mutating func balance(of number: AccountNumber? = nil) throws(BankError) -> Account {
    try requireMenu()
    let number = try account(number)
    try fleet.logEvent(
      terminal, .balanceInquiry, "balance of \(number) for card \(maskedCard)", origin: origin)
    return try fleet.authenticator.account(number, as: .customer(holder))
  }

  /// The last 10 entries of a linked account, newest first, logged as a `statement`.
  public mutating func statement(of number: AccountNumber? = nil) throws(BankError)
    -> [HistoryEntry]
  {
    try requireMenu()
    let number = try account(number)
    try fleet.logEvent(
      terminal, .statement, "mini-statement of \(number) for card \(maskedCard)", origin: origin)
    return try fleet.authenticator.history(of: number, limit: 10, as: .customer(holder))
  }

  /// Withdraws cash: checks the card's daily limits, places a hold, dispenses with no lock held,
  /// then posts the hold when the notes are taken or voids it when they are not (a jam, a
  /// retract, a failed cassette whose share the others cannot pay).
  ///
  /// - Throws: `insufficient_funds`, `daily_limit_exceeded`, `cannot_dispense` (with what the
  ///   terminal can pay), `account_frozen`, `account_closed`, `out_of_service`,
  ///   `currency_mismatch`, `invalid_amount`, `invalid_argument` (not linked).
  public mutating func withdraw(_ amount: Amount, from number: AccountNumber? = nil)
    throws(BankError) -> Withdrawal
  {
    try requireMenu()
    let number = try account(number)
    return try fleet.withdraw(
      amount, from: number, card: pan, masked: maskedCard, terminal: terminal, device: device,
      origin: origin)
  }

  /// Deposits notes the device counted into the terminal's deposit bin and credits a linked
  /// account.
  ///
  /// - Throws: `currency_mismatch`, `account_frozen`, `account_closed`, `invalid_argument`.
  public mutating func deposit(_ notes: [NoteCount], to number: AccountNumber? = nil)
    throws(BankError) -> (amount: Amount, account: Account)
  {
    try requireMenu()
    let number = try account(number)
    return try fleet.deposit(
      notes, to: number, masked: maskedCard, terminal: terminal, origin: origin)
  }

  /// Changes the card's PIN (the session's PIN was checked already).
  ///
  /// - Throws: `invalid_argument` (not 4 to 12 digits), `card_blocked`.
  public mutating func changePIN(to newPIN: String) throws(BankError) {
    try requireMenu()
    let code = try fleet.authenticator.pinCode(newPIN, pan)
    let (pan, terminal, masked) = (self.pan, self.terminal, self.maskedCard)
    try Origin.withOrigin(origin) { () throws(BankError) in
      try fleet.commit { _, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
        let auth = try state.requireCore(AuthState.self)
        let now = Instant(nanoseconds: tx.now)
        for r in try auth.setPIN(pan, code: code, now: now) {
          state.emit(r, of: AuthState.self, in: &tx)
        }
        return CoreOutcome(
          records: [
            .event(
              terminal: terminal, type: .pinChanged, detail: "PIN changed for card \(masked)",
              cassette: 0, time: now)
          ], result: .success(()))
      }
    }
  }

  /// Ends the session.
  public mutating func end() { state = .ended }

  /// This session on another fleet object of the same store (a process that opens the store for
  /// each step, holding no lock while the customer thinks), with its device.
  package func attached(to fleet: ATMFleet, device: any CashDevice) -> ATMSession {
    ATMSession(copying: self, fleet: fleet, device: device)
  }

  private init(copying s: ATMSession, fleet: ATMFleet, device: any CashDevice) {
    self.fleet = fleet
    self.device = device
    terminal = s.terminal
    maskedCard = s.maskedCard
    accounts = s.accounts
    state = s.state
    pan = s.pan
    holder = s.holder
  }
}

// MARK: The fleet's side of a session

extension ATMFleet {
  /// The fault scripted for a terminal's next dispense, and the denomination it names.
  public func scriptedFault(_ terminal: String) throws(BankError) -> (DeviceFault?, Amount?) {
    try read { atm, _ throws(BankError) in
      guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
      return (
        t.fault,
        t.faultDenomination == 0
          ? nil : Amount(minorUnits: t.faultDenomination, currency: t.currency)
      )
    }
  }

  func logEvent(_ terminal: String, _ type: ATMEventType, _ detail: String, origin: Origin)
    throws(BankError)
  {
    try Origin.withOrigin(origin) { () throws(BankError) in
      try commit { atm, _, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
        guard atm.terminals[terminal] != nil else { throw Self.noTerminal(terminal) }
        return CoreOutcome(
          records: [
            .event(
              terminal: terminal, type: type, detail: detail, cassette: 0,
              time: Instant(nanoseconds: tx.now))
          ], result: .success(()))
      }
    }
  }

  /// Resolves the holds a crash left pending at `terminal`, as the device's counters say.
  func resolvePendingHolds(terminal: String, device: any CashDevice) throws(BankError) {
    let pending = try read { atm, _ throws(BankError) in
      atm.holds.filter { $0.value.terminal == terminal }.map(\.key).sorted()
    }
    for hold in pending {
      guard let left = device.dispensed(hold: hold, terminal: terminal) else { continue }
      try resolve(hold: hold, posted: left, terminal: terminal, detail: "after a restart")
    }
  }

  /// Posts or voids a terminal's pending hold on its own (a restart, `atm reconcile`).
  func resolve(hold: UInt64, posted: Bool, terminal: String, detail: String) throws(BankError) {
    try commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
      let configuration = effective(atm)
      guard let h = atm.holds[hold], let t = atm.terminals[h.terminal] else {
        return CoreOutcome(records: [], result: .success(()))
      }
      let now = Instant(nanoseconds: tx.now)
      var records: [ATMRecord] = []
      _ = try state.ledger.stage(
        posted ? .postHold(.number(hold)) : .voidHold(.number(hold)), now: tx.now,
        stage: &tx.ledgerStage, batch: &tx.batch)
      let amount = Amount(
        minorUnits: h.notes.reduce(Int64(0)) { $0 + $1.denomination * Int64($1.count) },
        currency: t.currency)
      if posted {
        records.append(.notesDispensed(terminal: h.terminal, notes: h.notes, time: now))
      }
      records.append(.holdResolved(hold: hold, posted: posted, time: now))
      records.append(
        .event(
          terminal: h.terminal, type: posted ? .withdrawal : .dispenseFault,
          detail:
            "hold #\(hold) of \(amount.formatted) \(posted ? "posted" : "voided") \(detail)",
          cassette: 0, time: now))
      if posted {
        var after = atm
        for r in records { _ = after.applyChecked(r) }
        if let t2 = after.terminals[h.terminal] {
          records += ATMRules.afterDispense(
            t2, touched: Set(h.notes.map(\.denomination)), configuration: configuration, now: now)
        }
      }
      return CoreOutcome(records: records, result: .success(()))
    }
  }

  /// A withdrawal's first step, in one batch: the terminal, the card's daily limits, the mix
  /// and the funds are judged and the hold placed. Nothing is paid yet.
  func placeWithdrawalHold(
    _ amount: Amount, from number: AccountNumber, card: PAN, masked: String, terminal: String,
    origin: Origin
  ) throws(BankError) -> (UInt64, Mix, ATMState.Terminal, ATMConfiguration) {
    try Origin.withOrigin(origin) {
      () throws(BankError) -> (UInt64, Mix, ATMState.Terminal, ATMConfiguration) in
      try commit {
        atm, state, tx throws(BankError) -> CoreOutcome<
          ATMRecord, (UInt64, Mix, ATMState.Terminal, ATMConfiguration)
        > in
        let configuration = effective(atm)
        guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
        guard t.inService else {
          throw BankError(
            .outOfService, "terminal \(terminal) is out of service; please use another ATM")
        }
        guard amount.currency == t.currency else {
          throw BankError(
            .currencyMismatch,
            "this ATM pays \(t.currency.code); \(amount.formatted) cannot be paid here")
        }
        let accountCurrency = state.ledger.info[try state.ledger.id(of: number).index].currency
        guard accountCurrency == t.currency else {
          throw BankError(
            .currencyMismatch,
            "account \(number) is in \(accountCurrency.code) and this ATM pays \(t.currency.code)")
        }
        let now = Instant(nanoseconds: tx.now)
        let day = now.nanoseconds / ATMState.nanosecondsPerDay
        let used = atm.use(of: card.value, currency: t.currency, on: day)
        let pending = atm.pending(of: card.value, currency: t.currency)
        var scale: Int64 = 1
        for _ in 0..<t.currency.minorDigits { scale *= 10 }
        let limit = configuration.dailyAmountLimit.multipliedReportingOverflow(by: scale)
        let limitMinor = limit.overflow ? Int64.max : limit.partialValue
        let today = used.amount &+ pending.amount
        if used.count + pending.count + 1 > configuration.dailyCountLimit {
          throw BankError(
            .dailyLimitExceeded,
            "card \(masked) has made \(used.count + pending.count) withdrawals today, the most a day allows (\(configuration.dailyCountLimit)); try again tomorrow"
          )
        }
        if amount.minorUnits > limitMinor &- today {
          let left = Amount(minorUnits: max(0, limitMinor &- today), currency: t.currency)
          throw BankError(
            .dailyLimitExceeded,
            "\(amount.formatted) would pass card \(masked)'s daily limit of \(Amount(minorUnits: limitMinor, currency: t.currency).formatted); \(left.formatted) is left today"
          )
        }
        // Notes promised to holds still pending here (a remote terminal's authorised
        // withdrawals) are not there to give again.
        var free = t
        for h in atm.holds.values where h.terminal == terminal {
          for b in h.notes {
            if let i = free.cassetteIndex(b.denomination) {
              free.cassettes[i].count = max(0, free.cassettes[i].count - b.count)
            }
          }
        }
        let mix = try Self.dispenser(free, configuration).mix(for: amount)
        guard
          case .transferred(let record, _) = try state.ledger.stage(
            .placeHold(
              amount: amount, from: number, to: state.ledger.info[t.cashAccount.index].number,
              memo: "ATM \(terminal) withdrawal"),
            now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        else { throw BankError(.invalidArgument, "the withdrawal's hold was not placed") }
        let bundles = mix.notes.map {
          NoteBundle(denomination: $0.denomination.minorUnits, count: $0.count)
        }
        return CoreOutcome(
          records: [
            .holdPlaced(
              terminal: terminal, hold: record.number, card: card.value, notes: bundles, time: now)
          ], result: .success((record.number, mix, t, configuration)))
      }
    }
  }

  func withdraw(
    _ amount: Amount, from number: AccountNumber, card: PAN, masked: String, terminal: String,
    device: any CashDevice, origin: Origin
  ) throws(BankError) -> ATMSession.Withdrawal {
    // 1. Judge and hold, in one batch: the limits, the mix, the funds.
    let (hold, mix, terminalState, rules) = try placeWithdrawalHold(
      amount, from: number, card: card, masked: masked, terminal: terminal, origin: origin)
    // 2. Dispense, no lock held; a failed cassette's share is re-denominated from the others.
    var given: [Int64: Int] = [:]
    var toPay = mix.notes
    var dispenser = try Self.dispenser(terminalState, rules)
    var faults: [ATMRecord] = []
    // The simulated device plays the fault scripted at the terminal, as the hold saw it.
    func dispense(_ notes: [NoteCount]) -> DispenseOutcome {
      if let simulated = device as? SimulatedCashDevice {
        let t = terminalState
        return simulated.play(
          notes, fault: t.fault,
          denomination: t.faultDenomination == 0
            ? nil : Amount(minorUnits: t.faultDenomination, currency: t.currency))
      }
      return device.dispense(notes, terminal: terminal)
    }
    var outcome = dispense(toPay)
    var failedCassettes: [Int64] = []
    while case .cassetteFailed(let denomination, let picked) = outcome {
      failedCassettes.append(denomination.minorUnits)
      for n in picked { given[n.denomination.minorUnits, default: 0] += n.count }
      let pickedValue = picked.reduce(Int64(0)) {
        $0 + $1.denomination.minorUnits * Int64($1.count)
      }
      let owed = Amount(minorUnits: amount.minorUnits - pickedValue, currency: amount.currency)
      let index = dispenser.cassettes.firstIndex { $0.denomination == denomination } ?? -1
      let presented = dispenser.cassettes.map { c in
        picked.first { $0.denomination == c.denomination }?.count ?? 0
      }
      dispenser = dispenser.afterFault(inCassette: index, presented: presented)
      guard owed.minorUnits > 0, let rest = try? dispenser.mix(for: owed) else {
        outcome = .jammed
        faults.append(
          .event(
            terminal: terminal, type: .dispenseFault,
            detail:
              "the \(Dispenser.spoken(denomination)) cassette failed and the others cannot pay the \(owed.formatted) still owed",
            cassette: 0, time: now()))
        given = [:]
        break
      }
      toPay = rest.notes
      // A scripted fault fails one dispense; what follows is paid.
      outcome = device is SimulatedCashDevice ? .taken : device.dispense(toPay, terminal: terminal)
    }
    if outcome == .taken {
      for n in toPay { given[n.denomination.minorUnits, default: 0] += n.count }
    }
    // 3. Post or void, with the notes, the events and the rules, in one batch.
    let paid = given.sorted { $0.key > $1.key }.map {
      NoteBundle(denomination: $0.key, count: $0.value)
    }
    let takenOutcome = outcome
    let failed = failedCassettes
    let after = try Origin.withOrigin(origin) { () throws(BankError) -> Account in
      try commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Account> in
        let configuration = effective(atm)
        guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
        let now = Instant(nanoseconds: tx.now)
        var records: [ATMRecord] = []
        for d in failed where t.cassetteIndex(d) != nil {
          let note = Dispenser.spoken(Amount(minorUnits: d, currency: t.currency))
          records.append(
            .cassetteState(terminal: terminal, denomination: d, inoperative: true, time: now))
          records.append(
            .event(
              terminal: terminal, type: .cassetteEmpty,
              detail:
                "the \(note) cassette reported empty during a dispense and is out of use until serviced",
              cassette: d, time: now))
          records.append(
            .event(
              terminal: terminal, type: .alert,
              detail:
                "replenishment: the \(note) cassette of \(terminal) reported empty during a dispense; service it (atm service --in returns it to use)",
              cassette: d, time: now))
        }
        if t.fault != nil {
          records.append(.faultScripted(terminal: terminal, fault: nil, denomination: 0, time: now))
        }
        if takenOutcome == .taken {
          _ = try state.ledger.stage(
            .postHold(.number(hold)), now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
          records.append(.notesDispensed(terminal: terminal, notes: paid, time: now))
          records.append(.holdResolved(hold: hold, posted: true, time: now))
          records.append(
            .event(
              terminal: terminal, type: .withdrawal,
              detail:
                "\(amount.formatted) from \(number) for card \(masked): \(Self.describe(paid, t.currency))",
              cassette: 0, time: now))
          var after = atm
          for r in records { _ = after.applyChecked(r) }
          if let t2 = after.terminals[terminal] {
            records += ATMRules.afterDispense(
              t2, touched: Set(paid.map(\.denomination)), configuration: configuration, now: now)
          }
        } else {
          _ = try state.ledger.stage(
            .voidHold(.number(hold)), now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
          records.append(.holdResolved(hold: hold, posted: false, time: now))
          records += faults.map {
            guard case .event(let te, let ty, let de, let ca, _) = $0 else { return $0 }
            return .event(terminal: te, type: ty, detail: de, cassette: ca, time: now)
          }
          var after = atm
          for r in records { _ = after.applyChecked(r) }
          let t2 = after.terminals[terminal] ?? t
          switch takenOutcome {
          case .hardwareFailure:
            records += ATMRules.hardwareFailure(
              t2, detail: "hardware failure during a dispense; hold #\(hold) voided", time: now)
          case .retracted:
            // The customer's doing, not the device's: no fault.
            records.append(
              .event(
                terminal: terminal, type: .withdrawal,
                detail:
                  "\(amount.formatted) from \(number) for card \(masked) not taken: retracted; hold #\(hold) voided, nothing debited",
                cassette: 0, time: now))
          default:
            let what =
              takenOutcome == .shutterFailed ? "the shutter did not open" : "the notes jammed"
            if faults.isEmpty || takenOutcome == .shutterFailed {
              records += ATMRules.dispenseFault(
                t2, detail: "\(what); hold #\(hold) voided, nothing debited",
                configuration: configuration, now: now)
            } else if t2.inService && t2.faultsInARow >= configuration.faultsBeforeOutOfService {
              records += ATMRules.outOfService(
                t2,
                alert:
                  "maintenance: \(terminal) had \(t2.faultsInARow) dispense faults in a row; it is out of service",
                time: now)
            }
          }
        }
        let account = state.ledger.account(try state.ledger.id(of: number))
        return CoreOutcome(records: records, result: .success(account))
      }
    }
    switch takenOutcome {
    case .taken:
      return ATMSession.Withdrawal(
        amount: amount,
        notes: paid.map {
          NoteCount(
            denomination: Amount(minorUnits: $0.denomination, currency: amount.currency),
            count: $0.count)
        }, account: after)
    case .hardwareFailure:
      throw BankError(
        .outOfService,
        "this ATM failed and is now out of service; nothing was debited from \(number). Please use another ATM"
      )
    case .retracted:
      throw BankError(
        .cannotDispense,
        "the notes were not taken and were retracted; nothing was debited from \(number)")
    default:
      throw BankError(
        .cannotDispense,
        "this ATM could not pay \(Dispenser.spoken(amount)) because of a device fault; nothing was debited from \(number). Try another amount or another ATM"
      )
    }
  }

  func deposit(
    _ notes: [NoteCount], to number: AccountNumber, masked: String, terminal: String,
    origin: Origin
  ) throws(BankError) -> (amount: Amount, account: Account) {
    let amount = try Origin.withOrigin(origin) { () throws(BankError) -> Amount in
      try commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Amount> in
        guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
        guard t.inService else {
          throw BankError(
            .outOfService, "terminal \(terminal) is out of service; please use another ATM")
        }
        let (bundles, value) = try Self.bundles(notes, currency: t.currency)
        for b in bundles where t.cassetteIndex(b.denomination) == nil {
          throw BankError(
            .invalidArgument,
            "this ATM takes notes of \(t.cassettes.map { Dispenser.spoken(Amount(minorUnits: $0.denomination, currency: t.currency)) }.joined(separator: ", ")) \(t.currency.code); it cannot count notes of \(Dispenser.spoken(Amount(minorUnits: b.denomination, currency: t.currency)))"
          )
        }
        let count = bundles.reduce(0) { $0 + $1.count }
        guard count <= Self.maxNotesPerDeposit else {
          throw BankError(
            .invalidArgument,
            "this ATM takes at most \(Self.maxNotesPerDeposit) notes in one deposit, not \(count)")
        }
        let now = Instant(nanoseconds: tx.now)
        _ = try state.ledger.stage(
          .transfer(
            amount: value, from: state.ledger.info[t.cashAccount.index].number, to: number,
            key: nil, memo: "ATM \(terminal) deposit", kind: .deposit),
          now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        return CoreOutcome(
          records: [
            .notesDeposited(terminal: terminal, notes: bundles, time: now),
            .event(
              terminal: terminal, type: .deposit,
              detail:
                "\(value.formatted) to \(number) for card \(masked): \(Self.describe(bundles, t.currency))",
              cassette: 0, time: now),
          ], result: .success(value))
      }
    }
    return (amount, try bank.ledger.account(number))
  }
}
