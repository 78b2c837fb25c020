import BankCore
import Foundation
import TestSupport
import Testing

/// A device that plays a script of outcomes, then pays.
final class ScriptedDevice: CashDevice, @unchecked Sendable {
  private let lock = NSLock()
  private var script: [DispenseOutcome]
  private(set) var calls: [[NoteCount]] = []
  var counters: [UInt64: Bool] = [:]
  var onDispense: (@Sendable () -> Void)?

  init(_ script: [DispenseOutcome] = []) { self.script = script }

  func dispense(_ notes: [NoteCount], terminal: String) -> DispenseOutcome {
    onDispense?()
    return lock.withLock {
      calls.append(notes)
      return script.isEmpty ? .taken : script.removeFirst()
    }
  }

  func dispensed(hold: UInt64, terminal: String) -> Bool? { lock.withLock { counters[hold] } }
}

/// Issue 20: the terminal's cash on the books, the cardholder session, events and rules.
@Suite struct ATMTests {
  static let start: Int64 = 1_796_000_000_000_000_000  // 2026-11-30T...
  let dir = TempDirectory("atm")

  func inr(_ major: Int64) -> Amount { Amount(minorUnits: major * 100, currency: .inr) }

  struct World {
    let bank: Bank
    let auth: Authenticator
    let fleet: ATMFleet
    let pan: String
    let account: AccountNumber
    let clock: ManualClockBox
  }

  final class ManualClockBox: @unchecked Sendable {
    let lock = NSLock()
    var now: Int64
    init(_ now: Int64) { self.now = now }
    func advance(hours: Int64) { lock.withLock { now += hours * 3_600_000_000_000 } }
    func read() -> Int64 { lock.withLock { now } }
  }

