import Synchronization

/// How a ledger behaves: its clock and when it takes snapshots.
public struct LedgerConfiguration: Sendable {
  /// Where new records get their timestamps. Default: the system clock.
  public var clock: LedgerClock
  /// Take a snapshot once this many records follow the last one; 0 disables automatic snapshots.
  /// Default: 100,000, which bounds the replay on open to about 30 ms.
  public var snapshotEvery: UInt64

  /// Creates a configuration.
  public init(clock: LedgerClock = .system, snapshotEvery: UInt64 = 100_000) {
    self.clock = clock
    self.snapshotEvery = snapshotEvery
  }
}

/// What opening a ledger found: whether a snapshot was used, how much was replayed and why a
/// snapshot was ignored.
public struct OpenReport: Sendable, Equatable {
  /// The sequence number the snapshot covered, when one was used.
  public var snapshotSequence: UInt64?
  /// Records replayed after the snapshot (or from the start).
  public var replayedRecords: UInt64
  /// Why a snapshot was present but not used, if that happened.
  public var snapshotProblem: String?
  /// A torn final write the file backend found: cut when opened for writing, ignored when opened
  /// read-only. Never acknowledged; reported so that nothing is discarded silently.
  public var tornTail: FileStorage.TornTail?
}

/// A double-entry ledger persisted through a ``Storage``: the bank's single commit path.
///
/// Each call validates its command against the current state, appends the resulting records to the
/// storage, waits until they are durable and only then returns. Calls from many threads are safe:
/// one lock orders validation, appends and apply, so journal order equals apply order and a replay
/// rebuilds exactly the state callers observed. Durability waits happen outside the lock, so
/// concurrent callers share syncs (group commit).
///
/// Do not call back into a ledger from inside a callback it is running; the lock is not reentrant.
public final class Ledger: Sendable {
  struct Core: Sendable {
    var state = LedgerState()
    var poisoned: String?
    var snapshotSequence: UInt64 = 0
    /// Buffers reused by every commit, so a large batch does not allocate (and fault in) fresh
    /// pages each time.
    var scratchBatch = RecordBatch()
    var scratchUndo: [(Int, Balances)] = []
  }

  /// The storage this ledger appends to.
  public let storage: any Storage
  /// The behaviour this ledger was opened with.
  public let configuration: LedgerConfiguration
  /// What opening found.
  public let openReport: OpenReport
  let core: Lock<Core>
  private let snapshotting = Atomic<Bool>(false)

  /// Opens a ledger on a storage, loading its snapshot and replaying the records after it.
  ///
  /// - Throws: `store_corrupt` when a record does not decode or refers to something that does not
  ///   exist; storage errors as reported.
  /// - Complexity: O(records after the snapshot).
  public init(
    storage: any Storage = InMemoryStorage(), configuration: LedgerConfiguration = .init()
  )
    throws(BankError)
  {
    self.storage = storage
    self.configuration = configuration
    var state = LedgerState()
    let file = storage as? FileStorage
    var report = OpenReport(
      snapshotSequence: nil, replayedRecords: 0,
      snapshotProblem: file?.openInfo.snapshotProblem, tornTail: file?.openInfo.tornTail)
    do throws(StorageError) {
      if let snap = try storage.loadSnapshot() {
        do throws(DecodeError) {
          let s = try LedgerState.decodeSnapshot(snap.payload)
          if s.counters.lastSequence == snap.sequence, snap.sequence <= storage.lastSequence {
            state = s
            report.snapshotSequence = snap.sequence
          } else {
            report.snapshotProblem = "snapshot sequence does not match its contents or the log"
          }
        } catch {
          report.snapshotProblem = "snapshot does not decode: \(error.reason)"
        }
      }
    } catch {
      throw BankError(error)
    }
    report.replayedRecords = try Self.replay(storage, into: &state) { _, _ in nil }
    self.openReport = report
    self.core = Lock(
      Core(state: state, poisoned: nil, snapshotSequence: report.snapshotSequence ?? 0))
    if configuration.snapshotEvery > 0, report.replayedRecords >= configuration.snapshotEvery,
      file?.readOnly != true
    {
      try? takeSnapshot()
    }
  }

  /// Applies every stored record after `state`'s last sequence to it; `check` runs after each
  /// record and may stop the replay with an error.
  ///
  /// - Returns: the number of records applied.
  static func replay(
    _ storage: any Storage, into state: inout LedgerState,
    check: (UInt64, borrowing LedgerState) -> BankError?
  ) throws(BankError) -> UInt64 {
    var failure: BankError?
    var count: UInt64 = 0
    do throws(StorageError) {
      try storage.forEachRecord(after: state.counters.lastSequence) { rec in
        var none: Stage? = nil
        do throws(DecodeError) {
          let record = try JournalRecord.decode(rec.bytes)
          guard state.apply(record, stage: &none) else {
            failure = BankError(
              .storeCorrupt,
              "record \(rec.sequence) refers to an account or hold that does not exist")
            return false
          }
        } catch {
          failure = BankError(
            .storeCorrupt, "record \(rec.sequence) does not decode: \(error.reason)")
          return false
        }
        state.counters.lastSequence = rec.sequence
        count += 1
        failure = check(rec.sequence, state)
        return failure == nil
      }
    } catch {
      throw BankError(error)
    }
    if let failure { throw failure }
    return count
  }

