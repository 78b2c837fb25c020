/// SHA-256 (FIPS 180-4), written in pure Swift so the hash chain needs no dependency.
///
/// Incremental: feed bytes with ``update(_:)`` and read the digest with ``finalize()``. A partial
/// block waits in a fixed 64-byte buffer inside the value, so hashing allocates nothing until the
/// digest array is made. The block function is in `SHA256+Compression.swift`.
package struct SHA256: Sendable {
  private var state = State.initial
  /// Bytes of an incomplete block, `pendingCount` of them at the front.
  private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
    0, 0, 0, 0, 0, 0, 0, 0
  )
  private var pendingCount = 0
  /// Bytes fed so far, including any that `init(state:length:)` says were fed before.
  private var length: UInt64 = 0

  /// A hasher with the standard initial state.
  package init() {}

  /// A hasher that continues from `state`, after `length` bytes (a multiple of 64) were hashed.
  ///
  /// HMAC starts its inner and outer hashes this way from states precomputed over the padded key.
  init(state: State, length: UInt64) {
    precondition(length % 64 == 0, "a saved state covers whole blocks")
    self.state = state
    self.length = length
  }

  /// The digest of `bytes` in one call.
  package static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
    var s = SHA256()
    s.update(bytes)
    return s.finalize()
  }

  /// Feeds more bytes.
  ///
  /// - Complexity: O(n).
  package mutating func update(_ bytes: some Collection<UInt8>) {
    let done: Void? = bytes.withContiguousStorageIfAvailable { buf in
      update(UnsafeRawBufferPointer(buf))
    }
    if done == nil {
      let copy = Array(bytes)
      copy.withUnsafeBytes { update($0) }
    }
  }

  /// Feeds the bytes of a raw buffer.
  ///
  /// - Complexity: O(n).
  package mutating func update(_ buffer: UnsafeRawBufferPointer) {
    guard buffer.count > 0 else { return }
    length &+= UInt64(buffer.count)
    var rest = buffer
    if pendingCount > 0 {
      let take = min(64 - pendingCount, rest.count)
      let start = pendingCount
      withUnsafeMutableBytes(of: &pending) { block in
        UnsafeMutableRawBufferPointer(rebasing: block[start..<start + take]).copyMemory(
          from: UnsafeRawBufferPointer(rebasing: rest[0..<take]))
      }
      pendingCount += take
      rest = UnsafeRawBufferPointer(rebasing: rest[take...])
      guard pendingCount == 64 else { return }
      withUnsafeBytes(of: pending) { Self.compress(&state, blocks: $0) }
      pendingCount = 0
    }
    let whole = rest.count & ~63
    Self.compress(&state, blocks: UnsafeRawBufferPointer(rebasing: rest[0..<whole]))
    if whole < rest.count {
      withUnsafeMutableBytes(of: &pending) { block in
        UnsafeMutableRawBufferPointer(rebasing: block[0..<rest.count - whole]).copyMemory(
          from: UnsafeRawBufferPointer(rebasing: rest[whole...]))
      }
      pendingCount = rest.count - whole
    }
  }

  /// Pads, processes the final block and returns the 32-byte digest.
  ///
  /// The hasher is spent afterwards: start a new one for the next message.
  package mutating func finalize() -> [UInt8] { finalizeState().bytes }

  /// Pads, processes the final block and returns the digest as words, without allocating.
  mutating func finalizeState() -> State {
    let bitLength = length &* 8
    let used = pendingCount
    withUnsafeMutableBytes(of: &pending) { block in
      block[used] = 0x80
      for i in (used + 1)..<64 { block[i] = 0 }
      if used >= 56 {
        // No room for the 8-byte length: it goes in one more block.
        Self.compress(&state, blocks: UnsafeRawBufferPointer(block))
        for i in 0..<56 { block[i] = 0 }
      }
      block.storeBytes(of: bitLength.bigEndian, toByteOffset: 56, as: UInt64.self)
      Self.compress(&state, blocks: UnsafeRawBufferPointer(block))
    }
    pendingCount = 0
    return state
  }
}

extension Collection<UInt8> {
  /// The bytes as lower-case hexadecimal.
  var hexString: String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(count * 2)
    for b in self {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
  }
}
