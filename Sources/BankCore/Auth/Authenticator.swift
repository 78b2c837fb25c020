import Synchronization

/// What a new customer gives at registration.
public struct CustomerRegistration: Sendable, Equatable {
  /// Full name: 1 to 100 characters.
  public var name: String
  /// Email address (RFC 5321's practical subset); unique among customers.
  public var email: String
  /// Phone number in E.164 (`+` and 8 to 15 digits).
  public var phone: String
  /// Age in years, 18 to 130 for a customer who holds the account alone.
  public var age: Int
  /// Optional short free text.
  public var gender: String?
  /// The kind of the account registration opens (checking or savings).
  public var accountKind: AccountKind
  /// Its currency.
  public var currency: Currency

  /// Describes a registration; the first account is checking in USD unless told otherwise.
  public init(
    name: String, email: String, phone: String, age: Int, gender: String? = nil,
    accountKind: AccountKind = .checking, currency: Currency = .usd
  ) {
    self.name = name
    self.email = email
    self.phone = phone
    self.age = age
    self.gender = gender
    self.accountKind = accountKind
    self.currency = currency
  }
}

/// Changes to a customer's details: `nil` leaves a field as it is.
public struct CustomerUpdate: Sendable, Equatable {
  /// A new name.
  public var name: String?
  /// A new email address.
  public var email: String?
  /// A new phone number.
  public var phone: String?
  /// A new age.
  public var age: Int?
  /// A new gender text.
  public var gender: String?

  /// Describes a change.
  public init(
    name: String? = nil, email: String? = nil, phone: String? = nil, age: Int? = nil,
    gender: String? = nil
  ) {
    self.name = name
    self.email = email
    self.phone = phone
    self.age = age
    self.gender = gender
  }
}

/// A new session: the token is shown once and only its SHA-256 is stored.
public struct SessionGrant: Sendable, Equatable {
  /// The opaque token (256 random bits, hexadecimal). A secret: never log it.
  public let token: String
  /// Who is logged in.
  public let principal: Principal
  /// The absolute expiry (the idle timeout may end it sooner).
  public let expiresAt: Instant
}

/// A password-reset token: shown once, stored hashed, valid once and for a short while.
public struct ResetGrant: Sendable, Equatable {
  /// The token. A secret: deliver it to the customer (email, SMS); never log it.
  public let token: String
  /// When it lapses.
  public let expiresAt: Instant
}

/// A newly issued card: the only place its full number appears.
///
/// `Encodable` as `card issue` prints it: `{"card","customer","accounts","expires","status"}`
/// with `card` the full number.
public struct IssuedCard: Sendable, Hashable {
  /// The full 16-digit PAN.
  public let pan: String
  /// The card as issued.
  public let card: Card

  /// The linked accounts' numbers, in order (``Card/accounts``).
  public var accounts: [AccountNumber] { card.accounts }

  init(pan: String, card: Card) {
    self.pan = pan
    self.card = card
  }
}

/// Customers, staff and roles, passwords, sessions, password reset, cards and PINs with
/// lockout: the Authenticator, persisted through its bank's commit path.
///
/// Every operation that acts for someone takes the acting ``Principal`` and is checked against
/// the permission matrix (``BankOperation``); a denied operation changes nothing. Password hashing
/// (PBKDF2), random tokens and PIN codes are computed before the bank's lock is taken, so a
/// login never stalls transfers. No password, PIN, token or pepper is ever written to the
/// journal, an error or a description: only salted hashes, HMACs and digests.
///
/// **Which calls block.** Every call that writes waits for its records to be durable (an
/// `fdatasync`, a few milliseconds on a disk); `login`, `registerCustomer`, `addStaff`,
/// `resetPassword` and a customer's own contact change also hash a password (PBKDF2 at 600,000
/// iterations, about a second in a debug build). Reads wait only for what they show to be
/// durable. From Swift concurrency, run them through ``perform(_:)``, which does the blocking
/// work on threads of its own, never on a cooperative thread.
public final class Authenticator: Sendable {
  /// The bank this authenticator is a view of.
  public let bank: Bank
  /// Costs, timeouts and limits.
  public let configuration: AuthConfiguration
  let pepper: Pepper?
  let hasher: PasswordHasher
  let policy: PasswordPolicy
  /// When a login next ends the sessions past their timeouts (not persisted: any schedule is
  /// correct, the sweep's records say what it did).
  private let nextSweep = Mutex(Instant(nanoseconds: 0))

  /// Whether a login at `now` should sweep expired sessions: at most once per idle timeout.
  private func sweepDue(at now: Instant) -> Bool {
    nextSweep.withLock { next in
      guard now >= next else { return false }
      next = now.adding(configuration.sessionIdleTimeout)
      return true
    }
  }

  /// An authenticator on a bank.
  ///
  /// - Parameter pepper: the 32-byte secret kept outside the journal that PIN codes are keyed
  ///   with (for a file store, ``pepperKey(forStore:create:)``); `nil` when no PIN operation
  ///   will be used.
  /// - Throws: `invalid_argument` for a pepper of the wrong length.
  public init(bank: Bank, configuration: AuthConfiguration = .init(), pepper: [UInt8]? = nil)
    throws(BankError)
  {
    self.bank = bank
    self.configuration = configuration
    self.pepper = try pepper.map { b throws(BankError) in try Pepper(bytes: b) }
    self.hasher = PasswordHasher(configuration)
    self.policy = PasswordPolicy(configuration)
  }

  /// The PIN pepper of a file store: the key file `STORE.key` beside it (mode 0600), created
  /// with 32 random bytes when `create` is set and it does not exist.
  ///
  /// - Throws: `io_error` when the file is missing (and not to be created), unreadable, not a
  ///   regular 32-byte file, or readable by others.
  ///
  /// - Note: Blocks while it reads the key file (or creates it and syncs it).
  public static func pepperKey(forStore path: String, create: Bool) throws(BankError) -> [UInt8] {
    try pepperKey(atPath: Pepper.keyPath(forStore: path), create: create)
  }

  /// The PIN pepper kept in the key file at `keyPath` (mode 0600), for a store that is not a
  /// file (a PostgreSQL journal: the same file on every node, never in the database); created
  /// with 32 random bytes when `create` is set and it does not exist.
  ///
  /// - Throws: as ``pepperKey(forStore:create:)``.
  ///
  /// - Note: Blocks while it reads the key file (or creates it and syncs it).
  public static func pepperKey(atPath keyPath: String, create: Bool) throws(BankError) -> [UInt8] {
    if create {
      var system = SystemRandomNumberGenerator()
      return try Pepper.loadOrCreate(at: keyPath, using: &system).bytes
    }
    return try Pepper.load(from: keyPath).bytes
  }

