/// The records a command produced together with its answer. The facade appends ``records``
/// whatever ``result`` says: a failed login or a wrong PIN must be journaled (to count towards a
/// lockout) and still be refused.
typealias AuthOutcome<Value: Sendable> = CoreOutcome<AuthRecord, Value>

/// A password checked against a stored hash, outside the store's lock (``AuthState/checkPassword(_:storedHash:hasher:)``).
struct PasswordCheck: Sendable, Equatable {
  /// The stored hash the password was checked against (`nil`: the principal did not exist, and
  /// the dummy hash was used instead).
  var checkedHash: String?
  /// Whether the password matched `checkedHash`.
  var matched: Bool
  /// A new hash at the current cost, when the match was against a cheaper one.
  var upgradedHash: String?
}

/// What a successful login returns.
struct LoginGrant: Sendable, Equatable {
  /// Who is now logged in, with a staff member's current role.
  let principal: Principal
  /// The session's absolute expiry.
  let expires: Instant
}

extension AuthState {
  /// The one message for every failed login: unknown principal, wrong password and a lockout
  /// look the same, so the answer reveals nothing about which principals exist.
  static let loginRefused =
    "login refused: unknown principal or wrong password, or logins are locked for a while after repeated failures"
  /// The one message for an unknown, expired or ended session.
  static let sessionRefused = "session is unknown, expired or logged out; log in again"
  /// The one message for every failed forgot-password check.
  static let forgotRefused = "account number, email and phone do not match a customer"

  // MARK: Passwords (outside the lock)

  /// Checks a password against a principal's stored hash, or against the dummy hash when there
  /// is none, so both paths cost one PBKDF2 at the configured cost. Run it before taking the
  /// store's lock; the login command re-checks that the hash is still the current one.
  ///
  /// - Complexity: one or (on a cost upgrade) two PBKDF2 runs.
  static func checkPassword(
    _ password: String, storedHash: String?, hasher: PasswordHasher
  ) -> PasswordCheck {
    guard let storedHash else {
      _ = hasher.verifyDummy(password)
      return PasswordCheck(checkedHash: nil, matched: false, upgradedHash: nil)
    }
    let verification = hasher.verify(password, against: storedHash)
    let upgraded =
      verification.matched && verification.needsUpgrade ? hasher.hash(password) : nil
    return PasswordCheck(
      checkedHash: storedHash, matched: verification.matched, upgradedHash: upgraded)
  }

  // MARK: Customers and staff

  /// Registers a customer: validates every field, assigns the next customer ID.
  ///
  /// Check the password with ``PasswordPolicy`` (personal data: name, email, phone) and hash it
  /// before calling; only the hash comes in. Link the new account with ``linkAccount(_:to:now:)``
  /// in the same batch.
  ///
  /// - Throws: `invalid_argument` (name, gender), `invalid_email`, `invalid_phone`,
  ///   `invalid_age`, `email_in_use`.
  func registerCustomer(
    name: String, email: String, phone: String, age: Int, gender: String?,
    passwordHash: String, now: Instant
  ) throws(BankError) -> (id: CustomerID, records: [AuthRecord]) {
    try ContactValidation.name(name)
    try ContactValidation.email(email)
    try ContactValidation.phone(phone)
    try ContactValidation.age(age)
    try ContactValidation.gender(gender ?? "")
    guard PasswordHasher.isWellFormed(passwordHash) else {
      throw BankError(.invalidArgument, "password hash is not in the stored format")
    }
    if let other = customerByEmail[ContactValidation.normalizedEmail(email)] {
      _ = other
      throw BankError(.emailInUse, "email '\(email.debugSanitized)' is already registered")
    }
    guard nextCustomer < UInt32.max else { throw BankError(.overflow, "no customer IDs left") }
    let id = CustomerID(nextCustomer)
    return (
      id,
      [
        .customerRegistered(
          id: id, name: name, email: email, phone: phone, age: age, gender: gender ?? "",
          passwordHash: passwordHash, time: now)
      ]
    )
  }

