import Foundation
import TestSupport
import Testing

@testable import BankCore

/// A small core used only by tests: named counters, so that transactions can mix a second core
/// with the ledger.
struct CounterCore: StateCore {
  enum Record: Sendable, Equatable {
    case set(name: String, value: Int64, time: Int64)
  }
  static let coreID: UInt8 = 250
  static let coreName = "counters"
  static let tags: ClosedRange<UInt8> = 250...251
  static let snapshotVersion: UInt8 = 1

  var values: [String: Int64] = [:]
  var lastTimestamp: Int64 = 0

  init() {}

  static func time(of record: Record) -> Int64 {
    switch record {
    case .set(_, _, let time): time
    }
  }

  static func encode(_ record: Record, into w: inout ByteWriter) {
    switch record {
    case .set(let name, let value, let time):
      w.u8(250)
      w.u8(1)
      w.string(name)
      w.i64(value)
      w.i64(time)
    }
  }

  static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Record {
    // The shared helpers: the header's checks, and exactly one record in the buffer.
    try RecordCodec.decodeWhole(bytes, core: coreName) { r throws(DecodeError) in
      _ = try RecordCodec.header(
        &r, core: coreName, tags: tags, name: { $0 == 250 ? "set" : nil }, newest: { _ in 1 })
      return Record.set(name: try r.string(), value: try r.i64(), time: try r.i64())
    }
  }

  mutating func applyRecord(_ record: Record) -> Bool {
    switch record {
    case .set(let name, let value, let time):
      values[name] = value
      lastTimestamp = max(lastTimestamp, time)
      return true
    }
  }

  func encodeSnapshot() -> [UInt8] {
    var w = ByteWriter()
    w.u32(UInt32(values.count))
    for k in values.keys.sorted() {
      w.string(k)
      w.i64(values[k] ?? 0)
    }
    w.i64(lastTimestamp)
    return w.bytes
  }

  static func decodeSnapshot(_ bytes: [UInt8], version: UInt8) throws(DecodeError) -> CounterCore {
    let result: Result<CounterCore, DecodeError> = bytes.withUnsafeBytes { buf in
      var r = ByteReader(buf)
      do throws(DecodeError) {
        var c = CounterCore()
        for _ in 0..<(try r.u32()) { c.values[try r.string()] = try r.i64() }
        c.lastTimestamp = try r.i64()
        return .success(c)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  func invariantViolation() -> String? {
    values.values.contains { $0 < 0 } ? "a counter is negative" : nil
  }

  /// Across cores: the counter `transfers`, when set, never exceeds the transfers the ledger
  /// has made (a stand-in for "each terminal's cash account equals its notes").
  static func invariantViolation(across state: borrowing BankState) -> String? {
    guard let mine = state.core(CounterCore.self), let n = mine.values["transfers"] else {
      return nil
    }
    let made = Int64(state.ledger.counters.nextTransfer) - 1
    return n > made ? "counter transfers is \(n), but the ledger made \(made)" : nil
  }
}

extension Bank {
  /// A bank holding the ledger and the test core.
  static func withCounters(storage: any Storage, clock: BankClock = .manual()) throws(BankError)
    -> Bank
  {
    var configuration = BankConfiguration(clock: clock, snapshotEvery: 0)
    configuration.cores = Bank.standardCores + [CounterCore.self]
    return try Bank(storage: storage, configuration: configuration)
  }

  /// One mixed transaction: a deposit and a counter change, or a failure after both were staged.
  func depositAndCount(
    _ amount: Amount, to account: AccountNumber, counter: String, value: Int64,
    failAfter: Bool = false
  ) throws(BankError) {
    try commit { state, tx throws(BankError) in
      state.emit(.set(name: counter, value: value, time: tx.now), of: CounterCore.self, in: &tx)
      _ = try state.ledger.stage(
        .deposit(amount: amount, to: account), now: tx.now, stage: &tx.ledgerStage,
        batch: &tx.batch)
      if failAfter { throw BankError(.invalidArgument, "refused after staging both cores") }
    }
  }

  func counter(_ name: String) throws(BankError) -> Int64? {
    try read { s in s.core(CounterCore.self)?.values[name] }
  }
}

@Suite(.serialized) struct BankTests {
  let dir = TempDirectory("bank")

  @Test func aMixedBatchCommitsAndRollsBackAcrossCores() throws {
    let storage = InMemoryStorage()
    let bank = try Bank.withCounters(storage: storage)
    let ledger = Ledger(bank)
    let a = try ledger.open(AccountSpec(name: "A")).number
    try bank.depositAndCount(usd("5"), to: a, counter: "atm", value: 1)
    #expect(try ledger.balance(of: a) == usd("5"))
    #expect(try bank.counter("atm") == 1)
    let records = storage.lastSequence
    // A rule broken after both cores staged their records: neither change survives.
    #expect(throws: BankError.self) {
      try bank.depositAndCount(usd("7"), to: a, counter: "atm", value: 2, failAfter: true)
    }
    #expect(try bank.counter("atm") == 1)
    #expect(try ledger.balance(of: a) == usd("5"))
    #expect(storage.lastSequence == records, "nothing was appended")
    // The ledger refusing (an unknown account) rolls the counter back too.
    #expect(throws: BankError.self) {
      try bank.depositAndCount(
        usd("1"), to: AccountNumber(base: 77_777_777), counter: "atm", value: 3)
    }
    #expect(try bank.counter("atm") == 1)
    #expect(bank.invariantViolation() == nil)
    // Replay gives the same state in both cores.
    let again = try Bank.withCounters(storage: storage)
    #expect(try again.counter("atm") == 1)
    #expect(try Ledger(again).balance(of: a) == usd("5"))
  }

  @Test func aFailedAppendRollsBackEveryCore() throws {
    let storage = FailingStorage()
    let bank = try Bank.withCounters(storage: storage)
    let ledger = Ledger(bank)
    let a = try ledger.open(AccountSpec(name: "A")).number
    storage.failAppends.store(true, ordering: .relaxed)
    #expect(throws: BankError.self) {
      try bank.depositAndCount(usd("5"), to: a, counter: "c", value: 9)
    }
    #expect(try bank.counter("c") == nil)
    #expect(try ledger.balance(of: a) == usd("0"))
  }