  // MARK: The commit path for auth commands

  /// Runs one transaction that may touch the auth core and the ledger; an outcome's records are
  /// appended even when its result is a refusal (a failed login counts towards a lockout).
  private func commit<V: Sendable>(
    _ build: (AuthState, inout BankState, inout Transaction) throws(BankError) -> AuthOutcome<V>
  ) throws(BankError) -> V {
    try bank.commit(AuthState.self, build)
  }

  /// Commits a keyed change: a retry with the same key and arguments replays it; `body` stages
  /// the change (on the ledger or elsewhere) in the same batch as the key's record.
  ///
  /// - Returns: on a retry, the result the first run recorded; `nil` on the first run.
  func commitKeyed(
    _ op: OperationKey, _ body: (inout BankState, inout Transaction) throws(BankError) -> String
  ) throws(BankError) -> String? {
    try commitRecords { auth, state, tx throws(BankError) -> ([AuthRecord], String?) in
      if let done = try op.replayed(in: auth, &state, &tx) { return ([], done) }
      let result = try body(&state, &tx)
      return ([op.record(result: result, now: Self.now(tx))], nil)
    }
  }

  private func commitRecords<V: Sendable>(
    _ build: (AuthState, inout BankState, inout Transaction) throws(BankError) -> (
      [AuthRecord], V
    )
  ) throws(BankError) -> V {
    try bank.commitRecords(AuthState.self, build)
  }

  static func auth(_ state: borrowing BankState) throws(BankError) -> AuthState {
    try state.requireCore(AuthState.self)
  }

  func read<R>(_ body: (AuthState, borrowing BankState) throws(BankError) -> R)
    throws(BankError) -> R
  {
    // Current: what the Authenticator decides from what it reads (a permission, a password
    // check) must hold against the store as it is, should other writers share it.
    try bank.read(current: true) { s throws(BankError) in try body(try Self.auth(s), s) }
  }

  private static func now(_ tx: Transaction) -> Instant { Instant(nanoseconds: tx.now) }

  // MARK: Permissions

