import BankCore
import Foundation

// Customers, staff, sessions and passwords.

extension Commands {
  /// Customers, staff, sessions and passwords.
  static let people: [CommandSpec] = [
    CommandSpec(
      name: "customer register",
      valueOptions: ["name", "email", "phone", "age", "gender", "type", "currency", "id"],
      flagOptions: [], positionals: [],
      summary: "Register a customer and open their first account.",
      usage:
        "bankctl customer register --name <name> --email <email> --phone <phone> --age <years> [--gender <text>] [--type checking|savings] [--currency <code>] [--id <key>]  (password on stdin)",
      details: """
        OPTIONS:
          --name <name>           1 to 100 characters (400 bytes), not blank.
          --email <email>         Unique among customers (compared case-insensitively).
          --phone <phone>         E.164: + and 8 to 15 digits, e.g. +14155550101.
          --age <years>           18 to 130.
          --gender <text>         Optional, up to 32 characters.
          --type <type>           The first account: checking (default) or savings.
          --currency <code>       The first account's currency (default USD).

        SECRETS (stdin, one line each; prompted twice on a terminal): password.
        Creates the store if it does not exist. Tellers, managers and the operator.
        JSON: {"customer","name","email","phone","age","gender","accounts"}
        """,
      permission: .operation(.registerCustomer),
      run: { try $0.customerRegister() }),
    CommandSpec(
      name: "customer update", valueOptions: ["name", "email", "phone", "age", "gender", "id"],
      flagOptions: [], positionals: ["customer"], summary: "Change a customer's details.",
      usage:
        "bankctl customer update <customer> [--name <name>] [--email <email>] [--phone <phone>] [--age <years>] [--gender <text>] [--id <key>]",
      details: """
        ARGUMENTS:
          <customer>              The customer ID, e.g. C000001.

        OPTIONS:
          --name, --email, --phone, --age, --gender   As at registration; only those given change.

        SECRETS: a customer changing their own email or phone gives their current password.
        After a change of email or phone, password forgot is refused for 72 hours.
        JSON: {"customer","name","email","phone","age","gender","accounts"}
        """,
      permission: .operation(.updateCustomer),
      run: { try $0.customerUpdate() }),
    CommandSpec(
      name: "customer show", valueOptions: [], flagOptions: ["history"],
      positionals: ["customer"],
      summary: "Show a customer's details, accounts and cards.",
      usage: "bankctl customer show <customer> [--history]",
      details: """
        ARGUMENTS:
          <customer>              The customer ID, e.g. C000001.

        OPTIONS:
          --history               Add every recorded change of the details, with who made it.

        JSON: {"customer","name","email","phone","age","gender","accounts","cards"} (cards masked);
        with --history also "history":[{"time","by","changes"}].
        """,
      permission: .operation(.ownDetails),
      run: { try $0.customerShow() }),
    CommandSpec(
      name: "staff add", valueOptions: ["username", "name", "role", "id"], flagOptions: [],
      positionals: [], summary: "Add a staff member (operator only).",
      usage:
        "bankctl staff add --username <user> --name <name> --role teller|manager|auditor [--id <key>]  (password on stdin)",
      details: """
        OPTIONS:
          --username <user>       3 to 32 characters from a-z 0-9 . _ -
          --name <name>           1 to 100 characters.
          --role <role>           teller, manager or auditor.

        SECRETS (stdin): password. Operator only.
        JSON: {"staff","username","name","role"}
        """,
      permission: .operation(.addStaff),
      run: { try $0.staffAdd() }),
    CommandSpec(
      name: "login", valueOptions: ["customer", "staff"], flagOptions: [], positionals: [],
      summary: "Log in and print a session token.",
      usage: "bankctl login --customer <customer> | --staff <user>  (password on stdin)",
      details: """
        OPTIONS:
          --customer <customer>   Log in as a customer (C000001), or
          --staff <user>          as a staff member.

        SECRETS (stdin): password. Five wrong passwords lock logins for 15 minutes.
        JSON: {"session","principal","role","expires_at"}; the token is printed only this once.
        """,
      permission: .anyone,
      run: { try $0.login() }),
    CommandSpec(
      name: "logout", valueOptions: [], flagOptions: ["all"], positionals: [],
      summary: "End the session given with --session (with --all, every session of its holder).",
      usage: "bankctl --session <token> logout [--all]",
      details: """
        OPTIONS:
          --all                   End every session of the session's holder, not only this one.

        JSON: {"ok":true} (with --all also "sessions_ended").
        """,
      permission: .session,
      run: { try $0.logout() }),
    CommandSpec(
      name: "session revoke", valueOptions: ["customer", "staff", "id"], flagOptions: [],
      positionals: [], summary: "End every session of a customer or staff member (manager).",
      usage: "bankctl session revoke --customer <customer> | --staff <user> [--id <key>]",
      details: """
        OPTIONS:
          --customer <customer>   End every session of this customer, or
          --staff <user>          of this staff member.

        Managers and the operator. JSON: {"ok":true,"principal","sessions_ended"}
        """,
      permission: .operation(.revokeSessions),
      run: { try $0.sessionRevoke() }),
    CommandSpec(
      name: "password forgot", valueOptions: ["account", "email", "phone"], flagOptions: [],
      positionals: [], summary: "Issue a one-time password-reset token.",
      usage: "bankctl password forgot --account <account> --email <email> --phone <phone>",
      details: """
        OPTIONS:
          --account <account>     One of the customer's account numbers.
          --email <email>         The customer's email.
          --phone <phone>         The customer's phone.

        The same refusal whichever field is wrong, and within 72 hours of a contact change.
        JSON: {"reset_token","expires_at"}; the token is valid for 15 minutes.
        """,
      permission: .anyone,
      run: { try $0.passwordForgot() }),
    CommandSpec(
      name: "password reset", valueOptions: ["id"], flagOptions: [], positionals: [],
      summary: "Set a new password with a reset token.",
      usage: "bankctl password reset [--id <key>]  (reset token, then new password, on stdin)",
      details: """
        SECRETS (stdin, one line each): reset token, then new password.
        Ends every session of the customer. JSON: {"ok":true}
        """,
      permission: .anyone,
      run: { try $0.passwordReset() }),
  ]
}

extension CommandContext {
  /// What `customer register` and `customer update` print: the customer without `cards`.
  func profileJSON(_ p: Customer) -> JSON {
    guard case .object(let fields) = JSON.encoding(p) else { return .encoding(p) }
    return .object(fields.filter { $0.0 != "cards" })
  }

  func profileText(_ p: Customer, cards: Bool = false) -> String {
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
      emit(JSON.encoding(p), human: profileText(p, cards: true))
      return
    }
    guard case .object(var fields) = JSON.encoding(p) else { return }
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

  /// A principal as history prints it: a customer ID, a staff username, or `operator`.
  static func principalName(_ p: Principal) -> String {
    switch p {
    case .customer(let c): c.description
    case .staff(let u, _): u
    case .operator: "operator"
    }
  }

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

  func age(_ text: String) throws -> Int {
    guard text.count <= 3, text.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(text) else {
      throw BankError(
        .invalidAge, "invalid age '\(Validate.escaped(text))': expected whole years from 18 to 130")
    }
    return n
  }
}
