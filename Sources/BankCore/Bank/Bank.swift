import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// How a bank behaves: its clock, when it takes snapshots and which cores it holds.
public struct BankConfiguration: Sendable {
  /// Where new records get their timestamps. Default: the system clock.
  public var clock: BankClock
  /// Take a snapshot once this many records follow the last one; 0 disables automatic snapshots.
  /// Default: 100,000. A large state (many idempotency keys) is snapshotted less often: at most
  /// once per (snapshot bytes / 64) records, so writing snapshots never costs more than 64 bytes
  /// per record committed.
  public var snapshotEvery: UInt64
  /// Whether automatic snapshots are written by a background thread (default), so the committing
  /// caller never waits for one; `false` writes them on the committing thread after its commit
  /// (deterministic simulations use this).
  public var snapshotsInBackground = true
  /// The channel commits come through when no ``Origin`` scope says otherwise: `cli` for a
  /// program that links the library or runs on the command line; `bankd` sets `service`.
  public var channel: Channel = .cli
  /// The cores besides the ledger, in snapshot order. Internal: the product's cores are fixed.
  var cores: [any StateCore.Type]

  /// Creates a configuration.
  ///
  /// - Note: Blocks while it opens the store: it reads the newest snapshot and replays the journal
  ///   after it.
  public init(
    clock: BankClock = .system, snapshotEvery: UInt64 = 100_000,
    snapshotsInBackground: Bool = true
  ) {
    self.clock = clock
    self.snapshotEvery = snapshotEvery
    self.snapshotsInBackground = snapshotsInBackground
    self.cores = Bank.standardCores
  }
}

/// The persisted facade of every core: one lock and one commit path for the ledger and every
/// other core, over one ``Storage``.
///
/// Each transaction is validated against the state of every core, turned into records, appended
/// as one atomic batch and made durable before the call returns; a batch may mix cores ("reset
/// the PIN tries and place the withdrawal hold") and commits all or nothing. One lock orders
/// validation, append and apply, so journal order equals apply order and replay rebuilds exactly
/// the state callers observed; durability waits happen outside the lock, so concurrent callers
/// share syncs (group commit).
///
/// Work that is slow and needs no state (password hashing, drawing random tokens) is done before
/// the lock is taken and enters the transaction as data, so that one PBKDF2 never stalls every
/// transfer.
///
/// Do not call back into a bank from inside a closure it is running; the lock is not reentrant.
public final class Bank: Sendable {
  /// The cores every bank holds besides the ledger.
  static let standardCores: [any StateCore.Type] = [
    AuthState.self, ATMState.self, ProductState.self,
  ]

  struct Guarded: Sendable {
    var state: BankState
    var poisoned: String?
    var snapshotSequence: UInt64 = 0
    /// The size of the last snapshot's payload, which spaces automatic snapshots.
    var snapshotBytes = 0
    /// Buffers reused by every commit, so a large batch does not allocate (and fault in) fresh
    /// pages each time.
    var scratchBatch = RecordBatch()
    var scratchUndo: [(Int, Balances)] = []

    /// Whether an automatic snapshot is due once the journal reaches `last`: `every` records
    /// after the last snapshot, and at least one per 64 bytes of its payload.
    func snapshotDue(at last: UInt64, every: UInt64) -> Bool {
      let gap = max(every, UInt64(snapshotBytes / Bank.snapshotBytesPerRecord))
      return every > 0 && last &- snapshotSequence >= gap
    }

    /// Refuses every use of a bank whose memory may hold what the storage does not.
    func requireUsable() throws(BankError) {
      if closed { throw BankError(.ioError, "the bank is closed; open the store again to use it") }
      if let reason = poisoned {
        throw BankError(.ioError, "the bank must be reopened after a storage failure: \(reason)")
      }
    }

    /// ``Bank/close()`` was called.
    var closed = false
  }