  /// Checks that `principal` may perform `operation`, on `account` when one is named (a customer
  /// only on their own accounts).
  ///
  /// - Throws: `permission_denied`; `account_not_found` for an unknown account.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func authorize(
    _ operation: BankOperation, as principal: Principal, account: AccountNumber? = nil
  ) throws(BankError) {
    try read { auth, state throws(BankError) in
      try Self.authorize(operation, as: principal, account: account, auth: auth, state: state)
    }
  }

  static func authorize(
    _ operation: BankOperation, as principal: Principal, account: AccountNumber?, auth: AuthState,
    state: borrowing BankState
  ) throws(BankError) {
    var owns = false
    if case .customer(let id) = principal {
      // Permission before any lookup, and an unknown account refused like someone else's, so a
      // customer's session cannot probe which account numbers exist.
      guard operation.rights.contains(.customer) else {
        try requirePermission(operation, for: principal, ownsTarget: false)
        return
      }
      if let account {
        owns = (try? state.ledger.id(of: account)).map { auth.owner(of: $0) == id } ?? false
      } else {
        owns = true
      }
    }
    try requirePermission(operation, for: principal, ownsTarget: owns)
  }

  /// The accounts a principal may see: a customer's own; every customer account for staff who
  /// look accounts up (tellers); `nil`, meaning all of them, the bank's own included, for staff
  /// who may read any account and for the operator.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func visibleAccounts(as principal: Principal) throws(BankError) -> [AccountNumber]? {
    try read { auth, state throws(BankError) in
      switch principal {
      case .customer(let id):
        guard let c = auth.customer(id) else { throw AuthState.noCustomer(id) }
        return c.accounts.map { state.ledger.info[$0.index].number }
      default:
        if matrixAllows(.readAnyAccount, for: principal, ownsTarget: false) { return nil }
        if matrixAllows(.lookUpAccount, for: principal, ownsTarget: false) {
          // Customers' accounts, not the bank's own (as ``authorizeRead(_:of:as:)``).
          return state.ledger.info.lazy.filter { $0.kind.isCustomer }.map(\.number)
        }
        throw permissionDenied(
          .lookUpAccount, for: principal, ownsTarget: false, action: "list accounts")
      }
    }
  }

  // MARK: Customers

  /// Checks a registration's fields and password on their own, before any store is touched.
  ///
  /// - Throws: the field errors and `weak_password`, as ``registerCustomer(_:password:key:as:)``.
  public static func validate(
    _ registration: CustomerRegistration, password: String,
    configuration: AuthConfiguration = .init()
  ) throws(BankError) {
    guard registration.accountKind == .checking || registration.accountKind == .savings else {
      throw BankError(.invalidArgument, "a customer's account is checking or savings")
    }
    try ContactValidation.name(registration.name)
    try ContactValidation.email(registration.email)
    try ContactValidation.phone(registration.phone)
    try ContactValidation.age(registration.age)
    try ContactValidation.gender(registration.gender ?? "")
    try PasswordPolicy(configuration).check(
      password, personal: [registration.name, registration.email, registration.phone])
  }

  /// Checks a staff member's fields and password on their own, before any store is touched.
  ///
  /// - Throws: `invalid_argument`, `weak_password`.
  public static func validateStaff(
    username: String, name: String, password: String, configuration: AuthConfiguration = .init()
  ) throws(BankError) {
    try ContactValidation.username(username)
    try ContactValidation.name(name)
    try PasswordPolicy(configuration).check(
      password, personal: [username, name], username: username)
  }

  /// Registers a customer and opens their first account, in one atomic batch.
  ///
  /// - Throws: `permission_denied`; `weak_password`; `invalid_argument`, `invalid_email`,
  ///   `invalid_phone`, `invalid_age`; `email_in_use`.
  ///
  /// - Note: Blocks the calling thread while it hashes the password (PBKDF2, about a second in a
  ///   debug build) and until its records are durable; from Swift concurrency, use `perform`.
  public func registerCustomer(
    _ registration: CustomerRegistration, password: String, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> Customer {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Customer in
      try requirePermission(.registerCustomer, for: principal, ownsTarget: false)
      try Self.validate(registration, password: password, configuration: configuration)
      let op = OperationKey(
        key, principal: principal, command: "customer register",
        arguments: [
          ("name", registration.name), ("email", registration.email),
          ("phone", registration.phone), ("age", String(registration.age)),
          ("gender", registration.gender ?? ""), ("type", registration.accountKind.description),
          ("currency", registration.currency.code),
        ])
      let hash = SlowWork.run { [hasher] in hasher.hash(password) }
      let (id, replayedAccount) = try commitRecords {
        auth, state, tx throws(BankError) -> ([AuthRecord], (CustomerID, AccountNumber?)) in
        if let done = try op.replayed(in: auth, &state, &tx) {
          let parts = done.split(separator: " ").map(String.init)
          return (
            [],
            (
              try CustomerID(parsing: parts.first ?? done),
              try parts.dropFirst().first.map { t throws(BankError) in try AccountNumber(parsing: t)
              }
            )
          )
        }
        let now = Self.now(tx)
        let (id, records) = try auth.registerCustomer(
          name: registration.name, email: registration.email, phone: registration.phone,
          age: registration.age, gender: registration.gender, passwordHash: hash, now: now)
        for r in records { state.emit(r, of: AuthState.self, in: &tx) }
        let account = try Self.openAccount(
          for: id,
          spec: AccountSpec(
            name: registration.name, kind: registration.accountKind,
            currency: registration.currency),
          state: &state, tx: &tx)
        let number = state.ledger.info[account.index].number
        return (op.records(result: "\(id) \(number)", now: now), (id, nil))
      }
      if let replayedAccount {
        // A retry prints what the registration printed, whatever changed since.
        return Customer(
          id: id, name: registration.name, email: registration.email, phone: registration.phone,
          age: registration.age, gender: registration.gender.flatMap { $0.isEmpty ? nil : $0 },
          accounts: [replayedAccount], cards: [])
      }
      return try customer(id, as: .operator)

    }
  }

  private static func openAccount(
    for customer: CustomerID, spec: AccountSpec, state: inout BankState, tx: inout Transaction
  ) throws(BankError) -> AccountID {
    guard
      case .opened(let account) = try state.ledger.stage(
        .open(spec), now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
    else { throw BankError(.invalidArgument, "opening produced no account") }
    let auth = try Self.auth(state)
    for r in try auth.linkAccount(account, to: customer, now: now(tx)) {
      state.emit(r, of: AuthState.self, in: &tx)
    }
    return account
  }

  /// Opens another account owned by a customer, in one batch with the ownership record.
  ///
  /// - Throws: `permission_denied`, `customer_not_found`, and `open`'s errors.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func openAccount(
    for customer: CustomerID, spec: AccountSpec, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> Account {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Account in
      try Self.requireOpenPermission(spec, for: principal)
      try spec.validate()
      guard spec.kind == .checking || spec.kind == .savings else {
        throw BankError(.invalidArgument, "a customer's account is checking or savings")
      }
      let op = Self.openKey(key, spec: spec, customer: customer, principal: principal)
      let number = try commitRecords { auth, state, tx throws(BankError) in
        if let done = try op.replayed(in: auth, &state, &tx) {
          return ([], try AccountNumber(parsing: done))
        }
        guard auth.customer(customer) != nil else { throw AuthState.noCustomer(customer) }
        let id = try Self.openAccount(for: customer, spec: spec, state: &state, tx: &tx)
        let number = state.ledger.info[id.index].number
        return (op.records(result: number.description, now: Self.now(tx)), number)
      }
      return Self.asOpened(try bank.ledger.account(number), spec: spec, keyed: op != nil)

    }
  }

  /// An account as its opening left it (active, nothing moved), for a keyed opening: a retry
  /// prints what the opening printed, whatever happened to the account since.
  static func asOpened(_ a: Account, spec: AccountSpec, keyed: Bool) -> Account {
    guard keyed else { return a }
    return Account(
      id: a.id, number: a.number, name: a.name, kind: a.kind, currency: a.currency,
      status: .active, overdraftLimitMinor: spec.overdraftLimit?.minorUnits ?? 0, postedDebits: 0,
      postedCredits: 0, pendingDebits: 0, pendingCredits: 0, opened: a.opened)
  }

  /// The key of an opening, with every parameter as an argument.
  static func openKey(
    _ key: IdempotencyKey?, spec: AccountSpec, customer: CustomerID?, principal: Principal
  ) -> OperationKey? {
    OperationKey(
      key, principal: principal, command: "open",
      arguments: [
        ("name", spec.name), ("type", spec.kind.description), ("currency", spec.currency.code),
        ("overdraft", String(spec.overdraftLimit?.minorUnits ?? 0)),
        ("number", spec.number?.description ?? ""), ("customer", customer?.description ?? ""),
      ])
  }

  /// The permission matrix for every parameter of an opening, not only its name: opening is
  /// counter work, but an overdraft limit is a manager's decision (`overdraft`), so a teller
  /// cannot open an account with a credit line and pay it out in cash.
  static func requireOpenPermission(_ spec: AccountSpec, for principal: Principal)
    throws(BankError)
  {
    try requirePermission(.openAccount, for: principal, ownsTarget: false)
    if let limit = spec.overdraftLimit, limit.minorUnits != 0 {
      try requirePermission(
        .overdraft, for: principal, ownsTarget: false,
        action: "open an account with an overdraft limit (a manager sets overdrafts)")
    }
  }

  /// Opens an account that no customer owns yet (the counter's `open` without a customer), with
  /// the permission matrix applied to every parameter (see ``openAccount(for:spec:key:as:)``).
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/open(_:)``.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func open(_ spec: AccountSpec, key: IdempotencyKey? = nil, as principal: Principal)
    throws(BankError) -> Account
  {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Account in
      try Self.requireOpenPermission(spec, for: principal)
      guard let op = Self.openKey(key, spec: spec, customer: nil, principal: principal) else {
        return try bank.ledger.open(spec)
      }
      try spec.validate()
      let number = try commitRecords { auth, state, tx throws(BankError) in
        if let done = try op.replayed(in: auth, &state, &tx) {
          return ([], try AccountNumber(parsing: done))
        }
        guard
          case .opened(let id) = try state.ledger.stage(
            .open(spec), now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        else { throw BankError(.invalidArgument, "opening produced no account") }
        let number = state.ledger.info[id.index].number
        return ([op.record(result: number.description, now: Self.now(tx))], number)
      }
      return Self.asOpened(try bank.ledger.account(number), spec: spec, keyed: true)

    }
  }

  /// Changes a customer's details; every change is a record, so their history is kept.
  ///
  /// - Throws: `permission_denied` (a customer may change only their own details),
  ///   `customer_not_found`, and the field errors of registration.
  ///
  /// A customer changing their own email or phone gives their current password
  /// (`currentPassword`), judged as a login judges it (a wrong one counts towards the lockout):
  /// a stolen session alone cannot redirect a password reset. Every change is recorded with who
  /// made it; after a change of email or phone, `password forgot` is refused for
  /// ``AuthConfiguration/contactChangeCoolingOff``.
  ///
  /// Blocks for one PBKDF2 when a password is checked.
  ///
  /// - Throws: also `authentication_failed` (a missing or wrong current password).
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk), and while it checks the current password (PBKDF2) when a customer changes their own
  ///   email or phone; from Swift concurrency, use `perform`.
  public func updateCustomer(
    _ id: CustomerID, _ update: CustomerUpdate, currentPassword: String? = nil,
    key: IdempotencyKey? = nil, as principal: Principal
  ) throws(BankError) -> Customer {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Customer in
      let own: Bool
      if case .customer(let me) = principal { own = me == id } else { own = false }
      // A customer's right is to their own details, whoever they name: the refusal says so.
      let isCustomer: Bool
      if case .customer = principal { isCustomer = true } else { isCustomer = false }
      try requirePermission(
        own || isCustomer ? .ownDetails : .updateCustomer, for: principal, ownsTarget: own)
      let change = CustomerDetailsChange(
        name: update.name, email: update.email, phone: update.phone, age: update.age,
        gender: update.gender)
      var check: PasswordCheck? = nil
      if own {
        let (stored, contactChanges) = try read { auth, _ throws(BankError) in
          guard let c = auth.customer(id) else { throw AuthState.noCustomer(id) }
          let changes =
            (change.email.map { $0 != c.email } ?? false)
            || (change.phone.map { $0 != c.phone } ?? false)
          return (auth.passwordHash(of: .customer(id)), changes)
        }
        if contactChanges {
          guard let currentPassword else {
            throw BankError(
              .authenticationFailed,
              "changing your own email or phone needs your current password")
          }
          check = SlowWork.run { [hasher] in
            AuthState.checkPassword(currentPassword, storedHash: stored, hasher: hasher)
          }
        }
      }
      let op = OperationKey(
        key, principal: principal, command: "customer update",
        arguments: [
          ("customer", id.description), ("name", update.name ?? "\u{0}"),
          ("email", update.email ?? "\u{0}"), ("phone", update.phone ?? "\u{0}"),
          ("age", update.age.map(String.init) ?? "\u{0}"), ("gender", update.gender ?? "\u{0}"),
        ])
      try commit { auth, state, tx throws(BankError) -> AuthOutcome<Void> in
        let now = Self.now(tx)
        if try op.replayed(in: auth, &state, &tx) != nil {
          return AuthOutcome(records: [], result: .success(()))
        }
        // Judged again against the state the commit sees: another writer may have changed the
        // details since the read above decided that no password was needed.
        if own, check == nil, let c = auth.customer(id),
          (change.email.map { $0 != c.email } ?? false)
            || (change.phone.map { $0 != c.phone } ?? false)
        {
          return AuthOutcome(
            records: [],
            result: .failure(
              BankError(
                .authenticationFailed,
                "changing your own email or phone needs your current password")
            ))
        }
        if let check,
          let refused = auth.confirmPassword(
            .customer(id), check: check, now: now, configuration: configuration)
        {
          return refused
        }
        var records = try auth.updateCustomer(id, change, by: principal, now: now)
        if let op {
          // The details as this update left them, so that a retry prints what it printed.
          var after = auth
          for r in records { _ = after.applyChecked(r) }
          if let c = after.customer(id) {
            let details = [
              c.name, c.email, c.phone, String(c.age), c.gender ?? "",
              c.accounts.map { state.ledger.info[$0.index].number.description }.joined(
                separator: ","),
            ]
            records.append(op.record(result: details.joined(separator: "\u{1F}"), now: now))
          }
        }
        return AuthOutcome(records: records, result: .success(()))
      }
      if let op, let done = try read({ auth, _ throws(BankError) in try op.replayed(in: auth) }) {
        let f = done.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
        if f.count == 6, let age = Int(f[3]) {
          let current = try customer(id, as: .operator)
          return Customer(
            id: id, name: f[0], email: f[1], phone: f[2], age: age,
            gender: f[4].isEmpty ? nil : f[4],
            accounts: try f[5].split(separator: ",").map { t throws(BankError) in
              try AccountNumber(parsing: String(t))
            }, cards: current.cards)
        }
      }
      return try customer(id, as: .operator)

    }
  }

  /// A customer's details, accounts and masked cards.
  ///
  /// - Throws: `permission_denied` (a customer sees only themself), `customer_not_found`.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func customer(_ id: CustomerID, as principal: Principal) throws(BankError)
    -> Customer
  {
    try read { auth, state throws(BankError) in
      let own: Bool
      if case .customer(let me) = principal { own = me == id } else { own = false }
      if !own {
        guard
          matrixAllows(.lookUpAccount, for: principal, ownsTarget: false)
            || matrixAllows(.readAnyAccount, for: principal, ownsTarget: false)
        else {
          try requirePermission(.ownDetails, for: principal, ownsTarget: false)
          throw permissionDenied(.lookUpAccount, for: principal, ownsTarget: false)
        }
      }
      guard let c = auth.customer(id) else { throw AuthState.noCustomer(id) }
      return Customer(
        id: c.id, name: c.name, email: c.email, phone: c.phone, age: c.age, gender: c.gender,
        accounts: c.accounts.map { state.ledger.info[$0.index].number },
        cards: auth.cards(of: id).map(\.pan.masked))
    }
  }

  /// One change of a customer's details, as the journal recorded it.
  public struct DetailsChange: Sendable, Equatable {
    /// When it was recorded.
    public let time: Instant
    /// The fields set, by their JSON names (`name`, `email`, `phone`, `age`, `gender`), with
    /// their new values; registration lists every field.
    public let fields: [(String, String)]
    /// Who made the change (registration and records of earlier releases: the operator).
    public let by: Principal

    public static func == (a: DetailsChange, b: DetailsChange) -> Bool {
      a.time == b.time && a.fields.map(\.0) == b.fields.map(\.0)
        && a.fields.map(\.1) == b.fields.map(\.1) && a.by == b.by
    }
  }

  /// The history of a customer's details, oldest first: registration, then every update.
  ///
  /// - Throws: `permission_denied` as ``customer(_:as:)``, `customer_not_found`.
  /// - Complexity: O(records in the store).
  ///
  /// - Note: Blocks while it reads the customer's records back from the journal.
  public func detailsHistory(of id: CustomerID, as principal: Principal)
    throws(BankError) -> [DetailsChange]
  {
    _ = try customer(id, as: principal)
    var out: [DetailsChange] = []
    try bank.scanRecords(tags: AuthState.tags) { _, bytes throws(DecodeError) in
      switch try AuthState.decodeStored(bytes) {
      case .customerRegistered(let c, let name, let email, let phone, let age, let gender, _, let t)
      where c == id:
        var fields = [("name", name), ("email", email), ("phone", phone), ("age", String(age))]
        if !gender.isEmpty { fields.append(("gender", gender)) }
        out.append(DetailsChange(time: t, fields: fields, by: .operator))
      case .customerUpdated(let c, let change, let by, let t) where c == id:
        var fields: [(String, String)] = []
        if let v = change.name { fields.append(("name", v)) }
        if let v = change.email { fields.append(("email", v)) }
        if let v = change.phone { fields.append(("phone", v)) }
        if let v = change.age { fields.append(("age", String(v))) }
        if let v = change.gender { fields.append(("gender", v)) }
        out.append(DetailsChange(time: t, fields: fields, by: by ?? .operator))
      default: break
      }
    }
    return out
  }

  /// How many cards have a PIN set: each needs the PIN key (pepper) to be checked.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func cardsWithPIN() throws(BankError) -> Int {
    try read { auth, _ in auth.cards.values.filter { $0.pinCode != nil }.count }
  }

  /// Clears every card's PIN in one batch, for a store whose PIN key (pepper) was lost: no PIN
  /// can be checked without it. The operator only. Each card then takes `setPIN` again (its
  /// holder may set a first PIN); create the new key (``pepperKey(forStore:create:)``) after
  /// this commits, never before, so that no PIN is ever checked against a key it was not set
  /// under.
  ///
  /// - Returns: how many cards had a PIN.
  /// - Throws: `permission_denied`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func clearAllPINs(key: IdempotencyKey? = nil, as principal: Principal) throws(BankError)
    -> Int
  {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Int in
      let op = OperationKey(key, principal: principal, command: "pin-key reset", arguments: [])
      return try commitRecords { auth, state, tx throws(BankError) in
        let records = try auth.clearAllPINs(by: principal, now: Self.now(tx))
        if let done = try op.replayed(in: auth, &state, &tx) { return ([], Int(done) ?? 0) }
        return (
          records + op.records(result: String(records.count), now: Self.now(tx)), records.count
        )
      }

    }
  }

  /// Whether a keyed `pin-key reset` with `key` already committed (its retry replays it: the new
  /// key file may then exist already).
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func hasCompleted(pinKeyReset key: IdempotencyKey, as principal: Principal)
    throws(BankError) -> Int?
  {
    guard let op = OperationKey(key, principal: principal, command: "pin-key reset", arguments: [])
    else { return nil }
    return try read { auth, _ throws(BankError) in try op.replayed(in: auth).map { Int($0) ?? 0 } }
  }

  /// Whether a PIN key (pepper) is loaded.
  public var hasPINKey: Bool { pepper != nil }

  /// The customer who owns an account, if a customer does.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func owner(of account: AccountNumber) throws(BankError) -> CustomerID? {
    try read { auth, state throws(BankError) in auth.owner(of: try state.ledger.id(of: account)) }
  }

  // MARK: Staff

  /// Adds a staff member with a role and a password login.
  ///
  /// - Throws: `permission_denied` (only the operator adds staff), `weak_password`,
  ///   `invalid_argument`, `staff_exists`.
  ///
  /// - Note: Blocks the calling thread while it hashes the password (PBKDF2, about a second in a
  ///   debug build) and until its records are durable; from Swift concurrency, use `perform`.
  public func addStaff(
    username: String, name: String, role: Role, password: String, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> StaffMember {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> StaffMember in
      try requirePermission(.addStaff, for: principal, ownsTarget: false)
      try Self.validateStaff(
        username: username, name: name, password: password, configuration: configuration)
      let op = OperationKey(
        key, principal: principal, command: "staff add",
        arguments: [("username", username), ("name", name), ("role", role.description)])
      let hash = SlowWork.run { [hasher] in hasher.hash(password) }
      return try commitRecords { auth, state, tx throws(BankError) in
        if let done = try op.replayed(in: auth, &state, &tx), let member = auth.staffMember(done) {
          return ([], member)
        }
        let records = try auth.addStaff(
          username: username, name: name, role: role, passwordHash: hash, now: Self.now(tx))
        for r in records { state.emit(r, of: AuthState.self, in: &tx) }
        guard let member = try Self.auth(state).staffMember(username) else {
          throw BankError(.staffNotFound, "staff member was not added")
        }
        return (op.records(result: username, now: Self.now(tx)), member)
      }

    }
  }

  // MARK: Sessions

  /// Logs a customer in.
  ///
  /// - Throws: `authentication_failed`, the same for an unknown customer, a wrong password and
  ///   a locked login (five failures lock logins for 15 minutes); both paths cost one PBKDF2.
  ///
  /// - Note: Blocks the calling thread while it checks the password (PBKDF2, about a second in a
  ///   debug build) and until the session's records are durable; from Swift concurrency, use
  ///   `perform`.
  public func login(customer: CustomerID, password: String) throws(BankError) -> SessionGrant {
    try login(.customer(customer), password: password)
  }

  /// Logs a staff member in; see ``login(customer:password:)``.
  ///
  /// - Note: Blocks the calling thread while it checks the password (PBKDF2, about a second in a
  ///   debug build) and until the session's records are durable; from Swift concurrency, use
  ///   `perform`.
  public func login(staff username: String, password: String) throws(BankError) -> SessionGrant {
    try login(.staff(username), password: password)
  }

  private func login(_ subject: Subject, password: String) throws(BankError) -> SessionGrant {
    let stored = try read { auth, _ in auth.passwordHash(of: subject) }
    let check = SlowWork.run { [hasher] in
      AuthState.checkPassword(password, storedHash: stored, hasher: hasher)
    }
    let (token, digest) = Token.make()
    let grant = try commit { auth, _, tx in
      let now = Self.now(tx)
      var outcome = auth.login(
        subject, check: check, token: digest, now: now, configuration: configuration)
      // Expired sessions are ended by a login now and then, so they do not pile up in memory
      // (and in snapshots) when their holders never come back.
      if sweepDue(at: now) {
        // Bounded, so one login's batch stays small however many sessions expired.
        outcome.records += auth.sweepExpiredSessions(now: now, configuration: configuration)
          .prefix(10_000)
      }
      return outcome
    }
    return SessionGrant(token: token, principal: grant.principal, expiresAt: grant.expires)
  }

  /// The principal a session token belongs to.
  ///
  /// - Parameter recordActivity: journal the session's activity (at most once a minute), which
  ///   keeps its idle timeout from running out; read-only callers pass `false` and never write.
  /// - Throws: `authentication_failed` for an unknown, expired or ended session (an expired one
  ///   is ended when `recordActivity` is set).
  ///
  /// - Note: Blocks until the activity record is durable when `recordActivity` is set and one is
  ///   due (or an expired session is ended); otherwise it only reads memory, and waits until
  ///   what it read is durable.
  public func authenticate(token: String, recordActivity: Bool = true) throws(BankError)
    -> Principal
  {
    let digest = TokenDigest(token: token)
    // Read outside the lock: the closure below runs under it, and it is not reentrant.
    let clockNow = bank.configuration.clock.now()
    // Judged on a current read first: most uses have nothing to journal (activity is recorded
    // at most once per interval), and a commit that stores nothing would only queue behind the
    // writers (on PostgreSQL, wait for a turn to append) to decide the same under the same lock.
    // The time is the one a commit would judge at: the clock, or just after the newest record.
    let judged = try read { auth, state throws(BankError) in
      let last = state.lastTimestamp
      let now = Instant(nanoseconds: clockNow > last ? clockNow : last &+ 1)
      return auth.authenticate(digest, now: now, configuration: configuration)
    }
    if !recordActivity || judged.records.isEmpty { return try judged.result.get() }
    return try commit { auth, _, tx in
      auth.authenticate(digest, now: Self.now(tx), configuration: configuration)
    }
  }

  /// Ends a session.
  ///
  /// - Throws: `authentication_failed` for an unknown or ended session.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func logout(token: String) throws(BankError) {
    let digest = TokenDigest(token: token)
    _ = try commitRecords { auth, _, tx throws(BankError) in
      (try auth.logout(digest, now: Self.now(tx)), ())
    }
  }

  /// Ends every session of the principal the token belongs to (`logout --all`): a customer or
  /// staff member who fears a session was stolen ends them all from any one.
  ///
  /// - Returns: how many sessions ended.
  /// - Throws: `authentication_failed` for an unknown or ended session.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func logoutAll(token: String) throws(BankError) -> Int {
    let digest = TokenDigest(token: token)
    return try commit { auth, _, tx throws(BankError) -> AuthOutcome<Int> in
      let now = Self.now(tx)
      // Only a live session speaks for its holder: an expired one (ended here, as any use of it
      // ends it) cannot end the others.
      let checked = auth.authenticate(digest, now: now, configuration: configuration)
      if case .failure(let refused) = checked.result {
        return AuthOutcome(records: checked.records, result: .failure(refused))
      }
      let subject = try auth.sessionSubject(digest)
      let records = auth.endSessions(of: subject, reason: .logout, now: now)
      return AuthOutcome(records: records, result: .success(records.count))
    }
  }

  /// Ends every session of a customer or a staff member (managers and the operator), as when a
  /// device is reported stolen.
  ///
  /// - Returns: how many sessions ended (0 when there were none).
  /// - Throws: `permission_denied`, `customer_not_found`, `staff_not_found`,
  ///   `invalid_argument` (neither or both named).
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func revokeSessions(
    customer: CustomerID? = nil, staff: String? = nil, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> Int {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Int in
      try requirePermission(.revokeSessions, for: principal, ownsTarget: false)
      let subject: Subject
      switch (customer, staff) {
      case (let c?, nil): subject = .customer(c)
      case (nil, let s?): subject = .staff(s)
      default: throw BankError(.invalidArgument, "name a customer or a staff member, not both")
      }
      let op = OperationKey(
        key, principal: principal, command: "session revoke",
        arguments: [("principal", customer?.description ?? "staff " + (staff ?? ""))])
      return try commitRecords { auth, state, tx throws(BankError) in
        if let done = try op.replayed(in: auth, &state, &tx) { return ([], Int(done) ?? 0) }
        guard auth.principal(for: subject) != nil else { throw AuthState.noSubject(subject) }
        let records = auth.endSessions(of: subject, reason: .revoked, now: Self.now(tx))
        return (
          records + op.records(result: String(records.count), now: Self.now(tx)), records.count
        )
      }

    }
  }

  /// Lifts a login lockout (managers and the operator).
  ///
  /// - Throws: `permission_denied`, `customer_not_found`/`staff_not_found`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func liftLockout(
    customer: CustomerID? = nil, staff: String? = nil, as principal: Principal
  )
    throws(BankError)
  {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Void in
      let subject: Subject
      if let customer {
        subject = .customer(customer)
      } else if let staff {
        subject = .staff(staff)
      } else {
        throw BankError(.invalidArgument, "name a customer or a staff member")
      }
      _ = try commitRecords { auth, _, tx throws(BankError) in
        (try auth.liftLockout(subject, by: principal, now: Self.now(tx)), ())
      }

    }
  }

  // MARK: Passwords

  /// Issues a one-time reset token when the account number, email and phone all match one
  /// customer. The same refusal, after the same work, whichever is wrong.
  ///
  /// - Throws: `authentication_failed`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func forgotPassword(account: AccountNumber, email: String, phone: String)
    throws(BankError) -> ResetGrant
  {
    let (token, digest) = Token.make()
    let expires = try commitRecords { auth, state, tx throws(BankError) in
      let id = try? state.ledger.id(of: account)
      let (records, expires) = try auth.forgotPassword(
        account: id, email: email, phone: phone, token: digest, now: Self.now(tx),
        configuration: configuration)
      return (records, expires)
    }
    return ResetGrant(token: token, expiresAt: expires)
  }

  /// Sets a new password with a reset token (once, within its lifetime) and ends the
  /// principal's sessions.
  ///
  /// - Throws: `authentication_failed` for an unknown, used or expired token; `weak_password`.
  ///
  /// With `key`, a retry after the reset committed (whose token is then used up) replays its
  /// success instead of failing; the key's namespace is the token's (a reset acts for nobody).
  ///
  /// - Note: Blocks the calling thread while it hashes the password (PBKDF2, about a second in a
  ///   debug build) and until its records are durable; from Swift concurrency, use `perform`.
  public func resetPassword(token: String, newPassword: String, key: IdempotencyKey? = nil)
    throws(BankError)
  {
    let digest = TokenDigest(token: token)
    let now = max(Instant(nanoseconds: bank.configuration.clock.now()), bank.lastRecordedTime)
    // The namespace is the token's: a reset acts for nobody until the token names someone.
    let op = OperationKey(
      key,
      scope: "reset."
        + digest.bytes.prefix(16).map {
          String($0 >> 4, radix: 16) + String($0 & 15, radix: 16)
        }.joined(),
      command: "password reset", arguments: [])
    // A replay needs no live token: the reset being retried used it up.
    if let op, try read({ auth, _ throws(BankError) in try op.replayed(in: auth) }) != nil {
      return
    }
    let personal = try read { auth, _ throws(BankError) in
      auth.personalData(of: try auth.subject(forResetToken: digest, now: now))
    }
    try policy.check(newPassword, personal: personal)
    let hash = SlowWork.run { [hasher] in hasher.hash(newPassword) }
    _ = try commitRecords { auth, state, tx throws(BankError) in
      if try op.replayed(in: auth, &state, &tx) != nil { return ([], ()) }
      let now = Self.now(tx)
      return (
        try auth.resetPassword(token: digest, newPasswordHash: hash, now: now)
          + op.records(result: "", now: now), ()
      )
    }
  }

  // MARK: Cards and PINs

  /// Issues a card linked to some of a customer's accounts.
  ///
  /// - Throws: `permission_denied`, `customer_not_found`, `account_not_found`, `account_closed`,
  ///   `invalid_argument` (no accounts, an account the customer does not own).
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func issueCard(
    customer: CustomerID, accounts: [AccountNumber], key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> IssuedCard {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> IssuedCard in
      try requirePermission(.issueCard, for: principal, ownsTarget: false)
      try Self.validateCardAccounts(accounts)
      let op = OperationKey(
        key, principal: principal, command: "card issue",
        arguments: [
          ("customer", customer.description),
          ("account list", accounts.map(\.description).joined(separator: ",")),
        ])
      var system = SystemRandomNumberGenerator()
      let candidate = system.next()
      let (pan, replayed) = try commitRecords {
        auth, state, tx throws(BankError) -> ([AuthRecord], (PAN, Bool)) in
        if let done = try op.replayed(in: auth, &state, &tx) {
          return ([], (try PAN(parsing: done), true))
        }
        var ids: [AccountID] = []
        for n in accounts {
          let id = try state.ledger.id(of: n)
          if state.ledger.bal[id.index].status == .closed {
            throw BankError(.accountClosed, "account \(n) is closed; a card cannot use it")
          }
          ids.append(id)
        }
        // Named by its number, as the caller gave it (the core knows only internal IDs).
        if auth.customers[customer] != nil,
          let (n, _) = zip(accounts, ids).first(where: { auth.accountOwner[$0.1] != customer })
        {
          throw BankError(.invalidArgument, "account \(n) does not belong to customer \(customer)")
        }
        let (pan, records) = try auth.issueCard(
          customer: customer, accounts: ids, candidate: candidate, now: Self.now(tx),
          configuration: configuration)
        return (records + op.records(result: pan.digits, now: Self.now(tx)), (pan, false))
      }
      let card = try read { auth, state throws(BankError) in
        guard var c = auth.card(pan) else { throw AuthState.noCard(pan) }
        if replayed {
          // As issued: a retry prints what the issue printed.
          c.status = .active
          c.hasPIN = false
          c.failedPINAttempts = 0
        }
        return Card(c, ledger: state.ledger)
      }
      return IssuedCard(pan: pan.digits, card: card)

    }
  }

  /// A card's accounts, checked on their own: at least one, none twice.
  ///
  /// - Throws: `invalid_argument`.
  public static func validateCardAccounts(_ accounts: [AccountNumber]) throws(BankError) {
    guard !accounts.isEmpty else {
      throw BankError(.invalidArgument, "a card needs at least one account")
    }
    var seen: Set<AccountNumber> = []
    for a in accounts where !seen.insert(a).inserted {
      throw BankError(.invalidArgument, "account \(a) is listed twice")
    }
  }

  /// A card, if the principal may see it (its holder, staff who look up accounts, the
  /// operator).
  ///
  /// - Throws: `card_not_found`, `permission_denied`.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func card(_ pan: String, as principal: Principal) throws(BankError) -> Card {
    let pan = try PAN(parsing: pan)
    return try read { auth, state throws(BankError) in
      Card(
        try Self.card(pan, in: auth, as: principal, verb: "read", staffAction: "look up cards"),
        ledger: state.ledger)
    }
  }

  /// The card a principal acts on. A customer is refused with one answer whether the card is
  /// another customer's or does not exist at all, so that a customer's session cannot learn
  /// which cards exist; staff who issue cards (and the operator) learn that a card does not
  /// exist.
  ///
  /// - Throws: `permission_denied` (naming what was refused), `card_not_found` (staff).
  static func card(
    _ pan: PAN, in auth: AuthState, as principal: Principal, verb: String, staffAction: String
  ) throws(BankError) -> StoredCard {
    if case .customer(let id) = principal {
      guard let c = auth.card(pan), c.customer == id else {
        throw BankError(.permissionDenied, "a customer may only \(verb) their own cards")
      }
      return c
    }
    try requirePermission(.issueCard, for: principal, ownsTarget: false, action: staffAction)
    guard let c = auth.card(pan) else { throw AuthState.noCard(pan) }
    return c
  }

  func pinCode(_ pin: String, _ pan: PAN) throws(BankError) -> [UInt8] {
    try PINHasher.validate(pin)
    guard let pepper else {
      throw BankError(
        .ioError, "no PIN key (pepper) is loaded; PIN operations need the store's key file")
    }
    return PINHasher(pepper: pepper).code(pin: pin, pan: pan)
  }

  /// Sets a card's PIN (4 to 12 digits): its holder, or staff who issue cards.
  ///
  /// - Throws: `card_not_found`, `permission_denied`, `invalid_argument`, `card_blocked`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func setPIN(
    pan: String, pin: String, key: IdempotencyKey? = nil, as principal: Principal
  )
    throws(BankError) -> Card
  {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Card in
      let pan = try PAN(parsing: pan)
      let code = try pinCode(pin, pan)
      let op = OperationKey(
        key, principal: principal, command: "card set-pin", arguments: [("card", pan.digits)])
      let done = try commitRecords { auth, state, tx throws(BankError) -> ([AuthRecord], String?) in
        if let done = try op.replayed(in: auth, &state, &tx) { return ([], done) }
        let c = try Self.card(
          pan, in: auth, as: principal, verb: "set the PIN of", staffAction: "set PINs")
        // A customer sets only a first PIN: replacing one takes `changePIN`, with the old PIN and
        // its three-try limit, so that a stolen session cannot take over a card.
        if case .customer = principal, c.hasPIN {
          throw BankError(
            .permissionDenied,
            "card \(c.pan) already has a PIN: a customer changes it with change-pin, giving the old PIN"
          )
        }
        let records = try auth.setPIN(pan, code: code, now: Self.now(tx))
        return (records + Self.cardRecords(op, pan, auth, records, now: Self.now(tx)), nil)
      }
      return try card(pan, asLeftBy: done)

    }
  }

  /// The record of a keyed card command, holding the card's status and PIN as it left them.
  static func cardRecords(
    _ op: OperationKey?, _ pan: PAN, _ auth: AuthState, _ records: [AuthRecord], now: Instant
  ) -> [AuthRecord] {
    guard let op else { return [] }
    var after = auth
    for r in records { _ = after.applyChecked(r) }
    let c = after.card(pan)
    return [op.record(result: "\(c?.status.rawValue ?? 1) \(c?.hasPIN == true ? 1 : 0)", now: now)]
  }

  /// The card now, or as a keyed command left it (`result`, on a replay).
  func card(_ pan: PAN, asLeftBy result: String?) throws(BankError) -> Card {
    try read { auth, state throws(BankError) in
      guard var c = auth.card(pan) else { throw AuthState.noCard(pan) }
      if let parts = result?.split(separator: " "), parts.count == 2,
        let raw = UInt8(parts[0]), let status = CardStatus(rawValue: raw)
      {
        c.status = status
        c.hasPIN = parts[1] == "1"
      }
      return Card(c, ledger: state.ledger)
    }
  }

  /// Changes a PIN: the old one must be right (a wrong one counts towards the block).
  ///
  /// - Throws: `authentication_failed` with the tries left, `card_blocked`, `card_retained`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func changePIN(
    pan: String, oldPIN: String, newPIN: String, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> Card {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Card in
      let pan = try PAN(parsing: pan)
      let old = try pinCode(oldPIN, pan)
      let new = try pinCode(newPIN, pan)
      let op = OperationKey(
        key, principal: principal, command: "card change-pin", arguments: [("card", pan.digits)])
      let done = try commit { auth, state, tx throws(BankError) -> AuthOutcome<String?> in
        _ = try Self.card(
          pan, in: auth, as: principal, verb: "change the PIN of", staffAction: "change PINs")
        // A retry after the change committed: the old PIN is no longer the card's, so it is not
        // checked again.
        if let done = try op.replayed(in: auth, &state, &tx) {
          return AuthOutcome(records: [], result: .success(done))
        }
        let outcome = auth.changePIN(
          pan, oldCode: old, newCode: new, now: Self.now(tx), atTerminal: false,
          configuration: configuration)
        if case .success = outcome.result {
          return AuthOutcome(
            records: outcome.records
              + Self.cardRecords(op, pan, auth, outcome.records, now: Self.now(tx)),
            result: .success(nil))
        }
        return AuthOutcome(records: outcome.records, result: outcome.result.map { nil })
      }
      return try card(pan, asLeftBy: done)

    }
  }

  /// Checks a PIN: a correct one resets the try counter; the third wrong one in a row blocks
  /// the card (retains it at a terminal).
  ///
  /// - Throws: `authentication_failed` (naming the tries left), `card_blocked`,
  ///   `card_retained`, `card_expired`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func verifyPIN(pan: String, pin: String, atTerminal: Bool = false) throws(BankError) {
    let pan = try PAN(parsing: pan)
    let code = try pinCode(pin, pan)
    try commit { auth, _, tx in
      auth.verifyPIN(
        pan, code: code, now: Self.now(tx), atTerminal: atTerminal, configuration: configuration)
    }
  }

  /// Blocks a card (lost or stolen): its holder or staff.
  ///
  /// - Throws: `card_not_found`, `permission_denied`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func blockCard(
    pan: String, key: IdempotencyKey? = nil, as principal: Principal
  ) throws(BankError) -> Card {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Card in
      let parsed = try PAN(parsing: pan)
      let op = OperationKey(
        key, principal: principal, command: "card block", arguments: [("card", parsed.digits)])
      let done = try commitRecords { auth, state, tx throws(BankError) -> ([AuthRecord], String?) in
        let records = try auth.blockCard(parsed, reason: .lost, by: principal, now: Self.now(tx))
        if let done = try op.replayed(in: auth, &state, &tx) { return ([], done) }
        return (records + Self.cardRecords(op, parsed, auth, records, now: Self.now(tx)), nil)
      }
      return try card(parsed, asLeftBy: done)

    }
  }

  /// Unblocks a blocked or retained card and resets its PIN tries (managers and the operator).
  ///
  /// - Throws: `card_not_found`, `permission_denied`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  public func unblockCard(
    pan: String, key: IdempotencyKey? = nil, as principal: Principal
  ) throws(BankError) -> Card {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Card in
      let parsed = try PAN(parsing: pan)
      try requirePermission(.unblockCard, for: principal, ownsTarget: false)
      let op = OperationKey(
        key, principal: principal, command: "card unblock", arguments: [("card", parsed.digits)])
      let done = try commitRecords { auth, state, tx throws(BankError) -> ([AuthRecord], String?) in
        let records = try auth.unblockCard(parsed, by: principal, now: Self.now(tx))
        if let done = try op.replayed(in: auth, &state, &tx) { return ([], done) }
        return (records + Self.cardRecords(op, parsed, auth, records, now: Self.now(tx)), nil)
      }
      return try card(parsed, asLeftBy: done)

    }
  }
}

extension Authenticator {
  /// How many sessions are open now (not expired, not logged out): for a service's metrics.
  ///
  /// - Note: Reads the store as it is (catching up with other writers).
  public func openSessionCount() throws(BankError) -> Int {
    let now = Instant(nanoseconds: bank.configuration.clock.now())
    return try read { a, _ throws(BankError) in
      a.sessions.values.reduce(0) { $0 + ($1.expires > now ? 1 : 0) }
    }
  }
}
