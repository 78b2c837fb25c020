import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCore

/// An in-memory store whose appends take a while, as a database round trip does, and which
/// asks its banks to combine commits (``Storage/combinesCommits``), as PostgreSQL does.
final class RoundTripStorage: Storage {
  let inner: InMemoryStorage
  let delayMicroseconds: UInt32
  /// Appends made (stored or refused for a moved head).
  let appends = Atomic<Int>(0)
  /// How many of the next appends fail with an I/O error before reaching the store.
  let failing = Atomic<Int>(0)
  /// Turns to append taken and ended (``Storage/takeAppendTurn()``).
  let turns = Atomic<Int>(0)
  let turnsEnded = Atomic<Int>(0)

  init(_ inner: InMemoryStorage = InMemoryStorage(), delayMicroseconds: UInt32 = 300) {
    self.inner = inner
    self.delayMicroseconds = delayMicroseconds
  }

  var combinesCommits: Bool { true }
  func takeAppendTurn() { turns.add(1, ordering: .relaxed) }
  func endAppendTurn(moreQueued: Bool) { turnsEnded.add(1, ordering: .relaxed) }
  var storeIdentity: [UInt8] { inner.storeIdentity }
  var lastSequence: UInt64 { inner.lastSequence }

  func append(_ batch: RecordBatch) throws(StorageError) -> UInt64 {
    while true {
      if let last = try append(batch, ifLastIs: inner.lastSequence) { return last }
    }
  }

  func append(_ batch: RecordBatch, ifLastIs expected: UInt64) throws(StorageError) -> UInt64? {
    usleep(delayMicroseconds)
    if failing.load(ordering: .relaxed) > 0 {
      failing.subtract(1, ordering: .relaxed)
      throw .io(operation: "append to the journal", errno: 0, detail: "the test's failure")
    }
    appends.add(1, ordering: .relaxed)
    return try inner.append(batch, ifLastIs: expected)
  }

  func waitUntilDurable(_ sequence: UInt64) throws(StorageError) {
    try inner.waitUntilDurable(sequence)
  }
  func forEachRecord(after sequence: UInt64, _ body: (StoredRecord) -> Bool) throws(StorageError) {
    try inner.forEachRecord(after: sequence, body)
  }
  func record(at sequence: UInt64) throws(StorageError) -> [UInt8]? {
    try inner.record(at: sequence)
  }
  func loadSnapshot() throws(StorageError) -> StoredSnapshot? { try inner.loadSnapshot() }
  func saveSnapshot(_ snapshot: StoredSnapshot) throws(StorageError) {
    try inner.saveSnapshot(snapshot)
  }
  func verify() throws(StorageError) -> VerifyReport { try inner.verify() }
  func close() { inner.close() }
}

/// Commits combined into shared appends: every transaction is still judged alone and in order,
/// a refused one leaves the others of its group alone, a lost race or a failed append rolls the
/// whole group back, and replay rebuilds exactly the state the callers saw.
@Suite struct CombinedCommitTests {
  struct Outcome: Sendable {
    var receipt: TransferReceipt?
    var error: BankError?
    var key: String?
  }

