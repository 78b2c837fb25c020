import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCore

/// The ordered feed of committed records: `Bank.records(after:)` and `durableSequence`.
@Suite(.serialized) struct FeedTests {
  static let helper = BuiltProducts.executable("bankcore-testhelper")
  let usd = Currency.usd

  /// Collects `count` records from the feed, or fails after `seconds`.
  static func collect(
    _ bank: Bank, after: UInt64, count: Int, seconds: Double = 60
  ) async throws -> [CommittedRecord] {
    try await withThrowingTaskGroup(of: [CommittedRecord]?.self) { group in
      group.addTask {
        var out: [CommittedRecord] = []
        for try await r in bank.records(after: after, pollInterval: .milliseconds(5)) {
          out.append(r)
          if out.count == count { break }
        }
        return out
      }
      group.addTask {
        try await Task.sleep(for: .seconds(seconds))
        return nil
      }
      let first = try await group.next() ?? nil
      group.cancelAll()
      return first ?? []
    }
  }

  @Test func concurrentCommitsAreDeliveredOnceEachInJournalOrder() async throws {
    let storage = InMemoryStorage()
    let bank = try Bank(storage: storage)
    let ledger = Ledger(bank)
    let a = try ledger.open(AccountSpec(name: "Feed A")).number
    let threads = 4
    let each = 150
    // Opening the first account also opened the currency's vault.
    let expected = Int(bank.lastSequence) + threads * each
    async let collected = Self.collect(bank, after: 0, count: expected)
    DispatchQueue.concurrentPerform(iterations: threads) { t in
      for i in 0..<each {
        _ = try? ledger.deposit(
          Amount(minorUnits: Int64(i + 1), currency: .usd), to: a, key: idem("t\(t)-\(i)"))
      }
    }
    let records = try await collected
    #expect(records.count == expected)
    #expect(records.map(\.sequence) == Array(1...UInt64(expected)))
    #expect(bank.durableSequence == UInt64(expected))
    for r in records {
      #expect(r.core == "ledger")
      #expect(try storage.record(at: r.sequence) == r.bytes)
    }
    // Resuming from a sequence starts right after it.
    let tail = try await Self.collect(bank, after: 100, count: 5)
    #expect(tail.map(\.sequence) == [101, 102, 103, 104, 105])
    #expect(tail.first?.bytes == records[100].bytes)
    // A closed bank ends the feed.
    let waiting = Task { () -> Int in
      var n = 0
      for try await _ in bank.records(after: UInt64(expected)) { n += 1 }
      return n
    }
    try await Task.sleep(for: .milliseconds(20))
    bank.close()
    #expect(try await waiting.value == 0)
  }

  @Test func theFeedNamesEachRecordsCore() async throws {
    let bank = try Bank()
    let auth = try Authenticator(bank: bank)
    _ = try auth.addStaff(
      username: "tom", name: "Tom Teller", role: .teller, password: "counter work 2026 blue",
      as: .operator)
    let records = try await Self.collect(bank, after: 0, count: 1)
    #expect(records.first?.core == "auth")
  }

