import BankCore
import Foundation
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// A real `bankd` process on loopback, driven over HTTP as a client drives it.
final class RunningServer: @unchecked Sendable {
  let process = Process()
  let base: URL
  let directory: String
  /// The ATM event socket's port.
  let eventPort: Int
  var store: String { directory + "/bank.journal" }

  /// Starts `bankd` on ephemeral ports over a store prepared by `prepare`.
  init(
    arguments: [String] = [], newStore: Bool = false,
    prepare: (Bank, Authenticator) throws -> Void = { _, _ in }
  ) throws {
    signal(SIGPIPE, SIG_IGN)
    directory = NSTemporaryDirectory() + "bankd-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let store = directory + "/bank.journal"
    if !newStore {
      let bank = try Bank(path: store)
      let auth = try Authenticator(
        bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000),
        pepper: try Authenticator.pepperKey(forStore: store, create: true))
      try prepare(bank, auth)
      bank.close()
    }
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("bankd")
    process.executableURL = executable
    process.arguments =
      ["--store", store, "--port", "0", "--event-port", "0", "--log-level", "error"] + arguments
    let out = Pipe()
    process.standardOutput = out
    // Not the test's own stderr: a server left running must never hold the runner's pipe open.
    _ = FileManager.default.createFile(atPath: directory + "/bankd.log", contents: nil)
    process.standardError = FileHandle(forWritingAtPath: directory + "/bankd.log")
    try process.run()
    // The first line names the port bound.
    var line = Data()
    let handle = out.fileHandleForReading
    // Two lines: the event socket's, then the HTTP server's.
    while String(decoding: line, as: UTF8.self).components(separatedBy: "\n").count < 3 {
      let chunk = handle.availableData
      if chunk.isEmpty { break }
      line += chunk
    }
    let lines = String(decoding: line, as: UTF8.self).split(separator: "\n")
    guard let http = lines.first(where: { $0.contains("listening on") }),
      let range = http.range(of: "://"),
      let url = URL(
        string: (http.contains("https") ? "https" : "http") + String(http[range.lowerBound...])),
      let events = lines.first(where: { $0.contains("events on tcp://") }),
      let port = events.split(separator: ":").last.flatMap({ Int($0) })
    else {
      process.terminate()
      throw CocoaError(.fileReadUnknown)
    }
    base = url
    eventPort = port
  }

  struct Reply {
    let status: Int
    let json: [String: Any]
    let headers: [String: String]
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
  }

  func call(
    _ method: String, _ path: String, body: String? = nil, token: String? = nil,
    headers: [String: String] = [:]
  ) async throws -> Reply {
    var request = URLRequest(url: URL(string: base.absoluteString + path) ?? base)
    request.httpMethod = method
    if let body {
      request.httpBody = Data(body.utf8)
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as? HTTPURLResponse
    var fields: [String: String] = [:]
    for (k, v) in http?.allHeaderFields ?? [:] { fields["\(k)".lowercased()] = "\(v)" }
    return Reply(
      status: http?.statusCode ?? 0,
      json: (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:],
      headers: fields)
  }

  deinit {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// SIGTERM, and the exit status (the store stays until this object goes).
  func stop() -> Int32 {
    process.terminate()
    process.waitUntilExit()
    return process.terminationStatus
  }
}

@Suite(.serialized) struct ServerTests {
  static let password = "quiet harbour lantern 77"

  func server() throws -> (RunningServer, customer: String, account: String, other: String) {
    var ids: (String, String, String) = ("", "", "")
    let s = try RunningServer { bank, auth in
      let c = try auth.registerCustomer(
        CustomerRegistration(
          name: "Asha Rao", email: "asha@example.org", phone: "+14155550100", age: 40),
        password: Self.password, as: .operator)
      try bank.ledger.deposit(Amount(parsing: "100.00", currency: .usd), to: c.accounts[0])
      let d = try auth.registerCustomer(
        CustomerRegistration(
          name: "Ben Okafor", email: "ben@example.org", phone: "+14155550101", age: 41),
        password: Self.password, as: .operator)
      ids = (c.id.description, c.accounts[0].description, d.accounts[0].description)
    }
    return (s, ids.0, ids.1, ids.2)
  }

  @Test func aCustomerLogsInReadsAndMovesMoney() async throws {
    let (s, customer, account, other) = try server()
    let login = try await s.call(
      "POST", "/v1/sessions",
      body: "{\"customer\":\"\(customer)\",\"password\":\"\(Self.password)\"}")
    #expect(login.status == 201)
    let token = try #require(login.json["session"] as? String)
    let balance = try await s.call("GET", "/v1/accounts/\(account)", token: token)
    #expect(balance.status == 200 && balance.json["balance"] as? String == "100.00")
    #expect(try await s.call("GET", "/v1/accounts/\(account)").status == 401)
    // Another customer's account: 403, as for one that does not exist.
    #expect(try await s.call("GET", "/v1/accounts/\(other)", token: token).status == 403)
    #expect(try await s.call("GET", "/v1/accounts/1000-0999-2", token: token).status == 403)
    // A transfer with a key: created once, replayed after, 409 with other fields.
    let body =
      "{\"from\":\"\(account)\",\"to\":\"\(other)\",\"amount\":\"12.50\",\"memo\":\"rent\"}"
    let first = try await s.call(
      "POST", "/v1/transfers", body: body, token: token, headers: ["Idempotency-Key": "t-1"])
    #expect(first.status == 201, "\(first.json)")
    let again = try await s.call(
      "POST", "/v1/transfers", body: body, token: token, headers: ["Idempotency-Key": "t-1"])
    #expect(
      again.status == 200 && again.json["transfer"] as? String == first.json["transfer"] as? String)
    let conflict = try await s.call(
      "POST", "/v1/transfers", body: body.replacingOccurrences(of: "12.50", with: "13.00"),
      token: token, headers: ["Idempotency-Key": "t-1"])
    #expect(conflict.status == 409 && conflict.errorCode == "idempotency_conflict")
    // Bad input, refusals and limits.
    let bad = try await s.call(
      "POST", "/v1/transfers",
      body: "{\"from\":\"\(account)\",\"to\":\"\(other)\",\"amount\":\"1e3\"}",
      token: token)
    #expect(bad.status == 400 && bad.errorCode == "invalid_amount")
    let unknown = try await s.call(
      "POST", "/v1/transfers",
      body: "{\"from\":\"\(account)\",\"to\":\"\(other)\",\"amount\":\"1\",\"x\":1}",
      token: token)
    #expect(unknown.status == 400)
    let overdraw = try await s.call(
      "POST", "/v1/transfers",
      body: "{\"from\":\"\(account)\",\"to\":\"\(other)\",\"amount\":\"1000\"}",
      token: token)
    #expect(overdraw.status == 422 && overdraw.errorCode == "insufficient_funds")
    let huge = try await s.call(
      "POST", "/v1/transfers", body: "{\"memo\":\"" + String(repeating: "x", count: 70_000) + "\"}",
      token: token)
    #expect(huge.status == 413)
    let history = try await s.call("GET", "/v1/accounts/\(account)/history?limit=1", token: token)
    #expect(history.status == 200 && (history.json["entries"] as? [Any])?.count == 1)
    #expect(history.json["next"] is String)
    #expect(try await s.call("DELETE", "/v1/sessions/current", token: token).status == 200)
    #expect(try await s.call("GET", "/v1/accounts/\(account)", token: token).status == 401)
    #expect(s.stop() == 0)
  }

  @Test func failedLoginsAreRateLimited() async throws {
    let (s, customer, _, _) = try server()
    for _ in 0..<5 {
      let r = try await s.call(
        "POST", "/v1/sessions",
        body: "{\"customer\":\"\(customer)\",\"password\":\"wrong one 12345\"}")
      #expect(r.status == 401)
    }
    let limited = try await s.call(
      "POST", "/v1/sessions",
      body: "{\"customer\":\"\(customer)\",\"password\":\"\(Self.password)\"}")
    #expect(limited.status == 429 && limited.headers["retry-after"] != nil)
    #expect(s.stop() == 0)
  }
}