  /// Changes some of a customer's details, validating each field given. Fields equal to the
  /// current value are dropped; when nothing changes, no record is produced.
  ///
  /// - Throws: `customer_not_found`, and the field errors of ``registerCustomer``.
  func updateCustomer(
    _ id: CustomerID, _ change: CustomerDetailsChange, by: Principal, now: Instant
  ) throws(BankError) -> [AuthRecord] {
    guard let current = customers[id] else { throw Self.noCustomer(id) }
    var effective = CustomerDetailsChange()
    if let name = change.name, name != current.name {
      try ContactValidation.name(name)
      effective.name = name
    }
    if let email = change.email, email != current.email {
      try ContactValidation.email(email)
      if let owner = customerByEmail[ContactValidation.normalizedEmail(email)], owner != id {
        throw BankError(.emailInUse, "email '\(email.debugSanitized)' is already registered")
      }
      effective.email = email
    }
    if let phone = change.phone, phone != current.phone {
      try ContactValidation.phone(phone)
      effective.phone = phone
    }
    if let age = change.age, age != current.age {
      try ContactValidation.age(age)
      effective.age = age
    }
    if let gender = change.gender, gender != (current.gender ?? "") {
      try ContactValidation.gender(gender)
      effective.gender = gender
    }
    return effective.isEmpty
      ? [] : [.customerUpdated(id: id, change: effective, by: by, time: now)]
  }

  /// Records that a ledger account (already opened in the same batch or before) belongs to a
  /// customer.
  ///
  /// - Throws: `customer_not_found`; `invalid_argument` when the account already has an owner.
  func linkAccount(
    _ account: AccountID, to customer: CustomerID, now: Instant
  ) throws(BankError) -> [AuthRecord] {
    guard customers[customer] != nil else { throw Self.noCustomer(customer) }
    if let owner = accountOwner[account] {
      throw BankError(.invalidArgument, "account \(account) already belongs to customer \(owner)")
    }
    return [.accountLinked(customer: customer, account: account, time: now)]
  }

  /// Adds a staff member. Check the password with ``PasswordPolicy`` (personal data: username
  /// and name) and hash it before calling.
  ///
  /// - Throws: `invalid_argument` (username, name), `staff_exists`.
  func addStaff(
    username: String, name: String, role: Role, passwordHash: String, now: Instant
  ) throws(BankError) -> [AuthRecord] {
    try ContactValidation.username(username)
    try ContactValidation.name(name)
    guard PasswordHasher.isWellFormed(passwordHash) else {
      throw BankError(.invalidArgument, "password hash is not in the stored format")
    }
    guard staff[username] == nil else {
      throw BankError(.staffExists, "staff member '\(username)' already exists")
    }
    return [
      .staffAdded(username: username, name: name, role: role, passwordHash: passwordHash, time: now)
    ]
  }

  // MARK: Logins and sessions

  /// Decides a login from a password check made outside the lock.
  ///
  /// Unknown principal, locked principal and wrong password all fail with the same
  /// `authentication_failed` message. A wrong password of an existing, unlocked principal is
  /// journaled (`login_failed`), and the one that reaches ``AuthConfiguration/maxFailedLogins``
  /// locks logins for ``AuthConfiguration/lockoutDuration``. A success starts a session under
  /// `token` (clearing the failure count) and, when the check produced one, stores the upgraded
  /// hash.
  func login(
    _ subject: Subject, check: PasswordCheck, token: TokenDigest, now: Instant,
    configuration: AuthConfiguration
  ) -> AuthOutcome<LoginGrant> {
    let refused = BankError(.authenticationFailed, Self.loginRefused)
    guard let principal = principal(for: subject) else {
      return AuthOutcome(records: [], result: .failure(refused))
    }
    if let records = refusedPassword(subject, check: check, now: now, configuration: configuration)
    {
      return AuthOutcome(records: records, result: .failure(refused))
    }
    guard sessions[token] == nil else {
      return AuthOutcome(
        records: [], result: .failure(BankError(.invalidArgument, "session token reused")))
    }
    let expires = now.adding(configuration.sessionAbsoluteTimeout)
    var records: [AuthRecord] = []
    if let upgraded = check.upgradedHash, PasswordHasher.isWellFormed(upgraded) {
      records.append(.passwordChanged(subject: subject, passwordHash: upgraded, time: now))
    }
    records.append(.sessionStarted(token: token, subject: subject, time: now, expires: expires))
    return AuthOutcome(
      records: records, result: .success(LoginGrant(principal: principal, expires: expires)))
  }

