import BankCore
import Foundation
import TestSupport
import Testing

@testable import BankCLI

/// Issue 9: what outside testers found. Each test fails on the code before its fix.
@Suite(.serialized) struct HardeningTests {
  static let bankctl = BuiltProducts.executable("bankctl")
  let dir = TempDirectory("hardening")
  var store: String { dir.file("bank.journal") }

  func open(_ name: String = "A", _ extra: [String] = []) throws -> String {
    let r = cli(["--json", "open", "--name", name] + extra, store: store)
    return try #require(jsonObject(r.out)?["account"] as? String, "\(r.err)")
  }

  /// Runs the built binary through `/bin/sh` so the test can redirect or close descriptors.
  func shell(_ redirections: String, _ args: [String]) throws -> ProcessResult {
    try runProcess(
      "/bin/sh",
      ["-c", "exec \"$0\" \"$@\" \(redirections)", Self.bankctl, "--store", store] + args)
  }

  func balance(_ account: String) -> String? {
    jsonObject(cli(["--json", "balance", account], store: store).out)?["balance"] as? String
  }

  // MARK: A. Output failures

  @Test func aFullStdoutIsExit74AndTheDepositIsDurable() throws {
    let a = try open()
    let r = try shell(">/dev/full", ["deposit", a, "10", "--id", "d-1"])
    #expect(r.status == 74, "\(r.stderr)")
    #expect(r.stderr.contains("could not write the output to stdout"), "\(r.stderr)")
    #expect(r.stderr.contains("durable"))
    #expect(balance(a) == "10.00")
    let j = try shell(">/dev/full", ["--json", "deposit", a, "10", "--id", "d-1"])
    #expect(j.status == 74)
    #expect(
      (jsonObject(j.stderr)?["error"] as? [String: Any])?["code"] as? String == "io_error",
      "\(j.stderr)")
    #expect(balance(a) == "10.00", "the retry with --id moved nothing")
    let export = try shell(">/dev/full", ["export", "--format", "csv"])
    #expect(export.status == 74, "\(export.stderr)")
  }

  @Test func closedStdoutOrStderrNeverCrashesNorTouchesTheStore() throws {
    let a = try open()
    let closedOut = try shell(">&-", ["deposit", a, "5"])
    #expect(closedOut.status == 74, "\(closedOut.stderr)")
    #expect(closedOut.stderr.contains("Bad file descriptor"), "\(closedOut.stderr)")
    let closedErr = try shell("2>&-", ["deposit", a, "7"])
    #expect(closedErr.status == 0)
    #expect(closedErr.stdout.contains("Deposited 7.00 USD"))
    // Errors written to a closed stderr are lost, not written over the store.
    #expect(try shell("2>&-", ["withdraw", a, "1000"]).status == 1)
    #expect(try shell("2>&- >&-", ["deposit", a, "frobnicate"]).status == 64)
    #expect(try shell("<&- 2>&-", ["deposit", a, "1"]).status == 0)
    #expect(cli(["verify"], store: store).code == 0)
    #expect(balance(a) == "13.00")
  }

  @Test func theWriterReportsFailuresInProcess() throws {
    let a = try open()
    let full = Glibc.open("/dev/full", O_WRONLY)
    let errPath = dir.file("stderr.txt")
    let err = Glibc.open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    defer {
      _ = close(full)
      _ = close(err)
    }
    let console = Console(outputFD: full, errorFD: err)
    #expect(
      runCommandLine(["--store", store, "deposit", a, "3"], environment: [:], console: console)
        == 74)
    #expect(console.outputFailure == WriteFailure(errno: ENOSPC))
    #expect(try String(contentsOfFile: errPath, encoding: .utf8).hasPrefix("Error: could not"))
    #expect(balance(a) == "3.00")
    let closed = FileDescriptorWriter(fd: 1_000_000)
    #expect(!closed.write("x") && closed.failure == WriteFailure(errno: EBADF))
  }

  // MARK: B. Hostile text

  @Test(arguments: ["\u{1b}[2J", "\u{202E}evil", "a\u{9b}b", "\u{2028}", "\u{200B}x"])
  func userTextIsEscapedInEveryMessage(_ hostile: String) throws {
    let a = try open()
    let cases: [[String]] = [
      [hostile], ["accounts", "--\(hostile)"], ["--\(hostile)", "accounts"],
      ["export", "--format", hostile], ["history", a, "--limit", hostile],
      ["open", "--name", "X", "--type", hostile], ["open", "--name", "X", "--currency", hostile],
      ["help", hostile], ["--lock-timeout", hostile, "accounts"], ["balance", a, hostile],
      ["balance", hostile], ["deposit", a, hostile], ["deposit", a, "1", "--id", hostile],
      ["--store", dir.file(hostile), "accounts"], ["deposit", a, "1", "--memo", hostile],
    ]
    for args in cases {
      for json in [false, true] {
        let r = cli((json ? ["--json"] : []) + args, store: store)
        #expect(r.code == 64 || r.code == 74, "\(args.map(\.debugDescription))")
        let unsafe = r.err.unicodeScalars.filter {
          $0 != "\n" && Validate.isUnsafeForDisplay($0)
        }
        #expect(unsafe.isEmpty, "\(args.map(\.debugDescription)) echoed \(r.err.debugDescription)")
      }
    }
    #expect(cli(["\u{1b}[2J"]).err.contains("unknown command '\\u{1b}[2J'"))
  }

  @Test func namesAndMemosRefuseInvisibleAndReorderingCharacters() throws {
    let a = try open()
    for bad in [
      "\u{202A}x", "x\u{202E}y", "\u{2066}x", "x\u{2069}", "a\u{200B}b", "a\u{200D}b", "\u{FEFF}a",
      "a\u{2060}b", "a\u{2028}b", "a\u{2029}b",
    ] {
      #expect(cli(["open", "--name", bad], store: store).code == 64, "\(bad.debugDescription)")
      #expect(cli(["deposit", a, "1", "--memo", bad], store: store).code == 64)
    }
    for blank in [" ", "   ", "\u{00A0}", "\u{3000}"] {
      let r = cli(["open", "--name", blank], store: store)
      #expect(r.code == 64 && r.err.contains("only spaces"), "\(blank.debugDescription)")
    }
    #expect(cli(["open", "--name", "Zoë Ōkubo-محمد"], store: store).code == 0)
    #expect(
      cli(["deposit", a, "1", "--memo", " "], store: store).code == 0, "a blank memo is fine")
    #expect(throws: BankError.self) {
      try Validate.text("\u{202E}", field: "x", max: 9, allowEmpty: true)
    }
  }

  /// A minimal RFC 4180 reader, then the documented rule: remove one leading `'`.
  static func readCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var chars = Array(text)[...]
    while let c = chars.popFirst() {
      if quoted {
        if c == "\"" {
          if chars.first == "\"" {
            field.append("\"")
            chars.removeFirst()
          } else {
            quoted = false
          }
        } else {
          field.append(c)
        }
      } else if c == "\"" {
        quoted = true
      } else if c == "," {
        row.append(field)
        field = ""
      } else if c == "\n" {
        row.append(field)
        rows.append(row)
        row = []
        field = ""
      } else {
        field.append(c)
      }
    }
    return rows.map { $0.map { $0.hasPrefix("'") ? String($0.dropFirst()) : $0 } }
  }

  @Test func csvNeutralisesFormulasAndRoundTrips() throws {
    let a = try open()
    let memos = ["=1+1", "+cmd", "-2", "@SUM(A1)", "'quoted", "''", "plain, \"comma\"", "x=1"]
    for m in memos { #expect(cli(["deposit", a, "1", "--memo=\(m)"], store: store).code == 0) }
    let csv = cli(["export", "--format", "csv"], store: store).out
    // No raw field starts with a formula character (neutralised ones start with "'").
    for line in csv.split(separator: "\n").dropFirst() {
      for c in ["=", "+", "-", "@"] {
        #expect(!line.hasPrefix(c) && !line.contains("," + c), "\(line)")
      }
    }
    let rows = Self.readCSV(csv)
    #expect(
      csv.contains(",\"'=1+1\",operator,cli\n") && csv.contains(",\"'@SUM(A1)\",operator,cli\n"))
    #expect(rows.dropFirst().map { $0[7] } == memos)
    #expect(Exporter.csvField("\tx") == "\"'\tx\"" && Exporter.csvField("\rx") == "\"'\rx\"")
    #expect(Exporter.csvField("12.30") == "12.30")
  }

  @Test func ledgerMemosCannotBecomeCommentsOrDirectives() throws {
    let a = try open()
    for m in ["; not a comment", "rent ; tail", "  spaced  out  "] {
      #expect(cli(["deposit", a, "1", "--memo", m], store: store).code == 0)
    }
    let text = cli(["export"], store: store).out
    let descriptions = text.split(separator: "\n").filter { $0.first?.isNumber == true }
    #expect(descriptions.count == 3)
    #expect(descriptions.allSatisfy { !$0.contains(";") }, "\(descriptions)")
    #expect(descriptions.last?.hasSuffix(") spaced out") == true)
    #expect(
      Exporter.ledgerText("x\n2024-01-01 * fake\n  a  1 USD") == "x 2024-01-01 * fake a 1 USD")
    #expect(Exporter.ledgerText("; c\u{2028}d\r\ne") == ", c d e")
  }

  // MARK: C. Command line conventions

  @Test func booleanFlagsTakeNoValue() throws {
    let a = try open()
    for args in [
      ["--json=false", "accounts"], ["--json=true", "accounts"], ["accounts", "--all=yes"],
      ["balance", a, "--json="],
    ] {
      let r = cli(args, store: store)
      #expect(r.code == 64 && r.out.isEmpty, "\(args)")
      #expect(r.err.contains("takes no value"), "\(r.err)")
    }
  }

  @Test func doubleDashAndOptionLookingValues() throws {
    let a = try open()
    let p = try ArgumentParser.parse(["deposit", a, "1", "--memo", "--", "-x"])
    #expect(p.options["memo"] == "-x" && p.positionals == [a, "1"])
    let q = try ArgumentParser.parse(["deposit", "--memo", "--", "--id", a, "1"])
    #expect(q.options["memo"] == "--id" && q.positionals == [a, "1"])
    #expect(try ArgumentParser.parse(["deposit", a, "1", "--memo=-x"]).options["memo"] == "-x")
    let r = cli(["--json", "deposit", a, "2", "--memo", "--", "-x"], store: store)
    #expect(r.code == 0, "\(r.err)")
    let h = cli(["--json", "history", a], store: store).out
    #expect(h.contains("\"memo\":\"-x\""))
    let refused = cli(["deposit", a, "1", "--id", "--memo", "m"], store: store)
    #expect(refused.code == 64)
    #expect(refused.err.contains("missing value for option '--id': '--memo' is an option"))
    #expect(cli(["deposit", a, "1", "--memo", "-x"], store: store).code == 64)
    #expect(cli(["--store", "--json", "accounts"]).code == 64)
    #expect(balance(a) == "2.00")
  }

  @Test func helpAndVersionWinWhereverTheyAppear() throws {
    let version = cli(["deposit", "--bogus", "x", "--version"])
    #expect(version.code == 0 && version.out.hasPrefix("bankctl "))
    for args in [
      ["deposit", "--bogus", "--help"], ["deposit", "A", "1", "--id", "--help"],
      ["--json=false", "deposit", "-h"], ["deposit", "--help", "--version"],
      ["help", "deposit", "--help"],
    ] {
      let r = cli(args)
      #expect(r.code == 0, "\(args): \(r.err)")
      #expect(r.out.hasPrefix("OVERVIEW: Deposit cash"), "\(args): \(r.out)")
    }
    #expect(cli(["frobnicate", "--help"]).out.hasPrefix("OVERVIEW: Operate"))
    // After `--`, `--help` is just text.
    #expect(cli(["deposit", "A", "1", "--memo", "--", "--help"]).code == 64)
  }

  @Test func unknownCommandsSuggestTheNearest() throws {
    #expect(cli(["balanse"]).err.contains("unknown command 'balanse'; did you mean 'balance'?"))
    #expect(cli(["acounts"]).err.contains("did you mean 'accounts'?"))
    #expect(cli(["Deposit"]).err.contains("did you mean 'deposit'?"))
    #expect(cli(["help", "histroy"]).err.contains("did you mean 'history'?"))
    #expect(!cli(["xyzzy"]).err.contains("did you mean"))
    #expect(ArgumentParser.editDistance("kitten", "sitting") == 3)
  }

  @Test func jsonAppliesToEveryCommandThatPrintsAResult() throws {
    let a = try open()
    let b = try open("B")
    let c = try open("C")
    let commands: [[String]] = [
      ["open", "--name", "D"], ["deposit", a, "5"], ["withdraw", a, "1"], ["transfer", a, b, "1"],
      ["balance", a], ["accounts"], ["accounts", "--all"], ["history", a], ["freeze", b],
      ["unfreeze", b], ["close", c], ["verify"], ["demo"],
    ]
    for args in commands {
      let r = try shell("", ["--json"] + args)
      #expect(r.status == 0, "\(args): \(r.stderr)")
      #expect(r.stdout.hasSuffix("}\n") && r.stdout.filter { $0 == "\n" }.count == 1, "\(args)")
      #expect(jsonObject(r.stdout) != nil, "\(args): \(r.stdout)")
    }
  }

  // MARK: D. Ledger export read exactly by hledger and ledger-cli

  static func tool(_ name: String) -> String? {
    ["/usr/bin/\(name)", "/usr/local/bin/\(name)"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
  }

  /// Balances by account number, from `accounts --all` with the export's sign convention
  /// (debits positive: deposit accounts negated, vaults as they are).
  func expectedBalances() throws -> [String: String] {
    let accounts = try #require(
      jsonObject(cli(["--json", "accounts", "--all"], store: store).out)?["accounts"]
        as? [[String: Any]])
    var out: [String: String] = [:]
    for a in accounts {
      let number = try #require(a["account"] as? String)
      var balance = try #require(a["balance"] as? String)
      let code = try #require(a["currency"] as? String)
      if a["type"] as? String != "vault" {
        balance = balance.hasPrefix("-") ? String(balance.dropFirst()) : "-" + balance
      }
      if balance.trimmingCharacters(in: CharacterSet(charactersIn: "-0.")).isEmpty { continue }
      out[number] = Self.minorUnits(balance + " " + code)
    }
    return out
  }

  /// `-1,234.5 KWD` as `-1234500` minor units of KWD, exactly, or nil when it does not parse.
  static func minorUnits(_ text: String) -> String? {
    let parts = text.split(separator: " ")
    guard parts.count == 2, let currency = try? Currency.named(String(parts[1])) else { return nil }
    let negative = parts[0].hasPrefix("-")
    let digits = String(parts[0].drop { $0 == "-" }).replacingOccurrences(of: ",", with: "")
    guard let amount = try? Amount(parsing: digits, currency: currency) else { return nil }
    return "\(negative ? "-" : "")\(amount.minorUnits) \(currency.code)"
  }

  @Test func everyCurrencyIsReadExactlyByHledgerAndLedger() throws {
    var n = 0
    for currency in Currency.builtIn {
      let x = try open("X \(currency.code)", ["--currency", currency.code])
      let y = try open("Y \(currency.code)", ["--currency", currency.code])
      let unit =
        currency.minorDigits == 0 ? "" : "." + String(repeating: "7", count: currency.minorDigits)
      for (args, code) in [
        (["deposit", x, "1000\(unit)"], 0), (["deposit", y, "100"], 0),
        (["transfer", x, y, "1234\(unit)"], 1),
        (["transfer", x, y, "12\(unit.replacingOccurrences(of: "7", with: "3"))"], 0),
        (["withdraw", y, "1\(unit)"], 0), (["deposit", x, "1000000"], 0),
      ] as [([String], Int32)] {
        let r = cli(args, store: store)
        #expect(r.code == code, "\(currency.code) \(args): \(r.err)")
      }
      n += 1
    }
    // A posted hold, placed and posted through the library.
    do {
      let a = try AccountNumber(parsing: try open("H"))
      let l = try Ledger(storage: FileStorage(path: store))
      try l.deposit(Amount(parsing: "50", currency: .usd), to: a)
      let hold = try l.placeHold(Amount(parsing: "20", currency: .usd), from: a, memo: "; hold")
      try l.postHold(
        .number(hold.transfer.number), amount: Amount(parsing: "15", currency: .usd))
      l.close()
    }
    let text = cli(["export", "--format", "ledger"], store: store).out
    let file = dir.file("export.journal")
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    #expect(!text.contains("  format 1,000 "), "a format without a decimal mark is ambiguous")
    let expected = try expectedBalances()
    #expect(expected.count == 3 * n + 1)

    if let hledger = Self.tool("hledger") {
      let check = try runProcess(hledger, ["-f", file, "check", "--strict"])
      #expect(check.status == 0, "hledger check --strict: \(check.stderr)")
      let bal = try runProcess(
        hledger, ["-f", file, "balance", "--flat", "--no-total", "-O", "csv"])
      #expect(bal.status == 0, "\(bal.stderr)")
      var theirs: [String: String] = [:]
      for line in bal.stdout.split(separator: "\n").dropFirst() {
        let cols = line.split(separator: ",").map {
          $0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        guard cols.count == 2, let number = cols[0].split(separator: ":").last else { continue }
        theirs[String(number)] = Self.minorUnits(cols[1]) ?? cols[1]
      }
      #expect(theirs == expected, "hledger differs from bankctl")
    } else {
      print("SKIPPED: hledger is not installed (apt-get install hledger); hledger was not checked")
    }
    if let ledger = Self.tool("ledger") {
      let bal = try runProcess(
        ledger,
        [
          "--pedantic", "-f", file, "balance", "--flat", "--no-total", "--format",
          "%(account)\t%(quantity(scrub(display_total))) %(commodity(scrub(display_total)))\n",
        ])
      #expect(bal.status == 0, "ledger --pedantic: \(bal.stderr)")
      var theirs: [String: String] = [:]
      for line in bal.stdout.split(separator: "\n") {
        let cols = line.split(separator: "\t")
        guard cols.count == 2, let number = cols[0].split(separator: ":").last else { continue }
        theirs[String(number)] = Self.minorUnits(String(cols[1])) ?? String(cols[1])
      }
      #expect(theirs == expected, "ledger-cli differs from bankctl")
    } else {
      print("SKIPPED: ledger is not installed (apt-get install ledger); ledger-cli was not checked")
    }
  }

  @Test func aPostedHoldHasOneIdentifierInHistoryAndExport() throws {
    let a = try AccountNumber(parsing: try open())
    do {
      let l = try Ledger(storage: FileStorage(path: store))
      try l.deposit(Amount(parsing: "50", currency: .usd), to: a)
      let hold = try l.placeHold(Amount(parsing: "20", currency: .usd), from: a)
      try l.postHold(.number(hold.transfer.number))
      try l.placeHold(Amount(parsing: "5", currency: .usd), from: a, key: idem("atm-9"))
      try l.postHold(.key(idem("atm-9")))
      l.close()
    }
    let history = try #require(
      jsonObject(cli(["--json", "history", a.description], store: store).out)?["entries"]
        as? [[String: Any]])
    let fromHistory = Set(history.compactMap { $0["transfer"] as? String })
    let fromExport = Set(
      cli(["export", "--format", "jsonl"], store: store).out.split(separator: "\n").compactMap {
        jsonObject(String($0))?["transfer"] as? String
      })
    #expect(fromHistory.count == 3 && fromHistory == fromExport)
    #expect(fromExport.contains("atm-9"))
  }

  // MARK: F. The README and the demo's hints

  @Test func demoHintsSayHowToPutBankctlOnThePath() throws {
    let r = cli(["demo"], store: store)
    #expect(r.code == 0)
    #expect(r.out.contains("swift build -c release"))
    #expect(r.out.contains("export PATH=\"$PWD/.build/release:$PATH\""))
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")
    let text = try String(contentsOf: readme, encoding: .utf8)
    #expect(text.contains("export PATH=\"$PWD/.build/release:$PATH\""))
  }
}
