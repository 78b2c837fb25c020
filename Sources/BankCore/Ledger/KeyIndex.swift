#if canImport(Glibc)
  import Glibc
#endif

/// Every idempotency key ever used, as a compact index: a 64-bit digest of the key and the journal
/// sequence of the record that used it, 16 bytes an entry, plus an 8-byte slot per entry in an
/// open-addressing table (load at most 3/4). A slot holds the entry's index and the high 32 bits
/// of its digest, so a probe compares digests without touching the entries: a lookup in a table
/// of ten million keys costs one or two cache misses, not one per occupied slot it passes.
///
/// The full key is not kept: it stays in the record. A lookup returns the sequences whose digest
/// matches, and the caller reads those records back from the journal to compare the keys, so a
/// digest collision costs a read, never a wrong answer.
///
/// Entries are kept in journal order in fixed-size chunks. A chunk, once full, is never written
/// again, so a copy of the index (the snapshot's copy of the state) shares every full chunk with
/// the live one and costs no copying when the live one grows, and a file store writes it once to
/// its key chunk file, so a snapshot names it by checksum instead of repeating it
/// (``encode(into:external:)``). The encoding follows journal order: no sorting, and the same bytes
/// for the same journal whether the state was replayed or built by commits. The table is derived
/// from the entries: it
/// is not encoded, and is built on the first lookup that may insert (a reader that never looks a
/// key up never builds it).
struct KeyIndex: Sendable {
  /// Entries per chunk (two words each): 512 KiB.
  static let chunkEntries = 1 << 15

  /// digest, sequence, digest, sequence, … in journal order.
  private(set) var chunks: [[UInt64]] = []
  private(set) var count = 0
  /// The CRC32C of each full chunk's bytes, computed once when it fills: a snapshot names full
  /// chunks by these instead of carrying them (see ``encode(into:external:)``).
  private(set) var fullChunkCRCs: [UInt32] = []

  /// Bytes of one full chunk.
  static let chunkBytes = chunkEntries * 16

  /// How many chunks are full (and so never written again).
  var fullChunks: Int { count / Self.chunkEntries }

  /// A full chunk's bytes, little-endian (digest, sequence) pairs, as the key chunk file holds them.
  func chunkBytes(_ i: Int) -> [UInt8] {
    #if _endian(little)
      return chunks[i].withUnsafeBytes { Array($0) }
    #else
      var w = ByteWriter(capacity: Self.chunkBytes)
      for v in chunks[i] { w.u64(v) }
      return w.bytes
    #endif
  }

  private static func crc(_ chunk: [UInt64]) -> UInt32 {
    #if _endian(little)
      return chunk.withUnsafeBytes { CRC32C.checksum($0) }
    #else
      var w = ByteWriter(capacity: chunkBytes)
      for v in chunk { w.u64(v) }
      return CRC32C.checksum(w.bytes)
    #endif
  }
  /// For each occupied slot, the digest's high 32 bits above the entry index + 1; 0 for empty
  /// (linear probing on the digest's low bits).
  private var slots: [UInt64] = []

  init() {}

  /// The digest of a key: 64 bits of a multiply-xorshift hash of its UTF-8 bytes. Never 0.
  static func digest(_ key: String) -> UInt64 {
    var key = key
    return key.withUTF8 { digest(UnsafeRawBufferPointer($0)) }
  }

  static func digest(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3 ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
    var i = 0
    while i + 8 <= bytes.count {
      let w = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
      h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
      h ^= h >> 31
      i += 8
    }
    if i < bytes.count {
      var w: UInt64 = 0
      var shift: UInt64 = 0
      while i < bytes.count {
        w |= UInt64(bytes[i]) << shift
        shift += 8
        i += 1
      }
      h = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
      h ^= h >> 31
    }
    h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
    h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
    h ^= h >> 31
    return h == 0 ? 1 : h
  }

  func entry(_ i: Int) -> (digest: UInt64, sequence: UInt64) {
    let c = chunks[i / Self.chunkEntries]
    let o = (i % Self.chunkEntries) * 2
    return (c[o], c[o + 1])
  }

  /// Bytes of memory the index holds (chunks and table), for the benchmarks.
  var memoryBytes: Int { chunks.count * Self.chunkEntries * 16 + slots.count * 8 }

  private mutating func ensureTable(forCount n: Int) {
    var capacity = max(slots.count, 1024)
    while n > capacity / 4 * 3 { capacity *= 2 }
    if capacity == slots.count { return }
    slots = Self.emptyTable(capacity)
    for i in 0..<count { place(i, digest: entry(i).digest) }
  }