extension ServerTests {
  @Test func aTellerRegistersACustomerAndOpensAnAccount() async throws {
    var customer = ""
    let s = try RunningServer { bank, auth in
      _ = try auth.addStaff(
        username: "tina", name: "Tina Counter", role: .teller, password: "service desk 2026 blue",
        as: .operator)
      let c = try auth.registerCustomer(
        CustomerRegistration(
          name: "Asha Rao", email: "asha@example.org", phone: "+14155550100", age: 40),
        password: Self.password, as: .operator)
      customer = c.id.description
    }
    let login = try await s.call(
      "POST", "/v1/sessions", body: "{\"staff\":\"tina\",\"password\":\"service desk 2026 blue\"}")
    let teller = try #require(login.json["session"] as? String, "\(login.json)")
    let registered = try await s.call(
      "POST", "/v1/customers",
      body:
        "{\"name\":\"Lena Fox\",\"email\":\"lena@example.org\",\"phone\":\"+14155550177\",\"age\":30,\"type\":\"savings\",\"password\":\"another good passphrase 1\"}",
      token: teller)
    #expect(registered.status == 201, "\(registered.json)")
    #expect(registered.json["customer"] as? String == "C000002")
    let accounts = try #require(registered.json["accounts"] as? [String])
    #expect(accounts.count == 1)
    let opened = try await s.call(
      "POST", "/v1/accounts", body: "{\"customer\":\"C000002\",\"type\":\"checking\"}",
      token: teller)
    #expect(opened.status == 201 && opened.json["name"] as? String == "Lena Fox", "\(opened.json)")
    let deposit = try await s.call(
      "POST", "/v1/accounts/\(accounts[0])/deposits", body: "{\"amount\":\"25.00\"}", token: teller)
    #expect(deposit.status == 201, "\(deposit.json)")
    // Bad input and the matrix: a string age, a duplicate email, a customer registering.
    let badAge = try await s.call(
      "POST", "/v1/customers",
      body:
        "{\"name\":\"X\",\"email\":\"x@example.org\",\"phone\":\"+14155550178\",\"age\":\"30\",\"password\":\"another good passphrase 1\"}",
      token: teller)
    #expect(badAge.status == 400)
    let dup = try await s.call(
      "POST", "/v1/customers",
      body:
        "{\"name\":\"Y\",\"email\":\"lena@example.org\",\"phone\":\"+14155550179\",\"age\":31,\"password\":\"another good passphrase 1\"}",
      token: teller)
    #expect(dup.status == 422 && dup.errorCode == "email_in_use")
    let asha = try #require(
      try await s.call(
        "POST", "/v1/sessions",
        body: "{\"customer\":\"\(customer)\",\"password\":\"\(Self.password)\"}"
      ).json["session"] as? String)
    let selfRegister = try await s.call(
      "POST", "/v1/customers",
      body:
        "{\"name\":\"Z\",\"email\":\"z@example.org\",\"phone\":\"+14155550170\",\"age\":31,\"password\":\"another good passphrase 1\"}",
      token: asha)
    #expect(selfRegister.status == 403)
    // Staff asking for an account that does not exist: 404.
    #expect(try await s.call("GET", "/v1/accounts/1000-0999-2", token: teller).status == 404)
    // A customer cannot tell an account that does not exist from one that is not theirs: 403,
    // whether it is read or paid.
    #expect(try await s.call("GET", "/v1/accounts/1000-0999-2", token: asha).status == 403)
    let payNobody = try await s.call(
      "POST", "/v1/transfers",
      body: "{\"from\":\"\(accounts[0])\",\"to\":\"1000-0999-2\",\"amount\":\"1.00\"}",
      token: asha)
    #expect(
      payNobody.status == 403 && payNobody.errorCode == "permission_denied", "\(payNobody.json)")
    // The password flow: a reset token for matching details, then a new password.
    let forgot = try await s.call(
      "POST", "/v1/password/forgot",
      body:
        "{\"account\":\"\(accounts[0])\",\"email\":\"lena@example.org\",\"phone\":\"+14155550177\"}"
    )
    let token = try #require(forgot.json["reset_token"] as? String, "\(forgot.json)")
    let wrong = try await s.call(
      "POST", "/v1/password/forgot",
      body:
        "{\"account\":\"\(accounts[0])\",\"email\":\"nope@example.org\",\"phone\":\"+14155550177\"}"
    )
    #expect(wrong.status == 401 && wrong.errorCode == "authentication_failed")
    let reset = try await s.call(
      "POST", "/v1/password/reset",
      body: "{\"token\":\"\(token)\",\"password\":\"a brand new passphrase 9\"}")
    #expect(reset.status == 200, "\(reset.json)")
    let relogin = try await s.call(
      "POST", "/v1/sessions",
      body: "{\"customer\":\"C000002\",\"password\":\"a brand new passphrase 9\"}")
    #expect(relogin.status == 201)
    #expect(s.stop() == 0)
  }
}

