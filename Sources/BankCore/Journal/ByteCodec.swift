/// Appends little-endian fields to a growing byte buffer.
struct ByteWriter {
  var bytes: [UInt8]

  init(capacity: Int = 64) {
    bytes = []
    bytes.reserveCapacity(capacity)
  }

  mutating func u8(_ v: UInt8) { bytes.append(v) }
  mutating func u16(_ v: UInt16) {
    withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
  }
  mutating func u32(_ v: UInt32) {
    withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
  }
  mutating func u64(_ v: UInt64) {
    withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
  }
  mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
  /// An unsigned LEB128 varint: 7 bits a byte, low bits first, 1 to 10 bytes.
  mutating func varint(_ v: UInt64) { Self.appendVarint(v, to: &bytes) }
  static func appendVarint(_ v: UInt64, to bytes: inout [UInt8]) {
    var v = v
    while v >= 0x80 {
      bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
      v >>= 7
    }
    bytes.append(UInt8(v))
  }
  mutating func raw(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }
  /// A string as a u16 byte count followed by its UTF-8 bytes; longer strings are cut at 65,535
  /// bytes on a scalar boundary (callers validate lengths long before this).
  mutating func string(_ s: String) {
    var utf8 = Array(s.utf8)
    if utf8.count > 65_535 {
      var cut = 65_535
      while cut > 0 && (utf8[cut] & 0xC0) == 0x80 { cut -= 1 }
      utf8 = Array(utf8[0..<cut])
    }
    u16(UInt16(utf8.count))
    bytes.append(contentsOf: utf8)
  }
}

/// The reason a byte sequence did not decode; callers turn it into `store_corrupt`.
struct DecodeError: Error, Sendable, Equatable {
  let reason: String
  init(_ reason: String) { self.reason = reason }
}

/// Reads little-endian fields from a byte buffer, checking every bound. Never traps on bad input.
struct ByteReader {
  let buffer: UnsafeRawBufferPointer
  private(set) var offset: Int = 0

  init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

  var remaining: Int { buffer.count - offset }
  var isAtEnd: Bool { offset == buffer.count }

  @inline(__always) mutating func need(_ n: Int) throws(DecodeError) {
    if _slowPath(n < 0 || n > remaining) { throw truncated(n) }
  }
  @inline(never) private func truncated(_ n: Int) -> DecodeError {
    DecodeError("truncated: needed \(n) bytes at offset \(offset), have \(remaining)")
  }
  /// Advances past bytes already checked with ``need(_:)``.
  mutating func skip(_ n: Int) { offset += n }

  @inline(__always) mutating func u8() throws(DecodeError) -> UInt8 {
    try need(1)
    defer { offset += 1 }
    return buffer[offset]
  }
  @inline(__always) mutating func u16() throws(DecodeError) -> UInt16 {
    try need(2)
    defer { offset += 2 }
    return UInt16(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
  }
  @inline(__always) mutating func u32() throws(DecodeError) -> UInt32 {
    try need(4)
    defer { offset += 4 }
    return UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
  }
  @inline(__always) mutating func u64() throws(DecodeError) -> UInt64 {
    try need(8)
    defer { offset += 8 }
    return UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
  }
  mutating func i64() throws(DecodeError) -> Int64 { Int64(bitPattern: try u64()) }
  /// A varint as ``ByteWriter/varint(_:)`` writes it; a non-canonical one (a redundant last
  /// byte, or more than 64 bits) is refused, so each value has one encoding.
  @inline(__always) mutating func varint() throws(DecodeError) -> UInt64 {
    // Most values fit in one byte.
    if offset < buffer.count, buffer[offset] < 0x80 {
      defer { offset += 1 }
      return UInt64(buffer[offset])
    }
    return try longVarint()
  }
  private mutating func longVarint() throws(DecodeError) -> UInt64 {
    var v: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      let b = try u8()
      if shift == 63 && b > 1 { throw DecodeError("varint overflows 64 bits") }
      v |= UInt64(b & 0x7F) << shift
      if b & 0x80 == 0 {
        if b == 0 && shift > 0 { throw DecodeError("non-canonical varint") }
        return v
      }
      shift += 7
    }
  }
  mutating func bytes(_ n: Int) throws(DecodeError) -> [UInt8] {
    try need(n)
    defer { offset += n }
    return Array(UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n]))
  }
  mutating func string() throws(DecodeError) -> String {
    let n = Int(try u16())
    if n == 0 { return "" }
    try need(n)
    defer { offset += n }
    let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + n])
    // `String(decoding:)` repairs invalid UTF-8 with U+FFFD, so the bytes come back unchanged
    // exactly when they were valid. (`String(validating:as:)` is generic and instantiates type
    // metadata on every call: a quarter of the time spent opening a snapshot of 10,000 accounts.)
    let s = String(decoding: slice, as: UTF8.self)
    guard s.utf8.elementsEqual(slice) else {
      throw DecodeError("invalid UTF-8 in a string field at offset \(offset)")
    }
    return s
  }
}
