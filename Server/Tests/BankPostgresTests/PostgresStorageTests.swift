import BankCore
import BankCoreTesting
import BankPostgres
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO
import Testing

/// PostgresStorage against a real, private PostgreSQL server (`Tools/pg_private.sh`): the
/// shared conformance suite, the faults a database connection meets, and two banks (two nodes)
/// writing one journal.
@Suite(.serialized) final class PostgresStorageTests {
  let pg: PrivatePostgres

  init() throws { pg = try PrivatePostgres() }
  deinit { pg.stop() }

  func batch(_ records: [[UInt8]]) -> RecordBatch {
    var b = RecordBatch()
    for r in records { b.append(r) }
    return b
  }

  /// A plain connection of the test's own, to hold locks and end backends.
  func rawConnection(_ database: String) throws -> PostgresConnection {
    var c = PostgresConnection.Configuration(
      host: "127.0.0.1", port: pg.port, username: "bank", password: nil, database: database,
      tls: .disable)
    c.options.connectTimeout = .seconds(5)
    return try PostgresConnection.connect(
      on: MultiThreadedEventLoopGroup.singleton.next(), configuration: c, id: 99,
      logger: Logger(label: "test")
    ).wait()
  }

  @Test func passesTheSharedConformanceSuite() throws {
    var n = 0
    let factory = StorageConformance.Factory(
      make: { [pg] in
        n += 1
        return try PostgresStorage(url: try pg.database("conf\(n)"))
      },
      reopen: { s in
        let url = "postgres://bank@127.0.0.1:\(self.pg.port)/conf\(n)"
        s.close()
        return try PostgresStorage(url: url)
      },
      second: { _ in try PostgresStorage(url: "postgres://bank@127.0.0.1:\(self.pg.port)/conf\(n)")
      })
    try StorageConformance.run(factory)
  }

