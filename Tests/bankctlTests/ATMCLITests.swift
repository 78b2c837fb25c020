import BankCore
import Foundation
import TestSupport
import Testing

/// Issue 20 through `bankctl`: DESIGN.md 4.6's commands, the session's line protocol and the
/// event log, driven as a script drives them.
@Suite(.serialized) struct ATMCLITests {
  static let bankctl = BuiltProducts.executable("bankctl")
  let dir = TempDirectory("atm-cli")
  var store: String { dir.file("atm.journal") }

  func bank(_ args: [String], stdin: String? = nil) throws -> ProcessResult {
    try runProcess(Self.bankctl, ["--store", store] + args, environment: [:], stdin: stdin)
  }

  func lines(_ r: ProcessResult) -> [[String: Any]] {
    r.stdout.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
  }

  /// A customer with 50,000.00 INR, a card with PIN 1234, and ATM-01 loaded with 100/500/2000.
  func setUp() throws -> (card: String, account: String) {
    let c = try bank(
      [
        "--json", "customer", "register", "--name", "Asha Rao", "--email", "asha@example.org",
        "--phone", "+919812345678", "--age", "40", "--currency", "INR",
      ], stdin: "quiet harbour lantern 77\n")
    #expect(c.status == 0, "\(c.stderr)")
    let account = try #require((lines(c).first?["accounts"] as? [String])?.first)
    #expect(try bank(["deposit", account, "50000"]).status == 0)
    let issued = try bank(
      ["--json", "card", "issue", "--customer", "C000001", "--account", account])
    let card = try #require(lines(issued).first?["card"] as? String)
    #expect(try bank(["card", "set-pin", card], stdin: "1234\n").status == 0)
    let load = try bank(
      ["--json", "atm", "load", "--notes", "2000x50,500x200,100x300", "--currency", "INR"])
    #expect(load.status == 0, "\(load.stderr)")
    return (card, account)
  }

