/// A failure reported by a storage backend. The set is closed so that third-party backends can
/// report every case the ledger handles.
public enum StorageError: Error, Sendable, Equatable {
  /// Damage that is not a torn tail: the byte offset and the sequence number expected there.
  case corrupt(offset: UInt64, sequence: UInt64, reason: String)
  /// An operating-system call failed.
  case io(operation: String, errno: Int32, detail: String)
  /// An earlier write or sync failed; the store refuses writes until it is reopened.
  case poisoned(reason: String)
  /// Another process holds the store's lock and the wait timed out.
  case locked(path: String, timeout: Duration)
  /// Another instance in this very process has the store open for writing: waiting for its lock
  /// would only wait for oneself, so this is said at once.
  case openInThisProcess(path: String)
  /// The store does not exist and creating it was not requested.
  case notFound(path: String)
  /// The store was closed.
  case closed
  /// The caller passed something the backend cannot accept.
  case invalidArgument(String)
}

/// A batch of encoded records to append atomically: all of them become visible, or none do.
///
/// The records share one contiguous buffer so a large batch costs one allocation.
public struct RecordBatch: Sendable {
  /// The records' bytes, back to back.
  public private(set) var bytes: [UInt8] = []
  /// The end offset of each record in ``bytes``.
  public private(set) var ends: [Int] = []
  /// The origin stamp every record appended gets (``RecordEnvelope``); set by the bank's commit.
  var stamp: [UInt8]? = nil

  /// An empty batch.
  public init() {}

  /// The number of records.
  public var count: Int { ends.count }
  /// Whether the batch has no records.
  public var isEmpty: Bool { ends.isEmpty }

  /// Adds one record's bytes.
  public mutating func append(_ record: some Collection<UInt8>) {
    let start = bytes.count
    bytes.append(contentsOf: record)
    finishRecord(at: start)
  }

  /// Reserves room for a number of records of a typical size.
  public mutating func reserve(records: Int, bytesEach: Int) {
    bytes.reserveCapacity(records * bytesEach)
    ends.reserveCapacity(records)
  }

  mutating func append(_ record: JournalRecord) {
    let start = bytes.count
    var w = ByteWriter()
    swap(&w.bytes, &bytes)
    record.encode(into: &w)
    swap(&w.bytes, &bytes)
    finishRecord(at: start)
  }

  /// Appends one record written directly into the shared buffer by `write`.
  mutating func appendEncoded(_ write: (inout [UInt8]) -> Void) {
    let start = bytes.count
    write(&bytes)
    finishRecord(at: start)
  }

  /// Stamps the record just written at `start` with the batch's origin, if any, and ends it.
  @inline(__always)
  private mutating func finishRecord(at start: Int) {
    if let stamp, bytes.count - start >= 2 {
      RecordEnvelope.apply(stamp, to: &bytes, recordAt: start)
    }
    ends.append(bytes.count)
  }

  /// The bytes of the record at `index` (from 0).
  func record(_ index: Int) -> [UInt8] {
    Array(bytes[(index == 0 ? 0 : ends[index - 1])..<ends[index]])
  }

  /// Drops the records after the first `count` (a refused transaction's, from a shared batch).
  mutating func removeRecords(after count: Int) {
    guard count < ends.count else { return }
    bytes.removeSubrange((count == 0 ? 0 : ends[count - 1])...)
    ends.removeSubrange(count...)
  }

  mutating func removeAll() {
    bytes.removeAll(keepingCapacity: true)
    ends.removeAll(keepingCapacity: true)
    stamp = nil
  }

  /// Calls `body` with each record's bytes in order.
  public func forEach(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
    try bytes.withUnsafeBytes { all in
      var start = 0
      for end in ends {
        try body(UnsafeRawBufferPointer(rebasing: all[start..<end]))
        start = end
      }
    }
  }
}

/// One record handed to a reader: its sequence number and bytes. The bytes are valid only
/// during the callback.
public struct StoredRecord {
  /// The record's sequence number; the first record of a store is 1.
  public let sequence: UInt64
  /// The record's bytes.
  public let bytes: UnsafeRawBufferPointer