/// Reads a streaming HTTP response over a plain socket until `marker` arrives (or 10 s pass).
func readStream(
  port: Int, path: String, token: String, until marker: String, seconds: Int = 10
) -> String {
  guard let client = LineClient(port: port, timeout: seconds) else { return "" }
  let fd = client.fd
  let request =
    "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nAccept: text/event-stream\r\n\r\n"
  _ = request.withCString { send(fd, $0, strlen($0), 0) }
  var text = ""
  var buffer = [UInt8](repeating: 0, count: 4096)
  while !text.contains(marker) {
    let n = recv(fd, &buffer, buffer.count, 0)
    if n <= 0 { break }
    text += String(decoding: buffer[0..<n], as: UTF8.self)
  }
  return text
}

extension ServerTests {
  @Test func eventsStreamAsServerSentEventsAndResume() async throws {
    let s = try RunningServer { bank, auth in
      _ = try auth.addStaff(
        username: "maya", name: "Maya Lund", role: .manager, password: "branch manager 2026 key",
        as: .operator)
      let fleet = ATMFleet(authenticator: auth)
      try fleet.load(
        [NoteCount(denomination: try Amount(parsing: "20", currency: .usd), count: 100)],
        as: .operator)
    }
    let login = try await s.call(
      "POST", "/v1/sessions", body: "{\"staff\":\"maya\",\"password\":\"branch manager 2026 key\"}")
    let token = try #require(login.json["session"] as? String)
    let port = try #require(s.base.port)
    let text = readStream(port: port, path: "/v1/events", token: token, until: "cash_loaded")
    #expect(text.contains("text/event-stream"), "\(text)")
    #expect(text.contains("event: cash_loaded"), "\(text)")
    let id = try #require(
      text.split(whereSeparator: \.isNewline).first { $0.hasPrefix("id: ") }.map {
        String($0.dropFirst(4))
      })
    // Resuming after the last event seen gives nothing older.
    let resumed = readStream(
      port: port, path: "/v1/events?since=\(id)", token: token, until: "\n\n: never", seconds: 2)
    #expect(!resumed.contains("id: \(id)\n"), "\(resumed)")
    // A customer may not read events.
    #expect(try await s.call("GET", "/v1/events").status == 401)
    #expect(s.stop() == 0)
  }
}

