import TestSupport
import Testing

@testable import BankCore

/// A scripted store of the auth core: runs commands, applies their records, and keeps every
/// record and every secret used, so tests can replay and scan.
struct AuthFixture {
  /// No cooling-off after contact changes: the scenarios reset passwords right after updating
  /// details (`Hardening2Tests` and `AuthStateTests.contactChangesCoolOffResets` test it).
  static let configuration = AuthConfiguration(
    passwordIterations: 2, contactChangeCoolingOff: .zero)
  static let t0 = Instant(nanoseconds: 1_774_976_400_000_000_000)  // 2026-03-31T17:00:00Z
  static let minute = Duration.seconds(60)

  var state = AuthState()
  var records: [AuthRecord] = []
  var secrets: [String] = []
  var rng = SplitMix64(seed: 42)
  let hasher = PasswordHasher(configuration)
  let pepper: Pepper = {
    do { return try Pepper(bytes: Array(1...32)) } catch { fatalError("\(error)") }
  }()
  var pins: PINHasher { PINHasher(pepper: pepper) }

  mutating func commit(_ new: [AuthRecord]) {
    for r in new {
      state.apply(r)
      records.append(r)
    }
    #expect(state.invariantViolation() == nil)
  }

  mutating func commit<V>(_ outcome: AuthOutcome<V>) -> Result<V, BankError> {
    commit(outcome.records)
    return outcome.result
  }

  @discardableResult
  mutating func register(
    _ name: String, email: String, phone: String = "+14155550100", password: String,
    account: UInt32, at now: Instant = t0
  ) throws -> CustomerID {
    secrets.append(password)
    try PasswordPolicy(Self.configuration).check(password, personal: [name, email, phone])
    let hash = hasher.hash(password, using: &rng)
    let (id, recs) = try state.registerCustomer(
      name: name, email: email, phone: phone, age: 40, gender: nil, passwordHash: hash, now: now)
    commit(recs)
    commit(try state.linkAccount(AccountID(account), to: id, now: now))
    return id
  }

  mutating func addStaff(_ username: String, role: Role, password: String) throws {
    secrets.append(password)
    let hash = hasher.hash(password, using: &rng)
    commit(
      try state.addStaff(
        username: username, name: "Staff \(username)", role: role, passwordHash: hash, now: Self.t0
      ))
  }

  /// Logs in; returns the token on success.
  mutating func login(_ subject: Subject, _ password: String, at now: Instant) -> (
    token: String?, result: Result<LoginGrant, BankError>
  ) {
    let check = AuthState.checkPassword(
      password, storedHash: state.passwordHash(of: subject), hasher: hasher)
    let (token, digest) = Token.make(using: &rng)
    let result = commit(
      state.login(subject, check: check, token: digest, now: now, configuration: Self.configuration)
    )
    if case .success = result {
      secrets.append(token)
      return (token, result)
    }
    return (nil, result)
  }

  mutating func authenticate(_ token: String, at now: Instant) -> Result<Principal, BankError> {
    commit(
      state.authenticate(TokenDigest(token: token), now: now, configuration: Self.configuration))
  }

  mutating func issueCard(_ customer: CustomerID, accounts: [UInt32], pin: String) throws -> PAN {
    let (pan, recs) = try state.issueCard(
      customer: customer, accounts: accounts.map { AccountID($0) }, candidate: rng.next(),
      now: Self.t0, configuration: Self.configuration)
    commit(recs)
    try PINHasher.validate(pin)
    secrets.append(pin)
    commit(try state.setPIN(pan, code: pins.code(pin: pin, pan: pan), now: Self.t0))
    return pan
  }

  mutating func verifyPIN(_ pan: PAN, _ pin: String, atTerminal: Bool = true) -> Result<
    Void, BankError
  > {
    commit(
      state.verifyPIN(
        pan, code: pins.code(pin: pin, pan: pan), now: Self.t0, atTerminal: atTerminal,
        configuration: Self.configuration))
  }

  /// A fixture with two customers (accounts 1 and 2), a teller and a manager.
  static func standard() throws -> AuthFixture {
    var f = AuthFixture()
    try f.register(
      "Ada Lovelace", email: "ada@example.org", password: "correct horse battery", account: 1)
    try f.register(
      "Alan Turing", email: "alan@example.org", phone: "+447700900123",
      password: "enigma-bombe-1943!", account: 2)
    try f.addStaff("tess", role: .teller, password: "teller password 1")
    try f.addStaff("max", role: .manager, password: "manager password 1")
    return f
  }
}

