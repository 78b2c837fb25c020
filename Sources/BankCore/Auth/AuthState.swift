/// The Authenticator's pure core: customers, staff, credentials, sessions, reset tokens and
/// cards, changed only by applying ``AuthRecord``s.
///
/// Commands (`AuthState+Commands.swift`) validate against the state and return the records to
/// append; ``apply(_:)`` is deterministic and reads no clock or random source, so replaying the
/// journal rebuilds an equal state.
struct AuthState: Sendable, Equatable {
  /// A principal's password and login-failure state.
  struct Credential: Sendable, Equatable {
    var passwordHash: String
    var failedLogins: Int = 0
    /// Logins are refused until this instant, when set.
    var lockedUntil: Instant?
  }

  /// A live session, keyed by its token's digest.
  struct Session: Sendable, Equatable {
    let subject: Subject
    let startedAt: Instant
    /// The absolute timeout.
    let expires: Instant
    /// The latest recorded activity (the start, at first).
    var lastActivity: Instant
  }

  /// An outstanding password-reset token, keyed by its digest.
  struct ResetToken: Sendable, Equatable {
    let subject: Subject
    let expires: Instant
  }

  /// A card and its secrets' derivatives.
  struct OperationEntry: Sendable, Equatable {
    var command: String
    var fields: [OperationField]
    var result: String
  }

  struct CardEntry: Sendable, Equatable {
    var card: StoredCard
    /// `HMAC-SHA256(pepper, PAN ‖ PIN)`, when a PIN is set.
    var pinCode: [UInt8]?
  }

  var customers: [CustomerID: StoredCustomer] = [:]
  /// Lowercased email → customer, for uniqueness and the forgot-password check.
  var customerByEmail: [String: CustomerID] = [:]
  /// Ledger account → owning customer.
  var accountOwner: [AccountID: CustomerID] = [:]
  var staff: [String: StaffMember] = [:]
  var credentials: [Subject: Credential] = [:]
  var sessions: [TokenDigest: Session] = [:]
  var resetTokens: [TokenDigest: ResetToken] = [:]
  /// Subject → its one outstanding reset token (a new one replaces the old).
  var resetTokenBySubject: [Subject: TokenDigest] = [:]
  var cards: [PAN: CardEntry] = [:]
  /// Customer → their cards, in issue order.
  var cardsByCustomer: [CustomerID: [PAN]] = [:]
  /// Keyed commands that succeeded, by scoped key (see ``AuthRecord/operationDone``).
  var operations: [String: OperationEntry] = [:]
  /// The number the next registered customer gets.
  var nextCustomer: UInt32 = 1
  /// The newest time an applied record carried (nanoseconds since 1970).
  var lastTime: Int64 = 0

  /// An empty core: no customers, staff, sessions or cards.
  init() {}

  // MARK: Apply

  /// Applies one record. Infallible for records that a command of this state produced; a record
  /// that contradicts the state (only a damaged or foreign journal holds one) is a programmer
  /// error here. Replay should use ``applyChecked(_:)`` and report corruption instead.
  ///
  /// - Complexity: O(1) amortised, O(accounts) for a card issue.
  mutating func apply(_ record: AuthRecord) {
    if let problem = applyChecked(record) {
      preconditionFailure("impossible auth record \(record.tag.name): \(problem)")
    }
  }

