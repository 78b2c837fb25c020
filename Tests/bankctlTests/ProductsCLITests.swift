import BankCore
import Foundation
import TestSupport
import Testing

/// Issue 21 through `bankctl`: DESIGN.md 4.7's commands, their JSON and exit codes, as a script
/// drives them.
@Suite(.serialized) struct ProductsCLITests {
  static let bankctl = BuiltProducts.executable("bankctl")
  let dir = TempDirectory("products-cli")
  var store: String { dir.file("bank.journal") }

  func bank(_ args: [String], now: String? = nil, stdin: String? = nil) throws -> ProcessResult {
    try runProcess(
      Self.bankctl, ["--store", store] + (now.map { ["--now", $0] } ?? []) + args,
      environment: [:], stdin: stdin)
  }

  func json(_ r: ProcessResult) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
  }

  func errorCode(_ r: ProcessResult) -> String? {
    let e = (try? JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any])
    return (e?["error"] as? [String: Any])?["code"] as? String
  }

  @Test func theWorkedExampleThroughTheBinary() throws {
    let a = try #require(
      json(
        try bank(
          ["--json", "open", "--name", "Saver", "--type", "savings"], now: "2026-01-01T08:00:00Z"))[
          "account"] as? String)
    #expect(
      try bank(
        ["rate", "set", "--type", "savings", "--annual", "3.65", "--from", "2026-01-01"],
        now: "2026-01-01T08:30:00Z"
      ).status == 0)
    #expect(try bank(["deposit", a, "10000.00"], now: "2026-01-01T09:00:00Z").status == 0)
    let jan = try bank(
      ["--json", "interest", "run", "--date", "2026-01-31"], now: "2026-02-01T00:30:00Z")
    #expect(jan.status == 0, "\(jan.stderr)")
    #expect((json(jan)["savings_paid"] as? [String: String])?["USD"] == "31.00")
    let feb = try bank(
      ["--json", "interest", "run", "--date", "2026-02-28"], now: "2026-03-01T00:30:00Z")
    #expect((json(feb)["savings_paid"] as? [String: String])?["USD"] == "28.09")
    #expect(json(try bank(["--json", "balance", a]))["balance"] as? String == "10059.09")
    // The statement of March shows February's posting made on 1 March.
    let s = json(try bank(["--json", "statement", a, "--month", "2026-03"]))
    for key in [
      "account", "from", "to", "opening_balance", "entries", "total_in", "total_out",
      "closing_balance",
    ] {
      #expect(s[key] != nil, "\(key)")
    }
    #expect(s["opening_balance"] as? String == "10031.00")
    #expect(s["closing_balance"] as? String == "10059.09")
    let entries = try #require(s["entries"] as? [[String: Any]])
    #expect(entries.count == 1)
    for key in ["transfer", "time", "description", "amount", "balance"] {
      #expect(entries[0][key] != nil, "\(key)")
    }
    #expect((entries[0]["description"] as? String)?.contains("2026-02") == true)
    let csv = try bank(["statement", a, "--from", "2026-01-01", "--to", "2026-03-31", "--csv"])
    #expect(csv.stdout.hasPrefix("transfer,time,description,amount,balance\n"), "\(csv.stdout)")
    #expect(csv.stdout.contains("Closing balance"))
    let tb = json(try bank(["--json", "report", "trial-balance", "--currency", "USD"]))
    #expect(tb["total_debits"] as? String == "10059.09")
    #expect(tb["total_debits"] as? String == tb["total_credits"] as? String)
    let lines = try #require(tb["accounts"] as? [[String: Any]])
    for key in ["account", "name", "kind", "debits", "credits", "balance"] {
      #expect(lines.allSatisfy { $0[key] != nil }, "\(key)")
    }
  }

  @Test func badInputExitsWithItsCodeAndChangesNothing() throws {
    let a = try #require(
      json(try bank(["--json", "open", "--name", "A"], now: "2026-01-01T08:00:00Z"))["account"]
        as? String)
    #expect(try bank(["deposit", a, "100"], now: "2026-01-01T09:00:00Z").status == 0)
    let before = fileBytes(store)
    for (args, status, code) in [
      (["interest", "run", "--date", "2026-13-01"], 64, "invalid_argument"),
      (["interest", "run", "--date", "2999-01-01"], 64, "invalid_argument"),
      (["rate", "set", "--type", "savings", "--annual", "3.5%"], 64, "invalid_argument"),
      (["rate", "set", "--type", "savings", "--annual", "-1"], 64, "usage"),
      (["rate", "set", "--type", "savings", "--annual=-1"], 64, "invalid_argument"),
      (["rate", "set", "--type", "savings", "--annual", "1.0000001"], 64, "invalid_argument"),
      (["rate", "set", "--type", "loan", "--annual", "1"], 64, "invalid_argument"),
      (["overdraft", a, "-5"], 64, "invalid_amount"),
      (["loan", "approve", "L000009"], 1, "loan_not_found"),
      (["loan", "show", "X1"], 64, "invalid_argument"),
      (
        [
          "loan", "request", "--customer", "C000001", "--account", a, "--amount", "10", "--months",
          "0", "--annual", "5",
        ], 64, "invalid_argument"
      ),
      (["statement", a, "--month", "2026-13"], 64, "invalid_argument"),
      (["statement", a, "--from", "2026-02-01", "--to", "2026-01-01"], 64, "invalid_argument"),
      (["reverse", "#999", "--reason", "x"], 1, "transfer_not_found"),
      (["reverse", "#1", "--reason", ""], 64, "invalid_argument"),
      (["close", a], 1, "account_not_empty"),
      (["report", "deposits", "--csv"], 64, "usage"),
      (["statement", "--customer", "C000001", "--year", "2200"], 64, "invalid_argument"),
      (["statement", a, "--month", "2200-01"], 64, "invalid_argument"),
      (
        ["loan", "quote", "--amount", "1000000000000.01", "--months", "12", "--annual", "5"], 64,
        "invalid_argument"
      ),
      (
        ["loan", "quote", "--amount", "100", "--months", "12", "--annual", "1000.000001"], 64,
        "invalid_argument"
      ),
    ] as [([String], Int32, String)] {
      let r = try bank(["--json"] + args)
      #expect(r.status == status, "\(args): \(r.stderr)")
      #expect(errorCode(r) == code, "\(args): \(r.stderr)")
    }
    let report = try bank(["report", "nonsense"])
    #expect(report.status == 64)
    #expect(fileBytes(store) == before, "a refused command changes nothing")
  }

  @Test func rolesMeetTheMatrix() throws {
    let c = json(
      try bank(
        [
          "--json", "customer", "register", "--name", "Lena Fox", "--email", "lena@example.org",
          "--phone", "+14155550177", "--age", "30",
        ], stdin: "quiet harbour lantern 77\n"))
    let account = try #require((c["accounts"] as? [String])?.first)
    #expect(try bank(["deposit", account, "500"]).status == 0)
    #expect(
      try bank(
        ["staff", "add", "--username", "tom", "--name", "Tom Till", "--role", "teller"],
        stdin: "counter desk 2026 red\n"
      ).status == 0)
    let customer = try #require(
      json(
        try bank(["--json", "login", "--customer", "C000001"], stdin: "quiet harbour lantern 77\n"))[
          "session"] as? String)
    let teller = try #require(
      json(try bank(["--json", "login", "--staff", "tom"], stdin: "counter desk 2026 red\n"))[
        "session"] as? String)
    // A customer requests a loan into their own account, reads their own statement, but runs no
    // report and approves nothing.
    let loan = try bank(
      [
        "--json", "--session", customer, "loan", "request", "--customer", "C000001", "--account",
        account, "--amount", "1200", "--months", "12", "--annual", "12",
      ])
    #expect(loan.status == 0, "\(loan.stderr)")
    #expect(json(loan)["status"] as? String == "requested")
    #expect(
      try bank(["--session", customer, "statement", account, "--month", "2026-12"]).status == 0)
    for args in [
      ["report", "trial-balance"], ["loan", "approve", "L000001"],
      ["interest", "run", "--date", "2020-01-01"],
      ["rate", "set", "--type", "savings", "--annual", "1"], ["reverse", "#1", "--reason", "x"],
    ] {
      let r = try bank(["--json", "--session", customer] + args)
      #expect(r.status == 1 && errorCode(r) == "permission_denied", "\(args): \(r.stderr)")
      let t = try bank(["--json", "--session", teller] + args)
      #expect(t.status == 1 && errorCode(t) == "permission_denied", "teller \(args): \(t.stderr)")
    }
    let approved = try bank(["--json", "loan", "approve", "L000001"])
    #expect(json(approved)["status"] as? String == "active")
    let schedule = json(try bank(["--json", "--session", customer, "loan", "schedule", "L000001"]))
    let rows = try #require(schedule["installments"] as? [[String: Any]])
    #expect(rows.count == 12)
    for key in ["n", "due", "payment", "interest", "principal", "remaining"] {
      #expect(rows[0][key] != nil, "\(key)")
    }
    #expect(rows[0]["payment"] as? String == "106.62" && rows[0]["interest"] as? String == "12.00")
    let repay = try bank(["--json", "--session", customer, "loan", "repay", "L000001", "106.62"])
    #expect(repay.status == 0, "\(repay.stderr)")
    let over = try bank(["--json", "loan", "repay", "L000001", "5000"])
    #expect(over.status == 1 && errorCode(over) == "overpayment", "\(over.stderr)")
    let show = json(try bank(["--json", "loan", "show", "L000001"]))
    for key in [
      "loan", "customer", "account", "principal", "annual_rate", "months", "status",
      "outstanding_principal", "installment", "next_due",
    ] {
      #expect(show[key] != nil, "\(key)")
    }
    #expect(show["outstanding_principal"] as? String == "1105.38")
    // Customers' contact details only for managers and the operator.
    let customers = json(try bank(["--json", "report", "customers"]))
    let first = try #require((customers["customers"] as? [[String: Any]])?.first)
    #expect(first["email"] as? String == "lena@example.org")
  }

  @Test func reversalsAndCSVAreSafe() throws {
    let a = try #require(json(try bank(["--json", "open", "--name", "A"]))["account"] as? String)
    let b = try #require(json(try bank(["--json", "open", "--name", "B"]))["account"] as? String)
    #expect(try bank(["deposit", a, "100"]).status == 0)
    let t = json(try bank(["--json", "transfer", a, b, "40", "--memo", "=HYPERLINK(\"x\")"]))
    let id = try #require(t["transfer"] as? String)
    let r = try bank(["--json", "reverse", id, "--reason", "sent in error"])
    #expect(r.status == 0, "\(r.stderr)")
    #expect(json(r)["reverses"] as? String == id && json(r)["amount"] as? String == "40.00")
    #expect(json(try bank(["--json", "balance", a]))["balance"] as? String == "100.00")
    let again = try bank(["--json", "reverse", id, "--reason", "again"])
    #expect(again.status == 1 && errorCode(again) == "already_reversed")
    let today = String(
      Instant(nanoseconds: Int64(Date().timeIntervalSince1970) * 1_000_000_000).description.prefix(
        10))
    let csv = try bank(["statement", a, "--from", "2020-01-01", "--to", today, "--csv"])
    #expect(csv.status == 0, "\(csv.stderr)")
    #expect(!csv.stdout.contains(",=HYPERLINK"), "formula-safe: \(csv.stdout)")
    #expect(csv.stdout.contains("'Transfer") || csv.stdout.contains("Transfer to"))
    let volume = json(try bank(["--json", "report", "volume", "--by", "day"]))
    let rows = try #require(volume["volume"] as? [[String: Any]])
    #expect(rows.contains { $0["operation"] as? String == "reversal" && $0["count"] as? Int == 1 })
  }
}

