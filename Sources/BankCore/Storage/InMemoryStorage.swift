import Synchronization

/// A storage backend that keeps the log in memory: fast, and gone when the process ends.
///
/// Appends are "durable" on return in the only sense memory allows. Useful for tests, simulators
/// and test doubles of payment services.
public final class InMemoryStorage: Storage {
  private struct State {
    var bytes: [UInt8] = []
    var ends: [Int] = []
    var batchEnds: [UInt64] = []
    var snapshot: StoredSnapshot?
    var closed = false
  }

  private let state = Mutex(State())

  /// An empty store.
  public init() {}

  public func append(_ batch: RecordBatch) throws(StorageError) -> UInt64 {
    guard !batch.isEmpty else { throw StorageError.invalidArgument("empty batch") }
    return try state.withLock { s throws(StorageError) -> UInt64 in
      if s.closed { throw StorageError.closed }
      let base = s.bytes.count
      s.bytes.append(contentsOf: batch.bytes)
      for end in batch.ends { s.ends.append(base + end) }
      let seq = UInt64(s.ends.count)
      s.batchEnds.append(seq)
      return seq
    }
  }

  public func waitUntilDurable(_ sequence: UInt64) throws(StorageError) {
    try state.withLock { s throws(StorageError) in if s.closed { throw StorageError.closed } }
  }

  public var lastSequence: UInt64 { state.withLock { UInt64($0.ends.count) } }

  public func forEachRecord(after sequence: UInt64, _ body: (StoredRecord) -> Bool)
    throws(StorageError)
  {
    // Copy-on-write makes this copy O(1); readers never hold the lock while calling back.
    let (bytes, ends, closed) = state.withLock { ($0.bytes, $0.ends, $0.closed) }
    if closed { throw StorageError.closed }
    guard sequence < UInt64(ends.count) else { return }
    bytes.withUnsafeBytes { all in
      var i = Int(sequence)
      while i < ends.count {
        let start = i == 0 ? 0 : ends[i - 1]
        let rec = StoredRecord(
          sequence: UInt64(i + 1), bytes: UnsafeRawBufferPointer(rebasing: all[start..<ends[i]]))
        if !body(rec) { return }
        i += 1
      }
    }
  }

  public func loadSnapshot() throws(StorageError) -> StoredSnapshot? {
    try state.withLock { s throws(StorageError) in
      if s.closed { throw StorageError.closed }
      return s.snapshot
    }
  }

  public func saveSnapshot(_ snapshot: StoredSnapshot) throws(StorageError) {
    try state.withLock { s throws(StorageError) in
      if s.closed { throw StorageError.closed }
      guard snapshot.sequence <= UInt64(s.ends.count) else {
        throw StorageError.invalidArgument(
          "snapshot covers sequence \(snapshot.sequence) but the log ends at \(s.ends.count)")
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
    let (bytes, ends, batchEnds, closed) = state.withLock {
      ($0.bytes, $0.ends, $0.batchEnds, $0.closed)
    }
    if closed { throw StorageError.closed }
    var chain = HashChain(genesis: Array("BankCore in-memory store".utf8))
    bytes.withUnsafeBytes { all in
      var next = 0
      for last in batchEnds {
        while next < Int(last) {
          let start = next == 0 ? 0 : ends[next - 1]
          chain.add(
            sequence: UInt64(next + 1),
            bytes: UnsafeRawBufferPointer(rebasing: all[start..<ends[next]]))
          next += 1
        }
        chain.endBatch()
      }
    }
    return VerifyReport(
      records: UInt64(ends.count), batches: UInt64(batchEnds.count), headHash: chain.head.hexString)
  }

  public func close() { state.withLock { $0.closed = true } }
}
