/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), computed slicing-by-8.
///
/// Frames of the journal carry two of these: one over the salted header and one over the body.
package enum CRC32C {
  /// Eight 256-entry tables: table k gives the CRC of a byte followed by k zero bytes.
  static let tables: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 8 * 256)
    for i in 0..<256 {
      var c = UInt32(i)
      for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
      t[i] = c
    }
    for i in 0..<256 {
      for k in 1..<8 {
        let prev = t[(k - 1) * 256 + i]
        t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
      }
    }
    return t
  }()

  /// The CRC of `bytes`.
  package static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
    if let r = bytes.withContiguousStorageIfAvailable({ update(0, UnsafeRawBufferPointer($0)) }) {
      return r
    }
    return Array(bytes).withUnsafeBytes { update(0, $0) }
  }

  /// Extends a running CRC with more bytes; start with 0.
  ///
  /// - Complexity: O(n), eight bytes per table round.
  package static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
    var c = ~crc
    guard let base = buffer.baseAddress else { return crc }
    var p = base
    var n = buffer.count
    tables.withUnsafeBufferPointer { t in
      while n >= 8 {
        let lo = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)) ^ c
        let hi = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        c =
          t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
          ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
          ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
          ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
        p += 8
        n -= 8
      }
      while n > 0 {
        c = (c >> 8) ^ t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
        p += 1
        n -= 1
      }
    }
    return ~c
  }
}