  /// Resolves a session token to its principal at `now`.
  ///
  /// A live session records its activity (at most once per
  /// ``AuthConfiguration/sessionActivityInterval``). A session past its idle or absolute
  /// timeout is ended (`session_ended`, expired) and refused like an unknown one.
  func authenticate(
    _ token: TokenDigest, now: Instant, configuration: AuthConfiguration
  ) -> AuthOutcome<Principal> {
    let refused = BankError(.authenticationFailed, Self.sessionRefused)
    guard let session = sessions[token] else {
      return AuthOutcome(records: [], result: .failure(refused))
    }
    if isExpired(session, at: now, configuration: configuration) {
      return AuthOutcome(
        records: [.sessionEnded(token: token, reason: .expired, time: now)],
        result: .failure(refused))
    }
    guard let principal = principal(for: session.subject) else {
      return AuthOutcome(records: [], result: .failure(refused))
    }
    let due = session.lastActivity.adding(configuration.sessionActivityInterval)
    let records: [AuthRecord] =
      now > session.lastActivity && now >= due ? [.sessionActivity(token: token, time: now)] : []
    return AuthOutcome(records: records, result: .success(principal))
  }

  /// Whether a session is past its idle or absolute timeout at `now`.
  func isExpired(_ session: Session, at now: Instant, configuration: AuthConfiguration) -> Bool {
    now >= session.expires || now >= session.lastActivity.adding(configuration.sessionIdleTimeout)
  }

  /// Judges a password given to confirm a sensitive change (a customer's own email or phone), as
  /// a login judges it: a locked principal is refused, and a wrong password is journaled
  /// (`login_failed`) and counts towards the lockout. `nil` when the password is right.
  func confirmPassword(
    _ subject: Subject, check: PasswordCheck, now: Instant, configuration: AuthConfiguration
  ) -> AuthOutcome<Void>? {
    let refused = BankError(
      .authenticationFailed, "the current password is wrong, or logins are locked")
    return refusedPassword(subject, check: check, now: now, configuration: configuration).map {
      AuthOutcome(records: $0, result: .failure(refused))
    }
  }

  /// How a password check made outside the lock is judged, for a login and for a confirmation
  /// alike: `nil` when it is right and the principal may log in; otherwise the records the
  /// refusal leaves (none for an unknown or locked principal; a `login_failed` for a wrong
  /// password, which counts towards the lockout and, at the limit, locks logins). A password
  /// changed between the check and now counts as wrong: the check was against a hash that no
  /// longer applies.
  func refusedPassword(
    _ subject: Subject, check: PasswordCheck, now: Instant, configuration: AuthConfiguration
  ) -> [AuthRecord]? {
    guard let credential = credentials[subject] else { return [] }
    if isLocked(subject, at: now) { return [] }
    guard check.matched, check.checkedHash == credential.passwordHash else {
      let failures = credential.failedLogins + 1
      let lockedUntil =
        failures >= configuration.maxFailedLogins
        ? now.adding(configuration.lockoutDuration) : nil
      return [.loginFailed(subject: subject, time: now, lockedUntil: lockedUntil)]
    }
    return nil
  }

  /// Ends every session of a subject (`logout --all`, or a manager's revocation), in digest
  /// order; none is not an error.
  func endSessions(of subject: Subject, reason: SessionEndReason, now: Instant) -> [AuthRecord] {
    sessions.filter { $0.value.subject == subject }.keys.sorted()
      .map { .sessionEnded(token: $0, reason: reason, time: now) }
  }

  /// The subject of a live session, or `authentication_failed`.
  func sessionSubject(_ token: TokenDigest) throws(BankError) -> Subject {
    guard let session = sessions[token] else {
      throw BankError(.authenticationFailed, Self.sessionRefused)
    }
    return session.subject
  }

  /// Ends a session at its holder's request.
  ///
  /// - Throws: `authentication_failed` for an unknown or already ended session.
  func logout(_ token: TokenDigest, now: Instant) throws(BankError) -> [AuthRecord] {
    guard sessions[token] != nil else {
      throw BankError(.authenticationFailed, Self.sessionRefused)
    }
    return [.sessionEnded(token: token, reason: .logout, time: now)]
  }

  /// Ends every session past its timeout, in digest order, so expired sessions do not pile up
  /// in memory. The facade may run it with any write.
  ///
  /// - Complexity: O(s log s) in the number of live sessions.
  func sweepExpiredSessions(now: Instant, configuration: AuthConfiguration) -> [AuthRecord] {
    sessions.filter { isExpired($0.value, at: now, configuration: configuration) }
      .keys.sorted()
      .map { .sessionEnded(token: $0, reason: .expired, time: now) }
  }