extension ProductsCLITests {
  /// The README's products tour runs exactly as written (with its store in a temporary
  /// directory) and prints what the README says it prints.
  @Test func theReadmeProductsTourWorksAsWritten() throws {
    let (r, expected) = try runReadmeTour("### Banking products", in: dir.path)
    #expect(r.status == 0, "\(r.stderr)")
    #expect(
      r.stdout.contains(expected),
      "the README's statement is not what the tour prints:\n\(r.stdout)")
    #expect(r.stdout.contains("savings paid:      28.09 USD"))
    #expect(r.stdout.contains("-0.0032 of interest"))
  }
}

extension ProductsCLITests {
  /// `-1,234.56 USD` or `-1234.56` as minor units.
  static func minor(_ text: String) -> Int64? {
    let number = text.split(separator: " ").first.map(String.init) ?? text
    let negative = number.hasPrefix("-")
    let digits = String(number.drop { $0 == "-" }).replacingOccurrences(of: ",", with: "")
    guard let a = try? Amount(parsing: digits, currency: .usd) else { return nil }
    return negative ? -a.minorUnits : a.minorUnits
  }

  /// Interest (paid and charged), a loan with a repayment and a reversal, exported: hledger and
  /// ledger-cli agree with bankctl on every balance, and name the products' accounts by kind.
  @Test func theExportCarriesTheProductsAndTheAccountingToolsAgree() throws {
    let s = try #require(
      json(
        try bank(
          ["--json", "open", "--name", "S", "--type", "savings"], now: "2026-01-01T08:00:00Z"))[
          "account"] as? String)
    let c = try #require(
      json(
        try bank(
          ["--json", "open", "--name", "C", "--overdraft", "500"], now: "2026-01-01T08:01:00Z"))[
          "account"] as? String)
    #expect(
      try bank(
        ["rate", "set", "--type", "savings", "--annual", "2.5", "--from", "2026-01-01"],
        now: "2026-01-01T08:02:00Z"
      ).status == 0)
    #expect(
      try bank(
        ["rate", "set", "--type", "overdraft", "--annual", "19.9", "--from", "2026-01-01"],
        now: "2026-01-01T08:03:00Z"
      ).status == 0)
    #expect(try bank(["deposit", s, "2500.00"], now: "2026-01-01T09:00:00Z").status == 0)
    #expect(try bank(["withdraw", c, "300.00"], now: "2026-01-01T09:05:00Z").status == 0)
    let t = json(try bank(["--json", "transfer", s, c, "10"], now: "2026-01-02T09:00:00Z"))
    #expect(
      try bank(
        ["reverse", t["transfer"] as? String ?? "", "--reason", "duplicate"],
        now: "2026-01-02T10:00:00Z"
      ).status == 0)
    let reg = json(
      try bank(
        [
          "--json", "customer", "register", "--name", "Kai Berg", "--email", "kai@example.org",
          "--phone", "+14155550188", "--age", "52",
        ], now: "2026-01-03T09:00:00Z", stdin: "quiet harbour lantern 77\n"))
    let k = try #require((reg["accounts"] as? [String])?.first)
    #expect(
      try bank(
        [
          "loan", "request", "--customer", "C000001", "--account", k, "--amount", "900", "--months",
          "6", "--annual", "7.5",
        ], now: "2026-01-03T09:10:00Z"
      ).status == 0)
    #expect(try bank(["loan", "approve", "L000001"], now: "2026-01-03T10:00:00Z").status == 0)
    #expect(
      try bank(["loan", "repay", "L000001", "153.01"], now: "2026-02-03T10:00:00Z").status == 0)
    let run = try bank(
      ["--json", "interest", "run", "--date", "2026-02-28"], now: "2026-03-01T01:00:00Z")
    #expect(run.status == 0, "\(run.stderr)")
    let export = try bank(["export", "--format", "ledger"])
    #expect(export.status == 0)
    for name in [
      "Expenses:Interest:", "Income:Interest:", "Assets:Loans:", "Liabilities:Deposits:Savings:",
    ] {
      #expect(export.stdout.contains(name), "\(name)")
    }
    let file = dir.file("products.ledger")
    try export.stdout.write(toFile: file, atomically: true, encoding: .utf8)
    let accounts = try #require(
      json(try bank(["--json", "accounts", "--all"]))["accounts"] as? [[String: Any]])
    let debitNormal: Set<String> = [
      "vault", "terminal_cash", "loan", "interest", "cash_over_short",
    ]
    var expected: [String: Int64] = [:]
    for a in accounts {
      let number = try #require(a["account"] as? String)
      let balance = try #require(Self.minor(a["balance"] as? String ?? ""))
      if balance != 0 {
        expected[number] = debitNormal.contains(a["type"] as? String ?? "") ? balance : -balance
      }
    }
    let tb = json(try bank(["--json", "report", "trial-balance"]))
    #expect(tb["total_debits"] as? String == tb["total_credits"] as? String)
    if let hledger = HardeningTests.tool("hledger") {
      let bal = try runProcess(
        hledger, ["-f", file, "balance", "--flat", "--no-total", "-O", "csv"])
      #expect(bal.status == 0, "\(bal.stderr)")
      var theirs: [String: Int64] = [:]
      for line in bal.stdout.split(separator: "\n").dropFirst() {
        let cols = line.split(separator: ",").map {
          $0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        guard cols.count == 2, let number = cols[0].split(separator: ":").last else { continue }
        theirs[String(number)] = Self.minor(cols[1])
      }
      #expect(theirs == expected, "hledger differs from bankctl")
    } else {
      print("SKIPPED: hledger is not installed; hledger was not checked")
    }
    if let ledger = HardeningTests.tool("ledger") {
      let bal = try runProcess(
        ledger,
        [
          "--pedantic", "-f", file, "balance", "--flat", "--no-total", "--format",
          "%(account)\t%(quantity(scrub(display_total))) %(commodity(scrub(display_total)))\n",
        ])
      #expect(bal.status == 0, "ledger --pedantic: \(bal.stderr)")
      var theirs: [String: Int64] = [:]
      for line in bal.stdout.split(separator: "\n") {
        let cols = line.split(separator: "\t")
        guard cols.count == 2, let number = cols[0].split(separator: ":").last else { continue }
        theirs[String(number)] = Self.minor(String(cols[1]))
      }
      #expect(theirs == expected, "ledger-cli differs from bankctl")
    } else {
      print("SKIPPED: ledger is not installed; ledger-cli was not checked")
    }
  }
}

