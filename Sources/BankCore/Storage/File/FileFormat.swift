/// The byte layout of the append-only journal; `Docs/FileFormat.md` is its specification.
enum FileFormat {
  static let magic: [UInt8] = Array("BANKCORE".utf8)
  /// The version new journals are written in: 4, version 3's layout whose end may be followed
  /// by space a writer reserved ahead of itself (zeros; `Docs/FileFormat.md`, "Reserved space").
  /// A version-3 journal is upgraded to 4 by the first writer that reserves space in it (only
  /// its version field and the patch bytes change, so its checksum and hash chain stay as they
  /// were); versions 2 (one 64-byte close block) and 1 (none) still open, and stay what they are.
  static let version: UInt32 = 4
  /// The immutable part of the header: what the chain's genesis hash and the first frame's link
  /// cover. Version 2 follows it with a 64-byte ``CloseBlock``.
  static let headerSize = 64
  static let closeBlockSize = 64
  static let frameHeaderSize = 40
  static let hashSize = 32
  /// No record is anywhere near this; a larger length field is damage.
  static let maxBodyLength = 1 << 24
  static let flagEndOfBatch: UInt16 = 1
  /// The most one write (and so one torn tail) may hold: batches are at most this large, and the
  /// group commit leader writes at most this much at a time.
  static let maxUnsyncedBytes = 64 << 20

  /// The four bytes (at header offset 40) that keep a header's CRC32C the same when its version
  /// field goes from 3 to 4: an upgraded header still has its version-3 checksum, so the first
  /// frame's link, the close block's empty-journal CRC and the hash chain's genesis (its version-3
  /// form) are unchanged, and a write of it torn half way fails its checksum, whose version-3 form
  /// still matches. CRC32C over a fixed length is affine, so the patch is one constant.
  static let upgradePatch: [UInt8] = {
    let zero = CRC32C.checksum([UInt8](repeating: 0, count: 60))
    func linear(_ m: [UInt8]) -> UInt32 { CRC32C.checksum(m) ^ zero }
    var delta = [UInt8](repeating: 0, count: 60)
    delta[8] = 3 ^ 4
    // Column i: what bit i of the patch changes in the checksum. Solve columns × x = target.
    let columns: [UInt32] = (0..<32).map { bit in
      var m = [UInt8](repeating: 0, count: 60)
      m[40 + bit / 8] = 1 << UInt8(bit % 8)
      return linear(m)
    }
    let target = linear(delta)
    // Rows: one per checksum bit, the unknowns as a bit mask, the right-hand side apart.
    var rows: [(mask: UInt32, rhs: UInt32)] = (0..<32).map { r in
      var mask: UInt32 = 0
      for (i, c) in columns.enumerated() where (c >> UInt32(r)) & 1 == 1 { mask |= 1 << UInt32(i) }
      return (mask, (target >> UInt32(r)) & 1)
    }
    var pivotRow = 0
    var pivots: [(row: Int, column: Int)] = []
    for column in 0..<32 {
      guard let found = (pivotRow..<32).first(where: { (rows[$0].mask >> UInt32(column)) & 1 == 1 })
      else { continue }
      rows.swapAt(pivotRow, found)
      for r in 0..<32 where r != pivotRow && (rows[r].mask >> UInt32(column)) & 1 == 1 {
        rows[r].mask ^= rows[pivotRow].mask
        rows[r].rhs ^= rows[pivotRow].rhs
      }
      pivots.append((pivotRow, column))
      pivotRow += 1
    }
    var x: UInt32 = 0
    for p in pivots where rows[p.row].rhs == 1 { x |= 1 << UInt32(p.column) }
    return [UInt8(x & 0xFF), UInt8(x >> 8 & 0xFF), UInt8(x >> 16 & 0xFF), UInt8(x >> 24)]
  }()