  /// Clears a principal's lockout and failure count; a manager's or the operator's act.
  ///
  /// - Throws: `permission_denied`, `customer_not_found` or `staff_not_found`. Nothing to lift
  ///   produces no record.
  func liftLockout(_ subject: Subject, by: Principal, now: Instant) throws(BankError)
    -> [AuthRecord]
  {
    try requirePermission(.liftLockout, for: by, ownsTarget: false)
    guard let credential = credentials[subject] else { throw Self.noSubject(subject) }
    if credential.failedLogins == 0 && credential.lockedUntil == nil { return [] }
    return [.lockoutLifted(subject: subject, by: by, time: now)]
  }

  // MARK: Password reset

  /// Issues a reset token for the customer who owns `account`, when the email and phone given
  /// are also theirs. Every mismatch (unknown account, an account of no customer, wrong email,
  /// wrong phone) fails with the same error after the same comparisons.
  ///
  /// - Parameters:
  ///   - account: The account the number names, or `nil` when it names none.
  ///   - token: The digest of a fresh random token made outside the lock.
  /// - Throws: `authentication_failed`.
  func forgotPassword(
    account: AccountID?, email: String, phone: String, token: TokenDigest, now: Instant,
    configuration: AuthConfiguration
  ) throws(BankError) -> (records: [AuthRecord], expires: Instant) {
    let owner = account.flatMap { accountOwner[$0] }
    let customer = owner.flatMap { customers[$0] }
    // Compare both fields whether or not a customer was found, so the work is the same.
    let storedEmail = ContactValidation.normalizedEmail(customer?.email ?? "")
    let storedPhone = customer?.phone ?? ""
    let emailMatches = ConstantTime.equals(
      Array(ContactValidation.normalizedEmail(email).utf8), Array(storedEmail.utf8))
    let phoneMatches = ConstantTime.equals(Array(phone.utf8), Array(storedPhone.utf8))
    // A contact change in the cooling-off period refuses the reset with the same answer: a
    // teller or a stolen session that changed the email or phone cannot use the new ones.
    let cooling = customer?.contactChangedAt.map {
      now < $0.adding(configuration.contactChangeCoolingOff)
    }
    guard let owner, customer != nil, emailMatches && phoneMatches, resetTokens[token] == nil,
      cooling != true
    else {
      throw BankError(.authenticationFailed, Self.forgotRefused)
    }
    let expires = now.adding(configuration.resetTokenLifetime)
    return (
      [.resetTokenIssued(token: token, subject: .customer(owner), expires: expires, time: now)],
      expires
    )
  }

  /// The principal a live reset token belongs to, so the facade can check the new password
  /// against their personal data before hashing it.
  ///
  /// - Throws: `authentication_failed` for an unknown, used or expired token.
  func subject(forResetToken token: TokenDigest, now: Instant) throws(BankError) -> Subject {
    guard let entry = resetTokens[token], now < entry.expires else {
      throw BankError(.authenticationFailed, "reset token is unknown, used or expired")
    }
    return entry.subject
  }

  /// Consumes a reset token and sets the new password hash; every session of the principal
  /// ends.
  ///
  /// - Throws: `authentication_failed` for an unknown, used or expired token;
  ///   `invalid_argument` for a malformed hash.
  func resetPassword(
    token: TokenDigest, newPasswordHash: String, now: Instant
  ) throws(BankError) -> [AuthRecord] {
    let subject = try subject(forResetToken: token, now: now)
    guard PasswordHasher.isWellFormed(newPasswordHash) else {
      throw BankError(.invalidArgument, "password hash is not in the stored format")
    }
    var records: [AuthRecord] = [
      .resetTokenUsed(token: token, time: now),
      .passwordChanged(subject: subject, passwordHash: newPasswordHash, time: now),
    ]
    for digest in sessions.filter({ $0.value.subject == subject }).keys.sorted() {
      records.append(.sessionEnded(token: digest, reason: .reset, time: now))
    }
    return records
  }

  // MARK: Cards and PINs

