import BankCore
import Foundation
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Many clients at once: exact balances, and a SIGTERM under load that loses nothing acknowledged.
extension ServerTests {
  /// A session with room for many connections to one host.
  static let wide: URLSession = {
    let c = URLSessionConfiguration.ephemeral
    c.httpMaximumConnectionsPerHost = 64
    c.timeoutIntervalForRequest = 30
    return URLSession(configuration: c)
  }()

  /// One POST over the wide session: the status (0 when the connection failed).
  static func post(_ url: URL, token: String, key: String, body: String) async -> Int {
    var request = URLRequest(url: url)
    request.httpMethod = "POST"
    request.httpBody = Data(body.utf8)
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
    request.setValue(key, forHTTPHeaderField: "Idempotency-Key")
    // A request that got no answer at all (a kept-alive connection the server closed as it was
    // reused) is sent again with its key, as a real client does: the key makes that safe, and
    // what the server answers is what is checked.
    for _ in 0..<3 {
      if let (data, response) = try? await wide.data(for: request) {
        let code = (response as? HTTPURLResponse)?.statusCode ?? 0
        // Bad input is never expected here: say what the server answered, for the log.
        if code == 400 {
          print("POST \(key): 400 \(String(decoding: data.prefix(300), as: UTF8.self))")
        }
        return code
      }
    }
    return 0
  }

  func tellerServer() throws -> (RunningServer, x: String, y: String) {
    nonisolated(unsafe) var numbers = ("", "")
    let s = try RunningServer { bank, auth in
      _ = try auth.addStaff(
        username: "tina", name: "Tina Counter", role: .teller,
        password: "service desk 2026 blue", as: .operator)
      let x = try bank.ledger.open(AccountSpec(name: "X")).number
      let y = try bank.ledger.open(AccountSpec(name: "Y")).number
      try bank.ledger.deposit(Amount(parsing: "1000.00", currency: .usd), to: x)
      numbers = (x.description, y.description)
    }
    return (s, numbers.0, numbers.1)
  }

