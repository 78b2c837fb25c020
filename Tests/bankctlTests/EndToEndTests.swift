import BankCore
import Foundation
import TestSupport
import Testing

/// Tests that launch the built bankctl binary, as a script would.
@Suite(.serialized) struct EndToEndTests {
  static let bankctl = BuiltProducts.executable("bankctl")
  let dir = TempDirectory("e2e")
  var store: String { dir.file("e2e.journal") }

  func bank(_ args: [String], env: [String: String]? = nil) throws -> ProcessResult {
    try runProcess(Self.bankctl, ["--store", store] + args, environment: env)
  }

  func json(_ r: ProcessResult) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]) ?? [:]
  }

  @Test func scenarioThroughTheBinary() throws {
    let a = try bank(["--json", "open", "--name", "Alice"])
    #expect(a.status == 0)
    #expect(
      a.stdout.hasSuffix("}\n") && a.stdout.filter { $0 == "\n" }.count == 1,
      "exactly one JSON object and a newline")
    let alice = try #require(json(a)["account"] as? String)
    let bob = try #require(
      json(try bank(["--json", "open", "--name", "Bob"]))["account"] as? String)
    #expect(try bank(["deposit", alice, "100"]).status == 0)
    #expect(try bank(["transfer", alice, bob, "25.50", "--id", "t-1"]).status == 0)
    let replay = json(try bank(["--json", "transfer", alice, bob, "25.50", "--id", "t-1"]))
    #expect(replay["replayed"] as? Bool == true)
    #expect(json(try bank(["--json", "balance", alice]))["balance"] as? String == "74.50")
    #expect(json(try bank(["--json", "balance", bob]))["balance"] as? String == "25.50")
    let refused = try bank(["--json", "withdraw", bob, "30"])
    #expect(refused.status == 1)
    #expect(refused.stderr.contains("\"code\":\"insufficient_funds\""))
    #expect(try bank(["verify"]).status == 0)
  }

  @Test func badInputNeverChangesTheStore() throws {
    let alice = try #require(
      json(try bank(["--json", "open", "--name", "Alice", "--overdraft", "10"]))["account"]
        as? String)
    let bob = try #require(
      json(try bank(["--json", "open", "--name", "Bob"]))["account"] as? String)
    #expect(try bank(["deposit", alice, "50"]).status == 0)
    #expect(try bank(["deposit", bob, "50", "--id", "used"]).status == 0)
    let lastDigit = Int(String(alice.last ?? "0")) ?? 0
    let wrongCheck = String(alice.dropLast()) + String((lastDigit + 1) % 10)
    let unknown = try AccountNumber(base: 10_009_999).description
    let longText = String(repeating: "x", count: 5000)
    let cases: [([String], Int32)] = [
      (["deposit", alice, "-5"], 64), (["deposit", alice, "-0"], 64),
      (["deposit", alice, "0"], 64),
      (["deposit", alice, "00012"], 0), (["deposit", alice, "1.234"], 64),
      (["deposit", alice, "1e3"], 64),
      (["deposit", alice, "١٢"], 64), (["deposit", alice, ""], 64),
      (["deposit", alice, "99999999999999999999999"], 64),
      (["deposit", alice, "92233720368547758.07"], 64),
      (["deposit", alice, "1000000000000.01"], 64),
      (["deposit", alice, "1,000"], 64), (["deposit", alice, " 12"], 64),
      (["deposit", alice, "NaN"], 64),
      (["deposit", wrongCheck, "1"], 64), (["deposit", "12345", "1"], 64),
      (["deposit", unknown, "1"], 1),
      (["deposit", alice, "1", "--memo", longText], 64),
      (["deposit", alice, "1", "--memo", "a\u{1b}[31mred"], 64),
      (["deposit", alice, "1", "--id", "bad key!"], 64), (["deposit", alice, "1", "--id", ""], 64),
      (["deposit", alice, "1", "--id", String(repeating: "k", count: 65)], 64),
      (["deposit", bob, "51", "--id", "used"], 1),
      (["deposit", alice, "1", "--bogus"], 64), (["deposit", alice], 64), (["deposit"], 64),
      (["deposit", alice, "1", "extra"], 64),
      (["withdraw", bob, "50.01"], 1), (["withdraw", alice, "1e2"], 64),
      (["withdraw", unknown, "1"], 1),
      (["transfer", alice, alice, "1"], 1), (["transfer", alice, bob, "0.001"], 64),
      (["transfer", alice, unknown, "1"], 1),
      (["transfer", bob, alice, "999"], 1), (["transfer", alice, bob], 64),
      (["balance", "nope"], 64), (["balance"], 64), (["history", alice, "--limit", "0"], 64),
      (["history", alice, "--limit", "x"], 64),
      (["open"], 64), (["open", "--name", ""], 64), (["open", "--name", longText], 64),
      (["open", "--name", "a\u{7}b"], 64),
      (["open", "--name", "X", "--type", "loan"], 64),
      (["open", "--name", "X", "--currency", "XYZ"], 64),
      (["open", "--name", "X", "--overdraft", "-1"], 64),
      (["open", "--name", "X", "--type", "savings", "--overdraft", "5"], 64),
      (["open", "--name", "X", "--number", alice], 1),
      (["open", "--name", "X", "--number", wrongCheck], 64),
      (["close", alice], 1), (["export", "--format", "pdf"], 64), (["frobnicate"], 64),
      (["--bogus", "accounts"], 64),
    ]
    for (args, expected) in cases {
      let before = fileBytes(store)
      let r = try bank(args)
      let shown = args.map { $0.count > 40 ? String($0.prefix(40)) + "…" : $0 }
      #expect(r.status == expected, "\(shown): exit \(r.status), stderr \(r.stderr)")
      if expected != 0 {
        let unchanged = fileBytes(store) == before
        #expect(unchanged, "\(shown) changed the store")
        #expect(r.stderr.hasPrefix("Error: "), "\(shown): \(r.stderr)")
        #expect(r.stdout.isEmpty, "\(shown) printed to stdout")
      }
    }
  }

  @Test func hostileStores() throws {
    let missing = dir.file("nope.journal")
    let r = try runProcess(Self.bankctl, ["--store", missing, "--json", "balance", "1000-0001-7"])
    #expect(r.status == 74 && r.stderr.contains("store_not_found"))
    #expect(!FileManager.default.fileExists(atPath: missing))
    #expect(try runProcess(Self.bankctl, ["--store", dir.path, "accounts"]).status == 74)
    // A store without permission: only meaningful for a user the mode applies to, so as root the
    // command runs as `nobody` (when runuser exists); otherwise the file's mode is enough.
    let denied = dir.file("denied.journal")
    #expect(try runProcess(Self.bankctl, ["--store", denied, "open", "--name", "D"]).status == 0)
    if getuid() == 0 {
      try checkPermissionDeniedAsNobody()
    } else {
      _ = chmod(denied, 0o000)
      let r = try runProcess(Self.bankctl, ["--store", denied, "accounts"])
      _ = chmod(denied, 0o600)
      #expect(r.status == 74, "\(r.stderr)")
    }
    let other = dir.file("other.journal")
    writeFileBytes(other, Array("SQLite format 3\u{0}".utf8) + [UInt8](repeating: 7, count: 100))
    let foreign = try runProcess(Self.bankctl, ["--store", other, "accounts"])
    #expect(foreign.status == 65)
    #expect(fileBytes(other).count == 116)
    #expect(try bank(["open", "--name", "T"]).status == 0)
    #expect(try bank(["deposit", "1000-0001-7", "5"]).status == 0)
    // A torn final write (of a writer killed mid-write) is recovered; the acknowledged account
    // survives.
    var bytes = crashed(fileBytes(store))
    bytes.removeLast(3)
    writeFileBytes(store, bytes)
    #expect(try bank(["accounts"]).status == 0)
    #expect(try bank(["deposit", "1000-0001-7", "1"]).status == 0)
    #expect(try bank(["deposit", "1000-0001-7", "2"]).status == 0)
    // Damage before the tail refuses with 65 and the byte offset.
    bytes = fileBytes(store)
    bytes[134] ^= 0xFF
    writeFileBytes(store, bytes)
    let corrupt = try bank(["--json", "verify"])
    #expect(corrupt.status == 65)
    #expect(corrupt.stderr.contains("byte offset 128"))
    #expect(fileBytes(store) == bytes)
  }

  /// Runs bankctl as `nobody` on a root-owned 0600 store, hermetically: the binary and the
  /// store are copied into a fresh directory under /tmp that `nobody` can traverse, so the
  /// outcome does not depend on where the checkout lives. (`runuser` exits 1, not 126, when it
  /// cannot execute the program, so that case is detected by a probe, not by the exit code.)
  func checkPermissionDeniedAsNobody() throws {
    let runuser = "/usr/sbin/runuser"
    guard FileManager.default.isExecutableFile(atPath: runuser) else {
      print("SKIPPED: running as root without runuser; the permission case cannot be exercised")
      return
    }
    var template = Array("/tmp/bankctl-nobody-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
      print("SKIPPED: mkdtemp failed (errno \(errno)); the permission case was not exercised")
      return
    }
    let sandbox = String(cString: made)
    defer { try? FileManager.default.removeItem(atPath: sandbox) }
    _ = chmod(sandbox, 0o755)
    let binary = sandbox + "/bankctl"
    try FileManager.default.copyItem(atPath: Self.bankctl, toPath: binary)
    _ = chmod(binary, 0o755)
    let store = sandbox + "/denied.journal"
    #expect(try runProcess(binary, ["--store", store, "open", "--name", "D"]).status == 0)
    #expect(fileBytes(store).count > 0)
    let probe = try runProcess(runuser, ["-u", "nobody", "--", binary, "--version"])
    guard probe.status == 0 else {
      print(
        "SKIPPED: nobody cannot run a copy of bankctl from \(sandbox) (runuser exit \(probe.status): \(probe.stderr.prefix(200))); permission case not exercised"
      )
      return
    }
    let r = try runProcess(runuser, ["-u", "nobody", "--", binary, "--store", store, "accounts"])
    #expect(r.status == 74, "\(r.stderr)")
    #expect(r.stderr.contains("Permission denied") || r.stderr.contains("errno 13"), "\(r.stderr)")
  }

  /// Bytes that are not UTF-8, in a password on standard input or in an argument, are refused:
  /// decoded with replacement characters, two different passwords (or names) would be one.
  @Test func secretsAndArgumentsThatAreNotUTF8AreRefused() throws {
    let sh = "/bin/sh"
    let b = "'\(Self.bankctl)' --json --store '\(store)'"
    let add = try runProcess(
      sh,
      [
        "-c",
        "printf 'correct horse battery \\377\\376 staple\\n' | \(b) staff add --username sam --name 'Sam Q' --role teller",
      ])
    #expect(add.status == 64 && add.stderr.contains("not valid UTF-8"), "\(add.stderr)")
    let name = try runProcess(sh, ["-c", "\(b) open --name \"$(printf 'A\\377B')\""])
    #expect(name.status == 64 && name.stderr.contains("usage"), "\(name.stderr)")
    #expect(!FileManager.default.fileExists(atPath: store), "nothing was created")
  }

  @Test func eightConcurrentProcessesLoseNothing() throws {
    let accounts = try (0..<4).map { i in
      try #require(json(try bank(["--json", "open", "--name", "P\(i)"]))["account"] as? String)
    }
    for a in accounts { #expect(try bank(["deposit", a, "1000"]).status == 0) }
    let perProcess = 15
    let procs = try (0..<8).map { p -> Process in
      let proc = Process()
      proc.executableURL = URL(fileURLWithPath: "/bin/sh")
      var script = ""
      for i in 0..<perProcess {
        let from = accounts[(p + i) % 4]
        let to = accounts[(p + i + 1) % 4]
        script +=
          "'\(Self.bankctl)' --store '\(store)' transfer \(from) \(to) 1.00 --id p\(p)-\(i) >/dev/null || exit 1\n"
      }
      proc.arguments = ["-c", script]
      try proc.run()
      return proc
    }
    for p in procs {
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
    }
    var total: Int64 = 0
    var expected: [String: Int64] = Dictionary(uniqueKeysWithValues: accounts.map { ($0, 100_000) })
    for p in 0..<8 {
      for i in 0..<perProcess {
        expected[accounts[(p + i) % 4], default: 0] -= 100
        expected[accounts[(p + i + 1) % 4], default: 0] += 100
      }
    }
    for a in accounts {
      let bal = try #require(json(try bank(["--json", "balance", a]))["balance"] as? String)
      let minor = try Amount(parsing: bal, currency: .usd).minorUnits
      total += minor
      #expect(minor == expected[a], "\(a)")
    }
    #expect(total == 400_000)
    let history = try bank(["export", "--format", "csv"])
    #expect(history.stdout.split(separator: "\n").count == 1 + 4 + 8 * perProcess)
  }

  @Test func anIndependentReaderAgreesWithVerify() throws {
    // Tools/read_journal.py is written from Docs/FileFormat.md alone. On every case below both
    // must give the same exit code; on success the same records, batches and head hash; on a torn
    // tail both warn; on damage both name the same byte offset. verify never changes the store.
    let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent()
    let reader = tests.deletingLastPathComponent().appendingPathComponent("Tools/read_journal.py")
      .path
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
      print("SKIPPED: python3 is not installed; the independent reader was not run")
      return
    }
    #expect(try bank(["demo"]).status == 0)
    #expect(try bank(["withdraw", "1000-0002-5", "1.50", "--id", "w"]).status == 0)
    // Batch boundaries: after each command the file ends at its last batch (a clean close).
    var ends: [Int] = []
    for i in 0..<4 {
      #expect(try bank(["deposit", "1000-0001-7", "1", "--id", "d\(i)"]).status == 0)
      ends.append(fileBytes(store).count)
    }
    let clean = fileBytes(store)
    let snapshotPath = store + ".snapshot"
    #expect(!FileManager.default.fileExists(atPath: snapshotPath))

    /// Runs both readers on `bytes` (and `snapshot`, when given) and checks that they agree.
    func agree(
      _ name: String, _ bytes: [UInt8], snapshot: [UInt8]? = nil, status: Int32,
      torn: Bool = false
    ) throws {
      writeFileBytes(store, bytes)
      if let snapshot {
        writeFileBytes(snapshotPath, snapshot)
      } else {
        try? FileManager.default.removeItem(atPath: snapshotPath)
      }
      let ours = try bank(["--json", "verify"])
      let theirs = try runProcess("/usr/bin/python3", [reader, store])
      #expect(ours.status == status, "\(name): bankctl verify exit \(ours.status): \(ours.stderr)")
      #expect(
        theirs.status == status, "\(name): read_journal.py exit \(theirs.status): \(theirs.stderr)")
      #expect(fileBytes(store) == bytes, "\(name): verify changed the journal")
      #expect(
        (snapshot == nil) != FileManager.default.fileExists(atPath: snapshotPath),
        "\(name): verify created or removed the snapshot")
      if status == 0 {
        let o = json(ours)
        let line =
          "records \(o["records"] ?? "") batches \(o["batches"] ?? "") head_hash \(o["head_hash"] ?? "")\n"
        #expect(theirs.stdout == line, "\(name)")
        let warnings = (o["warnings"] as? [String]) ?? []
        #expect(
          warnings.contains { $0.contains("torn tail") } == torn,
          "\(name): bankctl warnings \(warnings)")
        #expect(ours.stderr.contains("torn tail") == torn, "\(name): \(ours.stderr)")
        #expect(
          theirs.stderr.contains("warning: torn tail") == torn, "\(name): \(theirs.stderr)")
      } else {
        // Both name the same byte offset.
        func offset(_ s: String) -> Substring? {
          s.firstMatch(of: /byte offset (\d+)/)?.output.1
        }
        #expect(offset(ours.stderr) != nil, "\(name): \(ours.stderr)")
        #expect(
          offset(ours.stderr) == offset(theirs.stderr),
          "\(name): bankctl \(ours.stderr) read_journal.py \(theirs.stderr)")
      }
    }

    try agree("an intact store", clean, status: 0)
    // A writer killed mid-write: the close block is dirty and half a frame follows the last
    // batch (the first bytes of a real next deposit).
    #expect(try bank(["deposit", "1000-0001-7", "1", "--id", "next"]).status == 0)
    let next = Array(fileBytes(store)[clean.count...])
    for keep in [7, 40, next.count - 1] {
      try agree(
        "a torn tail of \(keep) bytes", crashed(clean) + next.prefix(keep), status: 0, torn: true)
    }
    try agree(
      "a crashed writer's journal ending at a batch boundary",
      Array(crashed(clean)[0..<ends[1]]), status: 0)
    for end in ends.dropLast() {
      try agree("a clean store truncated at \(end)", Array(clean[0..<end]), status: 65)
    }
    var zeroed = clean
    for i in (clean.count - 100)..<clean.count { zeroed[i] = 0 }
    try agree("a clean store with its last 100 bytes zeroed", zeroed, status: 65)
    try agree("junk after a clean close", clean + [UInt8](repeating: 0x5A, count: 100), status: 65)
    try agree("a zero byte after a clean close", clean + [0], status: 65)
    for base in [clean, crashed(clean)] {
      var flipped = base
      flipped[base.count / 2] ^= 0x10
      try agree("a flipped byte in the middle", flipped, status: 65)
    }
    var header = clean
    header[20] ^= 1
    try agree("a flipped byte in the file header", header, status: 65)
    // A close block torn or flipped: version 3 keeps two copies and uses the other; with both
    // damaged, recovery falls back to the frames' own checksums (issue 17). Either way every
    // batch is there.
    for bytes in [[70], [100], [70, 100]] {
      var block = clean
      for b in bytes { block[b] ^= 1 }
      try agree("flipped bytes \(bytes) in the close block", block, status: 0)
    }

    // A snapshot of the whole journal, taken through the library.
    writeFileBytes(store, clean)
    let ledger = try Ledger(
      storage: FileStorage(path: store), configuration: .init(snapshotEvery: 0))
    try ledger.takeSnapshot()
    ledger.close()
    let snapshot = fileBytes(snapshotPath)
    #expect(snapshot.count > 96)
    #expect(fileBytes(store) == clean)
    try agree("an intact store with its snapshot", clean, snapshot: snapshot, status: 0)
    // A crashed writer's journal cut at a batch boundary below what the snapshot covers: only
    // the snapshot proves the missing records were durable.
    try agree(
      "a stale snapshot that proves more records than remain",
      Array(crashed(clean)[0..<ends[1]]), snapshot: snapshot, status: 65)
    // Damage inside what a valid snapshot covers: open does not re-read it, verify does.
    var covered = crashed(clean)
    covered[clean.count / 2] ^= 0x10
    try agree("damage below a valid snapshot", covered, snapshot: snapshot, status: 65)
    // A snapshot that is not intact proves nothing: both accept the shorter journal.
    var badPayload = snapshot
    badPayload[badPayload.count - 1] ^= 1
    try agree(
      "a damaged stale snapshot", Array(crashed(clean)[0..<ends[1]]), snapshot: badPayload,
      status: 0)
    try agree(
      "a stale snapshot with bytes appended", Array(crashed(clean)[0..<ends[1]]),
      snapshot: snapshot + [0], status: 0)
    writeFileBytes(store, clean)
    try? FileManager.default.removeItem(atPath: snapshotPath)
  }

  @Test func theVaultRefusesCustomerCommandsWithExit1() throws {
    let a = try #require(json(try bank(["--json", "open", "--name", "A"]))["account"] as? String)
    #expect(try bank(["deposit", a, "5"]).status == 0)
    let vault = "9000-0001-9"
    let before = fileBytes(store)
    for args in [
      ["deposit", vault, "1"], ["withdraw", vault, "1"], ["transfer", vault, a, "1"],
      ["transfer", a, vault, "1"], ["freeze", vault], ["unfreeze", vault], ["close", vault],
    ] {
      let r = try bank(["--json"] + args)
      #expect(r.status == 1, "\(args): \(r.stderr)")
      #expect(r.stderr.contains("\"code\":\"internal_account\""), "\(args): \(r.stderr)")
      #expect(r.stdout.isEmpty)
    }
    #expect(fileBytes(store) == before, "a refused command changes nothing")
    #expect(try bank(["deposit", a, "1"]).status == 0, "the vault still takes deposits")
  }

  @Test func hledgerAgreesWithBankctl() throws {
    let hledger = ["/usr/bin/hledger", "/usr/local/bin/hledger"].first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
    guard let hledger else {
      print(
        "SKIPPED: hledger is not installed; the export structure is checked by CommandTests.exportFormats"
      )
      return
    }
    #expect(try bank(["demo"]).status == 0)
    let exported = try bank(["export", "--format", "ledger"])
    let file = dir.file("export.journal")
    try exported.stdout.write(toFile: file, atomically: true, encoding: .utf8)
    let check = try runProcess(hledger, ["-f", file, "check"])
    #expect(check.status == 0, "hledger check: \(check.stderr)")
    let accounts = try #require(
      json(try bank(["--json", "accounts", "--all"]))["accounts"] as? [[String: Any]])
    let bal = try runProcess(hledger, ["-f", file, "balance", "--flat", "--no-total", "-O", "csv"])
    #expect(bal.status == 0, "\(bal.stderr)")
    var fromHledger: [String: String] = [:]
    for line in bal.stdout.split(separator: "\n").dropFirst() {
      let cols = line.split(separator: ",").map {
        $0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
      }
      guard cols.count >= 2, let number = cols[0].split(separator: ":").last else { continue }
      fromHledger[String(number)] = cols[1]
    }
    for a in accounts {
      let number = try #require(a["account"] as? String)
      let type = a["type"] as? String
      let ours = try Amount(
        parsing: (a["balance"] as? String ?? "0").replacingOccurrences(of: "-", with: ""),
        currency: .usd
      ).minorUnits
      let sign: Int64 = (a["balance"] as? String)?.hasPrefix("-") == true ? -1 : 1
      // hledger shows debits positive: credit-normal accounts (deposits, equity, income) come
      // out negated; the debit-normal ones (cash in vaults and terminals, loans, expenses) not.
      let debitNormal: Set<String> = [
        "vault", "terminal_cash", "loan", "interest", "cash_over_short",
      ]
      let expected = (debitNormal.contains(type ?? "") ? 1 : -1) * sign * ours
      let theirsText = (fromHledger[number] ?? "0").replacingOccurrences(of: " USD", with: "")
        .replacingOccurrences(of: ",", with: "")
      let theirsNeg = theirsText.hasPrefix("-")
      let theirs =
        (theirsNeg ? -1 : 1)
        * ((try? Amount(parsing: String(theirsText.drop(while: { $0 == "-" })), currency: .usd)
          .minorUnits) ?? -1)
      #expect(
        theirs == expected,
        "\(number): hledger \(fromHledger[number] ?? "none"), bankctl \(a["balance"] ?? "")")
    }
  }
}