  /// Issues a card to a customer for some of their accounts. The PAN is the configured IIN,
  /// nine digits from `candidate` (moved to the next free number if taken) and a Luhn check
  /// digit; the card is valid through the month ``AuthConfiguration/cardValidityMonths`` − 1
  /// after this one.
  ///
  /// - Parameters:
  ///   - candidate: Random bits from outside (an injected generator); only their value modulo
  ///     10⁹ is used.
  /// - Throws: `customer_not_found`; `invalid_argument` for no accounts, a repeated account, an
  ///   account the customer does not own, a malformed IIN, or an exhausted number range.
  func issueCard(
    customer: CustomerID, accounts: [AccountID], candidate: UInt64, now: Instant,
    configuration: AuthConfiguration
  ) throws(BankError) -> (pan: PAN, records: [AuthRecord]) {
    guard customers[customer] != nil else { throw Self.noCustomer(customer) }
    guard !accounts.isEmpty else {
      throw BankError(.invalidArgument, "a card needs at least one account")
    }
    guard Set(accounts).count == accounts.count else {
      throw BankError(.invalidArgument, "an account is listed twice")
    }
    for a in accounts where accountOwner[a] != customer {
      throw BankError(.invalidArgument, "account \(a) does not belong to customer \(customer)")
    }
    let iinText = configuration.issuerIdentificationNumber
    guard iinText.utf8.count == 6, iinText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
      let iin = UInt64(iinText), iin >= 100_000
    else {
      throw BankError(
        .invalidArgument, "issuer identification number must be six digits not starting with 0")
    }
    var number = candidate % 1_000_000_000
    var pan = PAN.make(iin: iin, account: number)
    var probes = 0
    while cards[pan] != nil {
      probes += 1
      guard probes < 1_000_000 else {
        throw BankError(.invalidArgument, "no free card number near the candidate")
      }
      number = (number + 1) % 1_000_000_000
      pan = PAN.make(iin: iin, account: number)
    }
    let months = max(1, configuration.cardValidityMonths)
    let expiry = now.yearMonth.adding(months: months - 1)
    return (
      pan,
      [.cardIssued(pan: pan, customer: customer, accounts: accounts, expiry: expiry, time: now)]
    )
  }

  /// Sets a card's PIN (first PIN, or a new one set by staff). `code` is
  /// ``PINHasher/code(pin:pan:)`` of a PIN that passed ``PINHasher/validate(_:)``.
  ///
  /// - Throws: `card_not_found`, `card_blocked`, `card_retained`, `card_expired`.
  func setPIN(_ pan: PAN, code: [UInt8], now: Instant) throws(BankError) -> [AuthRecord] {
    _ = try usableCard(pan, now: now)
    guard code.count == 32 else {
      throw BankError(.invalidArgument, "a PIN code is 32 bytes")
    }
    return [.pinSet(pan: pan, code: code, time: now)]
  }

  /// Checks a PIN. A correct one is journaled (`pin_verified`, which clears the try count); a
  /// wrong one is journaled too (`pin_failed`), and the one that reaches
  /// ``AuthConfiguration/maxPINTries`` blocks the card: retained at a terminal, blocked
  /// elsewhere.
  ///
  /// - Parameter atTerminal: Whether an ATM holds the card (the last wrong PIN retains it).
  /// - Returns: Failure `authentication_failed` (wrong PIN, with the tries left), `card_retained`
  ///   or `card_blocked` (this attempt blocked it, or it was already), `card_not_found`,
  ///   `card_expired`.
  func verifyPIN(
    _ pan: PAN, code: [UInt8], now: Instant, atTerminal: Bool, configuration: AuthConfiguration
  ) -> AuthOutcome<Void> {
    let entry: CardEntry
    do {
      entry = try usableCard(pan, now: now)
    } catch {
      return AuthOutcome(records: [], result: .failure(error))
    }
    guard let stored = entry.pinCode else {
      return AuthOutcome(
        records: [],
        result: .failure(BankError(.authenticationFailed, "card \(pan) has no PIN set yet")))
    }
    if ConstantTime.equals(code, stored) {
      // A correct PIN clears the try counter; with no wrong try to clear, nothing changes and
      // nothing is written (no sync to wait for: a terminal's withdrawal logs itself).
      let records: [AuthRecord] =
        entry.card.failedPINAttempts > 0 ? [.pinVerified(pan: pan, time: now)] : []
      return AuthOutcome(records: records, result: .success(()))
    }
    let failures = entry.card.failedPINAttempts + 1
    var records: [AuthRecord] = [.pinFailed(pan: pan, time: now)]
    if failures >= configuration.maxPINTries {
      let reason: CardBlockReason = atTerminal ? .retained : .pinTriesExceeded
      records.append(.cardBlocked(pan: pan, reason: reason, by: nil, time: now))
      let error =
        atTerminal
        ? BankError(.cardRetained, "card \(pan) is retained after \(failures) wrong PINs")
        : BankError(.cardBlocked, "card \(pan) is blocked after \(failures) wrong PINs")
      return AuthOutcome(records: records, result: .failure(error))
    }
    let left = configuration.maxPINTries - failures
    return AuthOutcome(
      records: records,
      result: .failure(
        BankError(
          .authenticationFailed, "wrong PIN; \(left) \(left == 1 ? "try" : "tries") left")))
  }

