import BankCore
import Foundation
import TestSupport
import Testing

@testable import BankCLI

/// Runs bankctl in-process and returns the exit code and both streams.
func cli(
  _ args: [String], store: String? = nil, env: [String: String] = [:], input: [String] = []
) -> (
  code: Int32, out: String, err: String
) {
  let console = Console(direct: false)
  let full = (store.map { ["--store", $0] } ?? []) + args
  // A low password cost keeps the suite fast; the binary always uses the documented default.
  let code = runCommandLine(
    full, environment: env, console: console, opener: { FileStoreOpener(path: $0) },
    input: SecretInput(lines: input),
    authConfiguration: AuthConfiguration(passwordIterations: 1_000))
  return (code, console.out, console.err)
}

func jsonObject(_ text: String) -> [String: Any]? {
  guard let data = text.data(using: .utf8),
    let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
  else { return nil }
  return obj
}

@Suite struct ParserTests {
  @Test func globalOptionsGoBeforeOrAfterTheCommand() throws {
    let a = try ArgumentParser.parse(["--store", "x", "--json", "balance", "1000-0001-7"])
    let b = try ArgumentParser.parse(["balance", "1000-0001-7", "--json", "--store=x"])
    #expect(a.store == "x" && b.store == "x" && a.json && b.json)
    #expect(a.positionals == ["1000-0001-7"] && b.positionals == a.positionals)
  }

  @Test func optionsValuesAndDoubleDash() throws {
    let p = try ArgumentParser.parse(["deposit", "A", "1", "--memo", "x", "--id=k1"])
    #expect(p.options == ["memo": "x", "id": "k1"])
    let q = try ArgumentParser.parse(["deposit", "--", "A", "--not-an-option"])
    #expect(q.positionals == ["A", "--not-an-option"])
    #expect(throws: UsageError.self) { try ArgumentParser.parse(["deposit", "A", "1", "--memo"]) }
    #expect(throws: UsageError.self) {
      try ArgumentParser.parse(["deposit", "A", "1", "--bogus", "1"])
    }
    #expect(throws: UsageError.self) { try ArgumentParser.parse(["frobnicate"]) }
    #expect(throws: UsageError.self) {
      try ArgumentParser.parse(["deposit", "--id", "a", "--id", "b"])
    }
    #expect(throws: UsageError.self) {
      try ArgumentParser.parse(["--lock-timeout", "-1", "accounts"])
    }
    #expect(
      try ArgumentParser.parse(["--lock-timeout", "2.5", "accounts"]).lockTimeout
        == .milliseconds(2500))
    #expect(throws: UsageError.self) {
      try ArgumentParser.parse(["--lock-timeout", "1e3", "accounts"])
    }
  }
}

@Suite(.serialized) struct CommandTests {
  let dir = TempDirectory("cli")
  var store: String { dir.file("bank.journal") }

