import BankCore
import Foundation

/// Whether a command needs the store's PIN key (`STORE.key`).
enum PINKey {
  /// Load it if it exists (PIN operations fail clearly without it).
  case ifPresent
  /// Load it, creating it (32 random bytes, mode 0600) if it does not exist.
  case create
}

/// The store opened for one command, and who is acting.
struct Acting {
  let ledger: Ledger
  let auth: Authenticator
  let principal: Principal

  /// Throws `permission_denied` unless the principal may do `operation` (on `account`).
  func require(_ operation: BankOperation, account: AccountNumber? = nil) throws {
    try auth.authorize(operation, as: principal, account: account)
  }
}

extension CommandContext {
  // MARK: Rendering

  func profileJSON(_ p: CustomerProfile, cards: Bool = false) -> JSON {
    var fields: [(String, JSON)] = [
      ("customer", .string(p.id.description)), ("name", .string(p.name)),
      ("email", .string(p.email)), ("phone", .string(p.phone)), ("age", .int(Int64(p.age))),
      ("gender", .string(p.gender ?? "")),
      ("accounts", .array(p.accounts.map { .string($0.description) })),
    ]
    if cards { fields.append(("cards", .array(p.cards.map { .string($0) }))) }
    return .object(fields)
  }

  func profileText(_ p: CustomerProfile, cards: Bool = false) -> String {
    var lines = [
      "Customer \(p.id): \(Validate.escaped(p.name, limit: nil))",
      "  email:    \(Validate.escaped(p.email, limit: nil))",
      "  phone:    \(p.phone)",
      "  age:      \(p.age)",
    ]
    if let g = p.gender, !g.isEmpty {
      lines.append("  gender:   \(Validate.escaped(g, limit: nil))")
    }
    lines.append("  accounts: \(p.accounts.map(\.description).joined(separator: ", "))")
    if cards {
      lines.append("  cards:    \(p.cards.isEmpty ? "(none)" : p.cards.joined(separator: ", "))")
    }
    return lines.joined(separator: "\n")
  }

  func cardJSON(_ card: Card, full: String? = nil, accounts: [AccountNumber]? = nil) -> JSON {
    var fields: [(String, JSON)] = [("card", .string(full ?? card.pan.masked))]
    if let accounts {
      fields.append(("customer", .string(card.customer.description)))
      fields.append(("accounts", .array(accounts.map { .string($0.description) })))
      fields.append(("expires", .string(card.expiry.description)))
    }
    fields.append(("status", .string(card.status.description)))
    return .object(fields)
  }

  // MARK: Parsing

  func customerID(_ text: String) throws -> CustomerID { try CustomerID(parsing: text) }

  /// `--type`: a customer's account is checking (the default) or savings.
  func customerAccountKind() throws -> AccountKind {
    let typeName = parsed.options["type"] ?? "checking"
    guard let kind = AccountKind(name: typeName), kind == .checking || kind == .savings else {
      throw BankError(
        .invalidArgument,
        "invalid --type '\(Validate.escaped(typeName))': expected checking or savings")
    }
    return kind
  }

  func requiredOption(_ name: String, _ command: String) throws -> String {
    guard let v = parsed.options[name] else {
      throw UsageError(message: "missing option '--\(name)'", command: command)
    }
    return v
  }