  func tellerToken(_ s: RunningServer) async throws -> String {
    let login = try await s.call(
      "POST", "/v1/sessions", body: #"{"staff":"tina","password":"service desk 2026 blue"}"#)
    return try #require(login.json["session"] as? String)
  }

  @Test func sixtyFourClientsTransferAndTheBalancesAreExact() async throws {
    nonisolated(unsafe) var numbers = ("", "")
    let s = try RunningServer { bank, auth in
      let c = try auth.registerCustomer(
        CustomerRegistration(
          name: "Asha Rao", email: "asha@example.org", phone: "+14155550100", age: 40),
        password: Self.password, as: .operator)
      let second = try auth.openAccount(
        for: c.id, spec: AccountSpec(name: "Asha Rao", kind: .savings), as: .operator)
      try bank.ledger.deposit(Amount(parsing: "1000.00", currency: .usd), to: c.accounts[0])
      numbers = (c.accounts[0].description, second.number.description)
    }
    let (x, y) = numbers
    let login = try await s.call(
      "POST", "/v1/sessions", body: #"{"customer":"C000001","password":"\#(Self.password)"}"#)
    let token = try #require(login.json["session"] as? String)
    let url = try #require(URL(string: s.base.absoluteString + "/v1/transfers"))
    // 64 clients, 5 transfers each of 1.00 from X to Y; every third also retried with its key.
    let statuses = await withTaskGroup(of: [Int].self) { group in
      for client in 0..<64 {
        group.addTask {
          var out: [Int] = []
          for n in 0..<5 {
            let key = "c\(client)-t\(n)"
            let body = #"{"from":"\#(x)","to":"\#(y)","amount":"1.00"}"#
            out.append(await Self.post(url, token: token, key: key, body: body))
            if n % 3 == 0 {
              out.append(-(await Self.post(url, token: token, key: key, body: body)))
            }
          }
          return out
        }
      }
      var all: [Int] = []
      for await part in group { all += part }
      return all
    }
    #expect(
      statuses.filter { $0 == 201 }.count == 320,
      "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
    #expect(
      statuses.filter { $0 < 0 }.allSatisfy { $0 == -200 },
      "retries replay: \(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
    let bx = try await s.call("GET", "/v1/accounts/\(x)", token: token)
    let by = try await s.call("GET", "/v1/accounts/\(y)", token: token)
    #expect(bx.json["balance"] as? String == "680.00" && by.json["balance"] as? String == "320.00")
    #expect(s.stop() == 0)
    let bank = try Bank(path: s.store)
    defer { bank.close() }
    _ = try bank.verify()  // every byte of the journal checks out
  }

  @Test func sigtermUnderLoadLosesNoAcknowledgedDeposit() async throws {
    let (s, x, _) = try tellerServer()
    let token = try await tellerToken(s)
    let url = try #require(URL(string: s.base.absoluteString + "/v1/accounts/\(x)/deposits"))
    let acknowledged = await withTaskGroup(of: (acked: Int, tried: Int).self) { group in
      for client in 0..<16 {
        group.addTask {
          var acked = 0
          var tried = 0
          for n in 0..<400 {
            tried += 1
            let status = await Self.post(
              url, token: token, key: "d\(client)-\(n)", body: #"{"amount":"1.00"}"#)
            if status == 201 { acked += 1 } else if status == 0 { break }
          }
          return (acked, tried)
        }
      }
      group.addTask {
        try? await Task.sleep(for: .milliseconds(700))
        kill(s.process.processIdentifier, SIGTERM)
        return (0, 0)
      }
      var total = (acked: 0, tried: 0)
      for await part in group {
        total.acked += part.acked
        total.tried += part.tried
      }
      return total
    }
    s.process.waitUntilExit()
    #expect(s.process.terminationStatus == 0)
    #expect(acknowledged.acked > 0)
    // Every acknowledged deposit is in the store; at most the ones in flight at the signal
    // committed without their answer arriving.
    let bank = try Bank(path: s.store)
    defer { bank.close() }
    let balance = try bank.ledger.balance(of: try AccountNumber(parsing: x)).minorUnits
    let expectedLow = Int64(100_000 + acknowledged.acked * 100)
    #expect(
      balance >= expectedLow,
      "acknowledged \(acknowledged.acked), stored \(balance - 100_000) cents")
    #expect(balance <= Int64(100_000 + acknowledged.tried * 100))
  }
}

extension ServerTests {
  @Test func anIdempotencyKeyIsScopedToThePrincipalThatSentIt() async throws {
    nonisolated(unsafe) var numbers: [String] = []
    let s = try RunningServer { bank, auth in
      for (i, name) in ["Asha Rao", "Ben Okafor"].enumerated() {
        let c = try auth.registerCustomer(
          CustomerRegistration(
            name: name, email: "c\(i)@example.org", phone: "+1415555010\(i)", age: 40),
          password: Self.password, as: .operator)
        try bank.ledger.deposit(Amount(parsing: "50.00", currency: .usd), to: c.accounts[0])
        numbers.append(c.accounts[0].description)
      }
    }
    var tokens: [String] = []
    for id in ["C000001", "C000002"] {
      let login = try await s.call(
        "POST", "/v1/sessions", body: #"{"customer":"\#(id)","password":"\#(Self.password)"}"#)
      tokens.append(try #require(login.json["session"] as? String))
    }
    // The same key from two customers names two operations: both are created, neither replays
    // the other's, and neither learns of the other's.
    let a = try await s.call(
      "POST", "/v1/transfers",
      body: #"{"from":"\#(numbers[0])","to":"\#(numbers[1])","amount":"5.00"}"#,
      token: tokens[0], headers: ["Idempotency-Key": "shared-key"])
    let b = try await s.call(
      "POST", "/v1/transfers",
      body: #"{"from":"\#(numbers[1])","to":"\#(numbers[0])","amount":"7.00"}"#,
      token: tokens[1], headers: ["Idempotency-Key": "shared-key"])
    #expect(a.status == 201 && b.status == 201, "\(a.json) \(b.json)")
    #expect(a.json["replayed"] as? Bool == false && b.json["replayed"] as? Bool == false)
    // Each one's retry replays its own.
    let again = try await s.call(
      "POST", "/v1/transfers",
      body: #"{"from":"\#(numbers[1])","to":"\#(numbers[0])","amount":"7.00"}"#,
      token: tokens[1], headers: ["Idempotency-Key": "shared-key"])
    #expect(again.status == 200 && again.json["replayed"] as? Bool == true)
    #expect(again.json["transfer"] as? String == b.json["transfer"] as? String)
    // A rule's refusal is 422, and changes nothing.
    let over = try await s.call(
      "POST", "/v1/transfers",
      body: #"{"from":"\#(numbers[0])","to":"\#(numbers[1])","amount":"500.00"}"#,
      token: tokens[0])
    #expect(over.status == 422 && over.errorCode == "insufficient_funds")
    let balance = try await s.call("GET", "/v1/accounts/\(numbers[0])", token: tokens[0])
    #expect(balance.json["balance"] as? String == "52.00")
    // A bad amount is 400; an unknown field is 400.
    for body in [
      #"{"from":"\#(numbers[0])","to":"\#(numbers[1])","amount":"1.001"}"#,
      #"{"from":"\#(numbers[0])","to":"\#(numbers[1])","amount":"-1"}"#,
      #"{"from":"\#(numbers[0])","to":"\#(numbers[1])","amount":1}"#,
      #"{"from":"\#(numbers[0])","to":"\#(numbers[1])","amount":"1","fee":"0"}"#,
      #"{"from":"\#(numbers[0])","to":"\#(numbers[1])","amount":"1.00","amount":"9.00"}"#,
    ] {
      let r = try await s.call("POST", "/v1/transfers", body: body, token: tokens[0])
      #expect(r.status == 400, "\(body) \(r.json)")
    }
    #expect(s.stop() == 0)
  }
}