  @Test func fullScenarioWithJSONShapes() throws {
    let o = cli(["--json", "open", "--name", "Alice", "--overdraft", "50"], store: store)
    #expect(o.code == 0, "\(o.err)")
    let opened = try #require(jsonObject(o.out))
    #expect(
      Set(opened.keys) == [
        "account", "name", "type", "currency", "status", "balance", "available", "pending",
        "overdraft_limit",
      ])
    #expect(
      opened["balance"] as? String == "0.00" && opened["overdraft_limit"] as? String == "50.00")
    #expect(opened["type"] as? String == "checking" && opened["status"] as? String == "active")
    let alice = try #require(opened["account"] as? String)
    let bob = try #require(
      jsonObject(cli(["--json", "open", "--name", "Bob", "--type", "savings"], store: store).out)?[
        "account"] as? String)

    let d = cli(
      ["--json", "deposit", alice, "12.3", "--id", "dep-1", "--memo", "pay"], store: store)
    let dj = try #require(jsonObject(d.out))
    #expect(Set(dj.keys) == ["transfer", "account", "amount", "currency", "balance", "replayed"])
    #expect(
      dj["amount"] as? String == "12.30" && dj["balance"] as? String == "12.30"
        && dj["replayed"] as? Bool == false)
    #expect(dj["transfer"] as? String == "dep-1")
    let again = try #require(
      jsonObject(
        cli(["--json", "deposit", alice, "12.30", "--id", "dep-1", "--memo", "pay"], store: store)
          .out))
    #expect(again["replayed"] as? Bool == true && again["balance"] as? String == "12.30")
    let conflict = cli(["--json", "deposit", alice, "13", "--id", "dep-1"], store: store)
    #expect(conflict.code == 1)
    #expect(
      (jsonObject(conflict.err)?["error"] as? [String: Any])?["code"] as? String
        == "idempotency_conflict")

    let t = cli(["--json", "transfer", alice, bob, "2.30"], store: store)
    let tj = try #require(jsonObject(t.out))
    #expect(
      Set(tj.keys) == [
        "transfer", "from", "to", "amount", "currency", "from_balance", "to_balance", "replayed",
      ])
    #expect(tj["from_balance"] as? String == "10.00" && tj["to_balance"] as? String == "2.30")

    let w = try #require(jsonObject(cli(["--json", "withdraw", alice, "60"], store: store).out))
    #expect(w["balance"] as? String == "-50.00")
    #expect(cli(["withdraw", alice, "0.01"], store: store).code == 1)

    let b = try #require(jsonObject(cli(["--json", "balance", alice], store: store).out))
    #expect(Set(b.keys) == ["account", "currency", "balance", "available", "pending"])
    #expect(b["available"] as? String == "0.00")

    let list = try #require(jsonObject(cli(["--json", "accounts"], store: store).out))
    let accounts = try #require(list["accounts"] as? [[String: Any]])
    #expect(accounts.count == 2)
    #expect(accounts.allSatisfy { Set($0.keys) == Set(opened.keys) })

    let h = try #require(jsonObject(cli(["--json", "history", alice], store: store).out))
    let entries = try #require(h["entries"] as? [[String: Any]])
    #expect(entries.map { $0["amount"] as? String } == ["-60.00", "-2.30", "12.30"])
    #expect(entries.map { $0["balance"] as? String } == ["-50.00", "10.00", "12.30"])
    #expect(
      entries.allSatisfy {
        Set($0.keys) == [
          "transfer", "time", "kind", "amount", "balance", "memo", "counterparty", "by", "channel",
        ]
      })
    // The CLI prints the library's own encoding: the same keys, in the same order, the same
    // values (JSONEncoder does not keep the order; the parsed values must still agree).
    do {
      let ledger = Ledger(
        try Bank(storage: FileStorage(path: store, options: .init(readOnly: true))))
      defer { ledger.close() }
      let a = try ledger.account(try AccountNumber(parsing: alice))
      let library = try #require(
        jsonObject(String(decoding: try JSONEncoder().encode(a), as: UTF8.self)))
      let shown = try #require(jsonObject(cli(["--json", "accounts"], store: store).out))
      let row = try #require(
        (shown["accounts"] as? [[String: Any]])?.first { $0["account"] as? String == alice })
      #expect(NSDictionary(dictionary: row) == NSDictionary(dictionary: library))
      let entries = try ledger.history(of: a.number)
      let libraryEntries = try #require(
        try JSONSerialization.jsonObject(with: try JSONEncoder().encode(entries))
          as? [[String: Any]])
      let shownEntries = try #require(h["entries"] as? [[String: Any]])
      #expect(NSArray(array: shownEntries) == NSArray(array: libraryEntries))
    }
    #expect(
      try #require(
        jsonObject(cli(["--json", "history", alice, "--limit", "1"], store: store).out)?["entries"]
          as? [Any]
      ).count == 1)

    let v = try #require(jsonObject(cli(["--json", "verify"], store: store).out))
    #expect(Set(v.keys) == ["ok", "records", "batches", "head_hash", "warnings"])
    #expect(v["ok"] as? Bool == true && (v["head_hash"] as? String)?.count == 64)

    let human = cli(["accounts"], store: store)
    #expect(human.code == 0 && human.out.contains("Alice") && human.out.contains("-50.00"))
  }

  @Test func exitCodesFollowTheContract() throws {
    #expect(cli(["--help"]).code == 0)
    #expect(cli(["help", "deposit"]).code == 0)
    #expect(cli(["deposit", "--help"]).code == 0)
    #expect(cli(["--version"]).out.hasPrefix("bankctl "))
    #expect(cli([]).code == 64)
    let noCommand = cli(["--json"])
    #expect(noCommand.code == 64 && noCommand.err.hasPrefix("{\"error\":{\"code\":\"usage\""))
    #expect(cli(["help", "frobnicate"]).code == 64)
    #expect(cli(["frobnicate"]).code == 64)
    #expect(cli(["balance", "1000-0001-7"], store: dir.file("missing.journal")).code == 74)
    #expect(!FileManager.default.fileExists(atPath: dir.file("missing.journal")))
    #expect(cli(["balance", "1000-0001-7"], store: dir.path).code == 74)
    let a = try #require(
      jsonObject(cli(["--json", "open", "--name", "A"], store: store).out)?["account"] as? String)
    #expect(cli(["deposit", a, "1e3"], store: store).code == 64)
    // argv cannot carry a NUL byte between processes, but the in-process entry point can.
    #expect(cli(["deposit", a, "1\u{0}2"], store: store).code == 64)
    #expect(cli(["open", "--name", "A\u{0}B"], store: store).code == 64)
    #expect(cli(["deposit", "1000-0001-8", "1"], store: store).code == 64)
    #expect(
      cli(["deposit", try AccountNumber(base: 10_000_099).description, "1"], store: store).code == 1
    )
    #expect(cli(["withdraw", a, "1"], store: store).code == 1)
    writeFileBytes(dir.file("junk.journal"), Array(repeating: 0x41, count: 200))
    let corrupt = cli(["--json", "verify"], store: dir.file("junk.journal"))
    #expect(corrupt.code == 65)
    #expect(
      (jsonObject(corrupt.err)?["error"] as? [String: Any])?["code"] as? String == "store_corrupt")
    // Held lock (as another process holds it while it commits a group): exit 75 after the
    // timeout. A writer that merely has the store open does not hold it (SharedProcessTests).
    let holder = open(store, O_RDWR)
    #expect(flock(holder, LOCK_EX) == 0)
    let locked = cli(["--lock-timeout", "0.2", "--json", "deposit", a, "1"], store: store)
    close(holder)
    #expect(locked.code == 75)
    #expect(
      (jsonObject(locked.err)?["error"] as? [String: Any])?["code"] as? String == "store_locked")
  }

  @Test func errorsAreClearOnStderr() throws {
    let a = try #require(
      jsonObject(cli(["--json", "open", "--name", "A"], store: store).out)?["account"] as? String)
    let r = cli(["deposit", a, "12.345"], store: store)
    #expect(r.code == 64)
    #expect(r.out.isEmpty)
    #expect(r.err.hasPrefix("Error: invalid amount '12.345': USD allows at most 2 decimal places"))
    #expect(
      r.err.contains(
        "Usage: bankctl [--store <path>] [--json] [--now <time>] [--session <token>] deposit <account> <amount>"
      ))
    #expect(r.err.contains("See 'bankctl deposit --help' for more information."))
    let m = cli(["deposit", a], store: store)
    #expect(m.code == 64 && m.err.contains("missing argument <amount>"))
    let j = cli(["--json", "withdraw", a, "5"], store: store)
    let err = try #require(jsonObject(j.err)?["error"] as? [String: Any])
    #expect(err["code"] as? String == "insufficient_funds")
    #expect((err["message"] as? String)?.contains(a) == true)
  }

  @Test func theBanksOwnAccountsRefuseCustomerCommands() throws {
    let a = try #require(
      jsonObject(cli(["--json", "open", "--name", "A"], store: store).out)?["account"] as? String)
    #expect(cli(["deposit", a, "50"], store: store).code == 0)
    let all = jsonObject(cli(["--json", "accounts", "--all"], store: store).out)?["accounts"]
    let vault = try #require(
      (all as? [[String: Any]])?.first { $0["type"] as? String == "vault" }?["account"] as? String)
    let before = fileBytes(store)
    for args in [
      ["deposit", vault, "1"], ["withdraw", vault, "1"], ["transfer", vault, a, "1"],
      ["transfer", a, vault, "1"], ["freeze", vault], ["close", vault],
    ] {
      let r = cli(["--json"] + args, store: store)
      #expect(r.code == 1, "\(args): \(r.err)")
      #expect(
        (jsonObject(r.err)?["error"] as? [String: Any])?["code"] as? String == "internal_account",
        "\(args)")
    }
    #expect(fileBytes(store) == before, "refused commands leave the store unchanged")
    #expect(cli(["deposit", a, "1"], store: store).code == 0, "the vault still works")
  }

  @Test func nowRunsACommandAsOfATimeAndNeverGoesBack() throws {
    let a = try #require(
      jsonObject(
        cli(["--json", "--now", "2026-03-31T17:00:00Z", "open", "--name", "A"], store: store).out)?[
          "account"] as? String)
    #expect(cli(["deposit", a, "5", "--now", "2026-04-01T09:30:00+02:00"], store: store).code == 0)
    let h = cli(["--json", "history", a], store: store).out
    #expect(h.contains("2026-04-01T07:30:00"), "\(h)")
    let before = fileBytes(store)
    let back = cli(["--json", "--now", "2026-03-31T18:00:00Z", "deposit", a, "1"], store: store)
    #expect(back.code == 64)
    #expect(
      (jsonObject(back.err)?["error"] as? [String: Any])?["code"] as? String == "invalid_argument")
    #expect(fileBytes(store) == before, "a refused --now leaves the store unchanged")
    for bad in ["2026-02-30T00:00:00Z", "2026-03-31 17:00:00Z", "2026-03-31T17:00:00", "yesterday"]
    {
      let r = cli(["--json", "--now", bad, "balance", a], store: store)
      #expect(r.code == 64, "\(bad)")
      #expect((jsonObject(r.err)?["error"] as? [String: Any])?["code"] as? String == "usage")
    }
  }

  @Test func storeComesFromOptionThenEnvironmentThenDefault() throws {
    let envStore = dir.file("env.journal")
    let r = cli(["--json", "open", "--name", "Env"], env: ["BANKCTL_STORE": envStore])
    #expect(r.code == 0)
    #expect(FileManager.default.fileExists(atPath: envStore))
    let optStore = dir.file("opt.journal")
    #expect(
      cli(["open", "--name", "Opt", "--store", optStore], env: ["BANKCTL_STORE": envStore]).code
        == 0)
    #expect(FileManager.default.fileExists(atPath: optStore))
    #expect(
      try #require(
        jsonObject(cli(["--json", "accounts"], env: ["BANKCTL_STORE": envStore]).out)?["accounts"]
          as? [Any]
      ).count == 1)
  }

  @Test func exportFormats() throws {
    let a = try #require(
      jsonObject(cli(["--json", "open", "--name", "A, \"quoted\""], store: store).out)?["account"]
        as? String)
    let b = try #require(
      jsonObject(cli(["--json", "open", "--name", "B", "--currency", "EUR"], store: store).out)?[
        "account"] as? String)
    #expect(cli(["deposit", a, "1000", "--memo", "first, with comma"], store: store).code == 0)
    #expect(cli(["deposit", b, "5"], store: store).code == 0)
    #expect(cli(["withdraw", a, "0.05", "--id", "w-1"], store: store).code == 0)
    let ledger = cli(["export", "--format", "ledger"], store: store).out
    #expect(ledger.contains("commodity USD\n  format 1,000.00 USD\n"))
    #expect(ledger.contains("commodity EUR\n  format 1,000.00 EUR\n"))
    #expect(ledger.contains("account Liabilities:Deposits:Checking:\(a)"))
    #expect(ledger.contains("(w-1) withdrawal"))
    #expect(ledger.contains("  -1000.00 USD\n"))
    #expect(ledger.hasSuffix("\n"))
    let csv = cli(["export", "--format", "csv"], store: store).out
    let lines = csv.split(separator: "\n")
    #expect(
      lines.first
        == "transfer,time,kind,debit_account,credit_account,amount,currency,memo,by,channel")
    #expect(lines.count == 4)
    #expect(csv.contains("\"first, with comma\""))
    let jsonl = cli(["export", "--format", "jsonl"], store: store).out
    #expect(jsonl.split(separator: "\n").allSatisfy { jsonObject(String($0)) != nil })
    #expect(cli(["export", "--format", "xml"], store: store).code == 64)
  }

  @Test func demoBuildsTheSampleBank() throws {
    let r = cli(["--json", "demo"], store: store)
    #expect(r.code == 0, "\(r.err)")
    let accounts = try #require(jsonObject(r.out)?["accounts"] as? [[String: Any]])
    #expect(accounts.count == 10)
    let list = try #require(
      jsonObject(cli(["--json", "accounts"], store: store).out)?["accounts"] as? [[String: Any]])
    #expect(
      list.count == 14,
      "ten demo accounts, the two demo customers' accounts, Ada's savings and Alan's loan")
    // A year of products: a savings account with twelve monthly postings, a loan being repaid.
    let loan = try #require(
      jsonObject(cli(["--json", "loan", "show", "L000001"], store: store).out))
    #expect(loan["status"] as? String == "active")
    #expect((loan["paid_principal"] as? String).map { $0 != "0.00" } == true)
    let tb = try #require(
      jsonObject(cli(["--json", "report", "trial-balance"], store: store).out))
    #expect(tb["total_debits"] as? String == tb["total_credits"] as? String)
    let savings = try #require(
      list.first { $0["type"] as? String == "savings" && $0["name"] as? String == "Ada Lovelace" })
    let history = try #require(
      jsonObject(
        cli(
          ["--json", "history", savings["account"] as? String ?? "", "--limit", "100"], store: store
        )
        .out)?["entries"] as? [[String: Any]])
    #expect(history.filter { $0["kind"] as? String == "interest" }.count >= 11)
    // The demo people, printed once: customers with cards and PINs, a teller and a manager, whose
    // credentials work.
    let people = try #require(jsonObject(r.out)?["credentials"] as? [[String: String]])
    #expect(people.count == 4)
    let ada = try #require(people.first)
    let login = cli(
      ["--json", "login", "--customer", ada["customer"] ?? ""], store: store,
      input: [ada["password"] ?? ""])
    #expect(login.code == 0, "\(login.err)")
    let tina = try #require(people.first { $0["staff"] == "tina" })
    #expect(
      cli(["login", "--staff", "tina"], store: store, input: [tina["password"] ?? ""]).code == 0)
    let human = cli(["demo"], store: store)
    #expect(human.code == 0 && human.out.contains("BankCore demo"))
    #expect(!human.out.contains(ada["password"] ?? "-"), "credentials are printed only once")
  }

  @Test func helpTextsMatchTheirSnapshots() throws {
    let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Snapshots")
    // Recording must be asked for, and a recording run fails: it compared nothing.
    let record = ProcessInfo.processInfo.environment["BANKCTL_RECORD_SNAPSHOTS"] == "1"
    for topic in [nil] + Commands.all.map(\.name) as [String?] {
      let r = cli(topic.map { ["help", $0] } ?? ["--help"])
      #expect(r.code == 0)
      let file = snapshots.appendingPathComponent(
        "help-\((topic ?? "overview").replacing(" ", with: "-")).txt")
      if record {
        try FileManager.default.createDirectory(at: snapshots, withIntermediateDirectories: true)
        try r.out.write(to: file, atomically: true, encoding: .utf8)
        continue
      }
      let expected = try String(contentsOf: file, encoding: .utf8)
      #expect(
        r.out == expected,
        "help for \(topic ?? "bankctl") changed; rerun with BANKCTL_RECORD_SNAPSHOTS=1 if intended")
    }
    if record {
      Issue.record(
        "recorded the help snapshots (BANKCTL_RECORD_SNAPSHOTS=1); review them and rerun without it"
      )
    }
  }
}