  /// Five accounts of 1,000.00 and `threads` callers making random transfers through `banks`
  /// (caller i through bank i mod count): some too large (refused), some to an account that does
  /// not exist, some with one of a few shared keys.
  func load(
    _ banks: [Bank], accounts: [AccountNumber], threads: Int, each: Int, seed: UInt64
  ) -> [Outcome] {
    print("combined commit seed: \(seed)")
    // BankCore's pthread lock, which ThreadSanitizer sees (it does not see `Mutex`).
    let results = Lock<[Outcome]>([])
    let nowhere = (try? AccountNumber(parsing: "1999-9999-6")) ?? accounts[0]
    // Threads of their own: concurrentPerform would run only as many callers as there are cores.
    let finished = DispatchGroup()
    for t in 0..<threads {
      finished.enter()
      Thread {
        defer { finished.leave() }
        work(t)
      }.start()
    }
    finished.wait()
    return results.withLock { $0 }

    @Sendable func work(_ t: Int) {
      var rng = SplitMix64(seed: seed &+ UInt64(t))
      let bank = banks[t % banks.count]
      var mine: [Outcome] = []
      for _ in 0..<each {
        var from = accounts[Int(rng.next() % UInt64(accounts.count))]
        var to = accounts[Int(rng.next() % UInt64(accounts.count))]
        if from == to { to = accounts[((accounts.firstIndex(of: from) ?? 0) + 1) % accounts.count] }
        var minor = Int64(rng.next() % 60_000) + 1
        var key: String?
        switch rng.next() % 10 {
        case 0:
          // A shared key names one fixed transfer, so every use of it is the same request.
          let k = Int(rng.next() % 6)
          key = "shared-\(k)"
          from = accounts[k % accounts.count]
          to = accounts[(k + 1) % accounts.count]
          minor = Int64(k + 1) * 100
        case 1: to = nowhere
        default: break
        }
        do {
          let r = try bank.ledger.transfer(
            Amount(minorUnits: minor, currency: .usd), from: from, to: to,
            key: key.map { try IdempotencyKey($0) })
          mine.append(Outcome(receipt: r, key: key))
        } catch let e as BankError {
          mine.append(Outcome(error: e, key: key))
        } catch {
          Issue.record("unexpected error \(error)")
        }
      }
      results.withLock { $0.append(contentsOf: mine) }
    }
  }