  /// A record as a backend hands it out (valid only during the call it is passed to).
  public init(sequence: UInt64, bytes: UnsafeRawBufferPointer) {
    self.sequence = sequence
    self.bytes = bytes
  }
}

/// A saved image of a state, taken at a sequence number, that lets opening skip the replay of
/// everything before it.
public struct StoredSnapshot: Sendable {
  /// The last record sequence the snapshot covers.
  public let sequence: UInt64
  /// The opaque bytes the owner of the state wrote.
  public let payload: [UInt8]
  /// Creates a snapshot value.
  public init(sequence: UInt64, payload: [UInt8]) {
    self.sequence = sequence
    self.payload = payload
  }
}

/// The facts `verify` reports about a store.
public struct VerifyReport: Sendable, Equatable {
  /// Records in the store.
  public let records: UInt64
  /// Atomic batches in the store.
  public let batches: UInt64
  /// The head of the SHA-256 hash chain, as 64 hexadecimal digits.
  public let headHash: String
  /// Findings that are not damage, for a person to read: a torn tail that was never acknowledged
  /// and that a writer would cut, or an older format's limits.
  public let warnings: [String]
  /// The sequence of the snapshot that a full replay was compared with and reproduced, or `nil`
  /// when no snapshot was read (none exists, or it could not be used: see ``warnings``).
  public let snapshotSequence: UInt64?
  /// Creates a report.
  public init(
    records: UInt64, batches: UInt64, headHash: String, warnings: [String] = [],
    snapshotSequence: UInt64? = nil
  ) {
    self.records = records
    self.batches = batches
    self.headHash = headHash
    self.warnings = warnings
    self.snapshotSequence = snapshotSequence
  }
}

/// An ordered, append-only log of records in atomic batches, with optional snapshots.
///
/// Storage knows nothing about money. Every backend must pass the conformance suite (the library
/// product `BankCoreTesting`, `StorageConformance.run(_:)`, which another package's backend runs
/// too) and follow these rules:
/// - ``append(_:)`` assigns the batch consecutive sequence numbers after the current last one and
///   makes it visible to readers of this instance in order; it need not be durable yet.
/// - ``waitUntilDurable(_:)`` returns once every record up to a sequence number survives a crash.
///   Backends may share one sync among concurrent waiters (group commit).
/// - A batch is atomic: after a crash all of it or none of it is present.
/// - After any failed write or sync the backend refuses further appends (it is poisoned).
/// - Methods are safe to call from any thread.
/// - ``lastSequence`` is what this instance has appended or seen: with several writers on one
///   store it may lag what others appended since (it is fresh after this instance's own append
///   and after ``forEachRecord(after:_:)`` has read to the end). A caller never trusts it to
///   decide what to append: ``append(_:ifLastIs:)`` decides, atomically.
/// - The chain hash of ``VerifyReport/headHash`` is ``HashChain``'s, computable from outside.
public protocol Storage: AnyObject, Sendable {
  /// The store's identity: the same bytes from every instance, process or node that opens this
  /// store, for as long as it exists, and different for every other store (a file store's
  /// random store ID). History cursors are authenticated with it, so a cursor from one process
  /// is accepted by another on the same store and refused on any other.
  var storeIdentity: [UInt8] { get }

  /// Appends a batch and returns the sequence number of its last record.
  ///
  /// - Throws: ``StorageError``; after a throw nothing of the batch is visible.
  func append(_ batch: RecordBatch) throws(StorageError) -> UInt64

  /// Appends a batch only if the store's last record is still `expected`, the last one the caller
  /// has applied. With several writers on one store (two `Bank`s on one in-memory store, nodes on
  /// one database), the one that loses the race gets `nil`, catches up and tries again, so no two
  /// batches are ever validated against the same state.
  ///
  /// Required, and atomic: the check and the append happen as one step against every other
  /// writer of the store (both built-in backends hold their writer lock across both; a database
  /// backend uses a unique sequence or one transaction).
  ///
  /// - Returns: the sequence number of the batch's last record, or `nil` when the store's last
  ///   record is no longer `expected` (nothing was appended).
  /// - Throws: as ``append(_:)``.
  func append(_ batch: RecordBatch, ifLastIs expected: UInt64) throws(StorageError) -> UInt64?

