import Synchronization
import TestSupport
import Testing

@testable import BankCore

func usd(_ text: String) -> Amount {
  // Test literals are always valid; a bad one fails the test through the zero it returns.
  (try? Amount(parsing: text, currency: .usd)) ?? Amount(minorUnits: 0, currency: .usd)
}

func expectCode<T>(
  _ code: BankError.Code, _ body: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation
) {
  do {
    _ = try body()
    Issue.record(
      "expected \(code.rawValue), but nothing was thrown", sourceLocation: sourceLocation)
  } catch let error as BankError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
  } catch {
    Issue.record("expected BankError, got \(error)", sourceLocation: sourceLocation)
  }
}

/// A storage whose appends fail on demand, to prove a failed append changes nothing.
final class FailingStorage: Storage {
  let inner = InMemoryStorage()
  let failAppends = Atomic<Bool>(false)
  let failSyncs = Atomic<Bool>(false)
  func append(_ batch: RecordBatch) throws(StorageError) -> UInt64 {
    if failAppends.load(ordering: .relaxed) {
      throw StorageError.io(operation: "write", errno: 28, detail: "No space left on device")
    }
    return try inner.append(batch)
  }
  var storeIdentity: [UInt8] { inner.storeIdentity }
  func append(_ batch: RecordBatch, ifLastIs expected: UInt64) throws(StorageError) -> UInt64? {
    if failAppends.load(ordering: .relaxed) {
      throw StorageError.io(operation: "write", errno: 28, detail: "No space left on device")
    }
    return try inner.append(batch, ifLastIs: expected)
  }
  func waitUntilDurable(_ sequence: UInt64) throws(StorageError) {
    if failSyncs.load(ordering: .relaxed) {
      throw StorageError.io(operation: "fdatasync", errno: 5, detail: "Input/output error")
    }
  }
  var lastSequence: UInt64 { inner.lastSequence }
  func forEachRecord(after sequence: UInt64, _ body: (StoredRecord) -> Bool) throws(StorageError) {
    try inner.forEachRecord(after: sequence, body)
  }
  func loadSnapshot() throws(StorageError) -> StoredSnapshot? { try inner.loadSnapshot() }
  func saveSnapshot(_ snapshot: StoredSnapshot) throws(StorageError) {
    try inner.saveSnapshot(snapshot)
  }
  func verify() throws(StorageError) -> VerifyReport { try inner.verify() }
  func close() { inner.close() }
}

@Suite struct LedgerTests {
  let ledger: Ledger
  let alice: AccountNumber
  let bob: AccountNumber

  init() throws {
    ledger = try Ledger(configuration: LedgerConfiguration(clock: .manual()))
    alice = try ledger.open(AccountSpec(name: "Alice")).number
    bob = try ledger.open(AccountSpec(name: "Bob", kind: .savings)).number
    try ledger.deposit(usd("100"), to: alice)
  }

  @Test func depositWithdrawTransferMoveMoneyBothWays() throws {
    #expect(try ledger.balance(of: alice) == usd("100"))
    let r = try ledger.transfer(usd("30.25"), from: alice, to: bob, memo: "rent")
    #expect(r.debitAccount.balance == usd("69.75"))
    #expect(r.creditAccount.balance == usd("30.25"))
    #expect(r.transfer.memo == "rent")
    #expect(!r.replayed)
    try ledger.withdraw(usd("9.75"), from: alice)
    #expect(try ledger.balance(of: alice) == usd("60"))
    let vault = try #require(try ledger.vault(for: .usd))
    // The vault holds the cash: 100 in, 9.75 out.
    #expect(vault.balance == usd("90.25"))
    #expect(ledger.invariantViolation() == nil)
  }

