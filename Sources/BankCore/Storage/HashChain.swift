/// The SHA-256 chain over batches that makes rewriting history evident.
///
/// `H(0) = SHA-256(genesis)`, and for each batch `H(b) = SHA-256(H(b-1) || records)`, where each
/// record contributes its sequence number (u64 LE), its length (u32 LE) and its bytes.
/// `Docs/FileFormat.md` gives the same definition for independent readers.
struct HashChain: Sendable {
  private(set) var head: [UInt8]
  private var hasher: SHA256?

  init(genesis: [UInt8]) { head = SHA256.hash(genesis) }
  init(head: [UInt8]) { self.head = head }

  /// Adds one record of the batch in progress.
  mutating func add(sequence: UInt64, bytes: UnsafeRawBufferPointer) {
    if hasher == nil {
      var h = SHA256()
      h.update(head)
      hasher = h
    }
    var prefix = ByteWriter(capacity: 12)
    prefix.u64(sequence)
    prefix.u32(UInt32(truncatingIfNeeded: bytes.count))
    hasher?.update(prefix.bytes)
    hasher?.update(bytes)
  }

  /// Closes the batch in progress and returns the new head.
  @discardableResult
  mutating func endBatch() -> [UInt8] {
    if var h = hasher {
      head = h.finalize()
      hasher = nil
    }
    return head
  }
}