extension Instant {
  static func + (t: Instant, d: Duration) -> Instant { t.adding(d) }
}

extension Result {
  var error: Failure? {
    if case .failure(let e) = self { return e }
    return nil
  }
  var isSuccess: Bool {
    if case .success = self { return true }
    return false
  }
}

@Suite struct AuthStateTests {
  let ada = Subject.customer(CustomerID(1))

  @Test func registrationAssignsSequentialIDsAndLinksAccounts() throws {
    let f = try AuthFixture.standard()
    #expect(f.state.customer(CustomerID(1))?.name == "Ada Lovelace")
    #expect(f.state.customer(CustomerID(2))?.accounts == [AccountID(2)])
    #expect(f.state.owner(of: AccountID(1)) == CustomerID(1))
    #expect(CustomerID(1).description == "C000001")
    #expect(try CustomerID(parsing: "C000002") == CustomerID(2))
    #expect(throws: BankError.self) { try CustomerID(parsing: "C12") }
    #expect(f.state.principal(for: .staff("max")) == .staff(username: "max", role: .manager))
  }

  @Test func duplicateEmailAndStaffAreRefused() throws {
    let f = try AuthFixture.standard()
    let hash = f.hasher.hash("whatever long password")
    #expect(throws: BankError(.emailInUse, "email 'ADA@example.org' is already registered")) {
      try f.state.registerCustomer(
        name: "X", email: "ADA@example.org", phone: "+14155550100", age: 30, gender: nil,
        passwordHash: hash, now: AuthFixture.t0)
    }
    let dup = try? f.state.addStaff(
      username: "tess", name: "T", role: .auditor, passwordHash: hash, now: AuthFixture.t0)
    #expect(dup == nil)
    #expect(throws: BankError.self) {
      try f.state.linkAccount(AccountID(1), to: CustomerID(2), now: AuthFixture.t0)
    }
  }

  @Test func updateValidatesEachFieldAndKeepsEmailUnique() throws {
    var f = try AuthFixture.standard()
    let id = CustomerID(1)
    func code(_ change: CustomerDetailsChange) -> BankError.Code? {
      do {
        _ = try f.state.updateCustomer(id, change, by: .operator, now: AuthFixture.t0)
        return nil
      } catch { return error.code }
    }
    #expect(code(CustomerDetailsChange(email: "nope")) == .invalidEmail)
    #expect(code(CustomerDetailsChange(email: "alan@example.org")) == .emailInUse)
    #expect(code(CustomerDetailsChange(phone: "0123")) == .invalidPhone)
    #expect(code(CustomerDetailsChange(age: 17)) == .invalidAge)
    #expect(code(CustomerDetailsChange(name: "")) == .invalidArgument)
    #expect(code(CustomerDetailsChange(gender: "\u{202E}x")) == .invalidArgument)
    #expect(throws: BankError(.customerNotFound, "customer C000009 does not exist")) {
      try f.state.updateCustomer(
        CustomerID(9), CustomerDetailsChange(age: 30), by: .operator, now: AuthFixture.t0)
    }
    let records = try f.state.updateCustomer(
      id, CustomerDetailsChange(name: "Ada King", email: "ada@king.org", age: 41, gender: "f"),
      by: .operator, now: AuthFixture.t0)
    f.commit(records)
    let c = try #require(f.state.customer(id))
    #expect(c.name == "Ada King" && c.email == "ada@king.org" && c.age == 41 && c.gender == "f")
    // The old address is free again; an unchanged field produces nothing.
    #expect(
      try f.state.updateCustomer(
        id, CustomerDetailsChange(age: 41), by: .operator, now: AuthFixture.t0
      ).isEmpty)
    #expect(f.state.customerByEmail["ada@example.org"] == nil)
  }

  @Test func fiveFailedLoginsLockForFifteenMinutesAndSuccessResets() throws {
    var f = try AuthFixture.standard()
    let t0 = AuthFixture.t0
    // Four failures, then a success: the count resets.
    for i in 0..<4 { #expect(f.login(ada, "wrong password!!", at: t0 + .seconds(i)).token == nil) }
    #expect(f.state.credentials[ada]?.failedLogins == 4)
    #expect(f.login(ada, "correct horse battery", at: t0 + .seconds(10)).token != nil)
    #expect(f.state.credentials[ada]?.failedLogins == 0)
    // Five failures lock.
    for i in 0..<5 { _ = f.login(ada, "wrong password!!", at: t0 + .seconds(20 + i)) }
    let lockedAt = t0 + .seconds(24)
    #expect(f.state.isLocked(ada, at: lockedAt))
    // While locked, even the right password is refused with the same message, and nothing is
    // journaled.
    let count = f.records.count
    let refused = f.login(ada, "correct horse battery", at: lockedAt + .seconds(60))
    #expect(refused.result.error == BankError(.authenticationFailed, AuthState.loginRefused))
    #expect(f.records.count == count)
    // The lockout ends 15 minutes after the fifth failure, on the injected clock.
    #expect(f.state.isLocked(ada, at: lockedAt + .seconds(15 * 60 - 1)))
    #expect(!f.state.isLocked(ada, at: lockedAt + .seconds(15 * 60)))
    #expect(f.login(ada, "correct horse battery", at: lockedAt + .seconds(15 * 60)).token != nil)
  }

  @Test func unknownPrincipalGetsTheSameRefusalAndNoRecord() throws {
    var f = try AuthFixture.standard()
    let unknown = f.login(.customer(CustomerID(99)), "anything at all", at: AuthFixture.t0)
    let wrong = f.login(ada, "anything at all", at: AuthFixture.t0)
    #expect(unknown.result.error == wrong.result.error)
    #expect(f.records.last?.tag == .loginFailed)
    #expect(
      f.login(.staff("nobody"), "x", at: AuthFixture.t0).result.error?.code == .authenticationFailed
    )
  }

  @Test func managerCanLiftALockoutAndTellerCannot() throws {
    var f = try AuthFixture.standard()
    for _ in 0..<5 { _ = f.login(ada, "wrong password!!", at: AuthFixture.t0) }
    #expect(f.state.isLocked(ada, at: AuthFixture.t0))
    #expect(throws: BankError.self) {
      try f.state.liftLockout(ada, by: .staff(username: "tess", role: .teller), now: AuthFixture.t0)
    }
    f.commit(
      try f.state.liftLockout(ada, by: .staff(username: "max", role: .manager), now: AuthFixture.t0)
    )
    #expect(!f.state.isLocked(ada, at: AuthFixture.t0))
    #expect(f.login(ada, "correct horse battery", at: AuthFixture.t0).token != nil)
  }

  @Test func sessionIdleTimeoutCountsFromLastRecordedActivity() throws {
    var f = try AuthFixture.standard()
    let t0 = AuthFixture.t0
    let token = try #require(f.login(ada, "correct horse battery", at: t0).token)
    #expect(try f.authenticate(token, at: t0 + .seconds(14 * 60)).get() == .customer(CustomerID(1)))
    // Activity was recorded at 14 minutes, so the session lives until 29 minutes.
    #expect(f.authenticate(token, at: t0 + .seconds(28 * 60)).isSuccess)
    #expect(f.authenticate(token, at: t0 + .seconds(43 * 60 - 1)).isSuccess)
    let idle = t0 + .seconds(43 * 60 - 1) + .seconds(15 * 60)
    #expect(f.authenticate(token, at: idle).error?.code == .authenticationFailed)
    #expect(
      f.records.last
        == .sessionEnded(token: TokenDigest(token: token), reason: .expired, time: idle))
    // Gone for good, even at an earlier time.
    #expect(f.authenticate(token, at: t0).error?.code == .authenticationFailed)
  }

  @Test func activityIsRecordedAtMostOncePerInterval() throws {
    var f = try AuthFixture.standard()
    let token = try #require(f.login(ada, "correct horse battery", at: AuthFixture.t0).token)
    let before = f.records.count
    _ = f.authenticate(token, at: AuthFixture.t0 + .seconds(30))
    #expect(f.records.count == before)
    _ = f.authenticate(token, at: AuthFixture.t0 + .seconds(60))
    #expect(f.records.count == before + 1)
  }

  @Test func sessionAbsoluteTimeoutIsTwelveHours() throws {
    var f = try AuthFixture.standard()
    let t0 = AuthFixture.t0
    let login = f.login(ada, "correct horse battery", at: t0)
    let token = try #require(login.token)
    #expect(try login.result.get().expires == t0 + .seconds(12 * 3600))
    var t = t0
    while t < t0 + .seconds(12 * 3600 - 600) {
      t = t + .seconds(600)
      #expect(f.authenticate(token, at: t).isSuccess)
    }
    #expect(
      f.authenticate(token, at: t0 + .seconds(12 * 3600)).error?.code == .authenticationFailed)
  }

  @Test func logoutEndsTheSessionAndSweepEndsExpiredOnes() throws {
    var f = try AuthFixture.standard()
    let a = try #require(f.login(ada, "correct horse battery", at: AuthFixture.t0).token)
    let b = try #require(f.login(.staff("tess"), "teller password 1", at: AuthFixture.t0).token)
    f.commit(try f.state.logout(TokenDigest(token: a), now: AuthFixture.t0))
    #expect(f.authenticate(a, at: AuthFixture.t0).error?.code == .authenticationFailed)
    #expect(throws: BankError.self) {
      try f.state.logout(TokenDigest(token: a), now: AuthFixture.t0)
    }
    let later = AuthFixture.t0 + .seconds(16 * 60)
    let swept = f.state.sweepExpiredSessions(now: later, configuration: AuthFixture.configuration)
    #expect(swept == [.sessionEnded(token: TokenDigest(token: b), reason: .expired, time: later)])
    f.commit(swept)
    #expect(f.state.sessions.isEmpty)
  }

  @Test func contactChangesCoolOffResets() throws {
    var f = AuthFixture()
    let id = try f.register(
      "Ada Lovelace", email: "ada@example.org", phone: "+14155550199",
      password: "analytical engines 1843", account: 1)
    let config = AuthConfiguration(passwordIterations: 2)
    f.commit(
      try f.state.updateCustomer(
        id, CustomerDetailsChange(phone: "+14155550100"),
        by: .staff(username: "tom", role: .teller), now: AuthFixture.t0))
    #expect(f.state.customer(id)?.contactChangedAt == AuthFixture.t0)
    for (offset, refused) in [(0, true), (72 * 3600 - 1, true), (72 * 3600, false)] {
      let (_, digest) = Token.make(using: &f.rng)
      let state = f.state
      let attempt = { () throws(BankError) in
        try state.forgotPassword(
          account: AccountID(1), email: "ada@example.org", phone: "+14155550100", token: digest,
          now: AuthFixture.t0 + .seconds(offset), configuration: config)
      }
      if refused {
        #expect(throws: BankError(.authenticationFailed, AuthState.forgotRefused)) {
          _ = try attempt()
        }
      } else {
        #expect(try attempt().records.count == 1)
      }
    }
    // A change of name or age starts no cooling-off; the snapshot keeps the time.
    var g = AuthFixture()
    let id2 = try g.register(
      "Alan Turing", email: "alan@example.org", phone: "+447700900123",
      password: "universal machines 1936", account: 2)
    g.commit(
      try g.state.updateCustomer(
        id2, CustomerDetailsChange(age: 41), by: .operator, now: AuthFixture.t0))
    #expect(g.state.customer(id2)?.contactChangedAt == nil)
    let decoded = try AuthState.decodeSnapshot(f.state.encodeSnapshot())
    #expect(decoded == f.state)
  }

  @Test func forgotPasswordNeedsAllThreeAndFailsAlike() throws {
    var f = try AuthFixture.standard()
    let (_, digest) = Token.make(using: &f.rng)
    func attempt(_ account: UInt32?, _ email: String, _ phone: String) -> BankError? {
      do {
        _ = try f.state.forgotPassword(
          account: account.map { AccountID($0) }, email: email, phone: phone, token: digest,
          now: AuthFixture.t0, configuration: AuthFixture.configuration)
        return nil
      } catch { return error }
    }
    let wrongAccount = attempt(2, "ada@example.org", "+14155550100")
    let noAccount = attempt(nil, "ada@example.org", "+14155550100")
    let unowned = attempt(77, "ada@example.org", "+14155550100")
    let wrongEmail = attempt(1, "adb@example.org", "+14155550100")
    let wrongPhone = attempt(1, "ada@example.org", "+14155550101")
    for e in [wrongAccount, noAccount, unowned, wrongEmail, wrongPhone] {
      #expect(e == BankError(.authenticationFailed, AuthState.forgotRefused))
    }
    #expect(attempt(1, "ADA@Example.org", "+14155550100") == nil)
  }

  @Test func resetTokenExpiresAfterFifteenMinutesAndWorksOnce() throws {
    var f = try AuthFixture.standard()
    let t0 = AuthFixture.t0
    let session = try #require(f.login(ada, "correct horse battery", at: t0).token)
    let (token, digest) = Token.make(using: &f.rng)
    f.secrets.append(token)
    let (records, expires) = try f.state.forgotPassword(
      account: AccountID(1), email: "ada@example.org", phone: "+14155550100", token: digest,
      now: t0, configuration: AuthFixture.configuration)
    f.commit(records)
    #expect(expires == t0 + .seconds(15 * 60))
    // Expired at exactly 15 minutes.
    #expect(throws: BankError.self) {
      try f.state.resetPassword(token: digest, newPasswordHash: f.hasher.hash("x"), now: expires)
    }
    let newPassword = "a brand new passphrase"
    f.secrets.append(newPassword)
    let subject = try f.state.subject(forResetToken: digest, now: t0 + .seconds(60))
    try PasswordPolicy(AuthFixture.configuration).check(
      newPassword, personal: f.state.personalData(of: subject))
    let reset = try f.state.resetPassword(
      token: digest, newPasswordHash: f.hasher.hash(newPassword, using: &f.rng),
      now: t0 + .seconds(60))
    f.commit(reset)
    // The principal's sessions ended; the token is spent; the new password works.
    #expect(
      reset.contains(
        .sessionEnded(token: TokenDigest(token: session), reason: .reset, time: t0 + .seconds(60))))
    #expect(f.authenticate(session, at: t0 + .seconds(61)).error?.code == .authenticationFailed)
    #expect(throws: BankError.self) {
      try f.state.resetPassword(
        token: digest, newPasswordHash: f.hasher.hash("x"), now: t0 + .seconds(62))
    }
    #expect(f.login(ada, newPassword, at: t0 + .seconds(70)).token != nil)
    #expect(f.login(ada, "correct horse battery", at: t0 + .seconds(71)).token == nil)
  }

  @Test func aNewResetTokenReplacesTheOld() throws {
    var f = try AuthFixture.standard()
    var digests: [TokenDigest] = []
    for _ in 0..<2 {
      let (_, digest) = Token.make(using: &f.rng)
      digests.append(digest)
      f.commit(
        try f.state.forgotPassword(
          account: AccountID(1), email: "ada@example.org", phone: "+14155550100", token: digest,
          now: AuthFixture.t0, configuration: AuthFixture.configuration
        ).records)
    }
    #expect(f.state.resetTokens.count == 1)
    #expect(throws: BankError.self) {
      try f.state.subject(forResetToken: digests[0], now: AuthFixture.t0)
    }
  }

  @Test func passwordHashIsUpgradedAtLoginWhenTheCostRises() throws {
    var f = try AuthFixture.standard()
    let stronger = PasswordHasher(iterations: 3)
    let check = AuthState.checkPassword(
      "correct horse battery", storedHash: f.state.passwordHash(of: ada), hasher: stronger)
    #expect(check.matched && check.upgradedHash != nil)
    let (_, digest) = Token.make(using: &f.rng)
    _ = f.commit(
      f.state.login(
        ada, check: check, token: digest, now: AuthFixture.t0,
        configuration: AuthFixture.configuration))
    #expect(PasswordHasher.iterations(of: f.state.passwordHash(of: ada) ?? "") == 3)
  }

  @Test func threeWrongPINsRetainAtATerminalAndUnblockRestores() throws {
    var f = try AuthFixture.standard()
    let pan = try f.issueCard(CustomerID(1), accounts: [1], pin: "4821")
    #expect(
      f.verifyPIN(pan, "1111").error == BankError(.authenticationFailed, "wrong PIN; 2 tries left"))
    #expect(f.verifyPIN(pan, "4821").isSuccess)
    #expect(f.state.card(pan)?.failedPINAttempts == 0)
    _ = f.verifyPIN(pan, "1111")
    #expect(f.verifyPIN(pan, "2222").error?.message == "wrong PIN; 1 try left")
    #expect(f.verifyPIN(pan, "3333").error?.code == .cardRetained)
    #expect(f.state.card(pan)?.status == .retained)
    // Retained: even the right PIN is refused now.
    #expect(f.verifyPIN(pan, "4821").error?.code == .cardRetained)
    #expect(throws: BankError.self) {
      try f.state.unblockCard(pan, by: .staff(username: "tess", role: .teller), now: AuthFixture.t0)
    }
    f.commit(try f.state.unblockCard(pan, by: .operator, now: AuthFixture.t0))
    #expect(f.state.card(pan)?.status == .active && f.state.card(pan)?.failedPINAttempts == 0)
    #expect(f.verifyPIN(pan, "4821").isSuccess)
    // A correct PIN with no wrong try to clear writes nothing (no sync for it to wait for).
    let outcome = f.state.verifyPIN(
      pan, code: f.pins.code(pin: "4821", pan: pan), now: AuthFixture.t0, atTerminal: true,
      configuration: AuthFixture.configuration)
    #expect(outcome.records.isEmpty)
  }

  @Test func threeWrongPINsAwayFromATerminalBlock() throws {
    var f = try AuthFixture.standard()
    let pan = try f.issueCard(CustomerID(2), accounts: [2], pin: "90210")
    for _ in 0..<2 { _ = f.verifyPIN(pan, "00000", atTerminal: false) }
    #expect(f.verifyPIN(pan, "00000", atTerminal: false).error?.code == .cardBlocked)
    #expect(f.state.card(pan)?.status == .blocked)
    #expect(f.verifyPIN(pan, "90210").error?.code == .cardBlocked)
  }

  @Test func changePINNeedsTheOldOne() throws {
    var f = try AuthFixture.standard()
    let pan = try f.issueCard(CustomerID(1), accounts: [1], pin: "4821")
    let bad = f.commit(
      f.state.changePIN(
        pan, oldCode: f.pins.code(pin: "0000", pan: pan),
        newCode: f.pins.code(pin: "5555", pan: pan),
        now: AuthFixture.t0, atTerminal: true, configuration: AuthFixture.configuration))
    #expect(bad.error?.code == .authenticationFailed)
    #expect(f.state.card(pan)?.failedPINAttempts == 1)
    f.secrets.append("5555")
    let good = f.commit(
      f.state.changePIN(
        pan, oldCode: f.pins.code(pin: "4821", pan: pan),
        newCode: f.pins.code(pin: "5555", pan: pan),
        now: AuthFixture.t0, atTerminal: true, configuration: AuthFixture.configuration))
    #expect(good.isSuccess)
    #expect(f.verifyPIN(pan, "5555").isSuccess)
    #expect(f.verifyPIN(pan, "4821").error?.code == .authenticationFailed)
  }

  @Test func cardsNeedTheirHoldersAccountsAndExpire() throws {
    var f = try AuthFixture.standard()
    #expect(throws: BankError.self) {
      try f.state.issueCard(
        customer: CustomerID(1), accounts: [AccountID(2)], candidate: 1, now: AuthFixture.t0,
        configuration: AuthFixture.configuration)
    }
    #expect(throws: BankError.self) {
      try f.state.issueCard(
        customer: CustomerID(1), accounts: [], candidate: 1, now: AuthFixture.t0,
        configuration: AuthFixture.configuration)
    }
    let pan = try f.issueCard(CustomerID(1), accounts: [1], pin: "4821")
    let card = try #require(f.state.card(pan))
    #expect(card.expiry == YearMonth(year: 2030, month: 2))
    #expect(pan.digits.hasPrefix("999000") && pan.masked == "999000******" + pan.digits.suffix(4))
    #expect(try PAN(parsing: pan.digits) == pan)
    // A colliding candidate moves to the next free number.
    let again = try f.state.issueCard(
      customer: CustomerID(1), accounts: [AccountID(1)], candidate: pan.value / 10 % 1_000_000_000,
      now: AuthFixture.t0, configuration: AuthFixture.configuration)
    #expect(again.pan != pan)
    // After the expiry month, the card is refused.
    let march2030 = Instant(nanoseconds: 1_898_553_600_000_000_000)  // 2030-03-01T00:00:00Z
    let expired = f.state.verifyPIN(
      pan, code: f.pins.code(pin: "4821", pan: pan), now: march2030, atTerminal: true,
      configuration: AuthFixture.configuration)
    #expect(expired.result.error?.code == .cardExpired)
  }

  @Test func customersBlockOnlyTheirOwnCards() throws {
    var f = try AuthFixture.standard()
    let pan = try f.issueCard(CustomerID(1), accounts: [1], pin: "4821")
    #expect(throws: BankError.self) {
      try f.state.blockCard(pan, reason: .lost, by: .customer(CustomerID(2)), now: AuthFixture.t0)
    }
    #expect(throws: BankError.self) {
      try f.state.blockCard(
        pan, reason: .lost, by: .staff(username: "a", role: .auditor), now: AuthFixture.t0)
    }
    f.commit(
      try f.state.blockCard(pan, reason: .lost, by: .customer(CustomerID(1)), now: AuthFixture.t0))
    #expect(f.state.card(pan)?.status == .blocked)
    #expect(try f.state.blockCard(pan, reason: .stolen, by: .operator, now: AuthFixture.t0).isEmpty)
  }

  // MARK: Replay, snapshot, secrets

  /// A scenario touching every record type.
  static func everything() throws -> AuthFixture {
    var f = try AuthFixture.standard()
    let ada = Subject.customer(CustomerID(1))
    f.commit(
      try f.state.updateCustomer(
        CustomerID(1), CustomerDetailsChange(phone: "+14155550199", gender: "female"),
        by: .operator, now: AuthFixture.t0))
    for _ in 0..<5 { _ = f.login(ada, "wrong password!!", at: AuthFixture.t0) }
    f.commit(try f.state.liftLockout(ada, by: .operator, now: AuthFixture.t0))
    let token = try #require(f.login(ada, "correct horse battery", at: AuthFixture.t0).token)
    _ = f.authenticate(token, at: AuthFixture.t0 + .seconds(120))
    _ = try #require(f.login(.staff("max"), "manager password 1", at: AuthFixture.t0).token)
    let (reset, digest) = Token.make(using: &f.rng)
    f.secrets.append(reset)
    f.commit(
      try f.state.forgotPassword(
        account: AccountID(2), email: "alan@example.org", phone: "+447700900123", token: digest,
        now: AuthFixture.t0, configuration: AuthFixture.configuration
      ).records)
    let (other, digest2) = Token.make(using: &f.rng)
    f.secrets.append(other)
    f.commit(
      try f.state.forgotPassword(
        account: AccountID(1), email: "ada@example.org", phone: "+14155550199", token: digest2,
        now: AuthFixture.t0, configuration: AuthFixture.configuration
      ).records)
    f.secrets.append("turing machines rule")
    f.commit(
      try f.state.resetPassword(
        token: digest, newPasswordHash: f.hasher.hash("turing machines rule", using: &f.rng),
        now: AuthFixture.t0 + .seconds(30)))
    let pan = try f.issueCard(CustomerID(1), accounts: [1], pin: "4821")
    _ = f.verifyPIN(pan, "0001")
    // A correct PIN after a wrong one clears the try counter (with none to clear, nothing is
    // written).
    _ = f.verifyPIN(pan, "4821")
    _ = f.verifyPIN(pan, "0001")
    let pan2 = try f.issueCard(CustomerID(2), accounts: [2], pin: "777777")
    f.commit(
      try f.state.blockCard(
        pan2, reason: .stolen, by: .staff(username: "tess", role: .teller), now: AuthFixture.t0))
    f.commit(
      try f.state.unblockCard(
        pan2, by: .staff(username: "max", role: .manager), now: AuthFixture.t0))
    f.commit(try f.state.clearAllPINs(by: .operator, now: AuthFixture.t0 + .seconds(150)))
    f.commit([
      .operationDone(
        key: "operator/k1", command: "card block",
        fields: [OperationField(name: "card", value: "1")], result: "",
        time: AuthFixture.t0 + .seconds(160))
    ])
    f.commit(try f.state.logout(TokenDigest(token: token), now: AuthFixture.t0 + .seconds(200)))
    return f
  }

  @Test func scenarioCoversEveryRecordType() throws {
    let f = try Self.everything()
    let tags = Set(f.records.map(\.tag))
    #expect(tags == Set(AuthRecord.Tag.allCases))
  }

  @Test func replayingTheRecordsGivesAnEqualState() throws {
    let f = try Self.everything()
    var replayed = AuthState()
    for r in f.records { replayed.apply(try AuthRecord.decode(r.encoded)) }
    #expect(replayed == f.state)
    // And again from a prefix plus the rest: apply is deterministic.
    var twice = AuthState()
    for r in f.records { twice.apply(r) }
    #expect(twice == replayed)
  }

  @Test func snapshotRoundTripsAndIsDeterministic() throws {
    let f = try Self.everything()
    let bytes = f.state.encodeSnapshot()
    let decoded = try AuthState.decodeSnapshot(bytes)
    #expect(decoded == f.state)
    #expect(decoded.encodeSnapshot() == bytes)
    #expect(try AuthState.decodeSnapshot(AuthState().encodeSnapshot()) == AuthState())
    // Every truncation fails cleanly.
    for cut in 0..<bytes.count {
      #expect(throws: DecodeError.self) { try AuthState.decodeSnapshot(Array(bytes[0..<cut])) }
    }
    var newer = bytes
    newer[0] = 3
    #expect(throws: DecodeError("auth snapshot version 3; this release reads versions 1 to 2")) {
      try AuthState.decodeSnapshot(newer)
    }
  }

  @Test func impossibleRecordsAreReportedNotApplied() throws {
    var f = try AuthFixture.standard()
    let before = f.state
    let problems: [AuthRecord] = [
      .sessionActivity(
        token: TokenDigest(bytes: Array(repeating: 7, count: 32)), time: AuthFixture.t0),
      .accountLinked(customer: CustomerID(9), account: AccountID(9), time: AuthFixture.t0),
      .pinFailed(pan: PAN.make(iin: 999_000, account: 5), time: AuthFixture.t0),
      .passwordChanged(subject: .staff("ghost"), passwordHash: "x", time: AuthFixture.t0),
    ]
    for r in problems { #expect(f.state.applyChecked(r) != nil) }
    #expect(f.state == before)
  }

  @Test func noSecretAppearsInAnyRecordOrError() throws {
    let f = try Self.everything()
    var haystack: [UInt8] = []
    for r in f.records { haystack += r.encoded }
    haystack += f.state.encodeSnapshot()
    var messages = f.records.map { "\($0)" }
    // Every error a command produced in this test file's scenarios carries no secret either;
    // collect a representative set here.
    var g = try AuthFixture.standard()
    messages.append(
      g.login(.customer(CustomerID(1)), "correct horse battery!", at: AuthFixture.t0).result.error?
        .description ?? "")
    for bad in ["correct horse battery!", "1234", "password"] {
      messages.append(
        (try? PasswordPolicy(AuthFixture.configuration).check(bad)).map { "\($0)" } ?? "")
      do { try PasswordPolicy(AuthFixture.configuration).check(bad) } catch {
        messages.append(error.description)
      }
      do { try PINHasher.validate(bad) } catch { messages.append(error.description) }
    }
    let text = Array(messages.joined(separator: "\n").utf8)
    for secret in f.secrets + ["correct horse battery!"] {
      let needle = Array(secret.utf8)
      #expect(!contains(haystack, needle), "secret found in record bytes")
      #expect(!contains(text, needle), "secret found in a message")
    }
    #expect(!contains(haystack, f.pepper.bytes))
  }

  private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= haystack.count else { return false }
    for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
      if Array(haystack[i..<i + needle.count]) == needle { return true }
    }
    return false
  }
}

@Suite struct AuthTimingTests {
  /// An unknown principal costs one PBKDF2 like a wrong password does (best of five, within a
  /// factor of two, to stay robust on a loaded machine).
  @Test func unknownPrincipalTakesAsLongAsAWrongPassword() throws {
    let hasher = PasswordHasher(iterations: 20_000)
    var rng = SplitMix64(seed: 3)
    let stored = hasher.hash("correct horse battery", using: &rng)
    func best(_ body: () -> Void) -> Duration {
      (0..<5).map { _ in ContinuousClock().measure(body) }.min() ?? .zero
    }
    let unknown = best {
      _ = AuthState.checkPassword("guess guess guess", storedHash: nil, hasher: hasher)
    }
    let wrong = best {
      _ = AuthState.checkPassword("guess guess guess", storedHash: stored, hasher: hasher)
    }
    #expect(unknown > wrong / 2 && unknown < wrong * 2, "unknown \(unknown), wrong \(wrong)")
  }
}