  let storage: any Storage
  /// Where a file store keeps the key index's full chunks, so snapshots name them instead of
  /// rewriting them; `nil` for other storage, whose snapshots carry the whole index.
  let keyChunks: KeyChunkFile?
  /// Reads a stored record for the commit path's key checks.
  let reader: RecordReader
  /// The key history cursors are checked with: derived from the file store's random identity
  /// (so a cursor works in the next process), random for other storage.
  let cursorKey: HMACSHA256
  /// The behaviour this bank was opened with.
  public let configuration: BankConfiguration
  /// What opening found.
  public let openReport: OpenReport
  let guarded: Lock<Guarded>
  /// Whether commits are gathered into shared appends (``Storage/combinesCommits``).
  let combining: Bool
  /// Commits waiting for the next group (``combinedCommit(_:)``).
  let commitQueue = CommitQueue()
  private let snapshotting = Atomic<Bool>(false)
  /// The durable watermark (``durableSequence``) and the feed's waiters.
  let watermark: Watermark
  /// The name of the core owning each tag, for the feed.
  let coreNames: [String]
  /// The stamp of a commit made outside any ``Origin`` scope: the operator on the configured
  /// channel (none at all for the command line).
  let defaultStamp: [UInt8]?

  /// Opens a bank on a storage: loads its snapshot and replays the records after it.
  ///
  /// - Throws: `store_corrupt` when a record does not decode, names an unknown tag or version,
  ///   or refers to something that does not exist; storage errors as reported.
  /// - Complexity: O(records after the snapshot).
  ///
  /// - Note: Blocks while it opens the store: it reads the newest snapshot and replays the journal
  ///   after it.
  public convenience init(
    storage: any Storage = InMemoryStorage(), configuration: BankConfiguration = .init()
  ) throws(BankError) {
    try self.init(storage: storage, configuration: configuration, cores: configuration.cores)
  }

