import BankCore

/// The checks every ``Storage`` backend must pass, as a library product (`BankCoreTesting`) so
/// that a backend in another package (PostgreSQL in `Server/`) runs the same suite. A backend's
/// test calls ``run(_:)`` with a factory that makes fresh, empty stores (and reopens them, for
/// backends that persist; and opens a second instance on the same store, for backends that
/// several processes or nodes share).
///
/// Failures are thrown as ``ConformanceFailure`` naming the requirement, so any test framework can
/// report them.
public enum StorageConformance {
  /// A requirement a backend broke.
  public struct ConformanceFailure: Error, CustomStringConvertible {
    public let requirement: String
    public var description: String { "storage conformance: \(requirement)" }
  }

  /// Makes storages for the suite.
  public struct Factory {
    /// A new, empty store.
    public var make: () throws -> any Storage
    /// Closes `storage` and opens the same store again; `nil` for backends that do not persist.
    public var reopen: ((any Storage) throws -> any Storage)?
    /// A second, independent instance on the same store as `storage`, as a second process or
    /// node would open it; `nil` for backends that hold one instance per store.
    public var second: ((any Storage) throws -> any Storage)?
    /// Creates a factory.
    public init(
      make: @escaping () throws -> any Storage, reopen: ((any Storage) throws -> any Storage)?,
      second: ((any Storage) throws -> any Storage)? = nil
    ) {
      self.make = make
      self.reopen = reopen
      self.second = second
    }
  }

  static func check(_ ok: Bool, _ requirement: String) throws {
    if !ok { throw ConformanceFailure(requirement: requirement) }
  }

  static func batch(_ records: [[UInt8]]) -> RecordBatch {
    var b = RecordBatch()
    for r in records { b.append(r) }
    return b
  }

  static func all(_ s: any Storage, after: UInt64 = 0) throws -> [(UInt64, [UInt8])] {
    var out: [(UInt64, [UInt8])] = []
    try s.forEachRecord(after: after) { rec in
      out.append((rec.sequence, Array(rec.bytes)))
      return true
    }
    return out
  }

  /// Runs every check against stores from `factory`.
  public static func run(_ factory: Factory) throws {
    // An empty store has no records and sequence 0.
    var s = try factory.make()
    let identity = s.storeIdentity
    try check(!identity.isEmpty, "a store has an identity")
    try check(s.lastSequence == 0, "a new store's last sequence is 0")
    try check(try all(s).isEmpty, "a new store has no records")
    try check(try s.loadSnapshot() == nil, "a new store has no snapshot")

    // Batches get consecutive sequence numbers and read back in order, byte for byte.
    let b1: [[UInt8]] = [[1, 2, 3], [4], Array(repeating: 7, count: 1000)]
    let last1 = try s.append(batch(b1))
    try s.waitUntilDurable(last1)
    try check(last1 == 3, "append returns the last sequence of the batch (3), got \(last1)")
    let last2 = try s.commit(batch([[9, 9]]))
    try check(last2 == 4, "sequences continue across batches")
    let read = try all(s)
    try check(read.map(\.0) == [1, 2, 3, 4], "records read back in sequence order")
    try check(read.map(\.1) == b1 + [[9, 9]], "records read back byte for byte")

    // Reading can start after any sequence and can stop early.
    try check(
      try all(s, after: 2).map(\.0) == [3, 4], "forEachRecord(after:) skips earlier records")
    var seen = 0
    try s.forEachRecord(after: 0) { _ in
      seen += 1
      return false
    }
    try check(seen == 1, "returning false stops the read")

    // An empty batch is refused and changes nothing.
    var refused = false
    do { _ = try s.append(RecordBatch()) } catch { refused = true }
    try check(refused && s.lastSequence == 4, "an empty batch is refused")

    // Verify counts records and batches and gives a 64-hex-digit head hash that moves on append.
    let v1 = try s.verify()
    try check(v1.records == 4 && v1.batches == 2, "verify counts 4 records in 2 batches, got \(v1)")
    try check(v1.headHash.count == 64, "the head hash is 64 hex digits")
    _ = try s.commit(batch([[5]]))
    let v2 = try s.verify()
    try check(v2.headHash != v1.headHash, "the head hash changes with every batch")

    // Snapshots round-trip.
    try s.saveSnapshot(StoredSnapshot(sequence: 5, payload: [42, 43]))
    let snap = try s.loadSnapshot()
    try check(snap?.sequence == 5 && snap?.payload == [42, 43], "a saved snapshot loads back")

    // Persistent backends keep everything, including the snapshot and the chain, across a reopen.
    if let reopen = factory.reopen {
      s = try reopen(s)
      try check(s.storeIdentity == identity, "a reopened store keeps its identity")
      try check(s.lastSequence == 5, "a reopened store keeps its last sequence")
      try check(try all(s).map(\.1) == b1 + [[9, 9], [5]], "a reopened store keeps every record")
      let again = try s.loadSnapshot()
      try check(
        again?.sequence == 5 && again?.payload == [42, 43], "a reopened store keeps its snapshot")
      try check(try s.verify() == v2, "a reopened store verifies to the same head hash")
      _ = try s.commit(batch([[6]]))
      try check(s.lastSequence == 6, "appends continue the sequence after a reopen")
      try check(try s.verify().records == 6, "appends after a reopen continue the chain")
    }

    // A conditional append happens only when the last record is the one the caller names.
    let head = s.lastSequence
    try check(
      try s.append(batch([[5]]), ifLastIs: head - 1) == nil && s.lastSequence == head,
      "append(ifLastIs:) with a stale head appends nothing and says so (nil)")
    try check(try all(s).count == Int(head), "a refused conditional append stores nothing")
    let conditional = try s.append(batch([[7], [8]]), ifLastIs: head)
    try check(conditional == head + 2, "append(ifLastIs:) with the current head appends")
    try s.waitUntilDurable(head + 2)
    try check(try all(s, after: head).map(\.1) == [[7], [8]], "the conditional batch reads back")

    // Any durable record reads back by its sequence number; one never written is nil.
    let third = try all(s)[2]
    try check(try s.record(at: third.0) == third.1, "record(at:) reads a record by its sequence")
    try check(
      try s.record(at: s.lastSequence + 1) == nil, "record(at:) past the last sequence is nil")
    try check(try s.record(at: 0) == nil, "record(at: 0) is nil")

    // The store's identity is seen alike by a second instance (history cursors from one process
    // or node are accepted by another), below.

    // Two instances racing on a conditional append: exactly one wins each round; the loser
    // learns it (nil), catches up through forEachRecord, and the journal holds each batch once.
    if let second = factory.second {
      let other = try second(s)
      try check(other.storeIdentity == identity, "a second instance sees the same identity")
      for round in 0..<8 {
        let head = s.lastSequence
        let a = try s.append(batch([[UInt8(round), 1]]), ifLastIs: head)
        let b = try other.append(batch([[UInt8(round), 2]]), ifLastIs: head)
        try check(
          (a == nil) != (b == nil), "round \(round): exactly one conditional append wins")
        if let a { try s.waitUntilDurable(a) }
        if let b { try other.waitUntilDurable(b) }
        let mine = try all(s, after: head).count
        let theirs = try all(other, after: head).count
        try check(
          mine == 1 && theirs == 1, "round \(round): both instances read the one winning batch")
      }
      other.close()
    }

    // A closed store refuses work.
    s.close()
    var closedRefused = false
    do { _ = try s.append(batch([[1]])) } catch { closedRefused = true }
    try check(closedRefused, "a closed store refuses appends")
  }
}