extension ProductsCLITests {
  /// `interest run` killed at each of its writes (half written, then SIGKILL), in batches of two
  /// accounts: the store verifies, the run again finishes the rest, and every account ends with
  /// exactly its month's interest, once, as a run that was never interrupted gives.
  @Test func anInterestRunKilledAtEveryWriteLosesNothingAndDoublesNothing() throws {
    guard let cc = Hardening2Tests.cCompiler() else {
      print("SKIPPED: no C compiler; the torn-write injector was not built")
      return
    }
    let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/tear.c").path
    let shim = dir.file("tear.so")
    let built = try runProcess(cc, ["-shared", "-fPIC", "-O1", "-o", shim, source, "-ldl"])
    try #require(built.status == 0, "\(built.stderr)")
    var accounts: [String] = []
    for i in 0..<7 {
      let a = try #require(
        json(
          try bank(
            [
              "--json", "open", "--name", "Saver \(i)", "--type", i == 6 ? "checking" : "savings",
              "--overdraft", i == 6 ? "900" : "0",
            ], now: "2026-01-01T08:0\(i):00Z"))["account"] as? String)
      accounts.append(a)
    }
    #expect(
      try bank(
        ["rate", "set", "--type", "savings", "--annual", "3.65", "--from", "2026-01-01"],
        now: "2026-01-01T08:30:00Z"
      ).status == 0)
    #expect(
      try bank(
        ["rate", "set", "--type", "overdraft", "--annual", "36.5", "--from", "2026-01-01"],
        now: "2026-01-01T08:31:00Z"
      ).status == 0)
    for (i, a) in accounts.enumerated() {
      let args = i == 6 ? ["withdraw", a, "500.00"] : ["deposit", a, "\(1000 * (i + 1)).00"]
      #expect(try bank(args, now: "2026-01-01T09:0\(i):00Z").status == 0)
    }
    let base = dir.file("base.journal")
    let work = dir.file("work.journal")
    func copy(_ from: String, _ to: String) throws {
      for suffix in ["", ".snapshot", ".offsets", ".keys", ".key"] {
        try? FileManager.default.removeItem(atPath: to + suffix)
        if FileManager.default.fileExists(atPath: from + suffix) {
          try FileManager.default.copyItem(atPath: from + suffix, toPath: to + suffix)
        }
      }
    }
    try copy(store, base)
    func run(_ store: String, tearAt: Int?) throws -> ProcessResult {
      let env = tearAt.map { "LD_PRELOAD=\(shim) TEAR_AT=\($0) " } ?? ""
      return try runProcess(
        "/bin/sh",
        [
          "-c",
          "env \(env)\"$0\" --store \"$1\" --now 2026-02-01T02:00:00Z --json interest run --date 2026-01-31 --batch 2",
          Self.bankctl, store,
        ])
    }
    // The uninterrupted run gives the figures every interrupted one must reach.
    let clean = try run(store, tearAt: nil)
    #expect(clean.status == 0, "\(clean.stderr)")
    func balances(_ path: String) throws -> [String] {
      try accounts.map { a in
        let r = try runProcess(Self.bankctl, ["--store", path, "--json", "balance", a])
        return json(r)["balance"] as? String ?? "?"
      }
    }
    let want = try balances(store)
    #expect(want[0] == "1003.10" && want[6] == "-515.50", "\(want)")
    var torn = 0
    for n in 1..<60 {
      try copy(base, work)
      let r = try run(work, tearAt: n)
      if r.status != 137 { break }
      torn += 1
      let verify = try runProcess(Self.bankctl, ["--store", work, "--json", "verify"])
      #expect(verify.status == 0, "torn at write \(n): \(verify.stderr)")
      let again = try run(work, tearAt: nil)
      #expect(again.status == 0, "torn at write \(n): \(again.stderr)")
      #expect(try balances(work) == want, "torn at write \(n)")
      let twice = try run(work, tearAt: nil)
      #expect((json(twice)["accounts"] as? Int) == 0, "torn at write \(n): \(twice.stdout)")
    }
    #expect(torn >= 4, "the run was killed at \(torn) writes")
    print("interest run killed at each of its \(torn) writes")
  }
}

