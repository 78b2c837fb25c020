import BankCore
import Foundation
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// A newline-delimited client of the ATM event socket, over a plain blocking socket.
final class LineClient {
  let fd: Int32
  var buffer: [UInt8] = []

  init?(port: Int, timeout: Int = 5) {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard ok == 0 else {
      close(fd)
      return nil
    }
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
  }

  deinit { close(fd) }

  func send(_ text: String) {
    let bytes = Array(text.utf8)
    var sent = 0
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { return }
      sent += n
    }
  }

  /// The next line, or `nil` at the end of the stream or a timeout.
  func line() -> String? {
    while true {
      if let i = buffer.firstIndex(of: UInt8(ascii: "\n")) {
        let text = String(decoding: buffer[..<i], as: UTF8.self)
        buffer.removeSubrange(...i)
        return text
      }
      var chunk = [UInt8](repeating: 0, count: 4096)
      let n = recv(fd, &chunk, chunk.count, 0)
      if n <= 0 { return nil }
      buffer += chunk[0..<n]
    }
  }

  /// Sends one line and reads the answer as JSON.
  func ask(_ text: String) -> [String: Any] {
    send(text + "\n")
    guard let l = line(), let o = try? JSONSerialization.jsonObject(with: Data(l.utf8)) else {
      return [:]
    }
    return o as? [String: Any] ?? [:]
  }
}

func errorCode(_ reply: [String: Any]) -> String? {
  (reply["error"] as? [String: Any])?["code"] as? String
}

/// A store with terminal ATM-01 loaded and registered; the key.
func fleetStore(_ bank: Bank, _ auth: Authenticator) throws -> String {
  let fleet = ATMFleet(authenticator: auth)
  try fleet.load(
    [
      NoteCount(denomination: try Amount(parsing: "20", currency: .usd), count: 200),
      NoteCount(denomination: try Amount(parsing: "50", currency: .usd), count: 100),
    ], as: .operator)
  return try fleet.register(terminal: "ATM-01", as: .operator)
}