  /// A zeroed table. A large one asks for transparent huge pages before its pages are first
  /// touched: a probe lands anywhere in it, and with 4 KiB pages every probe of a table of ten
  /// million keys (128 MiB) would also miss the TLB.
  private static func emptyTable(_ capacity: Int) -> [UInt64] {
    // No capacity would be the shared empty array, whose count the initializer writes.
    guard capacity > 0 else { return [] }
    return [UInt64](unsafeUninitializedCapacity: capacity) { buffer, count in
      let raw = UnsafeMutableRawBufferPointer(buffer)
      #if os(Linux)
        let huge = 2 << 20
        if raw.count >= 4 * huge, let base = raw.baseAddress {
          let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
          let end = (Int(bitPattern: base) + raw.count) & ~(huge - 1)
          if end > start, let p = UnsafeMutableRawPointer(bitPattern: start) {
            _ = madvise(p, end - start, MADV_HUGEPAGE)
          }
        }
      #endif
      raw.initializeMemory(as: UInt8.self, repeating: 0)
      count = capacity
    }
  }

  private mutating func place(_ i: Int, digest: UInt64) {
    let mask = slots.count - 1
    var s = Int(truncatingIfNeeded: digest) & mask
    while slots[s] != 0 { s = (s + 1) & mask }
    slots[s] = (digest & 0xFFFF_FFFF_0000_0000) | UInt64(i + 1)
  }

  /// The entry index a slot names.
  @inline(__always) private static func index(_ slot: UInt64) -> Int {
    Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1
  }

  /// The sequences of the records whose key has `digest`, oldest first (almost always none or
  /// one). Builds the table if it is not built yet.
  mutating func sequences(matching digest: UInt64) -> [UInt64] {
    ensureTable(forCount: count)
    let mask = slots.count - 1
    var s = Int(truncatingIfNeeded: digest) & mask
    var found: [UInt64] = []
    let tag = digest & 0xFFFF_FFFF_0000_0000
    while slots[s] != 0 {
      if slots[s] & 0xFFFF_FFFF_0000_0000 == tag {
        let e = entry(Self.index(slots[s]))
        if e.digest == digest { found.append(e.sequence) }
      }
      s = (s + 1) & mask
    }
    return found.count > 1 ? found.sorted() : found
  }

  /// As ``sequences(matching:)`` without building the table: a scan of the entries when it is
  /// not built. For readers.
  func sequencesWithoutBuilding(matching digest: UInt64) -> [UInt64] {
    if slots.isEmpty {
      var found: [UInt64] = []
      for c in chunks {
        var o = 0
        while o < c.count {
          if c[o] == digest { found.append(c[o + 1]) }
          o += 2
        }
      }
      return found
    }
    var copy = self
    return copy.sequences(matching: digest)
  }

  /// Adds a key's digest and the sequence of the record that used it.
  mutating func insert(digest: UInt64, sequence: UInt64) {
    if !slots.isEmpty { ensureTable(forCount: count + 1) }
    if chunks.isEmpty || chunks[chunks.count - 1].count == Self.chunkEntries * 2 {
      var c: [UInt64] = []
      c.reserveCapacity(Self.chunkEntries * 2)
      chunks.append(c)
    }
    chunks[chunks.count - 1].append(digest)
    chunks[chunks.count - 1].append(sequence)
    count += 1
    if count % Self.chunkEntries == 0 { fullChunkCRCs.append(Self.crc(chunks[chunks.count - 1])) }
    if !slots.isEmpty { place(count - 1, digest: digest) }
  }

  /// Removes the newest entry (rollback of a refused or failed batch).
  mutating func removeLast() {
    let i = count - 1
    let d = entry(i).digest
    if !slots.isEmpty {
      // Find its slot, then backward-shift deletion keeps every probe chain unbroken.
      let mask = slots.count - 1
      var s = Int(truncatingIfNeeded: d) & mask
      while Self.index(slots[s]) != i { s = (s + 1) & mask }
      var hole = s
      var j = (s + 1) & mask
      while slots[j] != 0 {
        let home = Int(truncatingIfNeeded: entry(Self.index(slots[j])).digest) & mask
        // Move j into the hole when its home is not cyclically within (hole, j].
        let inRange = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
        if !inRange {
          slots[hole] = slots[j]
          hole = j
        }
        j = (j + 1) & mask
      }
      slots[hole] = 0
    }
    if count % Self.chunkEntries == 0 { fullChunkCRCs.removeLast() }
    let last = chunks.count - 1
    chunks[last].removeLast(2)
    if chunks[last].isEmpty { chunks.removeLast() }
    count -= 1
  }

  /// Drops the table (it is rebuilt on demand): a snapshot's copy of the state never looks keys
  /// up, and must not share the table, or the live state's next insert would copy it.
  mutating func dropTable() { slots = [] }

  // MARK: Snapshot