/// Runs the first `sh` block after a README section's heading exactly as written (its `/tmp/`
/// paths moved into `directory`), with the built products first on the PATH; returns what it
/// printed and the block the README shows after it (what the tour should print).
func runReadmeTour(_ heading: String, in directory: String) throws -> (ProcessResult, Substring) {
  let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")
  let text = try String(contentsOf: readme, encoding: .utf8)
  let section = try #require(text.range(of: heading))
  let rest = text[section.upperBound...]
  let start = try #require(rest.range(of: "```sh\n"))
  let end = try #require(rest[start.upperBound...].range(of: "```"))
  let script = String(rest[start.upperBound..<end.lowerBound])
    .replacingOccurrences(of: "/tmp/", with: directory + "/")
  let printed = rest[end.upperBound...]
  let expectedStart = try #require(printed.range(of: "```\n"))
  let expectedEnd = try #require(printed[expectedStart.upperBound...].range(of: "```"))
  let path =
    BuiltProducts.directory + ":"
    + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
  let r = try runProcess("/bin/bash", ["-e", "-c", script], environment: ["PATH": path])
  return (r, printed[expectedStart.upperBound..<expectedEnd.lowerBound])
}

extension ProductsCLITests {
  /// Every change of an account is a record that names who made it: `history --changes`.
  @Test func historyShowsWhoChangedAnAccountAndWhen() throws {
    let a = try #require(json(try bank(["--json", "open", "--name", "A"]))["account"] as? String)
    #expect(
      try bank(
        ["staff", "add", "--username", "maya", "--name", "Maya Lund", "--role", "manager"],
        stdin: "branch manager 2026 key\n"
      ).status == 0)
    let maya = try #require(
      json(try bank(["--json", "login", "--staff", "maya"], stdin: "branch manager 2026 key\n"))[
        "session"] as? String)
    #expect(try bank(["--session", maya, "overdraft", a, "300"]).status == 0)
    #expect(try bank(["--session", maya, "freeze", a]).status == 0)
    #expect(try bank(["unfreeze", a]).status == 0)
    let r = try bank(["--json", "history", a, "--changes"])
    #expect(r.status == 0, "\(r.stderr)")
    let changes = try #require(json(r)["changes"] as? [[String: Any]])
    #expect(
      changes.map { $0["change"] as? String } == ["opened", "overdraft", "frozen", "unfrozen"])
    #expect(
      changes.map { $0["by"] as? String } == ["operator", "staff.maya", "staff.maya", "operator"])
    #expect(changes[1]["overdraft_limit"] as? String == "300.00")
    #expect(changes[2]["status"] as? String == "frozen")
  }
}