  /// The file header: magic, version, size, store ID (the salt), creation time, CRC32C.
  struct Header: Equatable {
    var storeID: [UInt8]
    var created: Int64
    var version: UInt32 = FileFormat.version
    /// A version-4 header upgraded from version 3 (it carries ``FileFormat/upgradePatch``): its
    /// hash chain starts from its version-3 form.
    var upgraded = false

    /// Where the first frame starts: after the header and, from version 2, the close block.
    var framesStart: Int { version >= 2 ? headerSize + closeBlockSize : headerSize }

    /// Whether space after the journal's end may be reserved (zeros): version 4.
    var reservesSpace: Bool { version >= 4 }

    /// The header's bytes as written.
    func encode() -> [UInt8] {
      var w = ByteWriter(capacity: headerSize)
      w.raw(magic)
      w.u32(version)
      w.u32(UInt32(framesStart))
      w.raw(storeID)
      w.i64(created)
      w.raw(upgraded ? upgradePatch : [0, 0, 0, 0])
      w.raw(repeatElement(0, count: 16))
      w.u32(CRC32C.checksum(w.bytes))
      return w.bytes
    }

    /// The bytes the hash chain starts from (`H0`) and another backend keeps as the store's
    /// genesis: the header as created (an upgraded header's version-3 form, same checksum).
    var chainGenesis: [UInt8] { upgraded ? asUpgraded(false).encode() : encode() }

    /// This version-3 header as upgraded to version 4, or (`false`) an upgraded one as it was.
    func asUpgraded(_ on: Bool) -> Header {
      var h = self
      h.version = on ? 4 : 3
      h.upgraded = on
      return h
    }

    /// A new store's header: a random store ID, created now, the current version.
    static func fresh() -> Header {
      var id = [UInt8](repeating: 0, count: 16)
      var rng = SystemRandomNumberGenerator()
      for i in 0..<16 { id[i] = UInt8.random(in: 0...255, using: &rng) }
      return Header(storeID: id, created: BankClock.system.now())
    }

    /// The CRC stored in the header's last four bytes: the first frame links to it.
    var crc: UInt32 {
      let b = encode()
      return UInt32(b[60]) | UInt32(b[61]) << 8 | UInt32(b[62]) << 16 | UInt32(b[63]) << 24
    }