  @Test func accountsAreNumberedUniquelyWithCheckDigits() throws {
    let all = try ledger.accounts()
    #expect(Set(all.map(\.number)).count == all.count)
    for a in all { #expect(try AccountNumber(parsing: a.number.description) == a.number) }
    #expect(alice.description == "1000-0001-7")
    let chosen = try AccountNumber(base: 55_555_555)
    let c = try ledger.open(AccountSpec(name: "Carol", number: chosen))
    #expect(c.number == chosen)
    expectCode(.accountExists) { try ledger.open(AccountSpec(name: "Dup", number: chosen)) }
  }

  @Test func internalAccountsOpenedBeforeTheirVaultGetTheirOwnNumbers() throws {
    // Regression: the first internal account of a currency once took the number its vault got.
    let l = try Ledger()
    let equity = try l.open(AccountSpec(name: "Equity", kind: .equity, currency: .gbp))
    let fees = try l.open(AccountSpec(name: "Fees", kind: .fees, currency: .gbp))
    let vault = try #require(try l.vault(for: .gbp))
    #expect(Set([equity.number, fees.number, vault.number]).count == 3)
    #expect(try l.accounts().count == 3)
    // Between the bank's own accounts money moves only as a bank operation, never as a customer
    // transfer.
    try l.submit(
      .transfer(
        amount: Amount(minorUnits: 5, currency: .gbp), from: equity.number, to: fees.number,
        kind: .fee))
    #expect(l.invariantViolation() == nil)
  }

  @Test func insufficientFundsNamesAccountAndAmounts() throws {
    do {
      try ledger.withdraw(usd("100.01"), from: alice)
      Issue.record("expected a refusal")
    } catch {
      #expect(error.code == .insufficientFunds)
      #expect(error.message == "account 1000-0001-7 has 100.00 USD available; 100.01 USD requested")
    }
    #expect(try ledger.balance(of: alice) == usd("100"))
    try ledger.withdraw(usd("100"), from: alice)
    #expect(try ledger.balance(of: alice) == usd("0"))
  }

  @Test func overdraftLimitAllowsGoingNegativeUpToTheLimit() throws {
    let c = try ledger.open(AccountSpec(name: "Carol", overdraftLimit: usd("50"))).number
    try ledger.withdraw(usd("50"), from: c)
    #expect(try ledger.balance(of: c) == Amount(minorUnits: -5000, currency: .usd))
    expectCode(.insufficientFunds) { try ledger.withdraw(usd("0.01"), from: c) }
    expectCode(.limitExceeded) { try ledger.setOverdraftLimit(usd("10"), of: c) }
    try ledger.setOverdraftLimit(usd("60"), of: c)
    try ledger.withdraw(usd("10"), from: c)
    #expect(try ledger.account(c).available == usd("0"))
    expectCode(.invalidArgument) {
      try ledger.open(AccountSpec(name: "S", kind: .savings, overdraftLimit: usd("5")))
    }
    #expect(ledger.invariantViolation() == nil)
  }

  @Test func frozenAccountsTakeCreditsButNotDebits() throws {
    try ledger.setStatus(.frozen, of: alice)
    expectCode(.accountFrozen) { try ledger.withdraw(usd("1"), from: alice) }
    expectCode(.accountFrozen) { try ledger.transfer(usd("1"), from: alice, to: bob) }
    try ledger.deposit(usd("1"), to: alice)
    try ledger.setStatus(.active, of: alice)
    try ledger.withdraw(usd("1"), from: alice)
  }

  @Test func closingNeedsZeroBalanceAndNoHolds() throws {
    expectCode(.accountNotEmpty) { try ledger.setStatus(.closed, of: alice) }
    try ledger.placeHold(usd("100"), from: alice, key: idem("h1"))
    try ledger.postHold(.key(idem("h1")))
    #expect(try ledger.balance(of: alice) == usd("0"))
    try ledger.deposit(usd("1"), to: bob)
    try ledger.placeHold(usd("0.01"), from: bob, to: alice, key: idem("h2"))
    expectCode(.accountNotEmpty) { try ledger.setStatus(.closed, of: alice) }
    try ledger.voidHold(.key(idem("h2")))
    let closed = try ledger.setStatus(.closed, of: alice)
    #expect(closed.status == .closed)
    expectCode(.accountClosed) { try ledger.deposit(usd("1"), to: alice) }
    expectCode(.accountClosed) { try ledger.transfer(usd("1"), from: bob, to: alice) }
    expectCode(.accountClosed) { try ledger.setStatus(.active, of: alice) }
  }

  @Test func transferRules() throws {
    expectCode(.sameAccount) { try ledger.transfer(usd("1"), from: alice, to: alice) }
    expectCode(.invalidAmount) { try ledger.transfer(usd("0"), from: alice, to: bob) }
    expectCode(.invalidAmount) {
      try ledger.deposit(Amount(minorUnits: -5, currency: .usd), to: alice)
    }
    let eurAccount = try ledger.open(AccountSpec(name: "Eve", currency: .eur)).number
    expectCode(.currencyMismatch) { try ledger.transfer(usd("1"), from: alice, to: eurAccount) }
    expectCode(.currencyMismatch) { try ledger.deposit(usd("1"), to: eurAccount) }
    let ghost = try AccountNumber(base: 77_777_777)
    expectCode(.accountNotFound) { try ledger.deposit(usd("1"), to: ghost) }
    expectCode(.invalidArgument) {
      try ledger.transfer(usd("1"), from: alice, to: bob, memo: "a\u{7}b")
    }
    expectCode(.invalidArgument) { try ledger.open(AccountSpec(name: "")) }
    expectCode(.invalidArgument) {
      try ledger.open(AccountSpec(name: String(repeating: "x", count: 101)))
    }
    #expect(try ledger.balance(of: alice) == usd("100"))
  }

  @Test func overflowIsRefusedNotTrapped() throws {
    let xts = try Currency(code: "XTS", minorDigits: 6)
    let big = xts.maximumAmount
    let rich = try ledger.open(AccountSpec(name: "Rich", currency: xts)).number
    for _ in 0..<9 { try ledger.deposit(big, to: rich) }
    // A tenth would take the balance past 2^63: refused, not trapped, nothing changed.
    expectCode(.overflow) { try ledger.deposit(big, to: rich) }
    #expect(try ledger.balance(of: rich).minorUnits == 9 * big.minorUnits)
    expectCode(.invalidArgument) {
      try ledger.deposit(Amount(minorUnits: .max, currency: .usd), to: bob)
    }
    #expect(ledger.invariantViolation() == nil)
  }

  @Test func idempotentRetryMovesMoneyOnce() throws {
    let carol = try ledger.open(AccountSpec(name: "Carol")).number
    let first = try ledger.transfer(usd("10"), from: alice, to: bob, key: idem("pay-1"), memo: "m")
    let again = try ledger.transfer(usd("10"), from: alice, to: bob, key: idem("pay-1"), memo: "m")
    #expect(again.replayed)
    #expect(again.transfer == first.transfer)
    #expect(try ledger.balance(of: alice) == usd("90"))
    for (field, op) in [
      (
        "amount",
        { () throws(BankError) in
          _ = try ledger.transfer(usd("11"), from: alice, to: bob, key: idem("pay-1"), memo: "m")
        }
      ),
      (
        "kind",
        { () throws(BankError) in
          _ = try ledger.withdraw(usd("10"), from: alice, key: idem("pay-1"), memo: "m")
        }
      ),
      (
        "credit account",
        { () throws(BankError) in
          _ = try ledger.transfer(usd("10"), from: alice, to: carol, key: idem("pay-1"), memo: "m")
        }
      ),
      (
        "memo",
        { () throws(BankError) in
          _ = try ledger.transfer(usd("10"), from: alice, to: bob, key: idem("pay-1"), memo: "x")
        }
      ),
      (
        "debit account",
        { () throws(BankError) in
          _ = try ledger.transfer(usd("10"), from: bob, to: alice, key: idem("pay-1"), memo: "m")
        }
      ),
    ] as [(String, () throws(BankError) -> Void)] {
      do {
        try op()
        Issue.record("expected idempotency_conflict for \(field)")
      } catch {
        #expect(error.code == .idempotencyConflict)
        #expect(error.message.contains("different \(field)"), "\(error.message)")
      }
    }
    expectCode(.invalidKey) {
      try ledger.deposit(usd("1"), to: alice, key: IdempotencyKey("bad key"))
    }
    expectCode(.invalidKey) {
      try ledger.deposit(
        usd("1"), to: alice, key: IdempotencyKey(String(repeating: "k", count: 65)))
    }
    #expect(try ledger.balance(of: alice) == usd("90"))
  }

  @Test func holdsPostInFullOrPartAndVoid() throws {
    let h = try ledger.placeHold(usd("40"), from: alice, key: idem("atm-1"))
    var a = try ledger.account(alice)
    #expect(a.balance == usd("100"))
    #expect(a.available == usd("60"))
    #expect(a.pending == Amount(minorUnits: -4000, currency: .usd))
    expectCode(.insufficientFunds) { try ledger.withdraw(usd("60.01"), from: alice) }
    let posted = try ledger.postHold(.number(h.transfer.number), amount: usd("25"))
    #expect(posted.amount == usd("25"))
    a = try ledger.account(alice)
    #expect(a.balance == usd("75"))
    #expect(a.available == usd("75"))
    expectCode(.holdNotPending) { try ledger.postHold(.key(idem("atm-1"))) }
    try ledger.placeHold(usd("10"), from: alice, key: idem("atm-2"))
    try ledger.voidHold(.key(idem("atm-2")))
    #expect(try ledger.account(alice).available == usd("75"))
    expectCode(.holdNotFound) { try ledger.voidHold(.key(idem("nope"))) }
    try ledger.placeHold(usd("10"), from: alice, key: idem("atm-3"))
    expectCode(.invalidAmount) { try ledger.postHold(.key(idem("atm-3")), amount: usd("10.01")) }
    #expect(ledger.invariantViolation() == nil)
  }

  @Test func holdsExpireAgainstTheRecordedTime() throws {
    let clock = BankClock.manual(start: 1_000, step: 10)
    let l = try Ledger(configuration: LedgerConfiguration(clock: clock))
    let a = try l.open(AccountSpec(name: "A")).number
    try l.deposit(usd("6"), to: a)
    try l.placeHold(
      usd("5"), from: a, expiresAt: Instant(nanoseconds: 1_000_000), key: idem("late"))
    try l.placeHold(usd("0.01"), from: a, to: nil, expiresAt: nil, key: idem("never"))
    // An expiry already in the past is refused, not placed and expired at once.
    expectCode(.invalidArgument) {
      try l.placeHold(usd("1"), from: a, expiresAt: Instant(nanoseconds: 50), key: idem("soon"))
    }
    #expect(try l.expireHolds() == 0)
    // Move the clock past the first expiry.
    let l2 = try Ledger(
      storage: l.storage, configuration: LedgerConfiguration(clock: .manual(start: 2_000_000)))
    expectCode(.holdExpired) { try l2.postHold(.key(idem("late"))) }
    #expect(try l2.expireHolds() == 1)
    #expect(try l2.hold(.key(idem("late"))).outcome == .expired)
    #expect(try l2.hold(.key(idem("never"))).outcome == nil)
    #expect(try l2.account(a).available == usd("5.99"))
  }

  @Test func linkedBatchIsAllOrNothing() throws {
    let before = try ledger.accounts()
    expectCode(.insufficientFunds) {
      try ledger.submit([
        .transfer(amount: usd("60"), from: alice, to: bob),
        .open(AccountSpec(name: "Temp")),
        .transfer(amount: usd("60"), from: alice, to: bob, key: idem("k")),
      ])
    }
    #expect(try ledger.accounts() == before)
    #expect(ledger.storage.lastSequence == ledger.lastSequence)
    let outcomes = try ledger.submit([
      .transfer(amount: usd("60"), from: alice, to: bob),
      .transfer(amount: usd("40"), from: alice, to: bob, key: idem("k")),
    ])
    #expect(outcomes.count == 2)
    #expect(try ledger.balance(of: bob) == usd("100"))
  }

  @Test func failedAppendChangesNothing() throws {
    let storage = FailingStorage()
    let l = try Ledger(storage: storage, configuration: LedgerConfiguration(clock: .manual()))
    let a = try l.open(AccountSpec(name: "A")).number
    try l.deposit(usd("10"), to: a, key: idem("d1"))
    let before = try l.accounts()
    let seq = storage.lastSequence
    storage.failAppends.store(true, ordering: .relaxed)
    expectCode(.ioError) { try l.deposit(usd("5"), to: a, key: idem("d2")) }
    expectCode(.ioError) { try l.open(AccountSpec(name: "B", currency: .eur)) }
    storage.failAppends.store(false, ordering: .relaxed)
    #expect(try l.accounts() == before)
    #expect(storage.lastSequence == seq)
    // The key of the failed deposit was not remembered: the retry moves money.
    #expect(try !l.deposit(usd("5"), to: a, key: idem("d2")).replayed)
    #expect(try l.balance(of: a) == usd("15"))
  }

  @Test func failedSyncPoisonsUntilReopen() throws {
    let storage = FailingStorage()
    let l = try Ledger(storage: storage, configuration: LedgerConfiguration(clock: .manual()))
    let a = try l.open(AccountSpec(name: "A")).number
    storage.failSyncs.store(true, ordering: .relaxed)
    expectCode(.ioError) { try l.deposit(usd("5"), to: a) }
    storage.failSyncs.store(false, ordering: .relaxed)
    expectCode(.ioError) { try l.balance(of: a) }
    expectCode(.ioError) { try l.deposit(usd("1"), to: a) }
  }

  @Test func replayRebuildsIdenticalState() throws {
    try ledger.transfer(usd("12.34"), from: alice, to: bob, key: idem("x"))
    try ledger.placeHold(usd("5"), from: alice, key: idem("h"))
    try ledger.placeHold(usd("6"), from: alice, key: idem("h2"))
    try ledger.postHold(.key(idem("h2")), amount: usd("1"))
    try ledger.setStatus(.frozen, of: bob)
    let reopened = try Ledger(
      storage: ledger.storage, configuration: LedgerConfiguration(clock: .manual()))
    #expect(try reopened.accounts() == ledger.accounts())
    #expect(try reopened.hold(.key(idem("h"))).outcome == nil)
    #expect(try reopened.transfer(usd("12.34"), from: alice, to: bob, key: idem("x")).replayed)
    let snapState = ledger.bank.guarded.withLock { $0.state }
    let replayState = reopened.bank.guarded.withLock { $0.state }
    #expect(snapState.encodeSnapshot() == replayState.encodeSnapshot())
  }

  @Test func snapshotRoundTripsAndOpenUsesIt() throws {
    try ledger.transfer(usd("1"), from: alice, to: bob, key: idem("s1"))
    try ledger.placeHold(usd("2"), from: alice, key: idem("s2"))
    try ledger.takeSnapshot()
    try ledger.deposit(usd("3"), to: bob)
    let reopened = try Ledger(
      storage: ledger.storage, configuration: LedgerConfiguration(clock: .manual()))
    #expect(reopened.openReport.snapshotSequence != nil)
    #expect(reopened.openReport.replayedRecords == 1)
    #expect(try reopened.accounts() == ledger.accounts())
    #expect(try reopened.transfer(usd("1"), from: alice, to: bob, key: idem("s1")).replayed)
    #expect(try reopened.hold(.key(idem("s2"))).outcome == nil)
    let a = ledger.bank.guarded.withLock { $0.state.encodeSnapshot() }
    let decoded = try BankState.decodeSnapshot(a, cores: Bank.standardCores)
    #expect(decoded.encodeSnapshot() == a)
  }

  @Test func historyIsNewestFirstWithRunningBalance() throws {
    try ledger.transfer(usd("30"), from: alice, to: bob, key: idem("t1"), memo: "rent")
    try ledger.withdraw(usd("20"), from: alice)
    try ledger.placeHold(usd("5"), from: alice, key: idem("h"))
    try ledger.postHold(.key(idem("h")))
    let h = try ledger.history(of: alice)
    #expect(
      h.map(\.amount)
        == [usd("5"), usd("20"), usd("30"), usd("100")].map {
          Amount(minorUnits: -$0.minorUnits, currency: .usd)
        }.enumerated().map { $0.offset == 3 ? usd("100") : $0.element })
    #expect(h.map(\.balance) == [usd("45"), usd("50"), usd("70"), usd("100")])
    #expect(h[2].transfer == "t1" && h[2].memo == "rent" && h[2].counterparty == bob)
    #expect(try ledger.history(of: alice, limit: 1).count == 1)
    #expect(try ledger.history(of: bob).map(\.balance) == [usd("30")])
  }