  /// Checks the outcomes against the ledger: every refusal is one a customer can act on, every
  /// stored transfer is there once, keys replay, and the balances are the sum of what was stored.
  @discardableResult
  func check(
    _ outcomes: [Outcome], bank: Bank, accounts: [AccountNumber], storage: RoundTripStorage
  ) throws -> Int {
    var moved: [UInt64: Transfer] = [:]
    var byKey: [String: UInt64] = [:]
    var fresh = 0
    var freshNumbers = Set<UInt64>()
    for o in outcomes {
      if let e = o.error {
        #expect(
          [.insufficientFunds, .accountNotFound].contains(e.code), "\(e.code): \(e.message)")
        continue
      }
      let r = try #require(o.receipt)
      if !r.replayed {
        fresh += 1
        #expect(
          freshNumbers.insert(r.transfer.number).inserted,
          "transfer \(r.transfer.number) acknowledged twice")
      }
      moved[r.transfer.number] = r.transfer
      if let k = o.key {
        #expect(byKey[k, default: r.transfer.number] == r.transfer.number, "key \(k)")
        byKey[k] = r.transfer.number
      }
    }
    #expect(moved.count == fresh)
    #expect(fresh > 100 && outcomes.contains { $0.error?.code == .insufficientFunds })
    var expected = Dictionary(uniqueKeysWithValues: accounts.map { ($0, Int64(100_000)) })
    for t in moved.values {
      expected[t.debit, default: 0] -= t.amount.minorUnits
      expected[t.credit, default: 0] += t.amount.minorUnits
    }
    for a in accounts {
      #expect(try bank.ledger.balance(of: a).minorUnits == expected[a], "\(a)")
    }
    // Several transactions went out in one append.
    let appends = storage.appends.load(ordering: .relaxed)
    #expect(appends < fresh, "\(appends) appends for \(fresh) transfers")
    print("combined commits: \(fresh) transfers in \(appends) appends")
    // Replay rebuilds exactly the state the callers saw.
    let replayed = try Bank(
      storage: storage.inner, configuration: .init(clock: .manual(), snapshotEvery: 0))
    #expect(replayed.encodedState() == bank.encodedState())
    #expect(try replayed.verify().records == storage.inner.lastSequence)
    #expect(bank.invariantViolation() == nil)
    return fresh
  }

  func openAccounts(_ bank: Bank) throws -> [AccountNumber] {
    try (0..<5).map { i in
      let a = try bank.ledger.open(AccountSpec(name: "Account \(i)")).number
      try bank.ledger.deposit(Amount(minorUnits: 100_000, currency: .usd), to: a)
      return a
    }
  }

  @Test func concurrentCallersShareAppendsAndEachIsJudgedAlone() throws {
    let storage = RoundTripStorage()
    let bank = try Bank(
      storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    #expect(bank.combining)
    let accounts = try openAccounts(bank)
    let outcomes = load([bank], accounts: accounts, threads: 16, each: 40, seed: 20_261_207)
    #expect(outcomes.count == 640)
    let fresh = try check(outcomes, bank: bank, accounts: accounts, storage: storage)
    // One bank alone never loses a race: its 16 callers share appends, two or more to each.
    #expect(storage.appends.load(ordering: .relaxed) * 2 <= fresh)
  }

  /// Async callers (as `bankd`'s requests are) of a bank that combines commits each get a
  /// blocking thread (``BlockingThreads``), so that they all wait in the commit queue at once: 64
  /// concurrent transfers share a handful of appends. On a queue as wide as the cores, two or
  /// three would wait at a time and the appends would number in the dozens.
  @Test func asyncCallersAllWaitInTheQueueAndShareAppends() async throws {
    let storage = RoundTripStorage(delayMicroseconds: 20_000)
    let bank = try Bank(
      storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    let accounts = try openAccounts(bank)
    let before = storage.appends.load(ordering: .relaxed)
    let cent = Amount(minorUnits: 1, currency: .usd)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<64 {
        group.addTask {
          _ = try await bank.transfer(cent, from: accounts[i % 5], to: accounts[(i + 1) % 5])
        }
      }
      try await group.waitForAll()
    }
    let appends = storage.appends.load(ordering: .relaxed) - before
    #expect(appends >= 1 && appends <= 16, "64 transfers took \(appends) appends")
    let total = try accounts.reduce(Int64(0)) { $0 + (try bank.ledger.balance(of: $1)).minorUnits }
    #expect(total == 500_000)
    #expect(try bank.ledger.history(of: accounts[0]).count == 1 + 13 + 12)
  }

  /// The pool runs every job in flight at once: 48 jobs that each wait for all the others end.
  @Test func blockingThreadsRunEveryJobInFlightAtOnce() {
    let pool = BlockingThreads(limit: 64)
    let arrived = Atomic<Int>(0)
    let met = Atomic<Int>(0)
    let done = DispatchSemaphore(value: 0)
    for _ in 0..<48 {
      pool.submit {
        arrived.add(1, ordering: .relaxed)
        let deadline = ContinuousClock.now + .seconds(20)
        while arrived.load(ordering: .relaxed) < 48 && ContinuousClock.now < deadline {
          usleep(1000)
        }
        if arrived.load(ordering: .relaxed) == 48 { met.add(1, ordering: .relaxed) }
        done.signal()
      }
    }
    for _ in 0..<48 { done.wait() }
    #expect(met.load(ordering: .relaxed) == 48)
  }

  /// Two banks on one store, as nodes on one database: groups lose races to each other, are
  /// rolled back whole and judged again.
  @Test func twoCombiningBanksRaceWithoutLosingOrDoubling() throws {
    let storage = RoundTripStorage(delayMicroseconds: 200)
    let a = try Bank(storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    let accounts = try openAccounts(a)
    let b = try Bank(storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    let outcomes = load([a, b], accounts: accounts, threads: 16, each: 30, seed: 7_654_321)
    try a.refresh()
    try b.refresh()
    #expect(a.encodedState() == b.encodedState())
    try check(outcomes, bank: a, accounts: accounts, storage: storage)
  }

  /// Runs `queued` one after another into the bank's paused queue, then lets them run as one
  /// group.
  func grouped(_ bank: Bank, _ queued: [@Sendable () -> Void]) {
    let done = DispatchGroup()
    bank.commitQueue.pause()
    for (i, body) in queued.enumerated() {
      done.enter()
      Thread {
        body()
        done.leave()
      }.start()
      let deadline = ContinuousClock.now + .seconds(30)
      while bank.commitQueue.waiting < i + 1 && ContinuousClock.now < deadline { usleep(1_000) }
      #expect(bank.commitQueue.waiting == i + 1)
    }
    bank.commitQueue.resume()
    done.wait()
  }

  /// A transaction that reads the journal (an account's history chain, as closing a savings
  /// account does to post its interest) finds the records of the group's earlier transactions,
  /// which are not in the storage yet.
  @Test func aTransactionReadsTheRecordsOfTheGroupBeforeIt() throws {
    let storage = RoundTripStorage(delayMicroseconds: 0)
    let clock = Lock<Int64>(ProductsTests.day(2026, 1, 1).start.nanoseconds)
    let bank = try Bank(
      storage: storage,
      configuration: BankConfiguration(clock: BankClock { clock.withLock { $0 } }))
    let auth = try Authenticator(
      bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000),
      pepper: Array(repeating: 7, count: 32))
    let products = Products(authenticator: auth)
    try products.setRate(
      .savings, annual: AnnualRate(parsing: "3.65"), from: ProductsTests.day(2026, 1, 1),
      as: .operator)
    let savings = try bank.ledger.open(AccountSpec(name: "S", kind: .savings)).number
    let other = try bank.ledger.open(AccountSpec(name: "C", kind: .checking)).number
    try bank.ledger.deposit(Amount(minorUnits: 1_000_000, currency: .usd), to: savings)
    clock.withLock { $0 = ProductsTests.day(2026, 1, 16).start.nanoseconds }
    let appendsBefore = storage.appends.load(ordering: .relaxed)
    let closed = Lock<Result<ClosedAccount, BankError>?>(nil)
    let deposited = Lock<Bool>(false)
    grouped(
      bank,
      [
        {
          let r = try? bank.ledger.deposit(Amount(minorUnits: 5_000, currency: .usd), to: savings)
          deposited.withLock { $0 = r != nil }
        },
        {
          let r = Result { () throws(BankError) in
            try products.close(savings, settleWith: other, as: .operator)
          }
          closed.withLock { $0 = r }
        },
      ])
    #expect(deposited.withLock { $0 })
    let result = try #require(closed.withLock { $0 }).get()
    // Interest through the 15th on 10,000.00 at 3.65 %; the deposit of the 16th is settled.
    #expect(result.interest.description == "15.00" && result.settled.description == "10065.00")
    // The group of two in one append.
    #expect(storage.appends.load(ordering: .relaxed) == appendsBefore + 1)
    #expect(bank.invariantViolation() == nil)
  }

  /// A transaction refused against a state that held a group's unstored records is not told
  /// it was refused when that group's append fails: it gets the append's error too.
  @Test func aRefusalThatLeanedOnAFailedAppendIsNotReported() throws {
    let storage = RoundTripStorage(delayMicroseconds: 0)
    let bank = try Bank(
      storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    let accounts = try openAccounts(bank)
    storage.failing.store(1, ordering: .relaxed)
    let outcomes = Lock<[BankError.Code?]>([nil, nil])
    grouped(
      bank,
      [0, 1].map { i in
        {
          let amount = Amount(minorUnits: i == 0 ? 90_000 : 20_000, currency: .usd)
          do {
            _ = try bank.ledger.withdraw(amount, from: accounts[0])
          } catch {
            outcomes.withLock { $0[i] = (error as? BankError)?.code }
          }
        }
      })
    // 900.00 staged, then 200.00 refused against the 100.00 it left; the append failed.
    #expect(outcomes.withLock { $0 } == [.ioError, .ioError])
    #expect(try bank.ledger.balance(of: accounts[0]).minorUnits == 100_000)
    _ = try bank.ledger.withdraw(Amount(minorUnits: 20_000, currency: .usd), from: accounts[0])
  }

  /// A failed append refuses every transaction of its group and changes nothing; the next
  /// commit works.
  @Test func aFailedAppendChangesNothing() throws {
    let storage = RoundTripStorage(delayMicroseconds: 0)
    let bank = try Bank(
      storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    let accounts = try openAccounts(bank)
    let before = bank.encodedState()
    storage.failing.store(1, ordering: .relaxed)
    #expect(throws: BankError.self) {
      try bank.ledger.transfer(
        Amount(minorUnits: 100, currency: .usd), from: accounts[0], to: accounts[1])
    }
    #expect(bank.encodedState() == before)
    let r = try bank.ledger.transfer(
      Amount(minorUnits: 100, currency: .usd), from: accounts[0], to: accounts[1])
    #expect(r.debitAccount.balance.minorUnits == 99_900)
    // A refusal in a group of one stores nothing either.
    #expect(throws: BankError.self) {
      try bank.ledger.transfer(
        Amount(minorUnits: 10_000_000, currency: .usd), from: accounts[0], to: accounts[1])
    }
    #expect(storage.inner.lastSequence == bank.lastSequence)
  }
}
