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
    var chain = HashChain(genesis: Array("BankCore in-memory store".utf8))
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
      var seq = UInt64(s.ends.count)
      s.bytes.append(contentsOf: batch.bytes)
      var start = 0
      batch.bytes.withUnsafeBytes { all in
        for end in batch.ends {
          seq += 1
          s.ends.append(base + end)
          s.chain.add(sequence: seq, bytes: UnsafeRawBufferPointer(rebasing: all[start..<end]))
          start = end
        }
      }
      s.chain.endBatch()
      s.batchEnds.append(seq)
      return seq
    }
  }

  public func waitUntilDurable(_ sequence: UInt64) throws(StorageError) {
    try state.withLock { s throws(StorageError) in if s.closed { throw StorageError.closed } }
  }

  public var lastSequence: UInt64 { state.withLock { UInt64($0.ends.count) } }

  public func forEachRecord(after sequence: UInt64, _ body: (StoredRecord) -> Bool) throws(StorageError) {
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

  public func verify() throws(StorageError) -> VerifyReport {
    try state.withLock { s throws(StorageError) in
      if s.closed { throw StorageError.closed }
      return VerifyReport(
        records: UInt64(s.ends.count), batches: UInt64(s.batchEnds.count),
        headHash: s.chain.head.hexString)
    }
  }

  public func close() { state.withLock { $0.closed = true } }
}