  init(storage: any Storage, configuration: BankConfiguration, cores: [any StateCore.Type])
    throws(BankError)
  {
    self.storage = storage
    self.combining = storage.combinesCommits && !storage.isReadOnly
    let keyChunks = (storage as? any ExternalKeyChunks)?.keyChunks
    self.keyChunks = keyChunks
    let identity = storage.storeIdentity
    self.cursorKey = HMACSHA256(
      key: HMACSHA256.authenticationCode(
        for: Array("BankCore history cursor v1".utf8), key: identity))
    self.reader = { seq throws(BankError) in
      let bytes: [UInt8]?
      do throws(StorageError) { bytes = try storage.record(at: seq) } catch {
        throw BankError(error)
      }
      guard let bytes else {
        throw BankError(.storeCorrupt, "record \(seq) is not in the journal")
      }
      return bytes
    }
    self.configuration = configuration
    var state = BankState(cores: cores)
    var report = OpenReport(
      snapshotSequence: nil, replayedRecords: 0,
      snapshotProblem: storage.openFindings.snapshotProblem, tornTail: storage.openFindings.tornTail
    )
    var snapshotBytes = 0
    do throws(StorageError) {
      if let snap = try storage.loadSnapshot() {
        snapshotBytes = snap.payload.count
        do throws(DecodeError) {
          let s = try BankState.decodeSnapshot(
            snap.payload, cores: cores, keyChunk: Self.chunkReader(keyChunks))
          if s.ledgerFromOlderRelease {
            // It lacks the history chains and the key index, which only the journal holds.
            report.snapshotProblem =
              "snapshot of an older release: the journal was replayed to build the history chains and the key index"
          } else if s.incompleteSections {
            report.snapshotProblem =
              "snapshot of an older release: the journal was replayed to rebuild what its sections lack"
          } else if s.sequence == snap.sequence, snap.sequence <= storage.lastSequence {
            state = s
            report.snapshotSequence = snap.sequence
            // A version-4 snapshot read its full chunks from the file and their checksums
            // matched: those need no writing again. (An older one held its keys inline and says
            // nothing about the file.)
            if s.ledgerSectionVersion >= 4 { keyChunks?.proven(s.ledger.keys.fullChunks) }
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
    report.replayedRecords = try Self.replay(storage, into: &state)
    if report.snapshotSequence == nil { snapshotBytes = 0 }
    self.openReport = report
    self.watermark = Watermark(state.sequence)
    self.defaultStamp = RecordEnvelope.stamp(
      for: Origin(principal: .operator, channel: configuration.channel))
    self.coreNames = (0...255).map { tag in
      if LedgerState.tags.contains(UInt8(tag)) { return "ledger" }
      return cores.first { $0.tags.contains(UInt8(tag)) }?.coreName ?? "unknown"
    }
    self.guarded = Lock(
      Guarded(
        state: state, poisoned: nil, snapshotSequence: report.snapshotSequence ?? 0,
        snapshotBytes: snapshotBytes))
    if configuration.snapshotEvery > 0, report.replayedRecords >= configuration.snapshotEvery,
      !storage.isReadOnly
    {
      try? takeSnapshot()
    }
  }

  /// Applies every stored record after `state`'s sequence to it; `check` runs after each record
  /// and may stop the replay with an error.
  ///
  /// - Returns: the number of records applied.
  static func replay(
    _ storage: any Storage, into state: inout BankState,
    check: ((UInt64, borrowing BankState) -> BankError?)? = nil
  ) throws(BankError) -> UInt64 {
    var failure: BankError?
    var count: UInt64 = 0
    do throws(StorageError) {
      try storage.forEachRecord(after: state.sequence) { rec in
        do throws(DecodeError) {
          guard try state.apply(encoded: rec.bytes, sequence: rec.sequence) else {
            failure = BankError(
              .storeCorrupt,
              "record \(rec.sequence) refers to something that does not exist")
            return false
          }
        } catch {
          failure = BankError(
            .storeCorrupt, "record \(rec.sequence) does not decode: \(error.reason)")
          return false
        }
        state.sequence = rec.sequence
        count += 1
        // Only verify checks each record: passing the state to a closure costs a copy of it.
        if let check { failure = check(rec.sequence, state) }
        return failure == nil
      }
    } catch {
      throw BankError(error)
    }
    if let failure { throw failure }
    return count
  }

  // MARK: Commit path

  /// Runs one transaction: `build` validates commands against the state and stages their records
  /// (applying them as it goes); the batch is then appended and made durable. If `build` throws
  /// or the append fails, every core is rolled back and nothing is stored.
  ///
  /// When another writer shares the storage and appended first, the append is refused (nothing
  /// is stored), the transaction is rolled back, the bank applies what the other writer stored,
  /// and `build` runs again against that state; so does a refusal made while the bank was behind
  /// the store. `build` must therefore be a function of the state alone (slow or random work is
  /// done before, and enters as data). A bank that is the store's only writer never retries.
  func commit<R>(_ build: (inout BankState, inout Transaction) throws(BankError) -> R)
    throws(BankError) -> R
  {
    if combining { return try combinedCommit(build) }
    let clockNow = configuration.clock.now()
    let every = configuration.snapshotEvery
    let stamp = currentStamp()
    var races = 0
    // A lost race leaves a file store's lock held for the retry (FileStorage.append): let it
    // go once this commit ends, however it ends (a commit that queued frames keeps it until
    // their sync).
    defer { if races > 0 { (storage as? FileStorage)?.releaseLockIfIdle() } }
    var done: (R, UInt64, Bool)?
    while done == nil {
      done = try guarded.withLock { g throws(BankError) -> (R, UInt64, Bool)? in
        try g.requireUsable()
        try observeOtherProcesses(&g)
        while true {
          do throws(BankError) {
            if let done = try attempt(
              &g, build, clockNow: clockNow, every: every, stamp: stamp)
            {
              return done
            }
          } catch {
            // Refused against a state another writer has moved on from: judge it again against
            // the current one. (The only writer of a store is never behind it.)
            guard error.code.category == .refused || error.code.category == .invalidInput,
              races < Self.maxRaces, storage.lastSequence != g.state.sequence
            else { throw error }
          }
          races += 1
          guard races <= Self.maxRaces else {
            throw BankError(
              .storeLocked,
              "other writers appended to the store first \(races) times in a row; nothing was stored, try again"
            )
          }
          try catchUp(&g)
          // Past a few lost races, back off outside the lock (below).
          if races > 4 { return nil }
        }
      }
      if done == nil {
        Self.backOff(afterRaces: races)
      }
    }
    guard let (result, sequence, snapshotDue) = done else {
      throw BankError(.storeLocked, "nothing was stored, try again")
    }
    try finishCommit(through: sequence, snapshotDue: snapshotDue)
    return result
  }

  /// The origin stamp of a commit made now. The task-local scope is read only while some scope
  /// is open anywhere: a bank used without origins (the hot path of an embedder's ledger) pays
  /// one atomic load.
  func currentStamp() -> [UInt8]? {
    Origin.scopesOpen.load(ordering: .relaxed) > 0
      ? Origin.current.map(RecordEnvelope.stamp(for:)) ?? defaultStamp : defaultStamp
  }

  /// What a commit does once its batch is appended, outside the lock: waits until the batch is
  /// durable (or notes the wait for an async caller) and starts a snapshot that is due.
  func finishCommit(through sequence: UInt64, snapshotDue: Bool) throws(BankError) {
    // Under `perform` from Swift concurrency the wait is the async caller's, made without a
    // thread before it sees the result (DeferredDurability).
    if sequence > 0, !DeferredDurability.note(self, through: sequence, poisons: true) {
      do throws(StorageError) {
        try storage.waitUntilDurable(sequence)
      } catch {
        // The state holds records that may never reach the disk: refuse everything until a
        // reopen rebuilds the state from what is durable.
        poison(because: "\(error)")
        throw BankError(error)
      }
      watermark.advance(to: sequence)
    }
    // A failed snapshot costs only replay time on the next open; the commit itself succeeded.
    if snapshotDue {
      if configuration.snapshotsInBackground {
        startBackgroundSnapshot()
      } else {
        try? takeSnapshot()
      }
    }
  }

  /// How many times in a row a transaction may lose the append to another writer.
  static let maxRaces = 64

  /// The pause after `races` lost appends in a row, made outside the lock: exponential, with
  /// jitter, at most 20 ms a time, so that a writer on a busier or faster path finishes its burst
  /// instead of starving this one; the bank's other threads are not held up meanwhile.
  static func backOff(afterRaces races: Int) {
    let base = min(UInt32(25) << UInt32(min(max(races - 5, 0), 9)), 10_000)
    usleep(base + UInt32.random(in: 0...base))
  }

  /// Refuses a commit at a time past the latest the bank accepts, or after a record at it.
  static func checkTime(_ clockNow: Int64, after last: Int64) throws(BankError) {
    guard clockNow <= Instant.latest.nanoseconds else {
      throw BankError(
        .invalidArgument,
        "the time \(Instant(nanoseconds: clockNow)) is past \(Instant.latest), the latest time the bank accepts"
      )
    }
    guard last < Instant.latest.nanoseconds else {
      throw BankError(
        .invalidArgument,
        "the store's newest record is at \(Instant.latest), the latest time the bank accepts: no record can be written after it"
      )
    }
  }

  /// One try at a transaction, under the lock: `nil` when another writer appended first (every
  /// core is then as it was).
  @inline(__always)
  private func attempt<R>(
    _ g: inout Guarded, _ build: (inout BankState, inout Transaction) throws(BankError) -> R,
    clockNow: Int64, every: UInt64, stamp: [UInt8]?
  ) throws(BankError) -> (R, UInt64, Bool)? {
    let last = g.state.lastTimestamp
    try Self.checkTime(clockNow, after: last)
    // The stage is built in place with the recycled undo buffer swapped in: a copy of it would
    // share that buffer, and the first undo entry would then copy the whole buffer.
    var tx = Transaction(
      ledgerStage: Stage(
        g.state.ledger, baseSequence: g.state.sequence, read: reader, undo: &g.scratchUndo),
      batch: RecordBatch(), now: clockNow > last ? clockNow : last &+ 1)
    swap(&tx.batch, &g.scratchBatch)
    tx.batch.stamp = stamp
    defer {
      // Hand the buffers back, emptied but keeping their capacity.
      tx.batch.removeAll()
      swap(&tx.batch, &g.scratchBatch)
      if var used = tx.ledgerStage.take() {
        used.balanceUndo.removeAll(keepingCapacity: true)
        swap(&used.balanceUndo, &g.scratchUndo)
      }
    }
    let result: R
    do throws(BankError) {
      result = try build(&g.state, &tx)
    } catch {
      g.state.rollback(tx)
      throw error
    }
    // A command that changed nothing (an idempotent replay) still waits for the records it
    // observed to be durable. It may have judged a state another writer has moved on from (a
    // session ended through another bank): then it is judged again after catching up. (The only
    // writer of a store is never behind it.)
    if tx.batch.isEmpty {
      if storage.lastSequence != g.state.sequence {
        g.state.rollback(tx)
        return nil
      }
      return (result, g.state.sequence, false)
    }
    do throws(StorageError) {
      guard let last = try storage.append(tx.batch, ifLastIs: g.state.sequence) else {
        g.state.rollback(tx)
        return nil
      }
      g.state.sequence = last
      return (result, last, g.snapshotDue(at: last, every: every))
    } catch {
      g.state.rollback(tx)
      throw BankError(error)
    }
  }

  /// Applies the records other writers appended since this bank's last one. A replay that fails
  /// part way leaves the state inside another writer's batch: the bank is then poisoned, as after
  /// a failed sync, until a reopen rebuilds it.
  @discardableResult
  func catchUp(_ g: inout Guarded) throws(BankError) -> UInt64 {
    // Nothing new (the common case, and always for a store's only writer): no read, and above
    // all no sync under the lock (reading records waits until they are durable).
    guard storage.lastSequence != g.state.sequence else { return 0 }
    let before = g.state.sequence
    do throws(BankError) {
      let count = try Self.replay(storage, into: &g.state)
      // Read back from the storage, so durable: everything up to it is.
      watermark.advance(to: g.state.sequence)
      return count
    } catch {
      // A read that failed before anything was applied (a database connection lost) leaves the
      // state whole: the next command tries again. Anything else leaves it half caught up.
      if error.code != .ioError || g.state.sequence != before {
        g.poisoned = "catching up with other writers failed: \(error)"
      }
      throw error
    }
  }

  /// Applies what other processes committed to a store this bank also writes (a file store that
  /// `bankctl` writes beside `bankd`), before a command is judged or a read answered. Costs one
  /// `fstat` when nothing was committed; a bank on a read-only store keeps the view it opened
  /// with until ``refresh()``.
  func observeOtherProcesses(_ g: inout Guarded) throws(BankError) {
    guard !storage.isReadOnly else { return }
    do throws(StorageError) { try storage.observeAppends() } catch { throw BankError(error) }
    try catchUp(&g)
  }

  /// Applies what other writers have appended since, so that reads reflect it: writers sharing
  /// this bank's storage instance, and, for a bank on a read-only store, other processes (the
  /// storage measures the store again: ``Storage/observeAppends()``). A bank that is its store's
  /// only writer is always current. Commits catch up by themselves when they lose an append.
  ///
  /// - Returns: how many records were applied.
  /// - Throws: `store_corrupt` when a record does not decode or apply; storage errors.
  /// - Complexity: O(records applied).
  ///
  /// - Note: Blocks while it reads what other processes appended to a shared store.
  @discardableResult
  public func refresh() throws(BankError) -> UInt64 {
    do throws(StorageError) { try storage.observeAppends() } catch { throw BankError(error) }
    return try catchUpWithSharers()
  }

  /// Applies what other writers sharing this bank's storage instance appended, without looking
  /// for other processes' appends: a read-only bank keeps the view it opened with.
  @discardableResult
  func catchUpWithSharers() throws(BankError) -> UInt64 {
    try guarded.withLock { g throws(BankError) -> UInt64 in
      try g.requireUsable()
      return try catchUp(&g)
    }
  }

  /// Automatic snapshots are at most one per this many bytes of snapshot payload.
  static let snapshotBytesPerRecord = 64

  /// Takes the state's copy now (O(1), under the lock) and hands the encoding and the write to a
  /// new thread; does nothing while another snapshot is in flight.
  private func startBackgroundSnapshot() {
    guard
      snapshotting.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else { return }
    guard let state = try? copyForSnapshot() else {
      snapshotting.store(false, ordering: .releasing)
      return
    }
    let started = BackgroundThread.start { [self] in
      defer { snapshotting.store(false, ordering: .releasing) }
      try? save(state)
    }
    if !started {
      defer { snapshotting.store(false, ordering: .releasing) }
      try? save(state)
    }
  }

  /// The state as it is now, for a snapshot: an O(1) copy-on-write copy without the key index's
  /// lookup table (which the snapshot does not encode), so the live state's next insert does not
  /// copy the table.
  private func copyForSnapshot() throws(BankError) -> BankState {
    try guarded.withLock { g throws(BankError) -> BankState in
      try g.requireUsable()
      var copy = g.state
      copy.ledger.keys.dropTable()
      return copy
    }
  }

  /// Reads key chunks for a snapshot's decoding, or `nil` without a key chunk file.
  static func chunkReader(_ file: KeyChunkFile?) -> ((Int) -> [UInt8]?)? {
    guard let file else { return nil }
    return { file.read(chunk: $0) }
  }

  /// Encodes and saves a snapshot of a copied state (off the lock). A file store's new full key
  /// chunks are written and synced first, so a snapshot never names a chunk the disk lacks.
  private func save(_ state: BankState) throws(BankError) {
    let seq = state.sequence
    guard seq > 0 else { return }
    do throws(StorageError) {
      try keyChunks?.store(state.ledger.keys)
    } catch {
      throw BankError(error)
    }
    let payload = state.encodeSnapshot(externalKeys: keyChunks != nil)
    do throws(StorageError) {
      try storage.waitUntilDurable(seq)
      try storage.saveSnapshot(StoredSnapshot(sequence: seq, payload: payload))
    } catch {
      throw BankError(error)
    }
    guarded.withLock {
      if $0.snapshotSequence < seq {
        $0.snapshotSequence = seq
        $0.snapshotBytes = payload.count
      }
    }
  }

  /// Runs `body` on the state once everything it reflects is durable, so no caller ever sees
  /// anything that a crash could take back.
  ///
  /// - Parameter current: apply first, under the same lock, what other writers sharing the
  ///   storage appended (for decisions that must not be made on a stale state: permissions,
  ///   password checks); free for a store's only writer.
  func read<R>(current: Bool = false, _ body: (borrowing BankState) throws(BankError) -> R)
    throws(BankError) -> R
  {
    let (r, seq) = try guarded.withLock { g throws(BankError) -> (R, UInt64) in
      try g.requireUsable()
      try observeOtherProcesses(&g)
      if current { try catchUp(&g) }
      return (try body(g.state), g.state.sequence)
    }
    if seq > 0, !DeferredDurability.note(self, through: seq, poisons: false) {
      do throws(StorageError) { try storage.waitUntilDurable(seq) } catch { throw BankError(error) }
      watermark.advance(to: seq)
    }
    return r
  }

  /// Refuses everything from now on until a reopen rebuilds the state from what is durable:
  /// the state holds records that may never reach the disk.
  func poison(because reason: String) {
    guarded.withLock { $0.poisoned = reason }
  }

  /// Saves a snapshot of every core, so the next open replays only what follows.
  ///
  /// The state is copied under the lock in O(1) (copy-on-write) and encoded outside it.
  ///
  /// - Throws: storage errors.
  /// - Complexity: O(state size), off the lock.
  ///
  /// - Note: Blocks while it writes the snapshot file and syncs it.
  public func takeSnapshot() throws(BankError) {
    guard
      snapshotting.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else { return }
    defer { snapshotting.store(false, ordering: .releasing) }
    try save(try copyForSnapshot())
  }

  /// Re-checks the whole store: every checksum, link and chain hash (``Storage/verify()``), then
  /// a full replay from the first record that must reproduce the snapshot byte for byte at the
  /// sequence it covers and the state this bank holds, with every invariant intact. A snapshot
  /// whose payload was altered and whose checksums were recomputed fails here.
  ///
  /// - Throws: `store_corrupt` naming what differs; storage errors.
  /// - Complexity: O(records).
  ///
  /// - Note: Blocks while it reads and checks the whole journal.
  public func verify() throws(BankError) -> VerifyReport {
    // What other writers appended is applied first, so the state compared below is the store's.
    try catchUpWithSharers()
    let report: VerifyReport
    let snapshot: StoredSnapshot?
    do throws(StorageError) {
      report = try storage.verify()
      snapshot = try storage.loadSnapshot()
    } catch {
      throw BankError(error)
    }
    let cores = guarded.withLock { $0.state.cores.map { type(of: $0) } }
    var state = BankState(cores: cores)
    var matched = false
    // A snapshot of the first release holds the ledger alone, in its own format: compare
    // states, not bytes, for it.
    // A snapshot of an older release lacks the history chains and the key index: compare what
    // it holds.
    let external = keyChunks != nil
    var stored: BankState?
    var unusable: String?
    if let snapshot {
      do throws(DecodeError) {
        stored = try BankState.decodeSnapshot(
          snapshot.payload, cores: cores, keyChunk: Self.chunkReader(keyChunks))
      } catch {
        unusable = error.reason
      }
    }
    let legacy = stored?.ledgerFromOlderRelease ?? false
    // A snapshot in an earlier layout of the current state (a version-3 ledger section, with the
    // key index inline) is compared after re-encoding in today's layout; today's, byte for byte.
    let olderCores = BankState.hasOlderCoreSections(stored)
    let earlierLayout =
      !legacy
      && ((stored?.ledgerSectionVersion ?? LedgerState.snapshotVersion)
        < LedgerState.snapshotVersion || olderCores)
    _ = try Self.replay(storage, into: &state) { seq, s in
      guard let snapshot, seq == snapshot.sequence else { return nil }
      let expected =
        legacy || earlierLayout
        ? stored?.encodeSnapshot(comparable: legacy, externalKeys: external) ?? []
        : snapshot.payload
      let replayed =
        olderCores
        ? (stored.map { s.comparable(to: $0) } ?? copy s).encodeSnapshot(
          comparable: legacy, externalKeys: external)
        : s.encodeSnapshot(comparable: legacy, externalKeys: external)
      guard replayed == expected else {
        let at =
          zip(replayed, expected).enumerated().first { $0.element.0 != $0.element.1 }?
          .offset ?? min(replayed.count, expected.count)
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
    if let back = state.timeRegression {
      throw BankError(
        .storeCorrupt,
        "record \(back.sequence) is dated \(Instant(nanoseconds: back.time)), earlier than the record before it (\(Instant(nanoseconds: back.previous))): journal time never goes backwards"
      )
    }
    if let why = state.invariantViolation() {
      throw BankError(.storeCorrupt, "the replayed state breaks an invariant: \(why)")
    }
    let current = guarded.withLock { $0.state.encodeSnapshot() }
    guard state.encodeSnapshot() == current else {
      throw BankError(
        .storeCorrupt,
        "the state opened from the snapshot differs from a full replay of the journal")
    }
    if let unusable, let snapshot {
      // The journal is whole; the snapshot (or the key chunk file it names) is only a cache.
      return VerifyReport(
        records: report.records, batches: report.batches, headHash: report.headHash,
        warnings: report.warnings + [
          "the snapshot at sequence \(snapshot.sequence) cannot be used (\(unusable)): the next open replays the whole journal and writes a new one"
        ])
    }
    if snapshot == nil, let why = storage.snapshotProblem() {
      // A snapshot file that is garbage, truncated, flipped or foreign was not read: say so,
      // naming the file; the journal alone was verified.
      return VerifyReport(
        records: report.records, batches: report.batches, headHash: report.headHash,
        warnings: report.warnings + [
          "\(why); the journal alone was verified, and the next writer writes a new snapshot"
        ])
    }
    return VerifyReport(
      records: report.records, batches: report.batches, headHash: report.headHash,
      warnings: report.warnings, snapshotSequence: matched ? snapshot?.sequence : nil)
  }

  /// Calls `body` with each durable record whose tag is in `tags`, in journal order, up to the
  /// record the state reflects now; a record that does not decode is `store_corrupt`.
  ///
  /// - Complexity: O(records in the store).
  func scanRecords(
    tags: ClosedRange<UInt8>,
    _ body: (UInt64, UnsafeRawBufferPointer) throws(DecodeError) -> Void
  ) throws(BankError) {
    try forEachCommitted(after: 0, upTo: lastSequence, tags: tags) { seq, bytes throws(BankError) in
      do throws(DecodeError) { try body(seq, bytes) } catch {
        throw BankError(.storeCorrupt, "record \(seq) does not decode: \(error.reason)")
      }
      return true
    }
  }

  /// The sequence number of the last record the state reflects.
  public var lastSequence: UInt64 { guarded.withLock { $0.state.sequence } }

  /// How many `fdatasync` calls the file journal's group commit has made since the store was
  /// opened (`nil` for other storage): with ``lastSequence``, how many commits share a sync.
  public var journalSyncs: UInt64? { (storage as? FileStorage)?.syncCount }

  /// The newest time recorded in the store; a new transaction is never stamped earlier.
  public var lastRecordedTime: Instant {
    Instant(nanoseconds: guarded.withLock { $0.state.lastTimestamp })
  }

  /// Checks every core's invariants.
  ///
  /// - Returns: a description of the first violation, or `nil`.
  /// - Complexity: O(state size).
  public func invariantViolation() -> String? {
    guarded.withLock { $0.state.invariantViolation() }
  }

  /// Closes the storage, after waiting for a snapshot in flight. The bank refuses further work.
  public func close() {
    guarded.withLock { $0.closed = true }
    watermark.finish()
    while snapshotting.load(ordering: .acquiring) { BackgroundThread.sleep(microseconds: 1000) }
    storage.close()
  }
}
