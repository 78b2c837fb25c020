import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCore

/// Several processes writing one file store at once, each keeping it open (as `bankctl` beside a
/// running `bankd`): the store's lock is held only while a group commits, and each writer takes
/// what the others committed before it appends.
@Suite(.serialized) struct SharedProcessTests {
  static let helper = CrashTests.helper
  let account: AccountNumber

  init() throws { account = try AccountNumber(base: 10_000_001) }

  func start(_ arguments: [String]) throws -> (Process, Pipe) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Self.helper)
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    return (p, out)
  }

  @Test func writersInSeveralProcessesShareOneOpenStore() throws {
    let dir = TempDirectory("share")
    defer { dir.remove() }
    let path = dir.file("share.journal")
    let ledger = try Ledger(storage: FileStorage(path: path))
    try ledger.open(AccountSpec(name: "Shared", number: account))
    let each = 40
    let children = try (0..<3).map { i in try start(["share", path, String(each), "p\(i)"]) }
    // This process writes too, with the store open all along.
    for i in 0..<each {
      try ledger.deposit(usd("1"), to: account, key: idem("t-\(i)"))
    }
    var acked = 0
    for (p, out) in children {
      let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
      let lines = text.split(separator: "\n")
      acked += lines.filter { $0.hasPrefix("ack ") }.count
      // Each child read a balance that holds at least its own deposits.
      let balance = lines.first { $0.hasPrefix("balance ") }.flatMap { Int64($0.dropFirst(8)) }
      #expect((balance ?? 0) >= Int64(each) * 100)
    }
    #expect(acked == 3 * each)
    // Read without reopening: the store's other writers' commits are seen.
    #expect(
      try ledger.balance(of: account) == Amount(minorUnits: Int64(4 * each) * 100, currency: .usd))
    // A retry through this process of a key another process used is a replay.
    let before = ledger.lastSequence
    try ledger.deposit(usd("1"), to: account, key: idem("p1-3"))
    #expect(ledger.lastSequence == before)
    #expect(ledger.invariantViolation() == nil)
    ledger.close()
    // The last writer to close marked the store clean, at its exact end.
    let storage = try FileStorage(path: path)
    #expect(storage.openInfo.cleanClose)
    #expect(storage.openInfo.truncatedBytes == 0)
    #expect(try storage.verify().records == storage.lastSequence)
    storage.close()
  }

  @Test func aWriterKilledMidGroupCostsTheOthersNothing() throws {
    let seed: UInt64 = 0x5_4A7E
    print("shared crash test seed: \(seed)")
    var rng = SplitMix64(seed: seed)
    let dir = TempDirectory("sharecrash")
    defer { dir.remove() }
    let path = dir.file("crash.journal")
    let ledger = try Ledger(storage: FileStorage(path: path))
    try ledger.open(AccountSpec(name: "Crash", number: account))
    var acked: [Int: Int] = [:]
    var mine = 0
    var nextBatch = 0
    for round in 0..<12 {
      let (p, out) = try start(["crash", path, String(rng.next() % 1_000_000), String(nextBatch)])
      var early = Data()
      while !String(decoding: early, as: UTF8.self).contains("ack "), p.isRunning {
        let chunk = out.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        early.append(chunk)
      }
      // This process keeps committing while the child does, then the child dies at a random
      // moment, perhaps inside a group, holding the lock.
      for _ in 0..<Int(rng.next() % 5) {
        try ledger.deposit(usd("1"), to: account, key: idem("mine-\(mine)"))
        mine += 1
      }
      usleep(UInt32(rng.next() % 20_000))
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
      let text = String(
        decoding: early + out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      for line in text.split(separator: "\n") {
        let f = line.split(separator: " ")
        if f.count == 3, f[0] == "ack", let b = Int(f[1]), let n = Int(f[2]) { acked[b] = n }
      }
      // The survivor takes the lock (cutting whatever torn write the child left) and goes on.
      try ledger.deposit(usd("1"), to: account, key: idem("mine-\(mine)"))
      mine += 1
      #expect(ledger.invariantViolation() == nil, "round \(round)")
      nextBatch = (acked.keys.max() ?? nextBatch) + 1_000
    }
    let balance = try ledger.balance(of: account).minorUnits
    ledger.close()
    let reopened = try Ledger(storage: FileStorage(path: path))
    defer { reopened.close() }
    // Every acknowledged batch of every child is there, whole, and so is every deposit of ours.
    var seen: [Int: Int] = [:]
    var ours = 0
    var total: Int64 = 0
    try reopened.forEachRecord { _, r in
      guard case .transfer(let t) = r, let k = t.key else { return }
      total += t.amount
      let key = IdempotencyKey.display(k)
      if key.hasPrefix("mine-") { ours += 1 }
      if key.hasPrefix("b"), let b = Int(key.dropFirst().prefix { $0 != "-" }) {
        seen[b, default: 0] += 1
      }
    }
    #expect(ours == mine)
    for (b, n) in acked { #expect(seen[b] == n, "acknowledged batch \(b) lost or partial") }
    #expect(try reopened.balance(of: account).minorUnits == total)
    #expect(total == balance)
    #expect(try reopened.storage.verify().records == reopened.lastSequence)
  }

  @Test func aBusyWriterLetsAnotherProcessTakeItsTurn() throws {
    let dir = TempDirectory("turns")
    defer { dir.remove() }
    let path = dir.file("turns.journal")
    let ledger = try Ledger(storage: FileStorage(path: path))
    try ledger.open(AccountSpec(name: "Busy", number: account))
    let stop = Atomic<Bool>(false)
    let done = Atomic<Int>(0)
    let threads = (0..<4).map { t in
      Thread(block: {
        var i = 0
        while !stop.load(ordering: .relaxed) {
          if (try? ledger.deposit(usd("1"), to: account, key: idem("busy-\(t)-\(i)"))) != nil {
            done.add(1, ordering: .relaxed)
          }
          i += 1
        }
      })
    }
    threads.forEach { $0.start() }
    // Let the busy process hold the lock through back-to-back groups first.
    usleep(200_000)
    let started = ContinuousClock.now
    let (p, out) = try start(["contend", path, "5", "c"])
    _ = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let took = ContinuousClock.now - started
    stop.store(true, ordering: .relaxed)
    while threads.contains(where: { !$0.isFinished }) { usleep(1_000) }
    print("a process opening the store 5 times beside 4 busy threads took \(took)")
    #expect(p.terminationStatus == 0)
    #expect(took < .seconds(30))
    let expected = Int64(done.load(ordering: .relaxed) + 5) * 100
    #expect(try ledger.balance(of: account).minorUnits == expected)
    ledger.close()
  }

  /// A group-commit leader with nothing to write (a sync for a sequence another process
  /// appended) took its offset before this process took in the other's frames: its end must not
  /// move back over them, or the next frames of this process would be written over the other's
  /// (found by an adversarial run of bankctl writers killed beside bankd).
  @Test func aLeaderWithNothingToWriteNeverMovesTheEndBack() throws {
    let dir = TempDirectory("emptyleader")
    defer { dir.remove() }
    let path = dir.file("leader.journal")
    let fs = FaultyFileSystem()
    let storage = try FileStorage(path: path, options: .init(), fileSystem: fs)
    let ledger = try Ledger(storage: storage, configuration: .init(snapshotEvery: 0))
    try ledger.open(AccountSpec(name: "Leader", number: account))
    let before = storage.lastSequence
    // Another process appends one deposit.
    let (p, out) = try start(["share", path, "1", "other"])
    _ = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try #require(p.terminationStatus == 0)
    // A sync is asked for the other's sequence before this process has taken its frame in:
    // the leader's take finds nothing queued, and its sync is slow.
    storage.group.noteAppended(before + 1)
    fs.syncDelay.store(300_000, ordering: .relaxed)
    let done = DispatchGroup()
    done.enter()
    Thread.detachNewThread {
      try? storage.waitUntilDurable(before + 1)
      done.leave()
    }
    usleep(100_000)
    // Meanwhile this process takes the other's frame in.
    try storage.observeAppends()
    fs.syncDelay.store(0, ordering: .relaxed)
    done.wait()
    // This process's next deposit goes after the other's frame, not over it.
    try ledger.deposit(usd("2"), to: account, key: idem("mine"))
    #expect(try ledger.balance(of: account) == usd("3"))
    ledger.close()
    let reopened = try Ledger(storage: FileStorage(path: path))
    defer { reopened.close() }
    #expect(try reopened.balance(of: account) == usd("3"))
    #expect(try reopened.storage.verify().records == before + 2)
  }

  /// A writer killed while it saved a snapshot leaves its temporary file; the next writer to
  /// open the store removes it (a live writer's is left alone).
  @Test func aDeadWritersTemporaryFilesAreRemovedAtOpen() throws {
    let dir = TempDirectory("staletmp")
    defer { dir.remove() }
    let path = dir.file("tmp.journal")
    try Ledger(storage: FileStorage(path: path)).close()
    let gone = Process()
    gone.executableURL = URL(fileURLWithPath: "/bin/true")
    try gone.run()
    gone.waitUntilExit()
    let dead = path + ".snapshot.tmp.\(gone.processIdentifier)"
    let deadOffsets = path + ".offsets.tmp.\(gone.processIdentifier)"
    let live = path + ".snapshot.tmp.\(getpid())"
    for f in [dead, deadOffsets, live] {
      #expect(FileManager.default.createFile(atPath: f, contents: Data([1])))
    }
    let storage = try FileStorage(path: path)
    #expect(!FileManager.default.fileExists(atPath: dead))
    #expect(!FileManager.default.fileExists(atPath: deadOffsets))
    #expect(FileManager.default.fileExists(atPath: live))
    storage.close()
  }
}
