/// SHA-256 (FIPS 180-4), written in pure Swift so the hash chain needs no dependency.
///
/// Incremental: feed bytes with ``update(_:)`` and read the digest with ``finalize()``.
public struct SHA256: Sendable {
  private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (
    0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab,
    0x5be0_cd19
  )
  private var pending: [UInt8] = []
  private var length: UInt64 = 0

  /// A hasher with the standard initial state.
  public init() { pending.reserveCapacity(64) }

  /// The digest of `bytes` in one call.
  public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
    var s = SHA256()
    s.update(bytes)
    return s.finalize()
  }

  /// Feeds more bytes.
  ///
  /// - Complexity: O(n).
  public mutating func update(_ bytes: some Collection<UInt8>) {
    let done: Void? = bytes.withContiguousStorageIfAvailable { buf in
      update(UnsafeRawBufferPointer(buf))
    }
    if done == nil {
      let copy = Array(bytes)
      copy.withUnsafeBytes { update($0) }
    }
  }

  /// Feeds the bytes of a raw buffer.
  public mutating func update(_ buffer: UnsafeRawBufferPointer) {
    guard buffer.count > 0 else { return }
    length &+= UInt64(buffer.count)
    var i = 0
    if !pending.isEmpty {
      let take = min(64 - pending.count, buffer.count)
      pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<take]))
      i = take
      if pending.count == 64 {
        let block = pending
        block.withUnsafeBytes { if let b = $0.baseAddress { compress(b) } }
        pending.removeAll(keepingCapacity: true)
      }
    }
    guard let base = buffer.baseAddress else { return }
    while buffer.count - i >= 64 {
      compress(base + i)
      i += 64
    }
    if i < buffer.count {
      pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[i..<buffer.count]))
    }
  }

  /// Pads, processes the final block and returns the 32-byte digest.
  public mutating func finalize() -> [UInt8] {
    let bitLength = length &* 8
    var tail: [UInt8] = [0x80]
    let used = (pending.count + 1) % 64
    let zeros = used <= 56 ? 56 - used : 120 - used
    tail.append(contentsOf: repeatElement(0, count: zeros))
    for i in (0..<8).reversed() {
      tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8)))
    }
    let saved = length
    tail.withUnsafeBytes { update($0) }
    length = saved
    var out = [UInt8]()
    out.reserveCapacity(32)
    for word in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] {
      out.append(UInt8(truncatingIfNeeded: word >> 24))
      out.append(UInt8(truncatingIfNeeded: word >> 16))
      out.append(UInt8(truncatingIfNeeded: word >> 8))
      out.append(UInt8(truncatingIfNeeded: word))
    }
    return out
  }

  private static let k: [UInt32] = [
    0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4,
    0xab1c_5ed5, 0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe,
    0x9bdc_06a7, 0xc19b_f174, 0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f,
    0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da, 0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7,
    0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967, 0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc,
    0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85, 0xa2bf_e8a1, 0xa81a_664b,
    0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070, 0x19a4_c116,
    0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
    0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7,
    0xc671_78f2,
  ]

  @inline(__always)
  private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 &- n)) }

  private mutating func compress(_ p: UnsafeRawPointer) {
    withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
      for t in 0..<16 {
        w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self))
      }
      for t in 16..<64 {
        let x = w[t - 15]
        let y = w[t - 2]
        let s0 = Self.rotr(x, 7) ^ Self.rotr(x, 18) ^ (x >> 3)
        let s1 = Self.rotr(y, 17) ^ Self.rotr(y, 19) ^ (y >> 10)
        w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
      }
      var a = h.0
      var b = h.1
      var c = h.2
      var d = h.3
      var e = h.4
      var f = h.5
      var g = h.6
      var hh = h.7
      Self.k.withUnsafeBufferPointer { k in
        for t in 0..<64 {
          let s1 = Self.rotr(e, 6) ^ Self.rotr(e, 11) ^ Self.rotr(e, 25)
          let ch = (e & f) ^ (~e & g)
          let t1 = hh &+ s1 &+ ch &+ k[t] &+ w[t]
          let s0 = Self.rotr(a, 2) ^ Self.rotr(a, 13) ^ Self.rotr(a, 22)
          let maj = (a & b) ^ (a & c) ^ (b & c)
          let t2 = s0 &+ maj
          hh = g
          g = f
          f = e
          e = d &+ t1
          d = c
          c = b
          b = a
          a = t1 &+ t2
        }
      }
      h.0 &+= a
      h.1 &+= b
      h.2 &+= c
      h.3 &+= d
      h.4 &+= e
      h.5 &+= f
      h.6 &+= g
      h.7 &+= hh
    }
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