  /// Changes a PIN after checking the old one as ``verifyPIN`` does (a wrong old PIN counts
  /// towards the block).
  func changePIN(
    _ pan: PAN, oldCode: [UInt8], newCode: [UInt8], now: Instant, atTerminal: Bool,
    configuration: AuthConfiguration
  ) -> AuthOutcome<Void> {
    let check = verifyPIN(
      pan, code: oldCode, now: now, atTerminal: atTerminal, configuration: configuration)
    guard case .success = check.result else { return check }
    guard newCode.count == 32 else {
      return AuthOutcome(
        records: [], result: .failure(BankError(.invalidArgument, "a PIN code is 32 bytes")))
    }
    return AuthOutcome(
      records: check.records + [.pinSet(pan: pan, code: newCode, time: now)],
      result: .success(()))
  }

  /// Blocks a card: its holder (lost or stolen) or staff. Already blocked or retained produces
  /// no record.
  ///
  /// - Throws: `card_not_found`; `permission_denied` when a customer blocks another's card or
  ///   the principal may not block cards.
  func blockCard(
    _ pan: PAN, reason: CardBlockReason, by: Principal, now: Instant
  ) throws(BankError) -> [AuthRecord] {
    // Staff block cards as part of their counter work (issuing is theirs too); a customer only
    // their own, refused alike whether another's card or one that does not exist.
    let card = try Authenticator.card(
      pan, in: self, as: by, verb: "block", staffAction: "block cards")
    if card.status != .active { return [] }
    return [.cardBlocked(pan: pan, reason: reason, by: by, time: now)]
  }

  /// Clears the PIN of every card that has one, in card-number order (the operator, after the
  /// store's PIN key was lost: no PIN can be checked without it, so each is set again).
  ///
  /// - Throws: `permission_denied` for anyone but the operator.
  func clearAllPINs(by: Principal, now: Instant) throws(BankError) -> [AuthRecord] {
    try requirePermission(.resetPINKey, for: by, ownsTarget: false)
    return cards.filter { $0.value.pinCode != nil }.keys.sorted { $0.value < $1.value }
      .map { .pinCleared(pan: $0, by: by, time: now) }
  }

  /// Unblocks a blocked or retained card and clears its try count; a manager's or the
  /// operator's act. An active card produces no record.
  ///
  /// - Throws: `card_not_found`, `permission_denied`.
  func unblockCard(_ pan: PAN, by: Principal, now: Instant) throws(BankError) -> [AuthRecord] {
    guard let entry = cards[pan] else { throw Self.noCard(pan) }
    try requirePermission(.unblockCard, for: by, ownsTarget: false)
    if entry.card.status == .active && entry.card.failedPINAttempts == 0 { return [] }
    return [.cardUnblocked(pan: pan, by: by, time: now)]
  }

  /// The card, if it exists, is active and has not expired at `now`.
  func usableCard(_ pan: PAN, now: Instant) throws(BankError) -> CardEntry {
    guard let entry = cards[pan] else { throw Self.noCard(pan) }
    switch entry.card.status {
    case .blocked: throw BankError(.cardBlocked, "card \(pan) is blocked")
    case .retained: throw BankError(.cardRetained, "card \(pan) is retained")
    case .active: break
    }
    if entry.card.expiry < now.yearMonth {
      throw BankError(.cardExpired, "card \(pan) expired at the end of \(entry.card.expiry)")
    }
    return entry
  }

  static func noCustomer(_ id: CustomerID) -> BankError {
    BankError(.customerNotFound, "customer \(id) does not exist")
  }

  static func noCard(_ pan: PAN) -> BankError {
    BankError(.cardNotFound, "card \(pan) does not exist")
  }

  static func noSubject(_ subject: Subject) -> BankError {
    switch subject {
    case .customer(let id): noCustomer(id)
    case .staff(let username):
      BankError(.staffNotFound, "staff member '\(username.debugSanitized)' does not exist")
    }
  }
}