  @Test func theSnapshotHasASectionPerCoreAndAMissingSectionIsAnEmptyCore() throws {
    let path = dir.file("sections.journal")
    let bank = try Bank.withCounters(storage: FileStorage(path: path))
    let a = try Ledger(bank).open(AccountSpec(name: "A")).number
    try bank.depositAndCount(usd("5"), to: a, counter: "x", value: 42)
    try bank.takeSnapshot()
    try bank.depositAndCount(usd("1"), to: a, counter: "y", value: 7)
    bank.close()
    let reopened = try Bank.withCounters(storage: FileStorage(path: path))
    #expect(reopened.openReport.snapshotSequence != nil)
    #expect(reopened.openReport.replayedRecords == 2)
    #expect(try reopened.counter("x") == 42)
    #expect(try reopened.counter("y") == 7)
    _ = try reopened.verify()
    reopened.close()
    // A bank without the counters core cannot read that section: the snapshot is reported
    // unusable and the journal is replayed from the start, where the counters' records stop it
    // with a clear error naming the unknown tag.
    let plain = try FileStorage(path: path)
    do {
      _ = try Bank(storage: plain, configuration: .init(snapshotEvery: 0))
      Issue.record("a store with an unknown core's records opened")
    } catch {
      #expect(error.code == .storeCorrupt)
      #expect(error.message.contains("unknown record tag 250"), "\(error.message)")
    }
  }

  @Test func aCrashInTheMiddleOfAMixedBatchKeepsAllOrNothing() throws {
    for seed in 0..<UInt64(60) {
      let fs = SimulatedFileSystem(seed: seed)
      let path = "/sim/mixed.journal"
      func open() throws -> Bank {
        try Bank.withCounters(
          storage: FileStorage(path: path, options: .init(lockTimeout: .zero), fileSystem: fs))
      }
      var bank = try open()
      let a = try Ledger(bank).open(AccountSpec(name: "A")).number
      var faults = SimulatedFileSystem.Faults()
      faults.crashAtSync = fs.syncCount + 1 + Int(seed % 5)
      faults.shortWritePerMille = 300
      fs.configure(faults)
      var acked = 0
      for i in 1...10 {
        do {
          try bank.depositAndCount(usd("1"), to: a, counter: "n", value: Int64(i))
          acked = i
        } catch {
          break
        }
      }
      bank.storage.close()
      fs.crash()
      bank = try open()
      let n = try bank.counter("n") ?? 0
      let balance = try Ledger(bank).balance(of: a)
      // Every acknowledged mixed batch survived, and each core holds exactly the same batches.
      #expect(n >= Int64(acked), "seed \(seed): acknowledged batch lost")
      #expect(
        balance == Amount(minorUnits: n * 100, currency: .usd), "seed \(seed): cores disagree")
      #expect(bank.invariantViolation() == nil, "seed \(seed)")
      bank.storage.close()
    }
  }
}