  /// Re-checks the whole store: every checksum, link and chain hash (``Storage/verify()``), then
  /// a full replay from the first record that must reproduce the snapshot byte for byte at the
  /// sequence it covers and the state this ledger holds, with every invariant intact. A snapshot
  /// whose payload was altered and whose checksums were recomputed fails here.
  ///
  /// - Throws: `store_corrupt` naming what differs; storage errors.
  /// - Complexity: O(records).
  public func verify() throws(BankError) -> VerifyReport {
    let report: VerifyReport
    let snapshot: StoredSnapshot?
    do throws(StorageError) {
      report = try storage.verify()
      snapshot = try storage.loadSnapshot()
    } catch {
      throw BankError(error)
    }
    var state = LedgerState()
    var matched = false
    _ = try Self.replay(storage, into: &state) { seq, s in
      guard let snapshot, seq == snapshot.sequence else { return nil }
      let replayed = s.encodeSnapshot()
      guard replayed == snapshot.payload else {
        let at =
          zip(replayed, snapshot.payload).enumerated().first { $0.element.0 != $0.element.1 }?
          .offset ?? min(replayed.count, snapshot.payload.count)
        return BankError(
          .storeCorrupt,
          "the snapshot covering sequence \(seq) does not match what the journal replays to (first difference at payload byte \(at)): it was altered"
        )
      }
      matched = true
      return nil
    }
    if let snapshot, !matched, snapshot.sequence > 0 {
      throw BankError(
        .storeCorrupt,
        "the snapshot covers sequence \(snapshot.sequence), which the journal does not reach")
    }
    if let why = state.invariantViolation() {
      throw BankError(.storeCorrupt, "the replayed ledger breaks an invariant: \(why)")
    }
    let current = core.withLock { $0.state.encodeSnapshot() }
    guard state.encodeSnapshot() == current else {
      throw BankError(
        .storeCorrupt,
        "the state opened from the snapshot differs from a full replay of the journal")
    }
    return report
  }

  // MARK: Commit path

  /// Commits a linked batch of commands: all of them, or none.
  ///
  /// - Returns: one outcome per command, in order.
  /// - Throws: the first rule a command breaks (nothing is committed), or a storage error (nothing
  ///   is acknowledged; after a failed sync the ledger refuses further work until reopened).
  @discardableResult
  public func submit(_ commands: [LedgerCommand]) throws(BankError) -> [LedgerOutcome] {
    try commit { state, stage, batch, now throws(BankError) in
      var outcomes: [LedgerOutcome] = []
      outcomes.reserveCapacity(commands.count)
      stage?.balanceUndo.reserveCapacity(commands.count * 2)
      batch.reserve(records: commands.count, bytesEach: TransferCodec.fixedSize)
      for c in commands {
        outcomes.append(try state.stage(c, now: now, stage: &stage, batch: &batch))
      }
      return outcomes
    }
  }

  /// Commits one command.
  @discardableResult
  public func submit(_ command: LedgerCommand) throws(BankError) -> LedgerOutcome {
    try commit { state, stage, batch, now throws(BankError) in
      try state.stage(command, now: now, stage: &stage, batch: &batch)
    }
  }

  func commit<R>(
    _ build: (inout LedgerState, inout Stage?, inout RecordBatch, Int64) throws(BankError) -> R
  ) throws(BankError) -> R {
    let now = configuration.clock.now()
    let every = configuration.snapshotEvery
    let (result, sequence, snapshotDue) = try core.withLock {
      core throws(BankError) -> (R, UInt64, Bool) in
      if let reason = core.poisoned {
        throw BankError(.ioError, "the ledger must be reopened after a storage failure: \(reason)")
      }
      var fresh = Stage(core.state)
      swap(&fresh.balanceUndo, &core.scratchUndo)
      var stage: Stage? = consume fresh
      var batch = RecordBatch()
      swap(&batch, &core.scratchBatch)
      defer {
        // Hand the buffers back, emptied but keeping their capacity.
        batch.removeAll()
        swap(&batch, &core.scratchBatch)
        if var used = stage.take() {
          used.balanceUndo.removeAll(keepingCapacity: true)
          swap(&used.balanceUndo, &core.scratchUndo)
        }
      }
      let result: R
      do throws(BankError) {
        result = try build(&core.state, &stage, &batch, now)
      } catch {
        if let stage { core.state.rollback(stage) }
        throw error
      }
      // A command that changed nothing (an idempotent replay) still waits for the records it
      // observed to be durable.
      if batch.isEmpty { return (result, core.state.counters.lastSequence, false) }
      do throws(StorageError) {
        let last = try storage.append(batch)
        core.state.counters.lastSequence = last
        return (result, last, every > 0 && last &- core.snapshotSequence >= every)
      } catch {
        if let stage { core.state.rollback(stage) }
        throw BankError(error)
      }
    }
    if sequence > 0 {
      do throws(StorageError) {
        try storage.waitUntilDurable(sequence)
      } catch {
        // The state holds records that may never reach the disk: refuse everything until a
        // reopen rebuilds the state from what is durable.
        core.withLock { $0.poisoned = "\(error)" }
        throw BankError(error)
      }
    }
    // A failed snapshot costs only replay time on the next open; the commit itself succeeded.
    if snapshotDue { try? takeSnapshot() }
    return result
  }