  @Test func aScriptedSessionThroughTheBinary() throws {
    let (card, account) = try setUp()
    let r = try bank(
      ["--json", "atm", "session", "--card", card],
      stdin: "1111\n1234\nwithdraw 2700.50\nwithdraw 150\nbalance\nwithdraw 2600\nend\n")
    #expect(r.status == 0, "\(r.stderr)")
    let steps = lines(r)
    #expect(
      steps.map { $0["step"] as? String } == [
        "pin", "pin", "withdraw", "withdraw", "balance", "withdraw", "end",
      ])
    #expect(steps[0]["ok"] as? Bool == false && steps[0]["tries_left"] as? Int == 2)
    #expect(steps[1]["ok"] as? Bool == true)
    // Refused with a reason a customer can act on, then another transaction.
    #expect((steps[2]["error"] as? [String: Any])?["code"] as? String == "cannot_dispense")
    let refusal = try #require(steps[3]["error"] as? [String: Any])
    #expect(refusal["code"] as? String == "cannot_dispense")
    #expect((refusal["message"] as? String)?.contains("try 100 or 200") == true)
    #expect(steps[4]["balance"] as? String == "50000.00")
    let paid = steps[5]
    #expect(paid["ok"] as? Bool == true && paid["balance"] as? String == "47400.00")
    let notes = try #require(paid["notes"] as? [[String: Any]])
    #expect(notes.map { $0["denomination"] as? String } == ["2000.00", "500.00", "100.00"])
    #expect(notes.map { $0["count"] as? Int } == [1, 1, 1])
    // The cassettes and the terminal's cash account agree.
    let status = try #require(lines(try bank(["--json", "atm", "status"])).first)
    let cassettes = try #require(status["cassettes"] as? [[String: Any]])
    #expect(cassettes.map { $0["count"] as? Int } == [49, 199, 299])
    #expect(status["cash"] as? String == "227400.00")
    let accounts = try #require(
      lines(try bank(["--json", "accounts", "--all"])).first?["accounts"] as? [[String: Any]])
    let cash = try #require(accounts.first { $0["type"] as? String == "terminal_cash" })
    #expect(cash["balance"] as? String == "227400.00")
    #expect(try bank(["--json", "balance", account]).stdout.contains("\"47400.00\""))
    // What all of this logged.
    let events = lines(try bank(["--json", "events"])).compactMap { $0["type"] as? String }
    #expect(
      events == [
        "cash_loaded", "pin_failed", "balance_inquiry", "withdrawal", "cassette_low", "alert",
      ], "\(events)")
    #expect(try bank(["verify"]).status == 0)
    // The human form speaks to a person.
    let human = try bank(["atm", "session", "--card", card], stdin: "1234\nbalance\nend\n")
    #expect(human.status == 0 && human.stdout.contains("Balance of \(account): 47400.00 INR"))
  }

  @Test func retainedBlockedAndOutOfServiceExitOne() throws {
    let (card, _) = try setUp()
    // A malformed PIN re-prompts without using a try; the third wrong one retains the card.
    let r = try bank(
      ["--json", "atm", "session", "--card", card], stdin: "1\n0000\n2222\n33333\n")
    #expect(r.status == 1)
    #expect(r.stderr.contains("\"card_retained\""))
    let pins = lines(r)
    #expect(pins.count == 4)
    #expect(pins.map { $0["tries_left"] as? Int } == [3, 2, 1, 0])
    let again = try bank(["--json", "atm", "session", "--card", card], stdin: "1234\n")
    #expect(again.status == 1 && again.stderr.contains("\"card_blocked\""))
    #expect(try bank(["--json", "events", "--type", "alert"]).stdout.contains("security"))
    #expect(try bank(["card", "unblock", card]).status == 0)
    #expect(try bank(["atm", "service", "--terminal", "ATM-01", "--out"]).status == 0)
    let out = try bank(["--json", "atm", "session", "--card", card], stdin: "1234\n")
    #expect(out.status == 1 && out.stderr.contains("\"out_of_service\""))
    #expect(try bank(["atm", "service", "--terminal", "ATM-01", "--in"]).status == 0)
    #expect(try bank(["card", "block", card]).status == 0)
    let blocked = try bank(["--json", "atm", "session", "--card", card], stdin: "1234\n")
    #expect(blocked.status == 1 && blocked.stderr.contains("\"card_blocked\""))
  }

  @Test func faultsMixesAndBadInput() throws {
    let (card, account) = try setUp()
    let mix = try bank(["--json", "atm", "mix", "2600"])
    #expect(mix.stdout.contains("\"amount\":\"2600.00\""))
    let cannot = try bank(["--json", "atm", "mix", "150"])
    #expect(cannot.status == 1 && cannot.stderr.contains("cannot_dispense"))
    #expect(try bank(["atm", "fault", "--terminal", "ATM-01", "--kind", "jam"]).status == 0)
    let jammed = try bank(
      ["--json", "atm", "session", "--card", card],
      stdin: "1234\nwithdraw 1000\nwithdraw 1000\nend\n")
    let steps = lines(jammed)
    #expect(steps[1]["ok"] as? Bool == false && steps[2]["ok"] as? Bool == true)
    #expect(try bank(["--json", "balance", account]).stdout.contains("\"49000.00\""))
    #expect(try bank(["--json", "events", "--type", "dispense_fault"]).stdout.contains("jammed"))
    let registered = try bank(["--json", "atm", "register", "--terminal", "ATM-01"])
    #expect((lines(registered).first?["key"] as? String)?.count == 64)
    // Bad input: a distinct exit code, and the store is unchanged byte for byte.
    let before = try Data(contentsOf: URL(fileURLWithPath: store))
    for args in [
      ["atm", "load", "--notes", "2000x0"], ["atm", "load", "--notes", "abc"],
      ["atm", "load", "--notes", "100x5", "--currency", "XYZ"],
      ["atm", "load", "--terminal", "bad id!", "--notes", "100x1"],
      ["atm", "mix", "-5"], ["atm", "status", "--terminal", "NOPE"],
      ["events", "--type", "nonsense"], ["atm", "fault", "--terminal", "ATM-01", "--kind", "fire"],
      ["atm", "load", "--notes", "100x1", "--currency", "USD"],
    ] {
      let r = try bank(args)
      #expect(r.status != 0, "\(args)")
    }
    #expect(try Data(contentsOf: URL(fileURLWithPath: store)) == before)
  }

  @Test func eventsFollowSeesAnotherProcessesCommits() throws {
    let (card, _) = try setUp()
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Self.bankctl)
    p.arguments = ["--store", store, "--json", "events", "--follow", "--since", "1"]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    Thread.sleep(forTimeInterval: 0.5)
    #expect(
      try bank(["atm", "session", "--card", card], stdin: "1234\nwithdraw 500\nend\n").status == 0)
    Thread.sleep(forTimeInterval: 1.0)
    p.interrupt()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(text.contains("\"cash_loaded\"") && text.contains("\"withdrawal\""), "\(text)")
    // A reader that goes away ends the follow with 74, even while no event comes.
    let q = Process()
    q.executableURL = URL(fileURLWithPath: Self.bankctl)
    q.arguments = ["--store", store, "events", "--follow"]
    let closed = Pipe()
    q.standardOutput = closed
    q.standardError = FileHandle.nullDevice
    try q.run()
    Thread.sleep(forTimeInterval: 0.5)
    try closed.fileHandleForReading.close()
    let deadline = Date().addingTimeInterval(10)
    while q.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
    if q.isRunning { q.interrupt() }
    q.waitUntilExit()
    #expect(q.terminationStatus == 74)
  }

  @Test func reconcileAndRulesThroughTheBinary() throws {
    let (card, _) = try setUp()
    let r = try bank(
      [
        "--json", "atm", "reconcile", "--terminal", "ATM-01", "--counted",
        "2000x50,500x199,100x300",
      ])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(r.stdout.contains("\"difference\":\"-500.00\""), "\(r.stdout)")
    let rules = dir.file("rules.txt")
    try "# stricter\ndaily_count_limit = 1\n".write(
      toFile: rules, atomically: true, encoding: .utf8)
    let loaded = try bank(["--json", "atm", "rules", "load", rules])
    #expect(
      loaded.status == 0 && loaded.stdout.contains("\"daily_count_limit\":1"), "\(loaded.stderr)")
    let session = try bank(
      ["--json", "atm", "session", "--card", card], stdin: "1234\nwithdraw 100\nwithdraw 100\nend\n"
    )
    let codes = lines(session).compactMap { ($0["error"] as? [String: Any])?["code"] as? String }
    #expect(codes == ["daily_limit_exceeded"])
    try "colour = blue\n".write(toFile: rules, atomically: true, encoding: .utf8)
    let before = try Data(contentsOf: URL(fileURLWithPath: store))
    #expect(try bank(["atm", "rules", "load", rules]).status == 64)
    #expect(try bank(["atm", "rules", "save", rules]).status == 64)
    #expect(
      try bank(["atm", "reconcile", "--terminal", "ATM-01", "--counted", "2000x-1"]).status == 64)
    #expect(try Data(contentsOf: URL(fileURLWithPath: store)) == before)
  }

  /// The README's ATM tour runs exactly as written (with its store in a temporary directory)
  /// and prints what the README says it prints.
  @Test func theReadmeATMTourWorksAsWritten() throws {
    let (r, expected) = try runReadmeTour("### At the ATM", in: dir.path)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(
      r.stdout.contains(expected),
      "the README's session output is not what the tour prints:\n\(r.stdout)")
  }

  /// What an adversarial review found, each kept fixed.
  @Test func aSessionHoldsNoLockBetweenStepsAndSurvivesBadLines() throws {
    let (card, account) = try setUp()
    // A session waiting for its customer holds no lock: a teller's deposit goes through.
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Self.bankctl)
    p.arguments = ["--store", store, "--json", "atm", "session", "--card", card]
    let input = Pipe()
    let output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    p.standardError = FileHandle.nullDevice
    try p.run()
    try? input.fileHandleForWriting.write(contentsOf: Data("1234\n".utf8))
    Thread.sleep(forTimeInterval: 0.5)
    #expect(try bank(["--lock-timeout", "1", "deposit", account, "10"]).status == 0)
    let long = String(repeating: "1", count: 70_000)
    try? input.fileHandleForWriting.write(
      contentsOf: Data("withdraw \(long)\n".utf8) + Data([0x62, 0xFF, 0x0A])
        + Data("5678\nbalance\nend\n".utf8)
    )
    try input.fileHandleForWriting.close()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let steps = text.split(separator: "\n").compactMap {
      try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
    }
    #expect(
      steps.map { $0["step"] as? String } == [
        "pin", "request", "request", "request", "balance", "end",
      ], "\(text)")
    #expect(!text.contains("5678"), "an unknown line is never echoed")
    #expect(steps[4]["balance"] as? String == "50010.00")
    // An unknown session is refused, as for every command.
    let bad = try bank(
      ["--session", "deadbeef", "--json", "atm", "session", "--card", card], stdin: "1234\nend\n")
    #expect(bad.status == 1 && bad.stderr.contains("authentication_failed"))
    // Deposits take the terminal's notes only, at most 200.
    let dep = try bank(
      ["--json", "atm", "session", "--card", card],
      stdin: "1234\ndeposit 200x1\ndeposit 0.5x3\ndeposit 100x201\ndeposit 100x2\nend\n")
    let codes = lines(dep).map { ($0["error"] as? [String: Any])?["code"] as? String }
    #expect(
      codes == [nil, "invalid_argument", "invalid_argument", "invalid_argument", nil, nil],
      "\(dep.stdout)")
    // A terminal keeps its currency: a load without --currency is in it.
    #expect(try bank(["atm", "load", "--notes", "100x1"]).status == 0)
  }

  @Test func aFailingCassetteIsLoggedAndTheRestIsPaid() throws {
    let (card, account) = try setUp()
    #expect(
      try bank(["atm", "fault", "--terminal", "ATM-01", "--kind", "cassette_empty"]).status == 0)
    #expect(
      try bank(["atm", "fault", "--terminal", "ATM-01", "--kind", "jam", "--denomination", "500"])
        .status == 64)
    let r = try bank(
      ["--json", "atm", "session", "--card", card], stdin: "1234\nwithdraw 4000\nend\n")
    let paid = try #require(lines(r).first { $0["step"] as? String == "withdraw" })
    #expect(paid["ok"] as? Bool == true, "\(r.stdout)")
    #expect(try bank(["--json", "balance", account]).stdout.contains("\"46000.00\""))
    let events = lines(try bank(["--json", "events"])).compactMap { $0["type"] as? String }
    #expect(events.contains("cassette_empty") && events.contains("withdrawal"), "\(events)")
    let status = try #require(lines(try bank(["--json", "atm", "status"])).first)
    let cassettes = try #require(status["cassettes"] as? [[String: Any]])
    #expect(cassettes.map { $0["status"] as? String } == ["inoperative", "ok", "ok"])
    #expect(try bank(["atm", "service", "--terminal", "ATM-01", "--in"]).status == 0)
    // The forecast counts what was dispensed at the same --now.
    let now = "2030-01-01T12:00:00Z"
    #expect(
      try bank(
        ["--now", now, "atm", "session", "--card", card], stdin: "1234\nwithdraw 500\nend\n"
      ).status == 0)
    let forecast = try #require(lines(try bank(["--now", now, "--json", "atm", "status"])).first)
    let fc = try #require(forecast["cassettes"] as? [[String: Any]])
    #expect(
      fc[1]["per_day"] as? String == "0.14" && fc[1]["hours_to_empty"] as? Int != nil, "\(fc)")
    // A rules file with CRLF line ends.
    let rules = dir.file("crlf.txt")
    try "daily_count_limit = 5\r\nlow_threshold = 10\r\n".write(
      toFile: rules, atomically: true, encoding: .utf8)
    #expect(try bank(["atm", "rules", "load", rules]).status == 0)
  }

  /// What a second adversarial review found, each kept fixed.
  @Test func signalsQueuedFaultsAndLoadsThatWouldBreakTheTerminal() throws {
    let (card, account) = try setUp()
    // A signal while the session waits for its customer ends it: the line typed after runs
    // nothing.
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Self.bankctl)
    p.arguments = ["--store", store, "--json", "atm", "session", "--card", card]
    let input = Pipe()
    p.standardInput = input
    let transcript = dir.file("interrupted.out")
    FileManager.default.createFile(atPath: transcript, contents: nil)
    let sink = try #require(FileHandle(forWritingAtPath: transcript))
    p.standardOutput = sink
    p.standardError = sink
    try p.run()
    try? input.fileHandleForWriting.write(contentsOf: Data("1234\n".utf8))
    Thread.sleep(forTimeInterval: 0.7)
    p.interrupt()
    let deadline = Date().addingTimeInterval(10)
    while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
    #expect(!p.isRunning, "the session went on waiting after SIGINT")
    if p.isRunning {
      try? input.fileHandleForWriting.write(contentsOf: Data("withdraw 200\nend\n".utf8))
    }
    try? input.fileHandleForWriting.close()
    p.waitUntilExit()
    try? sink.close()
    let said = (try? String(contentsOfFile: transcript, encoding: .utf8)) ?? ""
    #expect(p.terminationStatus == 0, "\(said)")
    #expect(try bank(["--json", "balance", account]).stdout.contains("\"50000.00\""))
    // Scripted faults queue: three jams fail the next three dispenses, and the third in a row
    // takes the terminal out of service.
    for _ in 0..<3 {
      let jam = try bank(["atm", "fault", "--terminal", "ATM-01", "--kind", "jam"])
      #expect(jam.status == 0, "\(jam.stderr)")
    }
    let faulty = try bank(
      ["--json", "atm", "session", "--card", card],
      stdin: "1234\nwithdraw 100\nwithdraw 100\nwithdraw 100\nwithdraw 100\nend\n")
    print("interrupted session said: \(said)")
    let codes = lines(faulty).compactMap { ($0["error"] as? [String: Any])?["code"] as? String }
    #expect(
      codes == ["cannot_dispense", "cannot_dispense", "cannot_dispense", "out_of_service"],
      "status \(faulty.status)\nstdout:\n\(faulty.stdout)\nstderr:\n\(faulty.stderr)")
    #expect(try bank(["--json", "events", "--type", "alert"]).stdout.contains("maintenance"))
    #expect(try bank(["atm", "service", "--terminal", "ATM-01", "--in"]).status == 0)
    // A load that would leave the terminal unable to mix is refused, and changes nothing.
    let before = try Data(contentsOf: URL(fileURLWithPath: store))
    let odd = try bank(["--json", "atm", "load", "--notes", "0.01x1"])
    #expect(odd.status == 64 && odd.stderr.contains("invalid_argument"), "\(odd.stderr)")
    #expect(try bank(["atm", "load", "--notes", "1000000000000x1"]).status == 64)
    #expect(try bank(["--json", "atm", "mix", "1000000000000.01"]).status == 64)
    #expect(try Data(contentsOf: URL(fileURLWithPath: store)) == before)
    #expect(try bank(["atm", "load", "--notes", "2000x1"]).status == 0)
    // The forecast's window ends exactly 168 hours back, at the microsecond.
    let at = "2027-03-01T12:00:00Z"
    #expect(
      try bank(["--now", at, "atm", "session", "--card", card], stdin: "1234\nwithdraw 500\nend\n")
        .status == 0)
    func perDay(_ now: String) throws -> String? {
      let s = try #require(lines(try bank(["--now", now, "--json", "atm", "status"])).first)
      return (s["cassettes"] as? [[String: Any]])?[1]["per_day"] as? String
    }
    #expect(try perDay("2027-03-08T11:59:59Z") == "0.14")
    #expect(try perDay("2027-03-08T12:00:00Z") == "0.00")
  }
}