  /// The connection is ended while the append waits on the server: the outcome is unknown to
  /// the client, which reads the batch back once the old backend is gone and, finding it absent,
  /// appends it on a new connection.
  @Test func aConnectionDroppedMidAppendIsResolvedByReadingBack() throws {
    let url = try pg.database("drop")
    let s = try PostgresStorage(url: url)
    defer { s.close() }
    _ = try s.commit(batch([[1, 1], [1, 2]]))
    // Another session holds the next sequence in an open transaction, so the append waits.
    let blocker = try rawConnection("drop")
    _ = try blocker.query("BEGIN", logger: Logger(label: "t")).wait()
    _ = try blocker.query(
      "INSERT INTO bankcore_batches VALUES (3, 3, '\\x00'::bytea, decode(repeat('00', 32), 'hex'))",
      logger: Logger(label: "t")
    ).wait()
    let result = NIOLockedValueBox<Result<UInt64?, StorageError>?>(nil)
    let pending = batch([[2, 1]])
    let t = Thread {
      do throws(StorageError) {
        let r = try s.append(pending, ifLastIs: 2)
        result.withLockedValue { $0 = .success(r) }
      } catch {
        result.withLockedValue { $0 = .failure(error) }
      }
    }
    t.start()
    // Wait until the append is blocked, then end its backend and give the sequence up.
    var waited = 0
    while waited < 200 {
      let r = try blocker.query(
        "SELECT count(*)::int8 FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
        logger: Logger(label: "t")
      ).wait()
      if try r.rows.first?.decode(Int64.self) == 1 { break }
      Thread.sleep(forTimeInterval: 0.02)
      waited += 1
    }
    let killer = try rawConnection("drop")
    _ = try killer.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
      logger: Logger(label: "t")
    ).wait()
    _ = try blocker.query("ROLLBACK", logger: Logger(label: "t")).wait()
    var done: Result<UInt64?, StorageError>?
    for _ in 0..<500 where done == nil {
      Thread.sleep(forTimeInterval: 0.02)
      done = result.withLockedValue { $0 }
    }
    #expect(try done?.get() == 3, "the append resolved its unknown outcome and stored the batch")
    #expect(s.lastSequence == 3)
    let v = try s.verify()
    #expect(v.records == 3 && v.batches == 2)
    #expect(try s.record(at: 3) == [2, 1])
    _ = try? blocker.close().wait()
    _ = try? killer.close().wait()
  }

  /// The same, but the other session's batch commits: reading back finds a batch that is not
  /// ours, so the append reports the lost race (nil) and the journal holds that batch once.
  @Test func aDroppedAppendThatLostTheRaceSaysSo() throws {
    let url = try pg.database("race")
    let s = try PostgresStorage(url: url)
    defer { s.close() }
    _ = try s.commit(batch([[1]]))
    // A valid competing batch, as another node would write it.
    let other = try PostgresStorage(url: url)
    let theirs = try other.append(batch([[9, 9]]), ifLastIs: 1)
    #expect(theirs == 2)
    other.close()
    #expect(try s.append(batch([[2]]), ifLastIs: 1) == nil, "a stale head appends nothing")
    try s.observeAppends()
    #expect(s.lastSequence == 2)
    #expect(try s.append(batch([[3]]), ifLastIs: 2) == 3)
    #expect(try s.verify().records == 3)
  }

  @Test func survivesAServerRestart() throws {
    let url = try pg.database("restart")
    let s = try PostgresStorage(url: url)
    defer { s.close() }
    _ = try s.commit(batch([[1]]))
    try pg.restart()
    // The next append reconnects; what was committed before the restart is all there.
    #expect(try s.append(batch([[2]]), ifLastIs: 1) == 2)
    #expect(try s.verify().records == 2)
    let reopened = try PostgresStorage(url: url)
    #expect(reopened.lastSequence == 2)
    reopened.close()
  }

  /// A statement the server cancels (statement_timeout) stored nothing: the append fails with
  /// a clear error and the next one works.
  @Test func aStatementTimeoutFailsTheAppendAndStoresNothing() throws {
    let url = try pg.database("timeout")
    let s = try PostgresStorage(url: url, options: .init(statementTimeout: .milliseconds(300)))
    defer { s.close() }
    _ = try s.commit(batch([[1]]))
    let blocker = try rawConnection("timeout")
    _ = try blocker.query("BEGIN", logger: Logger(label: "t")).wait()
    _ = try blocker.query(
      "INSERT INTO bankcore_batches VALUES (2, 2, '\\x00'::bytea, decode(repeat('00', 32), 'hex'))",
      logger: Logger(label: "t")
    ).wait()
    var failure: StorageError?
    do { _ = try s.append(batch([[2]]), ifLastIs: 1) } catch { failure = error }
    guard case .io(_, _, let detail) = failure else {
      Issue.record("expected an I/O error, got \(String(describing: failure))")
      return
    }
    #expect(detail.contains("57014"), "\(detail)")
    _ = try blocker.query("ROLLBACK", logger: Logger(label: "t")).wait()
    _ = try? blocker.close().wait()
    #expect(s.lastSequence == 1)
    #expect(try s.append(batch([[2]]), ifLastIs: 1) == 2)
    #expect(try s.verify().records == 2)
  }

  /// A backend that stops answering (its process paused: to the client, a half-open socket)
  /// does not hold a thread forever: past the statement timeout plus 5 seconds the connection is
  /// closed as lost, and the read is made again on a new one.
  @Test func aBackendThatStopsAnsweringIsLeftBehind() throws {
    let url = try pg.database("stall")
    let s = try PostgresStorage(url: url, options: .init(statementTimeout: .milliseconds(300)))
    defer { s.close() }
    _ = try s.commit(batch([[1]]))
    let probe = try rawConnection("stall")
    defer { _ = try? probe.close().wait() }
    let rows = try probe.query(
      "SELECT pid FROM pg_stat_activity WHERE datname = 'stall' AND pid <> pg_backend_pid()",
      logger: Logger(label: "t")
    ).wait()
    let pids = try rows.rows.map { try $0.decode(Int32.self) }
    #expect(!pids.isEmpty)
    for pid in pids { kill(pid, SIGSTOP) }
    defer { for pid in pids { kill(pid, SIGCONT) } }
    // Past the poll interval, so that the next look reads the head from the server.
    Thread.sleep(forTimeInterval: 1.2)
    let started = ContinuousClock.now
    try s.observeAppends()
    let took = ContinuousClock.now - started
    #expect(took >= .seconds(5) && took < .seconds(20), "\(took)")
    #expect(s.lastSequence == 1)
    for pid in pids { kill(pid, SIGCONT) }
    #expect(try s.append(batch([[2]]), ifLastIs: 1) == 2)
    #expect(try s.verify().records == 2)
  }

  /// The async durability wait (no thread held while the flush runs): many callers share the
  /// flushes; when the flushing connection is lost mid-load the wait reconnects on a thread and
  /// reads the batches appended before the loss back before it reports them; a closed store
  /// reports nothing as durable.
  @Test func asyncDurabilityWaitsShareFlushesAndSurviveALostFlusher() async throws {
    let url = try pg.database("asyncflush")
    let s = try PostgresStorage(url: url)
    _ = try s.append(batch([[0]]), ifLastIs: 0)
    try await s.waitUntilDurableAsync(1)
    for i in 1...64 { _ = try s.append(batch([[UInt8(i)]]), ifLastIs: UInt64(i)) }
    let settled = try await withThrowingTaskGroup(of: UInt64.self) { group in
      for seq in 2...65 {
        group.addTask {
          try await s.waitUntilDurableAsync(UInt64(seq))
          return UInt64(seq)
        }
      }
      var all: [UInt64] = []
      for try await seq in group { all.append(seq) }
      return all
    }
    #expect(settled.sorted() == Array(2...65))
    // Every connection of the store ended: the append reconnects, the flush's statement fails
    // on its dead connection and the wait goes on on a thread, on a new one.
    let probe = try rawConnection("asyncflush")
    _ = try probe.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'asyncflush' AND pid <> pg_backend_pid()",
      logger: Logger(label: "t")
    ).wait()
    _ = try? probe.close().wait()
    try await Task.sleep(for: .milliseconds(200))
    let last = try s.append(batch([[99]]), ifLastIs: 65)
    #expect(last == 66)
    try await s.waitUntilDurableAsync(66)
    #expect(try s.verify().records == 66)
    s.close()
    await #expect(throws: StorageError.closed) { try await s.waitUntilDurableAsync(67) }
  }

  /// Two writers at one head: the database's unique key lets exactly one in.
  @Test func aUniqueViolationIsALostRaceNotAnError() throws {
    let url = try pg.database("uniq")
    let a = try PostgresStorage(url: url)
    let b = try PostgresStorage(url: url)
    defer {
      a.close()
      b.close()
    }
    var wins = 0
    for round in 0..<20 {
      let head = max(a.lastSequence, b.lastSequence)
      let ra = try a.append(batch([[UInt8(round), 1]]), ifLastIs: head)
      let rb = try b.append(batch([[UInt8(round), 2]]), ifLastIs: head)
      #expect((ra == nil) != (rb == nil))
      wins += ra == nil ? 0 : 1
      try a.observeAppends()
      try b.observeAppends()
    }
    #expect(try a.verify().records == 20)
    #expect(wins == 20, "a, which always appends first, wins every round")
  }

  /// Writers take turns to append: the one waiting for the turn gets it once the holder lets
  /// it go, and then already knows the holder's batches, so its append wins at once.
  @Test func aWriterGivenTheTurnKnowsTheHeadItAppendsAfter() throws {
    let url = try pg.database("turns")
    let a = try PostgresStorage(url: url, options: .init(appendTurn: .seconds(60)))
    let b = try PostgresStorage(url: url, options: .init(turnWait: .seconds(10)))
    defer {
      a.close()
      b.close()
    }
    _ = try a.append(batch([[1]]), ifLastIs: 0)
    a.takeAppendTurn()
    #expect(a.appendTurnCounts.taken == 1)
    let bHasIt = DispatchSemaphore(value: 0)
    let waiter = Thread {
      b.takeAppendTurn()
      bHasIt.signal()
    }
    waiter.start()
    // The holder keeps the turn: b waits, while a appends twice.
    #expect(bHasIt.wait(timeout: .now() + 0.3) == .timedOut)
    _ = try a.append(batch([[2], [3]]), ifLastIs: 1)
    a.endAppendTurn(moreQueued: true)  // kept: more is queued, and the turn is young
    _ = try a.append(batch([[4]]), ifLastIs: 3)
    a.endAppendTurn(moreQueued: false)
    #expect(bHasIt.wait(timeout: .now() + 10) == .success)
    #expect(b.appendTurnCounts.taken == 1)
    // Taking the turn read a's batches: b's append after them wins without a lost race.
    #expect(b.lastSequence == 4)
    #expect(try b.append(batch([[5]]), ifLastIs: b.lastSequence) == 5)
    b.endAppendTurn(moreQueued: false)
    #expect(try a.verify().records == 5)
  }

  /// A writer that cannot have the turn in time (its holder is paused, or has stopped
  /// answering) appends without it: turns never stop a node, they only save it lost races.
  @Test func aHeldTurnDelaysOtherWritersBrieflyAndNeverStopsThem() throws {
    let url = try pg.database("turnwait")
    let a = try PostgresStorage(url: url, options: .init(appendTurn: .seconds(60)))
    let b = try PostgresStorage(url: url, options: .init(turnWait: .milliseconds(100)))
    defer {
      a.close()
      b.close()
    }
    a.takeAppendTurn()
    a.endAppendTurn(moreQueued: true)  // kept: a has more queued, and its turn is young
    let started = ContinuousClock.now
    b.takeAppendTurn()
    let gaveUp = ContinuousClock.now
    #expect(b.appendTurnCounts == (taken: 0, givenUp: 1))
    #expect(gaveUp - started >= .milliseconds(90), "waited \(gaveUp - started)")
    // Without the turn for a while (a second): a new try within it does not wait again.
    b.takeAppendTurn()
    if ContinuousClock.now - gaveUp < .milliseconds(900) {
      #expect(b.appendTurnCounts == (taken: 0, givenUp: 1))
    }
    #expect(try b.append(batch([[1]]), ifLastIs: 0) == 1)
    // a's appends stay conditional: it learns of b's batch by losing the race, as without turns.
    #expect(try a.append(batch([[2]]), ifLastIs: 0) == nil)
    #expect(a.lastSequence == 1)
    // Closing gives the turn back with the session; a new writer takes it at once.
    a.close()
    let c = try PostgresStorage(url: url, options: .init(turnWait: .seconds(5)))
    defer { c.close() }
    c.takeAppendTurn()
    #expect(c.appendTurnCounts == (taken: 1, givenUp: 0))
    c.endAppendTurn(moreQueued: false)
  }

  /// Two banks on one journal (two nodes): concurrent transfers in both, balances exact.
  @Test func twoBanksOnOneJournalKeepExactBalances() async throws {
    let url = try pg.database("nodes")
    let one = try Bank(storage: PostgresStorage(url: url))
    let ledger1 = Ledger(one)
    let a = try ledger1.open(AccountSpec(name: "A", currency: .eur)).number
    let b = try ledger1.open(AccountSpec(name: "B", currency: .eur)).number
    try ledger1.deposit(Amount(minorUnits: 1_000_000, currency: .eur), to: a)
    try ledger1.deposit(Amount(minorUnits: 1_000_000, currency: .eur), to: b)
    let two = try Bank(storage: PostgresStorage(url: url))
    // Both nodes commit: the journal holds every transfer once, in one order.
    let ledger2 = Ledger(two)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for (i, ledger) in [ledger1, ledger2].enumerated() {
        group.addTask {
          for k in 0..<40 {
            _ = try await ledger.perform { l throws(BankError) in
              try l.transfer(
                Amount(minorUnits: Int64(100 + k), currency: .eur), from: i == 0 ? a : b,
                to: i == 0 ? b : a)
            }
          }
        }
      }
      try await group.waitForAll()
    }
    // Each sent 40 transfers of 100...139 cents: they cancel out.
    try two.refresh()
    try one.refresh()
    #expect(try ledger1.balance(of: a).minorUnits == 1_000_000)
    #expect(try ledger2.balance(of: b).minorUnits == 1_000_000)
    #expect(try ledger2.balance(of: a).minorUnits == 1_000_000)
    one.close()
    two.close()
  }

  /// A file store copied into the database and back keeps every record, every batch boundary
  /// and the head hash; a second import into a database with a journal is refused.
  @Test func importAndExportKeepTheChain() throws {
    let dir =
      NSTemporaryDirectory() + "bankpg-copy-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let bank = try Bank(path: dir + "/a.journal")
    let ledger = Ledger(bank)
    let a = try ledger.open(AccountSpec(name: "A", currency: .eur)).number
    let b = try ledger.open(AccountSpec(name: "B", currency: .eur)).number
    for k in 1...30 {
      try ledger.deposit(Amount(minorUnits: Int64(k), currency: .eur), to: a)
      try ledger.transfer(Amount(minorUnits: 1, currency: .eur), from: a, to: b)
    }
    bank.close()
    let original = try FileStorage(path: dir + "/a.journal", options: .init(readOnly: true))
    let want = try original.verify()
    original.close()
    let location = try PostgresLocation(url: try pg.database("copy"))
    let imported = try JournalCopy.importFile(dir + "/a.journal", into: location)
    #expect(imported.headHash == want.headHash && imported.records == want.records)
    #expect(imported.batches == want.batches)
    #expect(throws: BankError.self) {
      try JournalCopy.importFile(dir + "/a.journal", into: location)
    }
    let exported = try JournalCopy.exportFile(from: location, to: dir + "/b.journal")
    #expect(exported.headHash == want.headHash)
    #expect(throws: BankError.self) {
      try JournalCopy.exportFile(from: location, to: dir + "/b.journal")
    }
    let copy = try Bank(path: dir + "/b.journal")
    #expect(try Ledger(copy).balance(of: b).minorUnits == 30)
    #expect(try Ledger(copy).balance(of: a).minorUnits == 465 - 30)
    copy.close()
    let onPostgres = try Bank(storage: PostgresStorage(location: location))
    #expect(try Ledger(onPostgres).balance(of: b).minorUnits == 30)
    onPostgres.close()
  }
}
