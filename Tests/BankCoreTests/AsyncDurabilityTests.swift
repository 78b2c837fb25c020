import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCore

/// Commits made through `perform` from Swift concurrency wait for their sync without a thread:
/// the caller still sees nothing before the sync that covers it has succeeded.
@Suite struct AsyncDurabilityTests {
  let dir = TempDirectory("asyncdurable")

  func bank(_ fs: FaultyFileSystem, _ name: String) throws -> (Bank, AccountNumber) {
    let storage = try FileStorage(
      path: dir.file(name), options: .init(), fileSystem: fs)
    let bank = try Bank(storage: storage, configuration: .init(snapshotEvery: 0))
    let a = try bank.ledger.open(AccountSpec(name: "Async")).number
    return (bank, a)
  }

  @Test func anAsyncCommitReturnsOnlyOnceItsSyncSucceeded() async throws {
    let fs = FaultyFileSystem()
    let (bank, a) = try bank(fs, "one.journal")
    defer { bank.close() }
    fs.syncDelay.store(50_000, ordering: .relaxed)
    let before = fs.syncs.load(ordering: .relaxed)
    let receipt = try await bank.deposit(Amount(minorUnits: 100, currency: .usd), to: a)
    // A sync ran after the append, and the watermark covers the deposit.
    #expect(fs.syncs.load(ordering: .relaxed) > before)
    #expect(bank.durableSequence >= bank.lastSequence)
    #expect(receipt.creditAccount.balance == Amount(minorUnits: 100, currency: .usd))
  }

  @Test func manyAsyncCommitsShareSyncsAndAllArriveDurable() async throws {
    let fs = FaultyFileSystem()
    let (bank, a) = try bank(fs, "many.journal")
    defer { bank.close() }
    fs.syncDelay.store(2_000, ordering: .relaxed)
    let before = fs.syncs.load(ordering: .relaxed)
    let n = 64
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<n {
        group.addTask {
          _ = try await bank.deposit(
            Amount(minorUnits: 1, currency: .usd), to: a, key: try IdempotencyKey("a-\(i)"))
        }
      }
      try await group.waitForAll()
    }
    let syncs = fs.syncs.load(ordering: .relaxed) - before
    print("64 async deposits: \(syncs) syncs")
    #expect(syncs < n, "the deposits shared syncs")
    #expect(try bank.ledger.balance(of: a) == Amount(minorUnits: Int64(n), currency: .usd))
    #expect(bank.durableSequence == bank.lastSequence)
    // Reopened, every acknowledged deposit is there.
    bank.close()
    let again = try Bank(storage: FileStorage(path: dir.file("many.journal")))
    #expect(try again.ledger.balance(of: a) == Amount(minorUnits: Int64(n), currency: .usd))
    again.close()
  }

  @Test func aFailedSyncFailsTheAsyncCallerAndPoisonsTheBank() async throws {
    let fs = FaultyFileSystem()
    let (bank, a) = try bank(fs, "fail.journal")
    defer { bank.close() }
    fs.failSync.store(true, ordering: .relaxed)
    await #expect(throws: BankError.self) {
      try await bank.deposit(Amount(minorUnits: 100, currency: .usd), to: a)
    }
    fs.failSync.store(false, ordering: .relaxed)
    // Nothing more is accepted until a reopen rebuilds the state from what is durable.
    await #expect(throws: BankError.self) {
      try await bank.deposit(Amount(minorUnits: 100, currency: .usd), to: a)
    }
    #expect(throws: BankError.self) { try bank.ledger.balance(of: a) }
  }
}
