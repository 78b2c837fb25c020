/// The SHA-256 chain over batches that makes rewriting history evident.
///
/// `H(0) = SHA-256(genesis)`, and for each batch `H(b) = SHA-256(H(b-1) || records)`, where each
/// record contributes its sequence number (u64 LE), its length (u32 LE) and its bytes.
/// `Docs/FileFormat.md` gives the same definition for independent readers. Public, so that a
/// storage backend in another package computes the same chain (and `verify` means the same
/// thing on every backend): feed each batch's records in order, then ``endBatch()``.
public struct HashChain: Sendable {
  /// The chain's head: `H(b)` after the last batch ended, 32 bytes.
  public private(set) var head: [UInt8]
  private var hasher: SHA256?

  /// A chain starting from `SHA-256(genesis)` (a file store's genesis is its 64-byte header).
  public init(genesis: [UInt8]) { head = SHA256.hash(genesis) }
  /// A chain continuing from a known head.
  public init(head: [UInt8]) { self.head = head }

  /// Adds one record of the batch in progress.
  public mutating func add(sequence: UInt64, record: [UInt8]) {
    record.withUnsafeBytes { add(sequence: sequence, bytes: $0) }
  }

  /// The head as 64 lowercase hexadecimal digits, as ``VerifyReport/headHash`` prints it.
  public var headHex: String {
    head.map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
  }

  /// Adds one record of the batch in progress.
  public mutating func add(sequence: UInt64, bytes: UnsafeRawBufferPointer) {
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
  public mutating func endBatch() -> [UInt8] {
    if var h = hasher {
      head = h.finalize()
      hasher = nil
    }
    return head
  }
}