  /// Blocks until every record up to `sequence` is durable.
  ///
  /// - Throws: ``StorageError/poisoned(reason:)`` or ``StorageError/io(operation:errno:detail:)``
  ///   when the sync failed; the records are then not acknowledged.
  func waitUntilDurable(_ sequence: UInt64) throws(StorageError)

  /// Returns once every record up to `sequence` is durable: ``waitUntilDurable(_:)`` for Swift
  /// concurrency, never blocking a cooperative thread. The async API and `perform` await this
  /// after a commit or a read.
  ///
  /// The default runs ``waitUntilDurable(_:)`` on a thread of its own. A backend that learns
  /// when a sync it has in flight completes should resume the caller from there instead, so that
  /// no thread waits at all: the file store resumes its waiters from the `fdatasync` that covers
  /// them, the PostgreSQL backend from the answer to its flushing commit.
  ///
  /// - Throws: as ``waitUntilDurable(_:)``.
  func waitUntilDurableAsync(_ sequence: UInt64) async throws(StorageError)

  /// The sequence number of the last appended record, 0 for an empty store.
  var lastSequence: UInt64 { get }

  /// Brings ``lastSequence`` up to date with what other processes appended since, for an
  /// instance that does not write (a read-only file store measures its file again and takes the
  /// new whole batches). ``Bank/refresh()`` calls it first.
  ///
  /// The default does nothing: a backend whose ``lastSequence`` is always current (the in-memory
  /// store; a database read in one query) needs nothing more.
  func observeAppends() throws(StorageError)

  /// Calls `body` with each record after `sequence`, in order, until it returns `false`.
  ///
  /// - Complexity: O(records read).
  func forEachRecord(after sequence: UInt64, _ body: (StoredRecord) -> Bool) throws(StorageError)

  /// The bytes of the record at `sequence`, or `nil` when the store does not hold it: a random
  /// read, for the ledger's idempotency checks and per-account history. A record appended but not
  /// yet durable may be made durable first.
  ///
  /// The default implementation scans from `sequence` with ``forEachRecord(after:_:)``; backends
  /// with an index should do better (both built-in backends read in O(1) seeks).
  func record(at sequence: UInt64) throws(StorageError) -> [UInt8]?

  /// The most recent valid snapshot, or `nil` when there is none or it cannot be trusted.
  func loadSnapshot() throws(StorageError) -> StoredSnapshot?

  /// Replaces the snapshot with one covering records up to `sequence`, atomically.
  func saveSnapshot(_ snapshot: StoredSnapshot) throws(StorageError)

  /// Re-checks every record and reports the counts and the head of the hash chain.
  ///
  /// - Throws: ``StorageError/corrupt(offset:sequence:reason:)`` on damage.
  func verify() throws(StorageError) -> VerifyReport

  /// Releases the backend's resources and locks. Later calls fail with ``StorageError/closed``.
  func close()

  // Capabilities: what a backend may tell the bank beyond the contract. Each has a default.

  /// Whether this instance only reads (a follower, an inspecting command): the bank then never
  /// writes to it, not even a snapshot. Default `false`.
  var isReadOnly: Bool { get }

  /// What opening the backend found, for ``Bank/openReport``: a snapshot it could not use, a
  /// torn tail it cut or ignored. Default: nothing.
  var openFindings: StorageOpenFindings { get }

  /// Why the backend's saved snapshot cannot be used now (damaged, foreign, stale), naming
  /// where it lives, or `nil` when there is none or it is sound. `verify` reports it as a
  /// warning: the journal is the truth and a snapshot only a cache. Default `nil`.
  func snapshotProblem() -> String?