  /// Applies one record, or returns why it cannot apply (and leaves the state unchanged).
  ///
  /// Deterministic: the outcome depends only on the state and the record.
  mutating func applyChecked(_ record: AuthRecord) -> String? {
    if let problem = impossibility(of: record) { return problem }
    switch record {
    case .customerRegistered(
      let id, let name, let email, let phone, let age, let gender,
      let hash, let time):
      customers[id] = StoredCustomer(
        id: id, name: name, email: email, phone: phone, age: age,
        gender: gender.isEmpty ? nil : gender, accounts: [], registeredAt: time)
      customerByEmail[ContactValidation.normalizedEmail(email)] = id
      credentials[.customer(id)] = Credential(passwordHash: hash)
      nextCustomer = id.rawValue &+ 1
    case .customerUpdated(let id, let change, _, let time):
      guard var customer = customers[id] else { break }
      if change.email != nil || change.phone != nil { customer.contactChangedAt = time }
      if let name = change.name { customer.name = name }
      if let email = change.email {
        customerByEmail[ContactValidation.normalizedEmail(customer.email)] = nil
        customer.email = email
        customerByEmail[ContactValidation.normalizedEmail(email)] = id
      }
      if let phone = change.phone { customer.phone = phone }
      if let age = change.age { customer.age = age }
      if let gender = change.gender { customer.gender = gender.isEmpty ? nil : gender }
      customers[id] = customer
    case .accountLinked(let customer, let account, _):
      customers[customer]?.accounts.append(account)
      accountOwner[account] = customer
    case .staffAdded(let username, let name, let role, let hash, let time):
      staff[username] = StaffMember(username: username, name: name, role: role, addedAt: time)
      credentials[.staff(username)] = Credential(passwordHash: hash)
    case .passwordChanged(let subject, let hash, _):
      credentials[subject]?.passwordHash = hash
    case .loginFailed(let subject, _, let lockedUntil):
      credentials[subject]?.failedLogins += 1
      if let lockedUntil {
        credentials[subject]?.lockedUntil = lockedUntil
        // The count starts again once the lockout has been served.
        credentials[subject]?.failedLogins = 0
      }
    case .sessionStarted(let token, let subject, let time, let expires):
      sessions[token] = Session(
        subject: subject, startedAt: time, expires: expires, lastActivity: time)
      credentials[subject]?.failedLogins = 0
      credentials[subject]?.lockedUntil = nil
    case .sessionActivity(let token, let time):
      sessions[token]?.lastActivity = time
    case .sessionEnded(let token, _, _):
      sessions[token] = nil
    case .lockoutLifted(let subject, _, _):
      credentials[subject]?.failedLogins = 0
      credentials[subject]?.lockedUntil = nil
    case .resetTokenIssued(let token, let subject, let expires, _):
      if let old = resetTokenBySubject[subject] { resetTokens[old] = nil }
      resetTokens[token] = ResetToken(subject: subject, expires: expires)
      resetTokenBySubject[subject] = token
    case .resetTokenUsed(let token, _):
      if let used = resetTokens.removeValue(forKey: token) {
        resetTokenBySubject[used.subject] = nil
      }
    case .cardIssued(let pan, let customer, let accounts, let expiry, let time):
      cards[pan] = CardEntry(
        card: StoredCard(
          pan: pan, customer: customer, accounts: accounts, expiry: expiry, status: .active,
          hasPIN: false, failedPINAttempts: 0, issuedAt: time),
        pinCode: nil)
      cardsByCustomer[customer, default: []].append(pan)
    case .pinSet(let pan, let code, _):
      cards[pan]?.pinCode = code
      cards[pan]?.card.hasPIN = true
      cards[pan]?.card.failedPINAttempts = 0
    case .pinFailed(let pan, _):
      cards[pan]?.card.failedPINAttempts += 1
    case .pinVerified(let pan, _):
      cards[pan]?.card.failedPINAttempts = 0
    case .cardBlocked(let pan, let reason, _, _):
      cards[pan]?.card.status = reason == .retained ? .retained : .blocked
    case .cardUnblocked(let pan, _, _):
      cards[pan]?.card.status = .active
      cards[pan]?.card.failedPINAttempts = 0
    case .pinCleared(let pan, _, _):
      cards[pan]?.pinCode = nil
      cards[pan]?.card.hasPIN = false
      cards[pan]?.card.failedPINAttempts = 0
    case .operationDone(let key, let command, let fields, let result, _):
      operations[key] = OperationEntry(command: command, fields: fields, result: result)
    }
    lastTime = max(lastTime, record.time.nanoseconds)
    return nil
  }

