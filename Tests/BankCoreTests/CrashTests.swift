import Foundation
import TestSupport
import Testing

@testable import BankCore

/// Real processes: a child appends and is killed with SIGKILL; two children contend for a store.
@Suite(.serialized) struct CrashTests {
  static let helper = BuiltProducts.executable("bankcore-testhelper")

  /// The keys of every deposit in the store, grouped by batch: batch -> (size, members seen).
  func batchesInStore(_ path: String) throws -> [Int: (size: Int, seen: Set<Int>)] {
    let ledger = try Ledger(
      storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    defer { ledger.close() }
    #expect(ledger.invariantViolation() == nil)
    var out: [Int: (Int, Set<Int>)] = [:]
    try ledger.forEachRecord { _, r in
      guard case .transfer(let t) = r, let stored = t.key else { return }
      let key = IdempotencyKey.display(stored)
      // key = b<batch>-<index>of<size>
      let parts = key.dropFirst().split(whereSeparator: { $0 == "-" || $0 == "o" || $0 == "f" })
      guard parts.count == 3, let b = Int(parts[0]), let j = Int(parts[1]), let n = Int(parts[2])
      else { return }
      var e = out[b] ?? (n, [])
      e.1.insert(j)
      out[b] = e
    }
    return out.mapValues { (size: $0.0, seen: $0.1) }
  }

  @Test func sigkillAtRandomMomentsLosesNoAcknowledgedBatch() throws {
    let seed: UInt64 = 0xC0FFEE
    print("crash test seed: \(seed)")
    var rng = SplitMix64(seed: seed)
    let dir = TempDirectory("crash")
    defer { dir.remove() }
    let path = dir.file("crash.journal")
    var acked: [Int: Int] = [:]
    var nextBatch = 0
    let kills = 100
    for round in 0..<kills {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: Self.helper)
      p.arguments = ["crash", path, String(rng.next() % 1_000_000), String(nextBatch)]
      let out = Pipe()
      p.standardOutput = out
      p.standardError = FileHandle.nullDevice
      try p.run()
      // Kill only once the child has acknowledged something, however slow the disk: then every
      // round tests a kill among acknowledged work, with no timing assumption.
      var early = Data()
      while !String(decoding: early, as: UTF8.self).contains("ack "), p.isRunning {
        let chunk = out.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        early.append(chunk)
      }
      usleep(UInt32(rng.next() % 60_000))
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
      #expect(p.terminationReason == .uncaughtSignal, "round \(round): the child exited on its own")
      let text = String(
        decoding: early + out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      for line in text.split(separator: "\n") {
        let f = line.split(separator: " ")
        if f.count == 3, f[0] == "ack", let b = Int(f[1]), let n = Int(f[2]) { acked[b] = n }
      }
      let present = try batchesInStore(path)
      for (b, n) in acked {
        #expect(present[b]?.seen.count == n, "round \(round): acknowledged batch \(b) lost")
      }
      for (b, e) in present {
        #expect(
          e.seen == Set(0..<e.size),
          "round \(round): batch \(b) is partial: \(e.seen.sorted()) of \(e.size)")
      }
      nextBatch = (present.keys.max() ?? -1) + 1
    }
    #expect(acked.count >= kills, "a round ended before its child acknowledged a batch")
    // Appending continues the sequence and the chain after all the kills.
    let storage = try FileStorage(path: path)
    let ledger = try Ledger(storage: storage)
    let account = try AccountNumber(base: 10_000_001)
    let total = try batchesInStoreCount(ledger)
    try ledger.deposit(usd("1"), to: account, key: idem("after-crashes"))
    #expect(try storage.verify().records == storage.lastSequence)
    #expect(
      try ledger.balance(of: account) == Amount(minorUnits: Int64(total + 1) * 100, currency: .usd))
    ledger.close()
  }

  func batchesInStoreCount(_ ledger: Ledger) throws -> Int {
    var n = 0
    try ledger.forEachRecord { _, r in if case .transfer = r { n += 1 } }
    return n
  }

  @Test func twoProcessesContendingForOneStoreLoseNothing() throws {
    let dir = TempDirectory("contend")
    defer { dir.remove() }
    let path = dir.file("contend.journal")
    let ledger = try Ledger(storage: FileStorage(path: path))
    try ledger.open(AccountSpec(name: "Contend", number: AccountNumber(base: 10_000_001)))
    ledger.close()
    let perProcess = 40
    let procs = try (0..<2).map { i -> Process in
      let p = Process()
      p.executableURL = URL(fileURLWithPath: Self.helper)
      p.arguments = ["contend", path, String(perProcess), "p\(i)"]
      try p.run()
      return p
    }
    for p in procs {
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
    }
    let after = try Ledger(storage: FileStorage(path: path))
    #expect(
      try after.balance(of: AccountNumber(base: 10_000_001))
        == Amount(minorUnits: Int64(2 * perProcess) * 100, currency: .usd))
    #expect(try after.storage.verify().records == after.lastSequence)
    after.close()
  }
}

/// Many threads in many processes hammering one store for a fixed time; reconciled at the end.
/// `BANKCORE_SOAK_SECONDS` and `BANKCORE_SOAK_PROCESSES` make it longer (see Tools/soak.sh).
@Suite(.serialized) struct SoakTests {
  @Test func soakReconciles() throws {
    let env = ProcessInfo.processInfo.environment
    let seconds = env["BANKCORE_SOAK_SECONDS"] ?? "3"
    let processes = Int(env["BANKCORE_SOAK_PROCESSES"] ?? "3") ?? 3
    let dir = TempDirectory("soak")
    defer { dir.remove() }
    let path = dir.file("soak.journal")
    let start = Date()
    let outputs = try (0..<processes).map { p -> (Process, Pipe) in
      let proc = Process()
      proc.executableURL = URL(fileURLWithPath: CrashTests.helper)
      proc.arguments = ["soak", path, seconds, "4", "p\(p)"]
      let pipe = Pipe()
      proc.standardOutput = pipe
      try proc.run()
      return (proc, pipe)
    }
    var acked: [String] = []
    var ops = 0
    for (proc, pipe) in outputs {
      let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      proc.waitUntilExit()
      #expect(proc.terminationStatus == 0)
      for line in text.split(separator: "\n") {
        if line.hasPrefix("acked ") { acked.append(String(line.dropFirst(6))) }
        if line.hasPrefix("ops "), let n = Int(line.dropFirst(4)) { ops += n }
      }
    }
    let elapsed = Date().timeIntervalSince(start)
    let ledger = try Ledger(storage: FileStorage(path: path))
    defer { ledger.close() }
    #expect(ledger.invariantViolation() == nil)
    var keys = Set<String>()
    try ledger.forEachRecord { _, r in
      if case .transfer(let t) = r, let k = t.key { keys.insert(String(IdempotencyKey.display(k))) }
    }
    let lost = acked.filter { !keys.contains($0) }
    #expect(lost.isEmpty, "acknowledged deposits lost: \(lost.prefix(5))")
    let all = try ledger.accounts()
    let customers = all.filter { $0.kind.isCustomer }.reduce(Int64(0)) {
      $0 + $1.balance.minorUnits
    }
    let vault = try #require(try ledger.vault(for: .usd)).balance.minorUnits
    #expect(customers == vault, "money is conserved")
    #expect(try ledger.storage.verify().records == ledger.lastSequence)
    print(
      "soak: \(processes) processes x 4 threads for \(seconds) s: \(ops) operations (\(Int(Double(ops) / elapsed))/s), \(acked.count) keyed deposits acknowledged, none lost, books balance"
    )
  }
}