  @Test func hotPathEncodingMatchesTheGeneralCodec() throws {
    // Regression (found by the frame fuzzer): the hot path once wrote two stray bytes per
    // transfer, and the fast decoder accepted them.
    let r = TransferRecord(
      number: 42, key: nil, kind: .deposit, debit: AccountID(1), credit: AccountID(2), amount: 1234,
      timestamp: 99, memo: "", isHold: false, expiresAt: 0,
      links: EntryLinks(debitBack: 3, creditBack: 300))
    var batch = RecordBatch()
    batch.appendTransfer(r)
    #expect(batch.bytes == JournalRecord.transfer(r).encoded)
    #expect(try JournalRecord(decoding: batch.bytes) == .transfer(r))
    #expect(throws: BankError.self) { try JournalRecord(decoding: batch.bytes + [0, 0]) }
    // Regression (frame fuzzer): a memo flag with an empty memo is a second encoding of the same
    // record, so it is refused.
    var withEmptyMemo = batch.bytes
    withEmptyMemo[2] = 4
    withEmptyMemo += [0, 0]
    #expect(throws: BankError.self) { try JournalRecord(decoding: withEmptyMemo) }
  }

  @Test func recordsRoundTripThroughTheCodec() throws {
    var all: [JournalRecord] = []
    try ledger.transfer(usd("1"), from: alice, to: bob, key: idem("k"), memo: "memo ✓")
    try ledger.placeHold(
      usd("2"), from: alice, expiresAt: Instant(nanoseconds: 4_000_000_000_000_000_000),
      key: idem("h"))
    try ledger.voidHold(.key(idem("h")))
    try ledger.setStatus(.frozen, of: bob)
    try ledger.forEachRecord { _, r in all.append(r) }
    #expect(all.count == 8)
    for r in all { #expect(try JournalRecord(decoding: r.encoded) == r) }
    // Any truncation of a record fails to decode rather than trapping.
    for r in all {
      let bytes = r.encoded
      for cut in 0..<bytes.count {
        #expect(throws: BankError.self) { try JournalRecord(decoding: Array(bytes[0..<cut])) }
      }
    }
  }
}