extension ServerTests {
  @Test func theEventSocketAnswersEveryLineAndSurvivesHostileClients() async throws {
    nonisolated(unsafe) var key = ""
    let s = try RunningServer(
      arguments: [
        "--event-idle-timeout", "2", "--event-line-timeout", "1", "--event-max-connections", "20",
      ]
    ) { bank, auth in
      key = try fleetStore(bank, auth)
      _ = try ATMFleet(authenticator: auth).load(
        [NoteCount(denomination: try Amount(parsing: "20", currency: .usd), count: 1)],
        terminal: "ATM-02", as: .operator)
    }
    let port = s.eventPort
    // An event before hello: refused, and the connection closed.
    let early = try #require(LineClient(port: port))
    #expect(errorCode(early.ask(#"{"type":"deposit","detail":"x"}"#)) == "authentication_failed")
    #expect(early.line() == nil)
    // A wrong key, an unknown terminal, a malformed hello: refused and closed, alike.
    for hello in [
      #"{"hello":"ATM-01","key":"0000"}"#, #"{"hello":"ATM-09","key":"\#(key)"}"#,
      #"{"hello":"ATM-01"}"#, #"{"hello":"ATM-02","key":"\#(key)"}"#,
    ] {
      let c = try #require(LineClient(port: port))
      let reply = c.ask(hello)
      #expect(reply["ok"] as? Bool == false, "\(hello)")
      #expect(c.line() == nil)
    }
    let c = try #require(LineClient(port: port))
    let hello = c.ask(#"{"hello":"ATM-01","key":"\#(key)"}"#)
    #expect(hello["ok"] as? Bool == true && hello["terminal"] as? String == "ATM-01")
    var acknowledged: [Int] = []
    let low = c.ask(#"{"type":"cassette_low","detail":"the 20 cassette reads low"}"#)
    acknowledged.append(try #require(low["event"] as? Int))
    // Each hostile line gets its error line; the connection goes on.
    let hostile: [(String, String)] = [
      ("{not json", "invalid_argument"),
      ("[1,2]", "invalid_argument"),
      (#"{"type":"cassette_low","type":"hardware_failure","detail":"dup"}"#, "invalid_argument"),
      (#"{"type":"party","detail":"x"}"#, "invalid_argument"),
      (#"{"type":"deposit"}"#, "invalid_argument"),
      (#"{"type":"deposit","detail":5}"#, "invalid_argument"),
      (#"{"type":"deposit","detail":""}"#, "invalid_argument"),
      (#"{"type":"deposit","detail":"x","amount":"5.00"}"#, "invalid_argument"),
      (#"{"type":"deposit","detail":"x","terminal":"ATM-02"}"#, "permission_denied"),
      (#"{"type":"alert","detail":"nothing to see"}"#, "invalid_argument"),
      (#"{"hello":"ATM-01","key":"\#(key)"}"#, "invalid_argument"),
      (
        #"{"type":"deposit","detail":""# + String(repeating: "x", count: 9_000) + "\"}",
        "line_too_long"
      ),
    ]
    for (line, code) in hostile {
      #expect(errorCode(c.ask(line)) == code, "\(line.prefix(60))")
    }
    // A line too long is answered in its own place among the others.
    c.send(
      #"{"type":"statement","detail":"A"}"# + "\n" + String(repeating: "x", count: 9_000) + "\n"
        + #"{"type":"statement","detail":"B"}"# + "\n")
    let inOrder = (0..<3).map { _ in (c.line() ?? "").jsonObject }
    #expect(inOrder[0]["ok"] as? Bool == true, "\(inOrder)")
    #expect(errorCode(inOrder[1]) == "line_too_long", "\(inOrder)")
    #expect(inOrder[2]["ok"] as? Bool == true, "\(inOrder)")
    acknowledged += [inOrder[0]["event"] as? Int ?? 0, inOrder[2]["event"] as? Int ?? 0]
    // Pipelined lines are answered in order.
    c.send(
      #"{"type":"pin_failed","detail":"one"}"# + "\n" + #"{"type":"pin_failed","detail":"two"}"#
        + "\n")
    for _ in 0..<2 {
      let l = try #require(c.line())
      let o = try #require(try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])
      acknowledged.append(try #require(o["event"] as? Int))
    }
    #expect(acknowledged == acknowledged.sorted())
    // A hardware failure takes the terminal out of service by the rules, in the same batch.
    let failure = c.ask(#"{"type":"hardware_failure","detail":"the card reader is dead"}"#)
    acknowledged.append(try #require(failure["event"] as? Int))
    // A client stuck mid-line is answered and closed; so is an idle one.
    let stuck = try #require(LineClient(port: port))
    _ = stuck.ask(#"{"hello":"ATM-01","key":"\#(key)"}"#)
    stuck.send(#"{"type":"dep"#)
    #expect(errorCode(try #require(stuck.line()).jsonObject) == "timeout")
    #expect(stuck.line() == nil)
    let idle = try #require(LineClient(port: port))
    #expect(errorCode(try #require(idle.line()).jsonObject) == "timeout")
    // Past the connection limit: answered and closed, while the others keep working.
    var open: [LineClient] = []
    var refused = 0
    for _ in 0..<24 {
      guard let extra = LineClient(port: port) else { continue }
      open.append(extra)
    }
    for extra in open {
      var tv = timeval(tv_sec: 0, tv_usec: 300_000)
      setsockopt(extra.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
      if let l = extra.line(), errorCode(l.jsonObject) == "too_many_connections" { refused += 1 }
    }
    #expect(refused >= 4, "connections past the limit of 20 are refused: \(refused)")
    open.removeAll()
    // The first connection idled out meanwhile; a new one carries on.
    let c2 = try #require(LineClient(port: port))
    _ = c2.ask(#"{"hello":"ATM-01","key":"\#(key)"}"#)
    let after = c2.ask(#"{"type":"statement","detail":"still here"}"#)
    acknowledged.append(try #require(after["event"] as? Int))
    #expect(s.stop() == 0)
    // The store holds exactly the acknowledged reports (and the rules' answers), nothing else.
    let bank = try Bank(path: s.store)
    defer { bank.close() }
    let auth = try Authenticator(bank: bank)
    let fleet = ATMFleet(authenticator: auth)
    let reported = try fleet.events(terminal: "ATM-01", as: .operator).filter {
      $0.detail.hasPrefix("reported by ATM-01")
    }
    #expect(reported.map { Int($0.sequence) } == acknowledged)
    #expect(try fleet.status(of: "ATM-01", as: .operator).inService == false)
    #expect(
      try fleet.events(terminal: "ATM-01", type: .alert, as: .operator).contains {
        $0.detail.hasPrefix("maintenance:")
      })
  }

  @Test func sixHundredPipelinedLinesAreAllAnsweredInOrder() async throws {
    nonisolated(unsafe) var key = ""
    let s = try RunningServer { bank, auth in key = try fleetStore(bank, auth) }
    let c = try #require(LineClient(port: s.eventPort, timeout: 30))
    var text = #"{"hello":"ATM-01","key":"\#(key)"}"# + "\n"
    for n in 0..<600 { text += #"{"type":"statement","detail":"line \#(n)"}"# + "\n" }
    c.send(text)
    #expect((c.line() ?? "").jsonObject["ok"] as? Bool == true)
    var events: [Int] = []
    for _ in 0..<600 {
      guard let l = c.line(), let e = l.jsonObject["event"] as? Int else { break }
      events.append(e)
    }
    #expect(events.count == 600 && events == events.sorted())
    #expect(s.stop() == 0)
  }

  @Test func twoAuthorisationsNeverPromiseTheSameNotes() async throws {
    nonisolated(unsafe) var key = ""
    nonisolated(unsafe) var card = ""
    let s = try RunningServer { bank, auth in
      let fleet = ATMFleet(authenticator: auth)
      try fleet.load(
        [NoteCount(denomination: try Amount(parsing: "20", currency: .usd), count: 5)],
        terminal: "ATM-03", as: .operator)
      key = try fleet.register(terminal: "ATM-03", as: .operator)
      let c = try auth.registerCustomer(
        CustomerRegistration(
          name: "Asha Rao", email: "asha@example.org", phone: "+14155550100", age: 40),
        password: Self.password, as: .operator)
      try bank.ledger.deposit(Amount(parsing: "500.00", currency: .usd), to: c.accounts[0])
      let issued = try auth.issueCard(customer: c.id, accounts: c.accounts, as: .operator)
      try auth.setPIN(pan: issued.pan, pin: "4321", as: .operator)
      card = issued.pan
    }
    let h = ["Authorization": "Terminal \(key)"]
    let body = #"{"card":"\#(card)","pin":"4321","amount":"100"}"#
    let first = try await s.call("POST", "/v1/terminals/ATM-03/withdrawals", body: body, headers: h)
    #expect(first.status == 201)
    // The five notes are promised to the first hold: a second cannot have them.
    let second = try await s.call(
      "POST", "/v1/terminals/ATM-03/withdrawals", body: body, headers: h)
    #expect(second.status == 422 && second.errorCode == "cannot_dispense", "\(second.json)")
    let hold = try #require(first.json["hold"] as? Int)
    let done = try await s.call(
      "POST", "/v1/terminals/ATM-03/withdrawals/\(hold)/complete", body: #"{"taken":true}"#,
      headers: h)
    #expect(done.status == 200 && done.json["balance"] as? String == "400.00")
    #expect(s.stop() == 0)
  }

  @Test func aRemoteTerminalWithdrawsThroughTheHostRoutes() async throws {
    nonisolated(unsafe) var key = ""
    nonisolated(unsafe) var card = ""
    nonisolated(unsafe) var accounts: [String] = []
    let s = try RunningServer { bank, auth in
      key = try fleetStore(bank, auth)
      let c = try auth.registerCustomer(
        CustomerRegistration(
          name: "Asha Rao", email: "asha@example.org", phone: "+14155550100", age: 40),
        password: Self.password, as: .operator)
      let savings = try auth.openAccount(
        for: c.id, spec: AccountSpec(name: "Asha Rao", kind: .savings), as: .operator)
      try bank.ledger.deposit(Amount(parsing: "500.00", currency: .usd), to: c.accounts[0])
      try bank.ledger.deposit(Amount(parsing: "80.00", currency: .usd), to: savings.number)
      let issued = try auth.issueCard(
        customer: c.id, accounts: [c.accounts[0], savings.number], as: .operator)
      try auth.setPIN(pan: issued.pan, pin: "4321", as: .operator)
      card = issued.pan
      accounts = [c.accounts[0].description, savings.number.description]
    }
    let h = ["Authorization": "Terminal \(key)"]
    let base = "/v1/terminals/ATM-01"
    // Balance of the first linked account, then of a named one.
    let b = try await s.call(
      "POST", base + "/balance-inquiries", body: #"{"card":"\#(card)","pin":"4321"}"#, headers: h)
    #expect(b.status == 200 && b.json["balance"] as? String == "500.00", "\(b.json)")
    let b2 = try await s.call(
      "POST", base + "/balance-inquiries",
      body: #"{"card":"\#(card)","pin":"4321","account":"\#(accounts[1])"}"#, headers: h)
    #expect(b2.json["balance"] as? String == "80.00")
    // Authorise, then complete: the notes, the hold, the balance after.
    let w = try await s.call(
      "POST", base + "/withdrawals", body: #"{"card":"\#(card)","pin":"4321","amount":"90.00"}"#,
      headers: h)
    #expect(w.status == 201, "\(w.json)")
    let hold = try #require(w.json["hold"] as? Int)
    let notes = try #require(w.json["notes"] as? [[String: Any]])
    #expect(notes.map { $0["denomination"] as? String } == ["50.00", "20.00"])
    #expect(notes.map { $0["count"] as? Int } == [1, 2])
    let held = try await s.call(
      "POST", base + "/balance-inquiries", body: #"{"card":"\#(card)","pin":"4321"}"#, headers: h)
    #expect(
      held.json["available"] as? String == "410.00" && held.json["balance"] as? String == "500.00")
    let done = try await s.call(
      "POST", base + "/withdrawals/\(hold)/complete", body: #"{"taken":true}"#, headers: h)
    #expect(done.status == 200 && done.json["balance"] as? String == "410.00", "\(done.json)")
    // Completing twice, or a hold of nobody: 404.
    let again = try await s.call(
      "POST", base + "/withdrawals/\(hold)/complete", body: #"{"taken":true}"#, headers: h)
    #expect(again.status == 404 && again.errorCode == "hold_not_found")
    // Not taken: voided, nothing debited.
    let w2 = try await s.call(
      "POST", base + "/withdrawals",
      body: #"{"card":"\#(card)","pin":"4321","amount":"40","account":"\#(accounts[1])"}"#,
      headers: h)
    let hold2 = try #require(w2.json["hold"] as? Int)
    let voided = try await s.call(
      "POST", base + "/withdrawals/\(hold2)/complete", body: #"{"taken":false}"#, headers: h)
    #expect(
      voided.json["balance"] as? String == "80.00" && voided.json["available"] as? String == "80.00"
    )
    // Refusals: more than the balance, an amount no notes pay, bad bodies, a bad key.
    let tooMuch = try await s.call(
      "POST", base + "/withdrawals",
      body: #"{"card":"\#(card)","pin":"4321","amount":"100","account":"\#(accounts[1])"}"#,
      headers: h)
    #expect(tooMuch.status == 422 && tooMuch.errorCode == "insufficient_funds")
    let odd = try await s.call(
      "POST", base + "/withdrawals", body: #"{"card":"\#(card)","pin":"4321","amount":"15"}"#,
      headers: h)
    #expect(odd.status == 422 && odd.errorCode == "cannot_dispense")
    let extra = try await s.call(
      "POST", base + "/withdrawals",
      body: #"{"card":"\#(card)","pin":"4321","amount":"20","tip":"1"}"#, headers: h)
    #expect(extra.status == 400)
    let noKey = try await s.call(
      "POST", base + "/withdrawals", body: #"{"card":"\#(card)","pin":"4321","amount":"20"}"#)
    #expect(noKey.status == 401)
    let badKey = try await s.call(
      "POST", base + "/withdrawals", body: #"{"card":"\#(card)","pin":"4321","amount":"20"}"#,
      headers: ["Authorization": "Terminal " + String(repeating: "0", count: 64)])
    #expect(badKey.status == 401 && badKey.errorCode == "authentication_failed")
    let otherTerminal = try await s.call(
      "POST", "/v1/terminals/ATM-02/withdrawals",
      body: #"{"card":"\#(card)","pin":"4321","amount":"20"}"#, headers: h)
    #expect(otherTerminal.status == 401)
    // Wrong PINs: the try counter, then the card retained.
    var codes: [String?] = []
    for _ in 0..<3 {
      codes.append(
        try await s.call(
          "POST", base + "/balance-inquiries", body: #"{"card":"\#(card)","pin":"1111"}"#,
          headers: h
        ).errorCode)
    }
    #expect(codes == ["authentication_failed", "authentication_failed", "card_retained"])
    let retained = try await s.call(
      "POST", base + "/balance-inquiries", body: #"{"card":"\#(card)","pin":"4321"}"#, headers: h)
    #expect(retained.errorCode == "card_blocked")
    #expect(s.stop() == 0)
    // Nothing of the PIN in the journal's events or the log.
    let log = (try? String(contentsOfFile: s.directory + "/bankd.log", encoding: .utf8)) ?? ""
    #expect(!log.contains("4321") && !log.contains("1111"))
  }

  @Test func metricsHeadersAndTheDemoBank() async throws {
    let s = try RunningServer(arguments: ["--demo"], newStore: true)
    // The demo's customer logs in with the password bankctl demo prints.
    let login = try await s.call(
      "POST", "/v1/sessions", body: #"{"customer":"C000001","password":"analytical engine 1843"}"#)
    #expect(login.status == 201 || login.status == 200, "\(login.json)")
    let token = try #require(login.json["session"] as? String)
    let customer = try await s.call("GET", "/v1/customers/C000001", token: token)
    #expect((customer.json["accounts"] as? [String])?.isEmpty == false)
    #expect(customer.headers["x-request-id"]?.isEmpty == false)
    #expect(customer.headers["content-security-policy"]?.contains("default-src 'self'") == true)
    #expect(customer.headers["x-content-type-options"] == "nosniff")
    let metrics = try await s.text("/metrics")
    #expect(metrics.contains(#"bankd_requests_total{route="/v1/sessions",method="POST",status="#))
    #expect(metrics.contains("bankd_request_duration_seconds_bucket"))
    #expect(metrics.contains("bankd_open_sessions 1"))
    #expect(metrics.contains("bankd_journal_syncs"))
    #expect(!metrics.contains("analytical"))
    #expect(s.stop() == 0)
  }
}

extension String {
  var jsonObject: [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(utf8)) as? [String: Any]) ?? [:]
  }
}

extension RunningServer {
  /// A GET's body as text.
  func text(_ path: String) async throws -> String {
    let url = try #require(URL(string: base.absoluteString + path))
    let (data, _) = try await URLSession.shared.data(from: url)
    return String(decoding: data, as: UTF8.self)
  }
}