/// `bankctl` (or any program on the library) writing the store of a running `bankd`: the service
/// holds the store's lock only while it commits a group, and each side sees the other's commits.
@Suite(.serialized) struct SharedStoreServerTests {
  @Test func anotherProcessWritesBesideARunningBankd() async throws {
    var customer = ""
    var account = ""
    let s = try RunningServer { _, auth in
      let c = try auth.registerCustomer(
        CustomerRegistration(
          name: "Asha Rao", email: "asha@example.org", phone: "+14155550100", age: 40),
        password: ServerTests.password, as: .operator)
      customer = c.id.description
      account = c.accounts[0].description
    }
    // This test process opens the store for writing while bankd serves it, and keeps it open.
    let bank = try Bank(path: s.store, options: .init(lockTimeout: .seconds(5)))
    let auth = try Authenticator(
      bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000),
      pepper: try Authenticator.pepperKey(forStore: s.store, create: false))
    let number = try AccountNumber(parsing: account)
    try bank.ledger.deposit(Amount(parsing: "40.00", currency: .usd), to: number)
    _ = try auth.addStaff(
      username: "tina", name: "Tina Counter", role: .teller, password: "service desk 2026 blue",
      as: .operator)
    // bankd sees both at once: the deposit in a balance, the new teller at login.
    let asha = try #require(
      try await s.call(
        "POST", "/v1/sessions",
        body: "{\"customer\":\"\(customer)\",\"password\":\"\(ServerTests.password)\"}"
      ).json["session"] as? String)
    let balance = try await s.call("GET", "/v1/accounts/\(account)", token: asha)
    #expect(balance.json["balance"] as? String == "40.00", "\(balance.json)")
    let login = try await s.call(
      "POST", "/v1/sessions", body: "{\"staff\":\"tina\",\"password\":\"service desk 2026 blue\"}")
    let teller = try #require(login.json["session"] as? String, "\(login.json)")
    // Both write, interleaved, with the store open in both processes.
    for i in 0..<10 {
      let d = try await s.call(
        "POST", "/v1/accounts/\(account)/deposits", body: "{\"amount\":\"1.00\"}", token: teller,
        headers: ["Idempotency-Key": "http-\(i)"])
      #expect(d.status == 201, "\(d.json)")
      try bank.ledger.deposit(
        Amount(parsing: "2.00", currency: .usd), to: number, key: IdempotencyKey("lib-\(i)"))
    }
    // The library process reads bankd's commits without reopening, and the other way round.
    #expect(try bank.ledger.balance(of: number) == Amount(parsing: "70.00", currency: .usd))
    let after = try await s.call("GET", "/v1/accounts/\(account)", token: asha)
    #expect(after.json["balance"] as? String == "70.00", "\(after.json)")
    #expect(bank.invariantViolation() == nil)
    bank.close()
    // bankd stops cleanly, the last writer: the store verifies and was closed clean.
    #expect(s.stop() == 0)
    let storage = try FileStorage(path: s.store)
    #expect(storage.openInfo.cleanClose)
    #expect(try storage.verify().records == storage.lastSequence)
    storage.close()
  }
}

@Suite struct MethodTests {
  @Test func aDocumentedPathAskedWithAnotherMethodIs405WithAllow() async throws {
    let s = try RunningServer()
    let put = try await s.call("PUT", "/v1/transfers", body: "{}")
    #expect(put.status == 405 && put.errorCode == "method_not_allowed", "\(put.json)")
    #expect(put.headers["allow"] == "POST")
    let delete = try await s.call("DELETE", "/v1/accounts/1000-0001-7")
    #expect(delete.status == 405 && delete.headers["allow"] == "GET")
    let head = try await s.call("HEAD", "/v1/sessions/current")
    #expect(head.status == 405 && head.headers["allow"] == "DELETE")
    let options = try await s.call("OPTIONS", "/v1/accounts/1000-0001-7/deposits")
    #expect(options.status == 204 && options.headers["allow"] == "POST")
    // An unknown path stays 404.
    let unknown = try await s.call("GET", "/v1/nothing/here")
    #expect(unknown.status == 404 && unknown.errorCode == "not_found")
  }
}
