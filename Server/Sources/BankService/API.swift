import BankCore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The REST API of DESIGN.md 6 over one bank: every handler runs the library's blocking calls on
/// threads of their own (`perform`), never on the cooperative pool.
public final class BankAPI: Sendable {
  /// The bank served.
  public let bank: Bank
  /// Sessions, customers, staff and the permission matrix.
  public let auth: Authenticator
  /// Statements and the other products.
  public let products: Products
  /// The ATM fleet: terminals, events, the host routes' sessions.
  public let fleet: ATMFleet
  let limiter = RateLimiter()
  /// The metrics `GET /metrics` reports.
  public let metrics: ServiceMetrics
  /// Whether the service is served over TLS: PINs are accepted only then, or from loopback.
  public let tls: Bool
  let startSyncs: UInt64
  /// How often an event stream writes a comment when no event comes.
  static let heartbeat: Duration = .seconds(15)

  /// The API over `authenticator`'s bank, reporting to `metrics`; `tls` says whether it is
  /// served over HTTPS (PINs are then accepted from any address, else from loopback only).
  public init(
    authenticator: Authenticator, metrics: ServiceMetrics = ServiceMetrics(), tls: Bool = false
  ) {
    self.metrics = metrics
    self.tls = tls
    self.startSyncs = authenticator.bank.journalSyncs ?? 0
    self.bank = authenticator.bank
    self.auth = authenticator
    self.products = Products(authenticator: authenticator)
    self.fleet = ATMFleet(authenticator: authenticator)
  }

  // MARK: Plumbing

  /// Runs a handler, turning every failure into DESIGN.md's error body and status.
  func handle(_ body: () async throws -> Response) async -> Response {
    do {
      return try await body()
    } catch let e as ServiceError {
      return e.response()
    } catch let e as BankError {
      return ServiceError(e).response()
    } catch {
      return ServiceError(.internalServerError, "internal", "the request could not be served")
        .response()
    }
  }