  func world(
    path: String? = nil, configuration: ATMConfiguration = .init(), balance: Int64 = 100_000
  ) throws -> World {
    let box = ManualClockBox(Self.start)
    let bankConfiguration = BankConfiguration(clock: BankClock { box.read() })
    let bank =
      try path.map { try Bank(path: $0, configuration: bankConfiguration) }
      ?? Bank(storage: InMemoryStorage(), configuration: bankConfiguration)
    let auth = try Authenticator(
      bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000),
      pepper: Array(repeating: 9, count: 32))
    let c = try auth.registerCustomer(
      CustomerRegistration(
        name: "Asha Rao", email: "asha@example.org", phone: "+919812345678", age: 40,
        currency: .inr),
      password: "quiet harbour lantern 77", as: .operator)
    let account = c.accounts[0]
    try bank.ledger.deposit(inr(balance), to: account)
    let issued = try auth.issueCard(customer: c.id, accounts: [account], as: .operator)
    try auth.setPIN(pan: issued.pan, pin: "4321", as: .operator)
    let fleet = ATMFleet(authenticator: auth, configuration: configuration)
    try fleet.load(
      [
        NoteCount(denomination: inr(2000), count: 50),
        NoteCount(denomination: inr(500), count: 200),
        NoteCount(denomination: inr(100), count: 300),
      ], as: .operator)
    return World(
      bank: bank, auth: auth, fleet: fleet, pan: issued.pan, account: account, clock: box)
  }

  func cassettes(_ w: World) throws -> [Int] {
    try w.fleet.status(as: .operator).cassettes.map(\.count)
  }

  func expectBooksAgree(_ w: World, _ comment: Comment? = nil) throws {
    #expect(w.bank.invariantViolation() == nil, comment)
    let s = try w.fleet.status(as: .operator)
    let notes =
      s.cassettes.reduce(Int64(0)) { $0 + $1.denomination.minorUnits * Int64($1.count) }
      + s.deposits.reduce(Int64(0)) { $0 + $1.denomination.minorUnits * Int64($1.count) }
    #expect(s.cash.minorUnits == notes, comment)
  }

  @Test func loadingPutsTheNotesOnTheBooks() throws {
    let w = try world()
    let s = try w.fleet.status(as: .operator)
    #expect(s.cash == inr(230_000) && s.inService && s.currency == .inr)
    #expect(s.cassettes.map(\.count) == [50, 200, 300])
    #expect(s.cassettes.map(\.status) == [.low, .ok, .ok])
    try expectBooksAgree(w)
    let vault = try #require(try w.bank.ledger.vault(for: .inr))
    #expect(vault.balance == inr(100_000 - 230_000))
    let json = String(decoding: try JSONEncoder().encode(s), as: UTF8.self)
    for key in [
      "terminal", "in_service", "currency", "cash", "cassettes", "per_day", "hours_to_empty",
    ] {
      #expect(json.contains("\"\(key)\""), "\(key) in \(json)")
    }
    // Unloading returns notes to the vault; refusals change nothing.
    try w.fleet.unload([NoteCount(denomination: inr(100), count: 100)], as: .operator)
    #expect(try cassettes(w) == [50, 200, 200])
    #expect(throws: BankError.self) {
      try w.fleet.unload([NoteCount(denomination: inr(100), count: 1000)], as: .operator)
    }
    #expect(throws: BankError.self) {
      try w.fleet.load(
        [NoteCount(denomination: Amount(minorUnits: 100, currency: .usd), count: 1)], as: .operator)
    }
    #expect(throws: BankError.self) {
      try w.fleet.load(
        [NoteCount(denomination: inr(100), count: 1)], as: .staff(username: "t", role: .teller))
    }
    try expectBooksAgree(w)
    let types = try w.fleet.events(as: .operator).map(\.type)
    #expect(types == [.cashLoaded, .cashUnloaded])
    #expect(try w.fleet.mix(inr(2600), as: .operator).notes.map(\.count) == [1, 1, 1])
  }

  @Test func aSessionWithAWrongPINAnExplainedRefusalAndAWithdrawal() throws {
    let w = try world()
    let device = ScriptedDevice()
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: device)
    #expect(s.state == .awaitingPIN(triesLeft: 3))
    do {
      try s.enterPIN("1111")
      Issue.record("a wrong PIN was accepted")
    } catch {
      #expect(error.code == .authenticationFailed && error.message.contains("2 tries left"))
    }
    #expect(s.state == .awaitingPIN(triesLeft: 2))
    try s.enterPIN("4321")
    #expect(s.state == .menu)
    do {
      _ = try s.withdraw(inr(150))
      Issue.record("150 was paid")
    } catch {
      #expect(
        error.code == .cannotDispense && error.message.contains("try 100 or 200"),
        "\(error.message)")
    }
    #expect(s.state == .menu)
    let paid = try s.withdraw(inr(2600))
    #expect(paid.notes.map(\.count) == [1, 1, 1] && paid.account.balance == inr(100_000 - 2_600))
    #expect(try cassettes(w) == [49, 199, 299])
    try expectBooksAgree(w)
    #expect(try s.balance().balance == inr(97_400))
    #expect(try s.statement().first?.amount == inr(-2_600))
    let deposited = try s.deposit([NoteCount(denomination: inr(500), count: 3)])
    #expect(deposited.amount == inr(1_500) && deposited.account.balance == inr(98_900))
    try expectBooksAgree(w)
    try s.changePIN(to: "9876")
    s.end()
    var again = try ATMSession(fleet: w.fleet, card: w.pan, device: device)
    try again.enterPIN("9876")
    let types = try w.fleet.events(as: .operator).map(\.type)
    #expect(
      types == [
        .cashLoaded, .pinFailed, .withdrawal, .cassetteLow, .alert, .balanceInquiry, .statement,
        .deposit, .pinChanged,
      ], "\(types)")
    // The records replay into the same state.
    #expect(try w.bank.verify().records > 0)
  }

  @Test func theThirdWrongPINRetainsTheCardWithASecurityAlert() throws {
    let w = try world()
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    for pin in ["0000", "1111"] { #expect(throws: BankError.self) { try s.enterPIN(pin) } }
    do {
      try s.enterPIN("2222")
      Issue.record("not retained")
    } catch {
      #expect(error.code == .cardRetained)
    }
    #expect(s.state == .retained)
    #expect(try w.auth.card(w.pan, as: .operator).status == .retained)
    let events = try w.fleet.events(as: .operator)
    #expect(events.filter { $0.type == .pinFailed }.count == 3)
    #expect(events.contains { $0.type == .cardRetained })
    #expect(events.contains { $0.type == .alert && $0.detail.hasPrefix("security") })
    #expect(!events.contains { $0.detail.contains(w.pan) }, "no full PAN in events")
    do {
      _ = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
      Issue.record("a retained card started a session")
    } catch {
      // Retention blocked it: every terminal after refuses it as blocked.
      #expect(error.code == .cardBlocked)
    }
  }

  @Test func dailyLimitsCountAcrossSessions() throws {
    let w = try world(configuration: ATMConfiguration(dailyAmountLimit: 5_000, dailyCountLimit: 3))
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    _ = try s.withdraw(inr(4_000))
    do {
      _ = try s.withdraw(inr(2_000))
      Issue.record("over the daily amount")
    } catch {
      #expect(
        error.code == .dailyLimitExceeded && error.message.contains("1000.00 INR is left"),
        "\(error.message)")
    }
    var t = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try t.enterPIN("4321")
    _ = try t.withdraw(inr(500))
    _ = try t.withdraw(inr(500))
    #expect(throws: BankError.self) { _ = try t.withdraw(inr(100)) }
    // The next UTC day starts again.
    w.clock.advance(hours: 24)
    _ = try t.withdraw(inr(100))
  }

  @Test func faultsVoidTheHoldAndThreeInARowTakeTheTerminalOut() throws {
    let w = try world()
    let device = ScriptedDevice([.retracted, .jammed, .shutterFailed, .jammed, .jammed])
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: device)
    try s.enterPIN("4321")
    for _ in 0..<4 {
      do {
        _ = try s.withdraw(inr(1_000))
        Issue.record("a faulty dispense was paid")
      } catch {
        #expect(error.code == .cannotDispense && error.message.contains("nothing was debited"))
        #expect(try w.fleet.status(as: .operator).inService || device.calls.count == 4)
      }
      #expect(try w.bank.ledger.balance(of: w.account) == inr(100_000))
      #expect(try w.bank.ledger.account(w.account).pending.minorUnits == 0)
    }
    #expect(try w.fleet.status(as: .operator).inService == false)
    #expect(try w.fleet.events(as: .operator).contains { $0.detail.hasPrefix("maintenance") })
    do {
      _ = try s.withdraw(inr(1_000))
    } catch {
      #expect(error.code == .outOfService)
    }
    #expect(throws: BankError.self) {
      _ = try ATMSession(fleet: w.fleet, card: w.pan, device: device)
    }
    try w.fleet.setService(true, as: .operator)
    var again = try ATMSession(fleet: w.fleet, card: w.pan, device: device)
    try again.enterPIN("4321")
    #expect(throws: BankError.self) { _ = try again.withdraw(inr(1_000)) }  // the last jam
    _ = try again.withdraw(inr(1_000))
    try expectBooksAgree(w)
  }

  @Test func aFailedCassetteIsPaidFromTheOthers() throws {
    let w = try world()
    let device = ScriptedDevice([.cassetteFailed(denomination: inr(2000), picked: [])])
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: device)
    try s.enterPIN("4321")
    let paid = try s.withdraw(inr(4_000))
    #expect(paid.notes == [NoteCount(denomination: inr(500), count: 8)])
    #expect(device.calls.count == 2)
    let st = try w.fleet.status(as: .operator)
    #expect(st.cassettes[0].status == .inoperative && st.cassettes[1].count == 192)
    try expectBooksAgree(w)
    // A hardware failure: out of service, nothing debited.
    let broken = ScriptedDevice([.hardwareFailure])
    var t = try ATMSession(fleet: w.fleet, card: w.pan, device: broken)
    try t.enterPIN("4321")
    #expect(throws: BankError.self) { _ = try t.withdraw(inr(500)) }
    #expect(try w.bank.ledger.balance(of: w.account) == inr(96_000))
    #expect(try !w.fleet.status(as: .operator).inService)
  }

  @Test func lowAndEmptyCassettesRaiseOneAlertEach() throws {
    let w = try world()
    try w.fleet.unload(nil, as: .operator)
    try w.fleet.load(
      [NoteCount(denomination: inr(500), count: 12)], lowThreshold: 10, as: .operator)
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    for _ in 0..<6 { _ = try s.withdraw(inr(1_000)) }
    let events = try w.fleet.events(type: .alert, as: .operator).map(\.detail)
    #expect(events.filter { $0.contains("is low") }.count == 1, "\(events)")
    #expect(events.filter { $0.contains("is empty") }.count == 1, "\(events)")
    #expect(try w.fleet.events(type: .cassetteEmpty, as: .operator).count == 1)
    try expectBooksAgree(w)
  }

  @Test func theForecastFollowsTheLastSevenDays() throws {
    let w = try world()
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    // 3 notes of 100 on each of 3 days (9 in all): 9 / 7 = 1.2857 → "1.29" per day.
    for _ in 0..<3 {
      _ = try s.withdraw(inr(300))
      w.clock.advance(hours: 24)
    }
    let c100 = try #require(try w.fleet.status(as: .operator).cassettes.last)
    #expect(c100.count == 291 && c100.perDay == "1.29")
    // 291 notes at 9 per 168 hours: 291 * 168 / 9 = 5432 hours.
    #expect(c100.hoursToEmpty == 5432)
    #expect(try w.fleet.status(as: .operator).cassettes[0].hoursToEmpty == nil)
    // Past the window, the rate falls away.
    w.clock.advance(hours: 24 * 8)
    #expect(try w.fleet.status(as: .operator).cassettes.last?.perDay == "0.00")
  }

  /// A world on a file store whose process "dies" while the device pays `amount` (the bank is
  /// closed under the withdrawal), then the store reopened: the pending hold is left behind.
  func crashDuringADispense(_ name: String, _ amount: Amount, reopenAt: Int64 = 0) throws -> (
    bank: Bank, auth: Authenticator, fleet: ATMFleet, pan: String
  ) {
    let path = dir.file(name)
    let pan: String
    do {
      let w = try world(path: path)
      pan = w.pan
      let device = ScriptedDevice()
      let bank = w.bank
      device.onDispense = { bank.close() }  // the process dies while the notes are out
      var s = try ATMSession(fleet: w.fleet, card: w.pan, device: device)
      try s.enterPIN("4321")
      #expect(throws: BankError.self) { _ = try s.withdraw(amount) }
    }
    let box = ManualClockBox(Self.start + reopenAt)
    let bank = try Bank(
      path: path, configuration: BankConfiguration(clock: BankClock { box.read() }))
    let auth = try Authenticator(
      bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000),
      pepper: Array(repeating: 9, count: 32))
    return (bank, auth, ATMFleet(authenticator: auth), pan)
  }

  @Test func aCrashBetweenHoldAndPostIsResolvedFromTheCounters() throws {
    let (bank, _, fleet, pan) = try crashDuringADispense(
      "crash.journal", inr(2_000), reopenAt: 3_600_000_000_000)
    let pending = try fleet.status(as: .operator).pendingHolds
    #expect(pending.count == 1)
    let account = try #require(try bank.ledger.accounts().first { $0.kind == .checking })
    #expect(account.balance == inr(100_000) && account.available == inr(98_000))
    #expect(bank.invariantViolation() == nil)
    // A device that does not know leaves the hold; one whose counters say the notes left
    // posts it, with the notes.
    _ = try ATMSession(fleet: fleet, card: pan, device: ScriptedDevice())
    #expect(try fleet.status(as: .operator).pendingHolds == pending)
    let counters = ScriptedDevice()
    counters.counters[pending[0]] = true
    _ = try ATMSession(fleet: fleet, card: pan, device: counters)
    #expect(try fleet.status(as: .operator).pendingHolds.isEmpty)
    #expect(try bank.ledger.balance(of: account.number) == inr(98_000))
    #expect(try fleet.status(as: .operator).cassettes[0].count == 49)
    #expect(bank.invariantViolation() == nil)
    #expect(try bank.verify().records > 0)
    bank.close()
  }

  @Test func reconcilingBooksTheDifferenceAndResolvesLeftoverHolds() throws {
    let w = try world()
    // A shortage: one 500 note missing.
    let r = try w.fleet.reconcile(
      terminal: "ATM-01",
      counted: [
        NoteCount(denomination: inr(2000), count: 50),
        NoteCount(denomination: inr(500), count: 199),
        NoteCount(denomination: inr(100), count: 300),
      ], as: .operator)
    #expect(r.difference == inr(-500) && r.books == inr(230_000) && r.counted == inr(229_500))
    // The 2000 cassette, at its threshold since the load, did not fall: no low alert for it.
    #expect(try w.fleet.events(type: .cassetteLow, as: .operator).isEmpty)
    let overShort = try #require(try w.bank.ledger.accounts().first { $0.kind == .cashOverShort })
    #expect(overShort.balance == inr(500))
    #expect(try w.fleet.status(as: .operator).cash == inr(229_500))
    try expectBooksAgree(w)
    #expect(
      try w.fleet.events(type: .alert, as: .operator).contains {
        $0.detail.hasPrefix("reconciliation")
      })
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    _ = try s.withdraw(inr(2000))
    try expectBooksAgree(w)
    // An over-count: one 100 note more than the books (after the withdrawal above).
    let over = try w.fleet.reconcile(
      terminal: "ATM-01",
      counted: [
        NoteCount(denomination: inr(2000), count: 49),
        NoteCount(denomination: inr(500), count: 199),
        NoteCount(denomination: inr(100), count: 301),
      ], as: .operator)
    #expect(over.difference == inr(100))
    try expectBooksAgree(w)
    #expect(throws: BankError.self) {
      try w.fleet.reconcile(terminal: "NOPE", counted: [], as: .operator)
    }
    #expect(throws: BankError.self) {
      try w.fleet.reconcile(
        terminal: "ATM-01", counted: [], as: .staff(username: "t", role: .teller))
    }
  }

  @Test func rulesAreDataInTheJournal() throws {
    #expect(throws: BankError.self) { try ATMConfiguration.parseRules("daily_count_limit = 0") }
    #expect(throws: BankError.self) { try ATMConfiguration.parseRules("colour = blue") }
    #expect(throws: BankError.self) { try ATMConfiguration.parseRules("policy = random") }
    #expect(throws: BankError.self) {
      try ATMConfiguration.parseRules("daily_count_limit 2\ndaily_count_limit 3")
    }
    let w = try world()
    let c = try w.fleet.loadRules(
      "# tighter\ndaily_count_limit = 1\npolicy = equal_emptying\n", as: .operator)
    #expect(c.dailyCountLimit == 1 && c.policy == .equalEmptying && c.dailyAmountLimit == 20_000)
    // Another process's fleet (a fresh one on the same bank) applies the stored table.
    let other = ATMFleet(authenticator: w.auth)
    var s = try ATMSession(fleet: other, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    // 4000: fewest notes is 2x2000 (4% of the 2000s); equal emptying takes 2000 + 4x500 (2%
    // of each).
    let paid = try s.withdraw(inr(4_000))
    #expect(
      paid.notes == [
        NoteCount(denomination: inr(2000), count: 1), NoteCount(denomination: inr(500), count: 4),
      ],
      "\(paid.notes)")
    do {
      _ = try s.withdraw(inr(100))
      Issue.record("a second withdrawal passed a limit of one")
    } catch {
      #expect(error.code == .dailyLimitExceeded)
    }
    #expect(throws: BankError.self) {
      try w.fleet.loadRules("daily_count_limit = 5", as: .staff(username: "t", role: .teller))
    }
  }

  @Test func reconcilingResolvesAHoldNoRestartCould() throws {
    let (bank, _, fleet, pan) = try crashDuringADispense("reconcile.journal", inr(2_500))
    _ = try ATMSession(fleet: fleet, card: pan, device: ScriptedDevice())
    let hold = try #require(try fleet.status(as: .operator).pendingHolds.first)
    // The count shows the 2000 and the 500 gone: the hold is posted, nothing else differs.
    let r = try fleet.reconcile(
      terminal: "ATM-01",
      counted: [
        NoteCount(denomination: inr(2000), count: 49),
        NoteCount(denomination: inr(500), count: 199),
        NoteCount(denomination: inr(100), count: 300),
      ], as: .operator)
    #expect(r.holdsPosted == [hold] && r.holdsVoided.isEmpty && r.difference == inr(0))
    let account = try #require(try bank.ledger.accounts().first { $0.kind == .checking })
    #expect(account.balance == inr(97_500) && account.pending == inr(0))
    #expect(bank.invariantViolation() == nil)
    #expect(try bank.verify().records > 0)
    bank.close()
  }

  @Test func observersSeeCommittedEventsInOrderAndResume() async throws {
    let w = try world()
    let stream = try w.fleet.eventStream(as: .operator)
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    _ = try s.withdraw(inr(2_600))
    var seen: [ATMEvent] = []
    for try await e in stream {
      seen.append(e)
      if e.type == .alert { break }
    }
    #expect(seen.map(\.type) == [.cashLoaded, .withdrawal, .cassetteLow, .alert])
    #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
    // Resuming after the withdrawal delivers what followed it, and what commits next.
    let resumed = try w.fleet.eventStream(after: seen[1].sequence, as: .operator)
    _ = try s.balance()
    var after: [ATMEventType] = []
    for try await e in resumed {
      after.append(e.type)
      if e.type == .balanceInquiry { break }
    }
    #expect(after == [.cassetteLow, .alert, .balanceInquiry])
    #expect(throws: BankError.self) {
      _ = try w.fleet.eventStream(as: .staff(username: "t", role: .teller))
    }
  }

  @Test func aFollowerInAnotherBankSeesTheWritersEvents() async throws {
    let path = dir.file("follow.journal")
    let w = try world(path: path)
    let follower = try Bank(path: path, options: .init(readOnly: true))
    let fleet = ATMFleet(authenticator: try Authenticator(bank: follower))
    let stream = try fleet.eventStream(pollInterval: .milliseconds(5), as: .operator)
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    _ = try s.withdraw(inr(2_000))
    var types: [ATMEventType] = []
    for try await e in stream {
      types.append(e.type)
      if e.type == .withdrawal { break }
    }
    #expect(types == [.cashLoaded, .withdrawal])
    follower.close()
    w.bank.close()
  }

  @Test func theForecastRuleRaisesOneAlertWithinTheLeadTime() throws {
    let w = try world(configuration: ATMConfiguration(dailyAmountLimit: 1_000_000))
    try w.fleet.unload(nil, as: .operator)
    // 60 notes of 500, a low threshold of 5: 10 notes a day empties it in about 5 days (120 hours),
    // then faster; the lead time is 48 hours.
    try w.fleet.load([NoteCount(denomination: inr(500), count: 60)], lowThreshold: 5, as: .operator)
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    func forecastAlerts() throws -> [ATMEvent] {
      try w.fleet.events(type: .alert, as: .operator).filter { $0.detail.contains("forecast") }
    }
    _ = try s.withdraw(inr(5_000))  // 10 notes, 50 left: 50 * 168 / 10 = 840 hours
    #expect(try forecastAlerts().isEmpty)
    _ = try s.withdraw(inr(20_000))  // 40 notes, 10 left: 10 * 168 / 50 = 33 hours < 48
    let alerts = try forecastAlerts()
    #expect(alerts.count == 1 && alerts[0].detail.contains("33 hours"), "\(alerts)")
    _ = try s.withdraw(inr(500))  // still within the lead time: no second alert
    #expect(try forecastAlerts().count == 1)
    // Loading again re-arms it.
    try w.fleet.load([NoteCount(denomination: inr(500), count: 5)], as: .operator)
    _ = try s.withdraw(inr(500))
    #expect(try forecastAlerts().count == 2)
  }

  @Test func refusalsLetTheSessionGoOnAndExpiredCardsStopAtTheDoor() throws {
    let w = try world(balance: 1_000)
    var s = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
    try s.enterPIN("4321")
    try w.bank.ledger.setStatus(.frozen, of: w.account)
    do {
      _ = try s.withdraw(inr(500))
      Issue.record("a frozen account paid")
    } catch {
      #expect(error.code == .accountFrozen && error.message.contains("\(w.account)"))
    }
    #expect(s.state == .menu)
    try w.bank.ledger.setStatus(.active, of: w.account)
    do {
      _ = try s.withdraw(inr(2_000))
      Issue.record("an overdrawn withdrawal paid")
    } catch {
      #expect(error.code == .insufficientFunds)
    }
    do {
      _ = try s.balance(of: try AccountNumber(base: 10_009_999))
      Issue.record("an account not on the card was shown")
    } catch {
      #expect(error.code == .invalidArgument)
    }
    #expect(try s.withdraw(inr(500)).account.balance == inr(500))
    try expectBooksAgree(w)
    // Years later the card has expired: refused before any PIN.
    w.clock.advance(hours: 24 * 365 * 10)
    do {
      _ = try ATMSession(fleet: w.fleet, card: w.pan, device: ScriptedDevice())
      Issue.record("an expired card started a session")
    } catch {
      #expect(error.code == .cardExpired)
    }
  }
}