  /// Whether a bank on this backend gathers the transactions of concurrent callers into one
  /// append: each is still judged alone, in order, against the state the ones before it left,
  /// but the batches go to the store as one, all or none. For a backend whose append is a round
  /// trip to a server (PostgreSQL), one statement then carries many callers' transactions.
  /// Default `false`: the built-in backends append in memory and share their syncs already.
  var combinesCommits: Bool { get }

  /// Called by a combining bank (``combinesCommits``) before it judges a group of transactions:
  /// a backend shared by several writers (PostgreSQL, several nodes) may wait here, briefly,
  /// until this writer holds the store's turn to append, so that writers take turns instead of
  /// racing for the same head and losing appends they must then judge again. Taking the turn
  /// should bring ``lastSequence`` up to date, so that the group is judged against the head it
  /// will append after.
  ///
  /// A turn is only a way to lose fewer races: appends stay conditional on the head
  /// (``append(_:ifLastIs:)``), so a turn that lapses, or a writer that appends without one,
  /// costs a lost race, never a wrong append. It must not throw and must not wait long: a
  /// backend that cannot take the turn lets the writer append without it. Default: nothing.
  func takeAppendTurn()

  /// Called by a combining bank after a group taken under ``takeAppendTurn()`` was stored or
  /// refused: `moreQueued` says whether this writer has further transactions waiting, so the
  /// backend may keep the turn for them for a while; otherwise it lets the next writer have it.
  /// It must not wait for the server. Default: nothing.
  func endAppendTurn(moreQueued: Bool)
}

/// What a backend found while opening, reported by the bank (``OpenReport``).
public struct StorageOpenFindings: Sendable, Equatable {
  /// Why a snapshot that was present was not used.
  public var snapshotProblem: String?
  /// A torn final write: cut when opened for writing, ignored when opened read-only.
  public var tornTail: FileStorage.TornTail?

  /// Findings; nothing by default.
  public init(snapshotProblem: String? = nil, tornTail: FileStorage.TornTail? = nil) {
    self.snapshotProblem = snapshotProblem
    self.tornTail = tornTail
  }
}

/// A backend that keeps the key index's full chunks in a file of their own, so that snapshots
/// name them instead of rewriting them (the file store's `PATH.keys`). Without it, a snapshot
/// carries the whole index.
protocol ExternalKeyChunks: Storage {
  /// Where the chunks are kept.
  var keyChunks: KeyChunkFile { get }
}

extension Storage {
  /// ``waitUntilDurable(_:)`` on a blocking thread (not one of the cooperative pool's).
  public func waitUntilDurableAsync(_ sequence: UInt64) async throws(StorageError) {
    try await BlockingWork.run { () throws(StorageError) in try self.waitUntilDurable(sequence) }
  }

  /// Not read-only.
  public var isReadOnly: Bool { false }

  /// Nothing found.
  public var openFindings: StorageOpenFindings { StorageOpenFindings() }

  /// No snapshot problem to report.
  public func snapshotProblem() -> String? { nil }

  /// One append per transaction.
  public var combinesCommits: Bool { false }

  /// No turns: the writer appends at once.
  public func takeAppendTurn() {}

  /// No turns.
  public func endAppendTurn(moreQueued: Bool) {}

  /// Does nothing: ``lastSequence`` is always current.
  public func observeAppends() throws(StorageError) {}

  /// Reads one record through ``forEachRecord(after:_:)``.
  ///
  /// - Complexity: whatever the backend's `forEachRecord` costs to reach `sequence`.
  public func record(at sequence: UInt64) throws(StorageError) -> [UInt8]? {
    guard sequence > 0 else { return nil }
    var found: [UInt8]?
    try forEachRecord(after: sequence - 1) { rec in
      if rec.sequence == sequence { found = Array(rec.bytes) }
      return false
    }
    return found
  }

  /// Appends a batch and waits until it is durable: the acknowledgement point of a commit.
  @discardableResult
  public func commit(_ batch: RecordBatch) throws(StorageError) -> UInt64 {
    let last = try append(batch)
    try waitUntilDurable(last)
    return last
  }
}