  /// The token of `Authorization: Bearer TOKEN`, checked for shape only.
  func bearerToken(_ request: Request) throws -> String {
    guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
      throw ServiceError.unauthorized
    }
    let token = String(header.dropFirst("Bearer ".count))
    guard !token.isEmpty, token.count <= 256 else { throw ServiceError.unauthorized }
    return token
  }

  /// The principal `token` names, in a blocking call already made (``asPrincipal(_:_:)``).
  static func authenticate(_ a: Authenticator, token: String) throws -> Principal {
    do throws(BankError) {
      return try a.authenticate(token: token)
    } catch  where error.code == .authenticationFailed {
      throw ServiceError.unauthorized
    }
  }

  /// A write route's work in one blocking call: the caller's principal (from `request`'s bearer
  /// token), then `body` with it. A request that commits makes one hop off the event loop, not
  /// one for the session, one for the amount's currency and one for the command. Errors come in
  /// the order of the separate calls: 401 first, then those `body` throws in its own order (a
  /// route reads its request body first and rethrows the body's error inside `body`).
  func asPrincipal<R: Sendable>(
    _ request: Request, _ body: @escaping @Sendable (Authenticator, Principal) throws -> R
  ) async throws -> R {
    let token = try bearerToken(request)
    return try await auth.perform { a in try body(a, try Self.authenticate(a, token: token)) }
  }

  /// An amount in the currency of account `number`, in a blocking call already made; an account
  /// the caller may not see is refused later, by the command.
  static func amount(_ text: String, of number: AccountNumber, in a: Authenticator) throws
    -> Amount
  {
    let currency = (try? a.ledger.account(number))?.currency ?? .usd
    return try Amount(parsing: text, currency: currency)
  }

  /// A part of a request read before a route's blocking call (``asPrincipal(_:_:)``), or the
  /// error its reading threw, which the call rethrows where the routes' order of checks puts it.
  struct EarlyRead<T: Sendable>: @unchecked Sendable {
    // Unchecked: the errors held are the service's and the bank's, which are Sendable values.
    private let result: Result<T, any Error>
    init(_ read: () throws -> T) { result = Result(catching: read) }
    init(awaiting read: () async throws -> T) async {
      do { result = .success(try await read()) } catch { result = .failure(error) }
    }
    func get() throws -> T { try result.get() }
  }

  /// The acting principal from `Authorization: Bearer TOKEN`.
  func principal(_ request: Request) async throws -> Principal {
    let token = try bearerToken(request)
    let result: Result<Principal, BankError> = await {
      do throws(BankError) {
        return .success(
          try await auth.perform { a throws(BankError) in try a.authenticate(token: token) })
      } catch {
        return .failure(error)
      }
    }()
    switch result {
    case .success(let p): return p
    case .failure(let e) where e.code == .authenticationFailed: throw ServiceError.unauthorized
    case .failure(let e): throw e
    }
  }

  /// The `Idempotency-Key` header, validated as `--id` is.
  func key(_ request: Request) throws -> IdempotencyKey? {
    guard
      let text = request.headers.first(where: {
        $0.name.canonicalName == "idempotency-key"
      })?.value
    else { return nil }
    return try IdempotencyKey(text)
  }

  func accountNumber(_ context: BankRequestContext) throws -> AccountNumber {
    try AccountNumber(parsing: context.parameters.get("number") ?? "")
  }

  // MARK: Routes

  /// Every route of the API on `router`.
  public func register(on router: Router<BankRequestContext>) {
    registerRoutes(on: router)
    registerTerminalRoutes(on: router)
    router.get("/metrics") { [self] _, _ in
      var headers = HTTPFields()
      headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
      let text = await metrics.render(bank: bank, auth: auth, startSyncs: startSyncs)
      return Response(
        status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
    router.get("/healthz") { _, _ in Reply.json(.object([("ok", .bool(true))])) }
    router.get("/openapi.yaml") { _, _ in
      var headers = HTTPFields()
      headers[.contentType] = "application/yaml"
      return Response(
        status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPI.yaml)))
    }
    router.get("/readyz") { [self] _, _ in
      await handle {
        _ = try await auth.perform { a throws(BankError) in try a.ledger.accounts().count }
        return Reply.json(.object([("ok", .bool(true))]))
      }
    }
    router.post("/v1/sessions") { [self] request, context in
      var request = request
      return await handle { try await login(&request, context) }
    }
    router.delete("/v1/sessions/current") { [self] request, _ in
      await handle {
        _ = try await principal(request)
        let token = String((request.headers[.authorization] ?? "").dropFirst("Bearer ".count))
        try await auth.perform { a throws(BankError) in try a.logout(token: token) }
        return Reply.json(.object([("ok", .bool(true))]))
      }
    }
    router.get("/v1/accounts/:number") { [self] request, context in
      await handle {
        let who = try await principal(request)
        let number = try accountNumber(context)
        let account = try await auth.perform { a throws(BankError) in
          try a.account(number, as: who)
        }
        return try Reply.encoding(account)
      }
    }
    router.get("/v1/accounts/:number/history") { [self] request, context in
      await handle {
        let who = try await principal(request)
        let number = try accountNumber(context)
        var limit: Int?
        if let l = request.uri.queryParameters.get("limit") {
          guard let n = Int(l), (1...1_000).contains(n) else {
            throw ServiceError.badRequest("limit must be a whole number from 1 to 1000")
          }
          limit = n
        }
        var before: HistoryCursor?
        if let c = request.uri.queryParameters.get("before") {
          guard let cursor = HistoryCursor(c) else {
            throw ServiceError.badRequest("before must be the cursor a page returned as next")
          }
          before = cursor
        }
        let want = (limit ?? 50) + 1
        let cursor = before
        var entries = try await auth.perform { a throws(BankError) in
          try a.history(of: number, limit: want, before: cursor, as: who)
        }
        var next: HistoryCursor?
        if entries.count == want {
          entries.removeLast()
          next = entries.last?.cursor
        }
        let items = try entries.map { e in
          String(decoding: try Reply.encoder.encode(e), as: UTF8.self)
        }
        return Reply.json(
          "{\"account\":\"\(number)\",\"entries\":[\(items.joined(separator: ","))],\"next\":"
            + (next.map { "\"\($0)\"" } ?? "null") + "}")
      }
    }
    for (path, deposit) in [("deposits", true), ("withdrawals", false)] {
      router.post(RouterPath("/v1/accounts/:number/\(path)")) { [self] request, context in
        var request = request
        return await handle {
          _ = try bearerToken(request)
          let number = EarlyRead { try accountNumber(context) }
          let body = await EarlyRead(awaiting: {
            try await Body.read(&request, allowed: ["amount", "memo"], required: ["amount"])
          })
          let k = EarlyRead { try key(request) }
          let receipt = try await asPrincipal(request) { a, who in
            let number = try number.get()
            let body = try body.get()
            let amount = try Self.amount(try body.requiredString("amount"), of: number, in: a)
            let memo = try body.string("memo") ?? ""
            let key = try k.get()
            return deposit
              ? try a.deposit(amount, to: number, key: key, memo: memo, as: who)
              : try a.withdraw(amount, from: number, key: key, memo: memo, as: who)
          }
          return try Reply.encoding(receipt, status: receipt.replayed ? .ok : .created)
        }
      }
    }
    router.post("/v1/transfers") { [self] request, _ in
      var request = request
      return await handle {
        _ = try bearerToken(request)
        let body = await EarlyRead(awaiting: {
          try await Body.read(
            &request, allowed: ["from", "to", "amount", "memo"],
            required: ["from", "to", "amount"])
        })
        let k = EarlyRead { try key(request) }
        let receipt = try await asPrincipal(request) { a, who in
          let body = try body.get()
          let from = try AccountNumber(parsing: try body.requiredString("from"))
          let to = try AccountNumber(parsing: try body.requiredString("to"))
          let amount = try Self.amount(try body.requiredString("amount"), of: from, in: a)
          let memo = try body.string("memo") ?? ""
          let key = try k.get()
          return try a.transfer(amount, from: from, to: to, key: key, memo: memo, as: who)
        }
        return try Reply.encoding(receipt, status: receipt.replayed ? .ok : .created)
      }
    }
    router.get("/v1/customers/:id") { [self] request, context in
      await handle {
        let who = try await principal(request)
        let id = try CustomerID(parsing: context.parameters.get("id") ?? "")
        let customer = try await auth.perform { a throws(BankError) in
          try a.customer(id, as: who)
        }
        return try Reply.encoding(customer)
      }
    }
    router.get("/v1/accounts/:number/statement") { [self] request, context in
      await handle {
        let who = try await principal(request)
        let number = try accountNumber(context)
        guard let m = request.uri.queryParameters.get("month") else {
          throw ServiceError.badRequest("missing query parameter month=YYYY-MM")
        }
        let month = try YearMonth(parsing: m)
        let from = try Day(parsing: month.firstDay.description)
        let to = try Day(parsing: month.lastDay.description)
        let statement = try await products.perform { p throws(BankError) in
          try p.statement(of: number, from: from, to: to, as: who)
        }
        return try Reply.encoding(statement)
      }
    }
    router.get("/v1/events") { [self] request, _ in
      await handle {
        let who = try await principal(request)
        // Resumable: Last-Event-ID (or ?since=) is the sequence of the last event seen.
        let lastID =
          request.headers.first(where: { $0.name.canonicalName == "last-event-id" })?.value
          ?? request.uri.queryParameters.get("since").map { String($0) }
        var after: UInt64 = 0
        if let lastID {
          guard let n = UInt64(lastID) else {
            throw ServiceError.badRequest(
              "Last-Event-ID (or since) must be the sequence number of the last event seen")
          }
          after = n
        }
        let stream = try fleet.eventStream(after: after, as: who)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(
          status: .ok, headers: headers,
          body: ResponseBody { writer in
            // Events and, every 15 seconds, a comment: a client that went away is found at the
            // next write, and a graceful shutdown ends the stream instead of waiting for it.
            let (lines, feed) = AsyncStream.makeStream(of: String.self)
            let events = Task {
              do {
                for try await event in stream {
                  let data = String(decoding: try Reply.encoder.encode(event), as: UTF8.self)
                  feed.yield("id: \(event.sequence)\nevent: \(event.type)\ndata: \(data)\n\n")
                }
              } catch {}
              feed.finish()
            }
            let heartbeat = Task {
              while !Task.isCancelled {
                try? await Task.sleep(for: Self.heartbeat)
                feed.yield(": ping\n\n")
              }
            }
            defer {
              events.cancel()
              heartbeat.cancel()
            }
            try await writer.write(ByteBuffer(string: ": bankd events\n\n"))
            try await withGracefulShutdownHandler {
              for await line in lines {
                try await writer.write(ByteBuffer(string: line))
              }
            } onGracefulShutdown: {
              feed.finish()
            }
            try await writer.finish(nil)
          })
      }
    }
    router.get("/v1/atms") { [self] request, _ in
      await handle {
        let who = try await principal(request)
        let all = try await fleet.perform { f throws(BankError) in try f.statuses(as: who) }
        let items = try all.map { String(decoding: try Reply.encoder.encode($0), as: UTF8.self) }
        return Reply.json("{\"terminals\":[\(items.joined(separator: ","))]}")
      }
    }
    router.get("/v1/atms/:id") { [self] request, context in
      await handle {
        let who = try await principal(request)
        let id = context.parameters.get("id") ?? ""
        let status = try await fleet.perform { f throws(BankError) in
          try f.status(of: id, as: who)
        }
        return try Reply.encoding(status)
      }
    }
  }

  // MARK: Customers, accounts, passwords

  func registerRoutes(on router: Router<BankRequestContext>) {
    router.post("/v1/customers") { [self] request, _ in
      var request = request
      return await handle {
        let who = try await principal(request)
        let body = try await Body.read(
          &request,
          allowed: ["name", "email", "phone", "age", "gender", "type", "currency", "password"],
          required: ["name", "email", "phone", "age", "password"])
        guard let age = try body.int("age") else {
          throw ServiceError.badRequest("missing field 'age'")
        }
        let kind = try Self.customerKind(try body.string("type"))
        let currency = try Currency.named(try body.string("currency") ?? "USD")
        let registration = CustomerRegistration(
          name: try body.requiredString("name"), email: try body.requiredString("email"),
          phone: try body.requiredString("phone"), age: age, gender: try body.string("gender"),
          accountKind: kind, currency: currency)
        let password = try body.requiredString("password")
        let k = try key(request)
        let customer = try await auth.perform { a throws(BankError) in
          try a.registerCustomer(registration, password: password, key: k, as: who)
        }
        return try Reply.encoding(customer, status: .created)
      }
    }
    router.post("/v1/accounts") { [self] request, _ in
      var request = request
      return await handle {
        let who = try await principal(request)
        let body = try await Body.read(
          &request, allowed: ["name", "type", "currency", "overdraft", "customer"])
        let kind = try Self.customerKind(try body.string("type"))
        let currency = try Currency.named(try body.string("currency") ?? "USD")
        let overdraft = try body.string("overdraft").map { t throws(BankError) in
          try Amount(parsing: t, currency: currency)
        }
        let owner = try body.string("customer").map { t throws(BankError) in
          try CustomerID(parsing: t)
        }
        let k = try key(request)
        let name = try body.string("name")
        guard owner != nil || name != nil else {
          throw ServiceError.badRequest("give a name, or the customer who owns the account")
        }
        let account = try await auth.perform { a throws(BankError) in
          if let owner {
            var ownerName = name ?? ""
            if name == nil { ownerName = try a.customer(owner, as: who).name }
            let spec = AccountSpec(
              name: ownerName, kind: kind, currency: currency, overdraftLimit: overdraft)
            try spec.validate()
            return try a.openAccount(for: owner, spec: spec, key: k, as: who)
          }
          let spec = AccountSpec(
            name: name ?? "", kind: kind, currency: currency, overdraftLimit: overdraft)
          try spec.validate()
          return try a.open(spec, key: k, as: who)
        }
        return try Reply.encoding(account, status: .created)
      }
    }
    router.post("/v1/password/forgot") { [self] request, context in
      var request = request
      return await handle {
        let body = try await Body.read(
          &request, allowed: ["account", "email", "phone"], required: ["account", "email", "phone"])
        let account = try AccountNumber(parsing: try body.requiredString("account"))
        let keys = ["ip:" + context.clientAddress, "forgot:" + account.description]
        try refuseIfLimited(keys, "password resets")
        let email = try body.requiredString("email")
        let phone = try body.requiredString("phone")
        let grant: ResetGrant
        do {
          grant = try await auth.perform { a throws(BankError) in
            try a.forgotPassword(account: account, email: email, phone: phone)
          }
        } catch {
          limiter.fail(keys)
          throw error
        }
        return Reply.json(
          .object([
            ("reset_token", .string(grant.token)),
            ("expires_at", .string(grant.expiresAt.description)),
          ]))
      }
    }
    router.post("/v1/password/reset") { [self] request, context in
      var request = request
      return await handle {
        let body = try await Body.read(
          &request, allowed: ["token", "password"], required: ["token", "password"])
        let keys = ["ip:" + context.clientAddress]
        try refuseIfLimited(keys, "password resets")
        let token = try body.requiredString("token")
        let password = try body.requiredString("password")
        let k = try key(request)
        do {
          try await auth.perform { a throws(BankError) in
            try a.resetPassword(token: token, newPassword: password, key: k)
          }
        } catch {
          limiter.fail(keys)
          throw error
        }
        return Reply.json(.object([("ok", .bool(true))]))
      }
    }
  }

  static func customerKind(_ text: String?) throws -> AccountKind {
    switch text ?? "checking" {
    case "checking": return .checking
    case "savings": return .savings
    default: throw ServiceError.badRequest("type must be checking or savings")
    }
  }

  /// 429 with `Retry-After` when any of `keys` is over its failures.
  func refuseIfLimited(_ keys: [String], _ what: String) throws {
    if let wait = limiter.retryAfter(keys) {
      var e = ServiceError(
        .tooManyRequests, "too_many_attempts",
        "too many failed \(what); try again in \(wait) seconds")
      e.retryAfter = wait
      throw e
    }
  }

  // MARK: Sessions

  func login(_ request: inout Request, _ context: BankRequestContext) async throws -> Response {
    let body = try await Body.read(
      &request, allowed: ["customer", "staff", "password"], required: ["password"])
    let customer = try body.string("customer")
    let staff = try body.string("staff")
    guard (customer == nil) != (staff == nil) else {
      throw ServiceError.badRequest("give exactly one of customer and staff")
    }
    let password = try body.requiredString("password")
    let name = (customer ?? staff ?? "").lowercased()
    let keys = ["ip:" + context.clientAddress, "name:" + String(name.prefix(64))]
    try refuseIfLimited(keys, "logins")
    let attempt: Result<SessionGrant, BankError> = await {
      do throws(BankError) {
        let id = try customer.map { t throws(BankError) in try CustomerID(parsing: t) }
        return .success(
          try await auth.perform { a throws(BankError) in
            if let id { return try a.login(customer: id, password: password) }
            return try a.login(staff: staff ?? "", password: password)
          })
      } catch {
        return .failure(error)
      }
    }()
    let grant: SessionGrant
    switch attempt {
    case .success(let g): grant = g
    case .failure(let e):
      if e.code == .authenticationFailed || e.code == .invalidArgument { limiter.fail(keys) }
      throw e
    }
    let (who, role): (String, String) =
      switch grant.principal {
      case .customer(let c): (c.description, "customer")
      case .staff(let u, let r): (u, r.description)
      case .operator: ("operator", "operator")
      }
    return Reply.json(
      .object([
        ("session", .string(grant.token)), ("principal", .string(who)), ("role", .string(role)),
        ("expires_at", .string(grant.expiresAt.description)),
      ]), status: .created)
  }
}