  /// The index as a snapshot holds it (ledger section version 4 and later): a form byte, then
  /// either every entry inline (form 0: count u64, then (digest u64, sequence u64) in journal
  /// order), or, when the store keeps a key chunk file (form 1), the count, the number of full
  /// chunks and each one's CRC32C, then only the entries of the last, partial chunk. Full chunks
  /// never change, so a snapshot of form 1 does not rewrite them: they are written once to the key
  /// chunk file (`PATH.keys`) before the first snapshot that names them.
  func encode(into w: inout ByteWriter, external: Bool) {
    guard external else {
      w.u8(0)
      encodeInline(into: &w)
      return
    }
    w.u8(1)
    w.u64(UInt64(count))
    w.u32(UInt32(fullChunks))
    for c in fullChunkCRCs { w.u32(c) }
    if fullChunks < chunks.count {
      #if _endian(little)
        chunks[fullChunks].withUnsafeBytes { w.bytes.append(contentsOf: $0) }
      #else
        for v in chunks[fullChunks] { w.u64(v) }
      #endif
    }
  }

  /// The entries as flat bytes: count u64, then (digest u64, sequence u64) in journal order.
  func encodeInline(into w: inout ByteWriter) {
    w.u64(UInt64(count))
    for c in chunks {
      #if _endian(little)
        c.withUnsafeBytes { w.bytes.append(contentsOf: $0) }
      #else
        for v in c { w.u64(v) }
      #endif
    }
  }

  /// Decodes ``encode(into:external:)`` (`form: true`) or the inline entries of a version-3
  /// ledger section (`form: false`). A full chunk of form 1 is read through `chunk` and must have
  /// the CRC the snapshot names.
  static func decode(
    _ r: inout ByteReader, form: Bool, chunk: ((Int) -> [UInt8]?)? = nil
  ) throws(DecodeError) -> KeyIndex {
    guard form else { return try decodeInline(&r) }
    let f = try r.u8()
    guard f <= 1 else { throw DecodeError("unknown key index form \(f)") }
    if f == 0 { return try decodeInline(&r) }
    let raw = try r.u64()
    guard raw <= UInt64(UInt32.max) * UInt64(chunkEntries) else {
      throw DecodeError("key index count \(raw) is out of range")
    }
    let n = Int(raw)
    let full = Int(try r.u32())
    guard full == n / chunkEntries, full <= r.remaining / 4 else {
      throw DecodeError("key index names \(full) full chunks for \(n) keys")
    }
    var crcs: [UInt32] = []
    crcs.reserveCapacity(full)
    for _ in 0..<full { crcs.append(try r.u32()) }
    var k = KeyIndex()
    var previous: UInt64 = 0
    for i in 0..<full {
      guard let bytes = chunk?(i), bytes.count == chunkBytes, CRC32C.checksum(bytes) == crcs[i]
      else {
        throw DecodeError("key index chunk \(i) is missing from the key chunk file or damaged")
      }
      try k.appendChunk(bytes, entries: chunkEntries, previous: &previous)
    }
    let tail = n - full * chunkEntries
    if tail > 0 {
      guard tail * 16 <= r.remaining else { throw DecodeError("key index runs past the end") }
      try k.appendChunk(try r.bytes(tail * 16), entries: tail, previous: &previous)
    }
    k.fullChunkCRCs = crcs
    if let last = k.chunks.indices.last { k.chunks[last].reserveCapacity(chunkEntries * 2) }
    return k
  }

  /// Appends `entries` entries from little-endian bytes, checking each (digest not 0, sequences
  /// increasing).
  private mutating func appendChunk(_ bytes: [UInt8], entries take: Int, previous: inout UInt64)
    throws(DecodeError)
  {
    var c = [UInt64](repeating: 0, count: take * 2)
    c.withUnsafeMutableBytes { dst in
      bytes.withUnsafeBytes { src in dst.copyMemory(from: src) }
    }
    #if _endian(big)
      for i in c.indices { c[i] = UInt64(littleEndian: c[i]) }
    #endif
    var o = 0
    while o < c.count {
      guard c[o] != 0, c[o + 1] > previous else {
        throw DecodeError("bad key index entry")
      }
      previous = c[o + 1]
      o += 2
    }
    if take == Self.chunkEntries { c.reserveCapacity(Self.chunkEntries * 2) }
    chunks.append(c)
    count += take
  }

  private static func decodeInline(_ r: inout ByteReader) throws(DecodeError) -> KeyIndex {
    let n = try r.u64()
    guard n <= UInt64(r.remaining / 16) else { throw DecodeError("key index runs past the end") }
    var k = KeyIndex()
    var left = Int(n)
    var previous: UInt64 = 0
    while left > 0 {
      let take = min(left, chunkEntries)
      try k.appendChunk(try r.bytes(take * 16), entries: take, previous: &previous)
      if take == chunkEntries { k.fullChunkCRCs.append(crc(k.chunks[k.chunks.count - 1])) }
      left -= take
    }
    if let last = k.chunks.indices.last { k.chunks[last].reserveCapacity(chunkEntries * 2) }
    return k
  }
}