  /// Saves a snapshot of the current state, so the next open replays only what follows.
  ///
  /// - Throws: storage errors.
  /// - Complexity: O(accounts + holds + keys).
  public func takeSnapshot() throws(BankError) {
    guard
      snapshotting.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else { return }
    defer { snapshotting.store(false, ordering: .releasing) }
    // Copy-on-write makes the copy O(1); encoding happens outside the lock.
    let state = try core.withLock { core throws(BankError) -> LedgerState in
      if let reason = core.poisoned {
        throw BankError(.ioError, "the ledger must be reopened after a storage failure: \(reason)")
      }
      return core.state
    }
    let seq = state.counters.lastSequence
    guard seq > 0 else { return }
    do throws(StorageError) {
      try storage.waitUntilDurable(seq)
      try storage.saveSnapshot(StoredSnapshot(sequence: seq, payload: state.encodeSnapshot()))
    } catch {
      throw BankError(error)
    }
    core.withLock { if $0.snapshotSequence < seq { $0.snapshotSequence = seq } }
  }

  // MARK: Reads

  /// Runs `body` on the state once everything it reflects is durable, so no caller ever sees money
  /// that a crash could take back.
  func read<R>(_ body: (borrowing LedgerState) throws(BankError) -> R) throws(BankError) -> R {
    let (r, seq) = try core.withLock { core throws(BankError) -> (R, UInt64) in
      if let reason = core.poisoned {
        throw BankError(.ioError, "the ledger must be reopened after a storage failure: \(reason)")
      }
      return (try body(core.state), core.state.counters.lastSequence)
    }
    if seq > 0 {
      do throws(StorageError) { try storage.waitUntilDurable(seq) } catch { throw BankError(error) }
    }
    return r
  }

  /// The account with a number.
  ///
  /// - Throws: `account_not_found`.
  public func account(_ number: AccountNumber) throws(BankError) -> Account {
    try read { s throws(BankError) in s.account(try s.id(of: number)) }
  }

  /// The account with an internal ID.
  ///
  /// - Throws: `account_not_found`.
  public func account(id: AccountID) throws(BankError) -> Account {
    try read { s throws(BankError) in
      guard id.rawValue > 0, id.index < s.info.count else {
        throw BankError(.accountNotFound, "no account has internal id \(id)")
      }
      return s.account(id)
    }
  }

  /// Every account, in the order they were opened.
  ///
  /// - Complexity: O(accounts).
  public func accounts() throws(BankError) -> [Account] {
    try read { s in (0..<s.info.count).map { s.account(AccountID(UInt32($0 + 1))) } }
  }

  /// The vault (cash) account of a currency, if one exists.
  public func vault(for currency: Currency) throws(BankError) -> Account? {
    try read { s in s.vaults[currency.code].map { s.account($0) } }
  }

  /// The posted balance of an account.
  ///
  /// - Throws: `account_not_found`.
  public func balance(of number: AccountNumber) throws(BankError) -> Amount {
    try account(number).balance
  }

  /// A hold's record and outcome (`nil` while pending).
  ///
  /// - Throws: `hold_not_found`.
  public func hold(_ ref: HoldReference) throws(BankError) -> (
    record: TransferRecord, outcome: HoldOutcome?
  ) {
    try read { s throws(BankError) in
      let number: UInt64? =
        switch ref {
        case .key(let k): s.keys[k].flatMap { $0.isHold ? $0.number : nil }
        case .number(let n): n
        }
      guard let number, let h = s.holds[number] else {
        throw BankError(.holdNotFound, "hold \(ref) does not exist")
      }
      return (h.record, h.outcome)
    }
  }

  /// The sequence number of the last record the state reflects.
  public var lastSequence: UInt64 { core.withLock { $0.state.counters.lastSequence } }

  /// Checks the ledger's invariants: debits equal credits per currency (posted and pending), no
  /// limited account is below its limit, and pending totals match the open holds.
  ///
  /// - Returns: a description of the first violation, or `nil`.
  /// - Complexity: O(accounts + holds).
  public func invariantViolation() -> String? {
    core.withLock { $0.state.invariantViolation() }
  }

  /// Closes the storage. The ledger refuses further work.
  public func close() {
    core.withLock { $0.poisoned = "the ledger was closed" }
    storage.close()
  }
}
