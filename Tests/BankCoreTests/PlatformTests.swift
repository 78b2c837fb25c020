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

  /// A core's command that is refused still appends what it recorded (a wrong PIN's try
  /// counter), through the shared commit path of `Bank/`; the refusal is thrown once it is
  /// durable. A command that throws before judging appends nothing.
  @Test func aRefusedCommandKeepsItsRecords() throws {
    let storage = InMemoryStorage()
    let bank = try Bank.withCounters(storage: storage)
    func wrongPIN() throws(BankError) {
      try bank.commit(CounterCore.self) {
        core, _, tx throws(BankError) -> CoreOutcome<CounterCore.Record, Void> in
        CoreOutcome(
          records: [.set(name: "tries", value: (core.values["tries"] ?? 0) + 1, time: tx.now)],
          result: .failure(BankError(.authenticationFailed, "wrong PIN")))
      }
    }
    for attempt in 1...2 {
      do throws(BankError) {
        try wrongPIN()
        Issue.record("a refusal was not thrown")
      } catch {
        #expect(error.code == .authenticationFailed)
      }
      #expect(try bank.counter("tries") == Int64(attempt))
      #expect(storage.lastSequence == UInt64(attempt))
    }
    #expect(throws: BankError.self) {
      try bank.commitRecords(CounterCore.self) {
        _, _, _ throws(BankError) -> ([CounterCore.Record], Int) in
        throw BankError(.invalidArgument, "refused before judging")
      }
    }
    #expect(storage.lastSequence == 2)
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

/// Issue 18, point 1: the ledger's general mechanisms for the cores to come.
@Suite struct BankAccountKindTests {
  let usd = Currency.usd
  func usd(_ minor: Int64) -> Amount { Amount(minorUnits: minor, currency: .usd) }

  @Test func movementsPassThroughTheBankAccountsTheirKindNames() throws {
    let ledger = try Ledger()
    let alice = try ledger.open(AccountSpec(name: "Alice")).number
    let bob = try ledger.open(AccountSpec(name: "Bob")).number
    let atm = try ledger.open(AccountSpec(name: "ATM-0001 cash", kind: .terminalCash)).number
    let income = try ledger.open(AccountSpec(name: "Interest income", kind: .interestIncome)).number
    let expense = try ledger.open(AccountSpec(name: "Interest expense", kind: .interest)).number
    let loan = try ledger.open(AccountSpec(name: "Alice's loan", kind: .loan)).number
    let fees = try ledger.open(AccountSpec(name: "Fees", kind: .fees)).number
    #expect(try ledger.account(atm).kind.description == "terminal_cash")
    #expect(try !ledger.account(income).kind.isCustomer)
    func move(_ kind: TransferKind, _ from: AccountNumber, _ to: AccountNumber, _ minor: Int64)
      throws(BankError)
    {
      try ledger.submit(.transfer(amount: usd(minor), from: from, to: to, kind: kind))
    }
    // Cash into a terminal, then out to a customer and back.
    let vault = try #require(try ledger.vault(for: .usd)).number
    // Debit the terminal's cash, credit the vault: an asset grows on its debit side.
    try ledger.submit(.transfer(amount: usd(1_000_00), from: atm, to: vault))
    try move(.deposit, atm, alice, 200_00)
    try move(.withdrawal, alice, atm, 50_00)
    try move(.loanDisbursement, loan, alice, 500_00)
    try move(.loanRepayment, alice, loan, 100_00)
    try move(.interest, expense, alice, 1_23)
    try move(.interest, alice, income, 45)
    try move(.fee, alice, fees, 2_00)
    #expect(
      try ledger.balance(of: alice) == usd(200_00 - 50_00 + 500_00 - 100_00 + 1_23 - 45 - 2_00))
    let atmAccount = try ledger.account(atm)
    #expect(atmAccount.balance == usd(1_000_00 + 200_00 - 50_00), "\(atmAccount)")
    #expect(try ledger.balance(of: loan) == usd(400_00))
    // A customer's transfer between customers stays as it was.
    try move(.transfer, alice, bob, 1_00)
    // The wrong kind of bank account, or the wrong direction, is internal_account.
    for (kind, from, to) in [
      (TransferKind.transfer, atm, alice), (.deposit, income, alice), (.withdrawal, alice, loan),
      (.interest, income, alice), (.interest, alice, expense), (.fee, fees, alice),
      (.loanDisbursement, alice, loan), (.deposit, alice, atm),
    ] {
      do throws(BankError) {
        try move(kind, from, to, 1)
        Issue.record("\(kind) \(from) -> \(to) was accepted")
      } catch {
        #expect(error.code == .internalAccount, "\(kind) \(from) -> \(to): \(error)")
      }
    }
    // A customer's hold to a terminal's cash: an ATM withdrawal held, then posted.
    let hold = try ledger.placeHold(usd(40_00), from: alice, to: atm)
    #expect(hold.transfer.kind == .withdrawal)
    try ledger.postHold(.number(hold.transfer.number))
    #expect(try ledger.balance(of: atm) == usd(1_000_00 + 200_00 - 50_00 - 40_00))
    do throws(BankError) {
      _ = try ledger.placeHold(usd(1_00), from: alice, to: income)
      Issue.record("a hold into interest income was accepted")
    } catch {
      #expect(error.code == .internalAccount)
    }
    #expect(ledger.invariantViolation() == nil)
  }

  @Test func holdsExpireOnTheClockWhileAProcessRuns() async throws {
    let ledger = try Ledger()
    let a = try ledger.open(AccountSpec(name: "Alice")).number
    try ledger.deposit(usd(100_00), to: a)
    let soon = Instant(nanoseconds: BankClock.system.now() + 150_000_000)
    try ledger.placeHold(usd(30_00), from: a, expiresAt: soon)
    try ledger.placeHold(usd(5_00), from: a)  // never lapses
    #expect(try ledger.nextHoldExpiry == soon)
    #expect(try ledger.account(a).available == usd(65_00))
    let driver = Task { try await ledger.expireHoldsOnTheClock(checkingAtLeastEvery: .seconds(5)) }
    var waited = 0
    while try ledger.account(a).available != usd(95_00), waited < 200 {
      try await Task.sleep(for: .milliseconds(25))
      waited += 1
    }
    #expect(try ledger.account(a).available == usd(95_00))
    #expect(try ledger.nextHoldExpiry == nil)
    driver.cancel()
    #expect(try await driver.value == 1)
  }
}