  /// A writer process commits batches and is killed with SIGKILL at a random moment (perhaps
  /// mid-batch); a follower on the same file, read-only, in this process, delivers every
  /// acknowledged batch, in order, and never a half-written one; after a new writer cuts the
  /// torn tail and appends again, the follower goes on, and a second follower resumes from a
  /// sequence number.
  @Test func aFollowerOfAnotherProcessDeliversWholeBatchesInOrder() async throws {
    let seed: UInt64 = 0xFEED
    print("feed follower seed: \(seed)")
    var rng = SplitMix64(seed: seed)
    let dir = TempDirectory("feed")
    defer { dir.remove() }
    let path = dir.file("feed.journal")
    let account = try AccountNumber(base: 10_000_001)
    var acknowledged: Int
    do {
      let ledger = try Ledger(storage: FileStorage(path: path))
      try ledger.open(AccountSpec(name: "Crash", number: account))
      acknowledged = Int(ledger.lastSequence)
      ledger.close()
    }
    let follower = try Bank(storage: FileStorage(path: path, options: .init(readOnly: true)))
    defer { follower.close() }
    #expect(follower.durableSequence == UInt64(acknowledged))
    var delivered: [CommittedRecord] = []
    for round in 0..<3 {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: Self.helper)
      p.arguments = ["crash", path, String(rng.next() % 1_000_000), String(round * 100_000)]
      let out = Pipe()
      p.standardOutput = out
      p.standardError = FileHandle.nullDevice
      try p.run()
      var text = Data()
      while String(decoding: text, as: UTF8.self).split(separator: "\n").count < 30, p.isRunning {
        let chunk = out.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        text.append(chunk)
      }
      usleep(UInt32(rng.next() % 20_000))
      kill(p.processIdentifier, SIGKILL)
      p.waitUntilExit()
      text.append(out.fileHandleForReading.readDataToEndOfFile())
      for line in String(decoding: text, as: UTF8.self).split(separator: "\n") {
        let f = line.split(separator: " ")
        if f.count == 3, f[0] == "ack", let n = Int(f[2]) { acknowledged += n }
      }
      // Every acknowledged record reaches the follower, in order.
      let need = acknowledged - delivered.count
      delivered += try await Self.collect(
        follower, after: UInt64(delivered.count), count: need, seconds: 60)
      #expect(delivered.count == acknowledged, "round \(round)")
      #expect(delivered.map(\.sequence) == Array(1...UInt64(delivered.count)))
    }
    #expect(acknowledged >= 90, "each round acknowledges at least 30 batches")
    // A writer opening the store cuts whatever torn tail the last kill left, then appends.
    let ledger = try Ledger(storage: FileStorage(path: path))
    try ledger.deposit(Amount(minorUnits: 5, currency: usd), to: account, key: idem("after"))
    let total = Int(ledger.lastSequence)
    ledger.close()
    delivered += try await Self.collect(
      follower, after: UInt64(delivered.count), count: total - delivered.count)
    #expect(delivered.map(\.sequence) == Array(1...UInt64(total)))
    // What the follower delivered is exactly what the store holds: no half-written batch was
    // ever delivered (its bytes would differ from what replaced it, or be missing).
    let check = try FileStorage(path: path, options: .init(readOnly: true))
    defer { check.close() }
    for r in delivered { #expect(try check.record(at: r.sequence) == r.bytes) }
    // A second follower resumes from a sequence number.
    let resumed = try Bank(storage: FileStorage(path: path, options: .init(readOnly: true)))
    defer { resumed.close() }
    let rest = try await Self.collect(resumed, after: UInt64(total - 3), count: 3)
    #expect(rest.map(\.bytes) == delivered.suffix(3).map(\.bytes))
  }

  /// A follower catching up from an old cursor reads from the offset table's frame, not from
  /// the start of the journal, and delivers exactly the records asked for.
  @Test func aFollowerCatchesUpFromAnOldCursor() async throws {
    let dir = TempDirectory("feed-catch-up")
    defer { dir.remove() }
    let path = dir.file("catch-up.journal")
    let ledger = try Ledger(
      storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    let a = try ledger.open(AccountSpec(name: "A")).number
    for i in 0..<40 {
      try ledger.submit(
        (0..<50).map { j in
          .deposit(amount: Amount(minorUnits: Int64(i * 50 + j + 1), currency: .usd), to: a)
        })
    }
    let total = ledger.lastSequence
    ledger.close()
    let follower = try Bank(storage: FileStorage(path: path, options: .init(readOnly: true)))
    defer { follower.close() }
    let check = try FileStorage(path: path, options: .init(readOnly: true))
    defer { check.close() }
    for after: UInt64 in [0, 31, 32, 33, 1234, total - 7] {
      let got = try await Self.collect(follower, after: after, count: Int(min(100, total - after)))
      #expect(got.map(\.sequence) == Array((after + 1)...min(after + 100, total)), "after \(after)")
      for r in got { #expect(try check.record(at: r.sequence) == r.bytes) }
    }
  }

  /// A reader that opened a store before it was created cannot follow it (its checksums' salt
  /// was unknown): it says so instead of delivering nothing forever.
  @Test func aFollowerOfAStoreNotYetCreatedSaysSo() throws {
    let dir = TempDirectory("feed-empty")
    defer { dir.remove() }
    let path = dir.file("empty.journal")
    FileManager.default.createFile(atPath: path, contents: Data())
    let follower = try Bank(storage: FileStorage(path: path, options: .init(readOnly: true)))
    defer { follower.close() }
    let ledger = try Ledger(storage: FileStorage(path: path))
    try ledger.open(AccountSpec(name: "A"))
    ledger.close()
    do {
      try follower.refresh()
      Issue.record("a follower of a store created after it opened went on silently")
    } catch {
      #expect(error.message.contains("open it again"), "\(error)")
    }
  }
}
