/// A storage backend that keeps the log in memory: fast, and gone when the process ends.
///
/// Appends are "durable" on return in the only sense memory allows. Useful for tests, simulators
/// and test doubles of payment services.
public final class InMemoryStorage: Storage {
  /// Random bytes that name this store, shared by every bank on it (history cursors are
  /// checked under a key derived from them).
  let identity = RandomBytes.generate(count: 16)
  /// Random bytes chosen when the store was made; every bank on this instance sees them.
  public var storeIdentity: [UInt8] { identity }

  /// Records live in chunks of a few megabytes, so the log grows without ever copying what it
  /// already holds (one contiguous array would copy everything at each doubling).
  private struct Chunk {
    var bytes: [UInt8]
    /// End offset of each record within `bytes`.
    var ends: [Int]
    /// The sequence number of the chunk's first record.
    let first: UInt64
  }

  private struct State {
    var chunks: [Chunk] = []
    var count: UInt64 = 0
    var batchEnds: [UInt64] = []
    var snapshot: StoredSnapshot?
    var closed = false
  }

  private static let chunkSize = 4 << 20
  private let state = Lock(State())

  /// An empty store.
  public init() {}

  /// Appends a batch atomically and returns the sequence number of its last record.
  public func append(_ batch: RecordBatch) throws(StorageError) -> UInt64 {
    // Without a condition the append always happens.
    try append(batch, condition: nil) ?? 0
  }

  /// Appends the batch if the last record is `expected`, checked under the same lock as the
  /// append, so banks sharing this store never append over each other.
  public func append(_ batch: RecordBatch, ifLastIs expected: UInt64) throws(StorageError)
    -> UInt64?
  {
    try append(batch, condition: expected)
  }

  private func append(_ batch: RecordBatch, condition expected: UInt64?) throws(StorageError)
    -> UInt64?
  {
    guard !batch.isEmpty else { throw StorageError.invalidArgument("empty batch") }
    return try state.withLock { s throws(StorageError) -> UInt64? in
      if s.closed { throw StorageError.closed }
      if let expected, s.count != expected { return nil }
      let size = batch.bytes.count
      if s.chunks.isEmpty || s.chunks[s.chunks.count - 1].bytes.count + size > Self.chunkSize {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(max(Self.chunkSize, size))
        s.chunks.append(Chunk(bytes: bytes, ends: [], first: s.count + 1))
      }
      let last = s.chunks.count - 1
      let base = s.chunks[last].bytes.count
      s.chunks[last].bytes.append(contentsOf: batch.bytes)
      for end in batch.ends { s.chunks[last].ends.append(base + end) }
      s.count += UInt64(batch.count)
      s.batchEnds.append(s.count)
      return s.count
    }
  }

  /// Returns at once: memory is as durable as it gets.
  public func waitUntilDurable(_ sequence: UInt64) throws(StorageError) {
    try state.withLock { s throws(StorageError) in if s.closed { throw StorageError.closed } }
  }

  /// Returns at once, as ``waitUntilDurable(_:)`` does.
  public func waitUntilDurableAsync(_ sequence: UInt64) async throws(StorageError) {
    try waitUntilDurable(sequence)
  }

  /// The sequence number of the last appended record, 0 when empty.
  public var lastSequence: UInt64 { state.withLock { $0.count } }

  /// Calls `body` for each record after `sequence`. Readers never hold the lock while calling
  /// back: they work on a copy-on-write copy of the chunk list.
  public func forEachRecord(after sequence: UInt64, _ body: (StoredRecord) -> Bool)
    throws(StorageError)
  {
    let (chunks, closed) = state.withLock { ($0.chunks, $0.closed) }
    if closed { throw StorageError.closed }
    // The last chunk whose first record is at or before sequence + 1.
    var lo = 0
    var hi = chunks.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if chunks[mid].first <= sequence + 1 { lo = mid + 1 } else { hi = mid }
    }
    var c = max(0, lo - 1)
    while c < chunks.count {
      let chunk = chunks[c]
      let stop = chunk.bytes.withUnsafeBytes { all -> Bool in
        for (i, end) in chunk.ends.enumerated() {
          let seq = chunk.first + UInt64(i)
          if seq <= sequence { continue }
          let start = i == 0 ? 0 : chunk.ends[i - 1]
          if !body(
            StoredRecord(sequence: seq, bytes: UnsafeRawBufferPointer(rebasing: all[start..<end])))
          {
            return true
          }
        }
        return false
      }
      if stop { return }
      c += 1
    }
  }

  /// The bytes of the record at `sequence`, found by a binary search of the chunks.
  public func record(at sequence: UInt64) throws(StorageError) -> [UInt8]? {
    try state.withLock { s throws(StorageError) -> [UInt8]? in
      if s.closed { throw StorageError.closed }
      guard sequence > 0, sequence <= s.count else { return nil }
      var lo = 0
      var hi = s.chunks.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if s.chunks[mid].first <= sequence { lo = mid + 1 } else { hi = mid }
      }
      let chunk = s.chunks[lo - 1]
      let i = Int(sequence - chunk.first)
      let start = i == 0 ? 0 : chunk.ends[i - 1]
      return Array(chunk.bytes[start..<chunk.ends[i]])
    }
  }

  /// The last saved snapshot (for the file backend: the one found valid at open, or saved since).
  public func loadSnapshot() throws(StorageError) -> StoredSnapshot? {
    try state.withLock { s throws(StorageError) in
      if s.closed { throw StorageError.closed }
      return s.snapshot
    }
  }

  /// Keeps a snapshot covering records up to its sequence number.
  public func saveSnapshot(_ snapshot: StoredSnapshot) throws(StorageError) {
    try state.withLock { s throws(StorageError) in
      if s.closed { throw StorageError.closed }
      guard snapshot.sequence <= s.count else {
        throw StorageError.invalidArgument(
          "snapshot covers sequence \(snapshot.sequence) but the log ends at \(s.count)")
      }
      s.snapshot = snapshot
    }
  }

  /// Computes the hash chain over every batch, as the file backend stores it, so the head hash
  /// identifies the history. Memory cannot be tampered with from outside the process, so the
  /// chain is computed here on demand rather than on every append.
  ///
  /// - Complexity: O(bytes stored).
  public func verify() throws(StorageError) -> VerifyReport {
    let (batchEnds, closed) = state.withLock { ($0.batchEnds, $0.closed) }
    if closed { throw StorageError.closed }
    var chain = HashChain(genesis: Array("BankCore in-memory store".utf8))
    var nextEnd = 0
    var records: UInt64 = 0
    try forEachRecord(after: 0) { rec in
      guard nextEnd < batchEnds.count else { return false }
      chain.add(sequence: rec.sequence, bytes: rec.bytes)
      records = rec.sequence
      if rec.sequence == batchEnds[nextEnd] {
        chain.endBatch()
        nextEnd += 1
      }
      return true
    }
    return VerifyReport(records: records, batches: UInt64(nextEnd), headHash: chain.head.hexString)
  }

  /// Releases the store; later calls fail with ``StorageError/closed``.
  public func close() { state.withLock { $0.closed = true } }
}