  func age(_ text: String) throws -> Int {
    guard text.count <= 3, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text) else {
      throw BankError(
        .invalidAge, "invalid age '\(Validate.escaped(text))': expected whole years from 18 to 130")
    }
    return n
  }

  // MARK: Customers

  func customerRegister() throws {
    let c = "customer register"
    let name = try requiredOption("name", c)
    let email = try requiredOption("email", c)
    let phone = try requiredOption("phone", c)
    let years = try age(try requiredOption("age", c))
    let kind = try customerAccountKind()
    let currency = try Currency.named(parsed.options["currency"] ?? "USD")
    let registration = CustomerRegistration(
      name: name, email: email, phone: phone, age: years, gender: parsed.options["gender"],
      accountKind: kind, currency: currency)
    let id = try key()
    let password = try secrets.read("password", confirm: true)
    // Refused input never creates or touches a store.
    try Authenticator.validate(registration, password: password, configuration: authConfiguration)
    let p = try withBank(create: true) { a in
      try a.auth.registerCustomer(registration, password: password, key: id, as: a.principal)
    }
    emit(profileJSON(p), human: "Registered customer \(p.id)\n" + profileText(p))
  }

  func customerUpdate() throws {
    let id = try customerID(parsed.positionals[0])
    let update = CustomerUpdate(
      name: parsed.options["name"], email: parsed.options["email"], phone: parsed.options["phone"],
      age: try parsed.options["age"].map(age), gender: parsed.options["gender"])
    // A customer changing their own email or phone gives their current password (on stdin):
    // who is acting is known only from the store, so it is resolved first, read-only.
    var password: String? = nil
    if session != nil, update.email != nil || update.phone != nil {
      let principal = try withBank(readOnly: true) { a in a.principal }
      if principal == .customer(id) { password = try secrets.read("current password") }
    }
    let k = try key()
    let p = try withBank { a in
      try a.auth.updateCustomer(id, update, currentPassword: password, key: k, as: a.principal)
    }
    emit(profileJSON(p), human: "Updated customer \(p.id)\n" + profileText(p))
  }

  func customerShow() throws {
    let id = try customerID(parsed.positionals[0])
    let withHistory = parsed.flags.contains("history")
    let (p, history) = try withBank(readOnly: true) { a in
      (
        try a.auth.customer(id, as: a.principal),
        withHistory ? try a.auth.detailsHistory(of: id, as: a.principal) : []
      )
    }
    guard withHistory else {
      emit(profileJSON(p, cards: true), human: profileText(p, cards: true))
      return
    }
    guard case .object(var fields) = profileJSON(p, cards: true) else { return }
    fields.append(
      (
        "history",
        .array(
          history.map { h in
            .object([
              ("time", .string(h.time.description)),
              ("by", .string(Self.principalName(h.by))),
              ("changes", .object(h.fields.map { ($0.0, .string($0.1)) })),
            ])
          })
      ))
    let lines = history.map { h in
      "  \(h.time)  by \(Validate.escaped(Self.principalName(h.by), limit: nil))  "
        + h.fields.map { "\($0.0)=\(Validate.escaped($0.1, limit: nil))" }
        .joined(separator: " ")
    }
    emit(
      .object(fields),
      human: profileText(p, cards: true) + "\nHistory of details, oldest first:\n"
        + lines.joined(separator: "\n"))
  }

  // MARK: Staff and sessions

  func staffAdd() throws {
    let c = "staff add"
    let username = try requiredOption("username", c)
    let name = try requiredOption("name", c)
    let roleName = try requiredOption("role", c)
    guard let role = Role(name: roleName) else {
      throw BankError(
        .invalidArgument,
        "invalid --role '\(Validate.escaped(roleName))': expected teller, manager or auditor")
    }
    let k = try key()
    let password = try secrets.read("password", confirm: true)
    try Authenticator.validateStaff(
      username: username, name: name, password: password, configuration: authConfiguration)
    let s = try withBank(create: true) { a in
      try a.auth.addStaff(
        username: username, name: name, role: role, password: password, key: k, as: a.principal)
    }
    emit(
      .object([
        ("staff", .string(s.username)), ("username", .string(s.username)),
        ("name", .string(s.name)), ("role", .string(s.role.description)),
      ]),
      human:
        "Added \(s.role) \(Validate.escaped(s.username, limit: nil)) (\(Validate.escaped(s.name, limit: nil)))"
    )
  }

  func login() throws {
    let customer = parsed.options["customer"]
    let staff = parsed.options["staff"]
    guard (customer == nil) != (staff == nil) else {
      throw UsageError(message: "give exactly one of --customer and --staff", command: "login")
    }
    let id = try customer.map(customerID)
    let password = try secrets.read("password")
    let grant = try withBank(forNobody: true) { a in
      if let id { return try a.auth.login(customer: id, password: password) }
      return try a.auth.login(staff: staff ?? "", password: password)
    }
    let (who, role): (String, String) =
      switch grant.principal {
      case .customer(let c): (c.description, "customer")
      case .staff(let u, let r): (u, r.description)
      case .operator: ("operator", "operator")
      }
    emit(
      .object([
        ("session", .string(grant.token)), ("principal", .string(who)), ("role", .string(role)),
        ("expires_at", .string(grant.expiresAt.description)),
      ]),
      human: """
        Logged in as \(role) \(Validate.escaped(who, limit: nil)) until \(grant.expiresAt)
          session: \(grant.token)
        Pass it with --session or $BANKCTL_SESSION; it is shown only this once.
        """)
  }

  func logout() throws {
    guard let token = session else {
      throw UsageError(message: "logout needs --session or $BANKCTL_SESSION", command: "logout")
    }
    if parsed.flags.contains("all") {
      let ended = try withBank(forNobody: true) { a in try a.auth.logoutAll(token: token) }
      emit(
        .object([("ok", .bool(true)), ("sessions_ended", .int(Int64(ended)))]),
        human: "Logged out of \(ended) session\(ended == 1 ? "" : "s")")
      return
    }
    try withBank { a in try a.auth.logout(token: token) }
    emit(.object([("ok", .bool(true))]), human: "Logged out")
  }

  func sessionRevoke() throws {
    let customer = try parsed.options["customer"].map(customerID)
    let staff = parsed.options["staff"]
    guard (customer == nil) != (staff == nil) else {
      throw UsageError(
        message: "give exactly one of --customer and --staff", command: "session revoke")
    }
    let k = try key()
    let ended = try withBank { a in
      try a.auth.revokeSessions(customer: customer, staff: staff, key: k, as: a.principal)
    }
    let who = customer?.description ?? staff ?? ""
    emit(
      .object([
        ("ok", .bool(true)), ("principal", .string(who)), ("sessions_ended", .int(Int64(ended))),
      ]),
      human:
        "Ended \(ended) session\(ended == 1 ? "" : "s") of \(Validate.escaped(who, limit: nil))")
  }

  /// `pin-key reset`: a new PIN key for a store whose key file was lost, after clearing every
  /// card's PIN in one batch (the records first, then the key: a crash between them leaves cards
  /// without PINs and no key, which the next card command creates; never a key under which old
  /// PINs would silently be wrong).
  func pinKeyReset() throws {
    let keyPath = storePath + ".key"
    let k = try key()
    let cleared = try withBank { a in
      try a.require(.resetPINKey)
      if let k, let n = try a.auth.hasCompleted(pinKeyReset: k, as: a.principal) {
        // A retry of a reset that committed: finish it (the key file may not exist yet).
        _ = try Authenticator.pepperKey(forStore: storePath, create: true)
        return n
      }
      if FileManager.default.fileExists(atPath: keyPath) {
        throw BankError(
          .invalidArgument,
          "the PIN key file \(Validate.escaped(keyPath, limit: nil)) exists: pin-key reset is for a store whose key was lost (move the file away first to make every PIN invalid on purpose)"
        )
      }
      let n = try a.auth.clearAllPINs(key: k, as: a.principal)
      _ = try Authenticator.pepperKey(forStore: storePath, create: true)
      return n
    }
    emit(
      .object([
        ("ok", .bool(true)), ("cards_cleared", .int(Int64(cleared))),
        ("key_file", .string(keyPath)),
      ]),
      human: """
        Created a new PIN key \(Validate.escaped(keyPath, limit: nil)) and cleared the PIN of \(cleared) card\(cleared == 1 ? "" : "s").
        Set each card's PIN again: card set-pin at the counter, or by its holder.
        """)
  }

  /// A principal as history prints it: a customer ID, a staff username, or `operator`.
  static func principalName(_ p: Principal) -> String {
    switch p {
    case .customer(let c): c.description
    case .staff(let u, _): u
    case .operator: "operator"
    }
  }

  // MARK: Passwords

  func passwordForgot() throws {
    let c = "password forgot"
    let number = try account(try requiredOption("account", c))
    let email = try requiredOption("email", c)
    let phone = try requiredOption("phone", c)
    let grant = try withBank(forNobody: true) { a in
      try a.auth.forgotPassword(account: number, email: email, phone: phone)
    }
    emit(
      .object([
        ("reset_token", .string(grant.token)), ("expires_at", .string(grant.expiresAt.description)),
      ]),
      human: """
        Reset token (valid once, until \(grant.expiresAt)): \(grant.token)
        Deliver it to the customer; 'bankctl password reset' reads it, then the new password, from stdin.
        """)
  }

  func passwordReset() throws {
    let k = try key()
    let token = try secrets.read("reset token")
    let password = try secrets.read("new password", confirm: true)
    try withBank(forNobody: true) { a in
      try a.auth.resetPassword(token: token, newPassword: password, key: k)
    }
    emit(
      .object([("ok", .bool(true))]), human: "Password changed; every session of the customer ended"
    )
  }

  // MARK: Cards

  func cardIssue() throws {
    let k = try key()
    let id = try customerID(try requiredOption("customer", "card issue"))
    let numbers = try parsed.repeated["account", default: []].map { t in try account(t) }
    guard !numbers.isEmpty else {
      throw UsageError(message: "missing option '--account'", command: "card issue")
    }
    // Checked before the store is opened, as every argument is.
    try Authenticator.validateCardAccounts(numbers)
    let issued = try withBank(pins: .create) { a in
      try a.auth.issueCard(customer: id, accounts: numbers, key: k, as: a.principal)
    }
    emit(
      cardJSON(issued.card, full: issued.pan, accounts: issued.accounts),
      human: """
        Issued card \(issued.pan) to customer \(id) (expires \(issued.card.expiry))
          accounts: \(issued.accounts.map(\.description).joined(separator: ", "))
        The full number is shown only here; set its PIN with 'bankctl card set-pin'.
        """)
  }

  func cardSetPIN(change: Bool) throws {
    let k = try key()
    let pan = parsed.positionals[0]
    let old = change ? try secrets.read("old PIN") : nil
    let pin = try secrets.read(change ? "new PIN" : "PIN", confirm: true)
    let card = try withBank(pins: .create) { a -> Card in
      if let old {
        return try a.auth.changePIN(pan: pan, oldPIN: old, newPIN: pin, key: k, as: a.principal)
      }
      return try a.auth.setPIN(pan: pan, pin: pin, key: k, as: a.principal)
    }
    emit(cardJSON(card), human: "PIN \(change ? "changed" : "set") for card \(card.pan.masked)")
  }

  func cardBlock(_ block: Bool) throws {
    let k = try key()
    let pan = parsed.positionals[0]
    let card = try withBank { a in
      block
        ? try a.auth.blockCard(pan: pan, key: k, as: a.principal)
        : try a.auth.unblockCard(pan: pan, key: k, as: a.principal)
    }
    emit(cardJSON(card), human: "Card \(card.pan.masked) is now \(card.status)")
  }
}