  /// Why `record` cannot apply to this state, or `nil` when it can.
  private func impossibility(of record: AuthRecord) -> String? {
    func needCustomer(_ id: CustomerID) -> String? {
      customers[id] == nil ? "customer \(id) does not exist" : nil
    }
    func needSubject(_ s: Subject) -> String? {
      credentials[s] == nil ? "\(s) does not exist" : nil
    }
    func needCard(_ pan: PAN) -> String? { cards[pan] == nil ? "card \(pan) does not exist" : nil }
    switch record {
    case .customerRegistered(let id, _, let email, _, _, _, _, _):
      if id.rawValue != nextCustomer { return "customer \(id) is not the next ID" }
      if customerByEmail[ContactValidation.normalizedEmail(email)] != nil {
        return "email already in use"
      }
      return nil
    case .customerUpdated(let id, let change, _, _):
      if let problem = needCustomer(id) { return problem }
      if let email = change.email,
        let owner = customerByEmail[ContactValidation.normalizedEmail(email)],
        owner != id
      {
        return "email already in use"
      }
      return nil
    case .accountLinked(let customer, let account, _):
      if let problem = needCustomer(customer) { return problem }
      return accountOwner[account] == nil ? nil : "account \(account) already has an owner"
    case .staffAdded(let username, _, _, _, _):
      return staff[username] == nil ? nil : "staff \(username) already exists"
    case .passwordChanged(let subject, _, _), .loginFailed(let subject, _, _),
      .lockoutLifted(let subject, _, _):
      return needSubject(subject)
    case .sessionStarted(let token, let subject, _, _):
      if let problem = needSubject(subject) { return problem }
      return sessions[token] == nil ? nil : "session token digest reused"
    case .sessionActivity(let token, _), .sessionEnded(let token, _, _):
      return sessions[token] == nil ? "session does not exist" : nil
    case .resetTokenIssued(let token, let subject, _, _):
      if let problem = needSubject(subject) { return problem }
      return resetTokens[token] == nil ? nil : "reset token digest reused"
    case .resetTokenUsed(let token, _):
      return resetTokens[token] == nil ? "reset token does not exist" : nil
    case .cardIssued(let pan, let customer, let accounts, _, _):
      if let problem = needCustomer(customer) { return problem }
      if cards[pan] != nil { return "card \(pan) already exists" }
      if accounts.isEmpty { return "a card needs at least one account" }
      if Set(accounts).count != accounts.count { return "a card lists an account twice" }
      for a in accounts where accountOwner[a] != customer {
        return "account \(a) is not customer \(customer)'s"
      }
      return nil
    case .pinSet(let pan, let code, _):
      if let problem = needCard(pan) { return problem }
      return code.count == 32 ? nil : "a PIN code is 32 bytes"
    case .pinFailed(let pan, _), .pinVerified(let pan, _), .cardBlocked(let pan, _, _, _),
      .cardUnblocked(let pan, _, _), .pinCleared(let pan, _, _):
      return needCard(pan)
    case .operationDone(let key, _, _, _, _):
      return operations[key] == nil ? nil : "key \(key) was already recorded"
    }
  }

  // MARK: Queries

  /// A customer's details, or `nil`.
  func customer(_ id: CustomerID) -> StoredCustomer? { customers[id] }

  /// A staff member, or `nil`.
  func staffMember(_ username: String) -> StaffMember? { staff[username] }

  /// A card, or `nil`.
  func card(_ pan: PAN) -> StoredCard? { cards[pan]?.card }

  /// A customer's cards in issue order.
  func cards(of customer: CustomerID) -> [StoredCard] {
    (cardsByCustomer[customer] ?? []).compactMap { cards[$0]?.card }
  }

  /// The customer who owns a ledger account, or `nil` (the bank's own accounts, or unlinked).
  func owner(of account: AccountID) -> CustomerID? { accountOwner[account] }

  /// The stored password hash of a principal, or `nil` when no such principal exists. Read it
  /// under the lock, verify outside it (``PasswordHasher``), then run the login command.
  func passwordHash(of subject: Subject) -> String? { credentials[subject]?.passwordHash }

  /// The acting principal for a subject, with a staff member's current role.
  func principal(for subject: Subject) -> Principal? {
    switch subject {
    case .customer(let id): customers[id] == nil ? nil : .customer(id)
    case .staff(let username): staff[username].map { .staff(username: username, role: $0.role) }
    }
  }

  /// Whether `subject`'s logins are locked at `now`.
  func isLocked(_ subject: Subject, at now: Instant) -> Bool {
    guard let until = credentials[subject]?.lockedUntil else { return false }
    return now < until
  }

  /// The words a password of `subject` must not contain (``PasswordPolicy``).
  func personalData(of subject: Subject) -> [String] {
    switch subject {
    case .customer(let id):
      guard let c = customers[id] else { return [] }
      return [c.name, c.email, c.phone]
    case .staff(let username):
      return [username, staff[username]?.name ?? ""]
    }
  }
}