    static func decode(_ b: [UInt8]) -> (Header?, String) {
      guard b.count >= headerSize else { return (nil, "file is shorter than the 64-byte header") }
      guard Array(b[0..<8]) == magic else { return (nil, "not a BankCore journal (bad magic)") }
      return b.withUnsafeBytes { buf in
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: buf[0..<headerSize]))
        do throws(DecodeError) {
          _ = try r.bytes(8)
          let v = try r.u32()
          let size = try r.u32()
          let id = try r.bytes(16)
          let created = try r.i64()
          let patch = try r.bytes(4)
          _ = try r.bytes(16)
          let crc = try r.u32()
          guard crc == CRC32C.checksum(b[0..<60]) else {
            // An upgrade from 3 to 4 cut short: the version-3 form still has the checksum.
            let asCreated = Header(storeID: id, created: created, version: 3)
            if v == 3 || v == 4, asCreated.crc == crc, size == UInt32(asCreated.framesStart) {
              return (asCreated, "")
            }
            return (nil, "file header checksum mismatch")
          }
          guard v >= 1 && v <= FileFormat.version else {
            return (
              nil,
              "unsupported journal version \(v) (this release reads versions 1 to \(FileFormat.version)); a newer release wrote it"
            )
          }
          let h = Header(
            storeID: id, created: created, version: v, upgraded: v == 4 && patch == upgradePatch)
          guard size == UInt32(h.framesStart) else {
            return (nil, "unexpected header size \(size)")
          }
          return (h, "")
        } catch {
          return (nil, error.reason)
        }
      }
    }
  }

  /// The mutable block after a version-2 header: a durable floor that survives truncation of the
  /// file's end. A writer marks it dirty (and syncs that) before its first frame reaches the file,
  /// and marks it clean at the durable end when it closes, so a cleanly closed journal has no
  /// legitimate torn tail, and a truncated or zeroed end is detected instead of silently cut.
  struct CloseBlock: Equatable {
    /// Whether the last writer closed cleanly at exactly ``sequence`` and ``end``.
    var clean: Bool
    /// The last sequence number proven durable (0 for none).
    var sequence: UInt64
    /// The file offset just after that sequence's batch.
    var end: Int64
    /// The header CRC of that batch's end frame (the link the next frame carries).
    var frameCRC: UInt32
    /// Version 3: which write this is; the copy with the higher generation is the newer.
    var generation: UInt32 = 0

    static let magic: [UInt8] = Array("BCCLOSE1".utf8)
    /// Version 3: the size of each of the two copies.
    static let slotSize = 32

    /// Version 3: one copy (generation, flags, sequence, end, frame CRC, CRC32C of the 28 bytes
    /// before it), written at ``slotOffset``.
    func encodeSlot() -> [UInt8] {
      var w = ByteWriter(capacity: Self.slotSize)
      w.u32(generation)
      w.u32(clean ? 1 : 0)
      w.u64(sequence)
      w.u64(UInt64(end))
      w.u32(frameCRC)
      w.u32(CRC32C.checksum(w.bytes))
      return w.bytes
    }

    /// Version 3: where this generation's copy goes. Copies alternate, so a write torn or lost
    /// leaves the other, one generation older, intact.
    var slotOffset: Int64 { Int64(headerSize + Int(generation % 2) * Self.slotSize) }

    /// The bytes to write and where, for a journal of `version`.
    func write(version: UInt32) -> (bytes: [UInt8], offset: Int64) {
      version >= 3 ? (encodeSlot(), slotOffset) : (encode(), Int64(headerSize))
    }

    static func decodeSlot(_ b: ArraySlice<UInt8>) -> CloseBlock? {
      guard b.count == slotSize else { return nil }
      let bytes = Array(b)
      return bytes.withUnsafeBytes { buf -> CloseBlock? in
        var r = ByteReader(buf)
        do throws(DecodeError) {
          let generation = try r.u32()
          let flags = try r.u32()
          let seq = try r.u64()
          let end = try r.u64()
          let crc = try r.u32()
          let stored = try r.u32()
          guard stored == CRC32C.checksum(bytes[0..<(slotSize - 4)]), flags <= 1,
            end <= UInt64(Int64.max)
          else { return nil }
          return CloseBlock(
            clean: flags == 1, sequence: seq, end: Int64(end), frameCRC: crc,
            generation: generation)
        } catch {
          return nil
        }
      }
    }

    /// The close area of a journal of `version` (the 64 bytes at offset 64): version 2's one
    /// block, or the newer valid copy of version 3's two. `nil`, with the reason, when none is
    /// valid.
    static func decodeArea(_ b: [UInt8], version: UInt32) -> (CloseBlock?, String) {
      guard version >= 3 else { return decode(b) }
      guard b.count >= closeBlockSize else { return (nil, "close block is truncated") }
      let a = decodeSlot(b[0..<slotSize])
      let c = decodeSlot(b[slotSize..<(2 * slotSize)])
      switch (a, c) {
      case (nil, nil): return (nil, "both copies of the close block fail their checksums")
      case (let x?, nil), (nil, let x?): return (x, "")
      case (let x?, let y?):
        // Serial-number order: the generations only ever step by one.
        return (Int32(bitPattern: x.generation &- y.generation) > 0 ? x : y, "")
      }
    }

    func encode() -> [UInt8] {
      var w = ByteWriter(capacity: closeBlockSize)
      w.raw(Self.magic)
      w.u32(clean ? 1 : 0)
      w.u64(sequence)
      w.u64(UInt64(end))
      w.u32(frameCRC)
      w.raw(repeatElement(0, count: 28))
      w.u32(CRC32C.checksum(w.bytes))
      return w.bytes
    }

    /// Decodes the block; `nil` with a reason when it is not intact.
    static func decode(_ b: [UInt8]) -> (CloseBlock?, String) {
      guard b.count >= closeBlockSize else { return (nil, "close block is truncated") }
      guard Array(b[0..<8]) == magic else { return (nil, "close block has a bad magic") }
      return b.withUnsafeBytes { buf in
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: buf[0..<closeBlockSize]))
        do throws(DecodeError) {
          _ = try r.bytes(8)
          let flags = try r.u32()
          let seq = try r.u64()
          let end = try r.u64()
          let crc = try r.u32()
          _ = try r.bytes(28)
          let stored = try r.u32()
          guard stored == CRC32C.checksum(b[0..<(closeBlockSize - 4)]), flags <= 1,
            end <= UInt64(Int64.max)
          else { return (nil, "close block checksum mismatch") }
          return (
            CloseBlock(
              clean: flags == 1, sequence: seq, end: Int64(end), frameCRC: crc), ""
          )
        } catch {
          return (nil, error.reason)
        }
      }
    }
  }

  /// A frame header's fields.
  struct FrameHeader {
    var headerCRC: UInt32
    var bodyCRC: UInt32
    var sequence: UInt64
    var length: UInt32
    var flags: UInt16
    var prev: UInt32
    /// The last sequence number known to be durable when this frame was written.
    var durable: UInt64

    var endOfBatch: Bool { flags & flagEndOfBatch != 0 }

    /// Reads a header at `p` and checks its salted CRC; `nil` when it does not match.
    static func read(_ p: UnsafeRawPointer, salt: UInt32Salt) -> FrameHeader? {
      let stored = UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
      let crc = CRC32C.update(
        salt.seed, UnsafeRawBufferPointer(start: p + 4, count: frameHeaderSize - 4))
      guard crc == stored else { return nil }
      return FrameHeader(
        headerCRC: stored,
        bodyCRC: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
        sequence: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
        length: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt32.self)),
        flags: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 20, as: UInt16.self)),
        prev: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt32.self)),
        durable: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 32, as: UInt64.self)))
    }
  }

  /// The CRC state after feeding the 16-byte store ID, so each header CRC continues from it.
  struct UInt32Salt: Sendable {
    let seed: UInt32
    init(storeID: [UInt8]) { seed = CRC32C.checksum(storeID) }
  }

  /// Appends one frame to `out` and returns its header CRC.
  static func appendFrame(
    to out: inout [UInt8], body: UnsafeRawBufferPointer, trailer: [UInt8]?, sequence: UInt64,
    prev: UInt32, durable: UInt64, salt: UInt32Salt
  ) -> UInt32 {
    let length = body.count + (trailer?.count ?? 0)
    var bodyCRC = CRC32C.update(0, body)
    if let trailer { bodyCRC = trailer.withUnsafeBytes { CRC32C.update(bodyCRC, $0) } }
    let start = out.count
    out.append(contentsOf: repeatElement(0, count: frameHeaderSize))
    out.withUnsafeMutableBytes { buf in
      guard let base = buf.baseAddress else { return }
      let p = base + start
      p.storeBytes(of: bodyCRC.littleEndian, toByteOffset: 4, as: UInt32.self)
      p.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
      p.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 16, as: UInt32.self)
      p.storeBytes(
        of: (trailer != nil ? flagEndOfBatch : 0).littleEndian, toByteOffset: 20, as: UInt16.self)
      p.storeBytes(of: prev.littleEndian, toByteOffset: 24, as: UInt32.self)
      p.storeBytes(of: durable.littleEndian, toByteOffset: 32, as: UInt64.self)
      let crc = CRC32C.update(
        salt.seed, UnsafeRawBufferPointer(start: p + 4, count: frameHeaderSize - 4))
      p.storeBytes(of: crc.littleEndian, toByteOffset: 0, as: UInt32.self)
    }
    out.append(contentsOf: body)
    if let trailer { out.append(contentsOf: trailer) }
    return out.withUnsafeBytes {
      UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self))
    }
  }
}
