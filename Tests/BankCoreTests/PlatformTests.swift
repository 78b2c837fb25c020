import Foundation
import TestSupport
import Testing

@testable import BankCore

/// Issue 18, point 1: the core contract, checked.
@Suite(.serialized) struct PlatformTests {
  let dir = TempDirectory("platform")

  /// A store written by a bank with two cores (ledger, auth), with a snapshot, opens and
  /// verifies on a bank with a third: the missing section is that core's empty state, not
  /// "altered". The third core then commits with the ledger in one batch, and verify passes
  /// again (with and without a new snapshot).
  @Test func aSnapshotWrittenBeforeACoreExistedOpensAndVerifies() throws {
    let path = dir.file("two-cores.journal")
    let a: AccountNumber
    do {
      let bank = try Bank(storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
      a = try bank.ledger.open(AccountSpec(name: "A")).number
      try bank.ledger.deposit(usd("5"), to: a)
      try bank.takeSnapshot()
      try bank.ledger.deposit(usd("1"), to: a)
      bank.close()
    }
    let three = try Bank.withCounters(storage: FileStorage(path: path))
    #expect(three.openReport.snapshotSequence != nil, "the two-core snapshot was used")
    #expect(try three.counter("atm") == nil)
    let report = try three.verify()
    #expect(report.snapshotSequence != nil && report.warnings.isEmpty, "\(report)")
    try three.depositAndCount(usd("2"), to: a, counter: "atm", value: 7)
    _ = try three.verify()
    try three.takeSnapshot()
    _ = try three.verify()
    three.close()
    let again = try Bank.withCounters(storage: FileStorage(path: path))
    #expect(try again.counter("atm") == 7)
    #expect(try again.ledger.balance(of: a) == usd("8"))
    _ = try again.verify()
    again.close()
  }

  /// A bank-level invariant that sees every core runs where the per-core ones run: in the
  /// bank's check and in verify's replay.
  @Test func crossCoreInvariantsRunWithTheOthers() throws {
    let storage = InMemoryStorage()
    let bank = try Bank.withCounters(storage: storage)
    let a = try bank.ledger.open(AccountSpec(name: "A")).number
    try bank.depositAndCount(usd("5"), to: a, counter: "transfers", value: 1)
    #expect(bank.invariantViolation() == nil)
    _ = try bank.verify()
    // The counter claims more transfers than the ledger made: committed (the core's own rule
    // holds), found by the cross-core check and by verify.
    try bank.depositAndCount(usd("5"), to: a, counter: "transfers", value: 9)
    #expect(bank.invariantViolation()?.contains("across cores") == true)
    do {
      _ = try bank.verify()
      Issue.record("verify passed a broken cross-core invariant")
    } catch {
      #expect(error.code == .storeCorrupt && error.message.contains("across cores"))
    }
  }

  /// The chain hash is computable from outside the package (a backend in another package
  /// computes the same): the public `HashChain` over a file store's batches gives the head
  /// `verify` reports.
  @Test func theChainHashIsComputableFromOutside() throws {
    let path = dir.file("chain.journal")
    let storage = try FileStorage(path: path)
    let batches: [[[UInt8]]] = [[[1, 2, 3]], [[4], [5, 6]], [Array(repeating: 9, count: 300)]]
    for b in batches {
      var batch = RecordBatch()
      for r in b { batch.append(r) }
      _ = try storage.commit(batch)
    }
    let report = try storage.verify()
    storage.close()
    // The genesis of a file store is its 64-byte header (Docs/FileFormat.md).
    var chain = HashChain(genesis: Array(fileBytes(path).prefix(64)))
    var sequence: UInt64 = 0
    for b in batches {
      for r in b {
        sequence += 1
        chain.add(sequence: sequence, record: r)
      }
      chain.endBatch()
    }
    #expect(chain.headHex == report.headHash)
  }

  /// Core IDs and tag ranges are declared once and checked when a bank's state is built.
  @Test func overlappingCoresAreAProgrammerErrorFoundAtOnce() {
    #expect(BankState.registrationProblem(Bank.standardCores + [CounterCore.self]) == nil)
    #expect(
      BankState.registrationProblem([AuthState.self, AuthState.self])
        == "the auth core's ID 2 is the auth core's")
    #expect(
      BankState.registrationProblem([OverlappingCore.self])?.contains("overlap the ledger") == true)
    #expect(
      BankState.registrationProblem([CounterCore.self, ClashingCore.self])?.contains("ID 250")
        == true)
  }
}

/// A core that does nothing, for checks of registration alone (tests only): its records are the
/// counter core's.
protocol StubCore: StateCore where Record == CounterCore.Record {}

extension StubCore {
  static var snapshotVersion: UInt8 { 1 }
  static func time(of record: Record) -> Int64 { CounterCore.time(of: record) }
  static func encode(_ record: Record, into w: inout ByteWriter) {
    CounterCore.encode(record, into: &w)
  }
  static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Record {
    try CounterCore.decode(bytes)
  }
  mutating func applyRecord(_ record: Record) -> Bool { true }
  var lastTimestamp: Int64 { 0 }
  func encodeSnapshot() -> [UInt8] { [] }
  static func decodeSnapshot(_ bytes: [UInt8], version: UInt8) throws(DecodeError) -> Self {
    Self()
  }
  func invariantViolation() -> String? { nil }
}

/// A core whose tags overlap the ledger's (tests only).
struct OverlappingCore: StubCore {
  static let coreID: UInt8 = 240
  static let coreName = "overlapping"
  static let tags: ClosedRange<UInt8> = 30...40
  init() {}
}

/// A core that reuses the counter core's ID (tests only).
struct ClashingCore: StubCore {
  static let coreID: UInt8 = 250
  static let coreName = "clashing"
  static let tags: ClosedRange<UInt8> = 200...201
  init() {}
}
