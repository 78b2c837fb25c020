#if canImport(Glibc)
  import Glibc
#endif

/// A sparse sequence → frame offset table of a journal: the offset of the frame of every sequence
/// `1 + k × stride` (8 bytes per 32 records: 2.5 MB for 10,000,000 records). A record is found by
/// seeking to the nearest entry at or before it and walking at most 31 frame headers.
///
/// It is derived from the journal, so it can always be rebuilt by walking the frame headers. A
/// writer saves it beside the snapshot (`PATH.offsets`, no sync: it is a cache, checked by its
/// CRC and by every frame header it points to) so that an open, a reader's included, need not
/// walk the journal; what follows the saved table is walked on first use.
struct OffsetTable: Sendable {
  static let stride: UInt64 = 32
  static let magic: [UInt8] = Array("BCOFFS01".utf8)

  var offsets: [Int64] = []
  /// Every sequence up to this one is covered.
  var covered: UInt64 = 0
  /// Where the frame after `covered` starts.
  var next: Int64

  init(framesStart: Int64) { next = framesStart }

  /// Notes the frame of `sequence` at `offset` (called for every frame, in order).
  mutating func add(sequence: UInt64, offset: Int64, end: Int64) {
    if (sequence - 1) % Self.stride == 0 { offsets.append(offset) }
    covered = sequence
    next = end
  }

  func encode(storeID: [UInt8], through sequence: UInt64) -> [UInt8] {
    let count = Int((sequence + Self.stride - 1) / Self.stride)
    var w = ByteWriter(capacity: 64 + count * 8)
    w.raw(Self.magic)
    w.raw(storeID)
    w.u32(UInt32(Self.stride))
    w.u64(sequence)
    w.u64(UInt64(count))
    for o in offsets.prefix(count) { w.i64(o) }
    w.u32(CRC32C.checksum(w.bytes))
    return w.bytes
  }

  /// The saved table, or `nil` when it is absent, damaged or another store's. Its `next` is the
  /// last entry's offset (the frames after it are walked again).
  static func decode(_ bytes: [UInt8], storeID: [UInt8]) -> OffsetTable? {
    guard bytes.count >= 48, bytes.prefix(8).elementsEqual(magic),
      bytes[8..<24].elementsEqual(storeID)
    else { return nil }
    let crc = bytes.withUnsafeBytes {
      UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
    }
    guard CRC32C.checksum(bytes[0..<(bytes.count - 4)]) == crc else { return nil }
    return bytes.withUnsafeBytes { buf -> OffsetTable? in
      var r = ByteReader(UnsafeRawBufferPointer(rebasing: buf[24..<(buf.count - 4)]))
      do throws(DecodeError) {
        guard try r.u32() == UInt32(stride) else { return nil }
        let covered = try r.u64()
        let count = try r.u64()
        guard count == (covered + stride - 1) / stride, count > 0, UInt64(r.remaining) == count * 8
        else { return nil }
        var t = OffsetTable(framesStart: 0)
        t.offsets.reserveCapacity(Int(count))
        for _ in 0..<count { t.offsets.append(try r.i64()) }
        // Resume at the last entry: the walk re-reads at most `stride` frames.
        t.covered = (count - 1) * stride
        t.next = t.offsets[Int(count) - 1]
        t.offsets.removeLast()
        return t
      } catch {
        return nil
      }
    }
  }
}

extension FileStorage {
  var offsetsPath: String { path + ".offsets" }

  /// The bytes of the record at `sequence`: one seek to the table entry at or before it and a walk
  /// of at most 31 frame headers, each checked (salted header CRC, sequence), and the record's
  /// body CRC. A record not yet durable is synced first.
  ///
  /// - Throws: ``StorageError/corrupt(offset:sequence:reason:)`` when the journal does not hold
  ///   what the table (rebuilt once from the journal) says.
  public func record(at sequence: UInt64) throws(StorageError) -> [UInt8]? {
    guard sequence > 0, sequence <= lastSequence else { return nil }
    try waitUntilDurable(sequence)
    for attempt in 0..<2 {
      let table = try offsetTable(covering: sequence, rebuild: attempt == 1)
      let slot = Int((sequence - 1) / OffsetTable.stride)
      guard slot < table.offsets.count else { break }
      if let bytes = try readFrame(
        sequence, from: table.offsets[slot], first: UInt64(slot) * OffsetTable.stride + 1)
      {
        return bytes
      }
    }
    throw StorageError.corrupt(
      offset: 0, sequence: sequence, reason: "the frame of sequence \(sequence) cannot be found")
  }

  /// Walks from the frame of `first` at `offset` to the frame of `sequence`; `nil` when a header
  /// does not check out (a stale table).
  private func readFrame(_ sequence: UInt64, from offset: Int64, first: UInt64)
    throws(StorageError) -> [UInt8]?
  {
    let hs = FileFormat.frameHeaderSize
    var o = offset
    var seq = first
    var block: [UInt8] = []
    var blockStart: Int64 = 0
    while true {
      if o < blockStart || o + Int64(hs) > blockStart + Int64(block.count) {
        block = try io.read(fd, count: 16 << 10, at: o)
        blockStart = o
        guard block.count >= hs else { return nil }
      }
      let header = block.withUnsafeBytes { b in
        b.baseAddress.flatMap { FileFormat.FrameHeader.read($0 + Int(o - blockStart), salt: salt) }
      }
      guard let h = header, h.sequence == seq, h.length <= UInt32(FileFormat.maxBodyLength) else {
        return nil
      }
      let bodyOffset = o + Int64(hs)
      if seq == sequence {
        let length = Int(h.length)
        if bodyOffset + Int64(length) > blockStart + Int64(block.count) {
          block = try io.read(fd, count: length, at: bodyOffset)
          blockStart = bodyOffset
          guard block.count == length else { return nil }
        }
        let s = Int(bodyOffset - blockStart)
        let body = block[s..<(s + length)]
        guard CRC32C.checksum(body) == h.bodyCRC else {
          throw StorageError.corrupt(
            offset: UInt64(o), sequence: sequence, reason: "frame body checksum mismatch")
        }
        let recordLength = h.endOfBatch ? length - FileFormat.hashSize : length
        return Array(body.prefix(recordLength))
      }
      o = bodyOffset + Int64(h.length)
      seq += 1
    }
  }

  /// The table, extended (outside the writer lock) until it covers `sequence`.
  func offsetTable(covering sequence: UInt64, rebuild: Bool = false) throws(StorageError)
    -> OffsetTable
  {
    let (current, limit) = try writer.withLock { w throws(StorageError) in
      if w.closed { throw StorageError.closed }
      return (rebuild ? nil : w.offsets, w.written)
    }
    var table: OffsetTable
    if let current, current.covered >= sequence { return current }
    if let current {
      table = current
    } else if !rebuild, let saved = loadOffsets() {
      table = saved
    } else {
      table = OffsetTable(framesStart: Int64(header.framesStart))
    }
    let hs = FileFormat.frameHeaderSize
    var reader = WindowReader(io: io, fd: fd, limit: limit)
    while table.covered < sequence {
      let o = table.next
      guard try reader.ensure(o, hs),
        let h = reader.with(
          o, hs, { b in b.baseAddress.flatMap { FileFormat.FrameHeader.read($0, salt: salt) } }),
        h.sequence == table.covered + 1
      else {
        if rebuild || table.covered == 0 {
          throw StorageError.corrupt(
            offset: UInt64(o), sequence: table.covered + 1,
            reason: "frame header does not check out while indexing the journal")
        }
        return try offsetTable(covering: sequence, rebuild: true)
      }
      table.add(sequence: h.sequence, offset: o, end: o + Int64(hs) + Int64(h.length))
    }
    writer.withLock { w in
      if (w.offsets?.covered ?? 0) < table.covered || rebuild { w.offsets = table }
    }
    return table
  }

  private func loadOffsets() -> OffsetTable? {
    guard let sfd = try? io.open(offsetsPath, flags: O_RDONLY | O_NONBLOCK) else { return nil }
    defer { io.fs.close(sfd) }
    guard io.fs.isRegularFile(sfd), let size = try? io.size(sfd), size >= 48,
      size <= 64 + Int64(lastSequence / OffsetTable.stride + 1) * 8,
      let bytes = try? io.read(sfd, count: Int(size), at: 0)
    else { return nil }
    return OffsetTable.decode(bytes, storeID: header.storeID)
  }

  /// Saves the table through `sequence` beside the snapshot (best effort, never synced: it is a
  /// cache that every use checks).
  func saveOffsets(through sequence: UInt64) {
    guard !readOnly, sequence > 0,
      let table = try? offsetTable(covering: sequence)
    else { return }
    let bytes = table.encode(storeID: header.storeID, through: sequence)
    let tmp = offsetsPath + ".tmp.\(getpid())"
    _ = io.fs.unlink(tmp)
    guard let tfd = try? io.open(tmp, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600) else {
      return
    }
    let ok = (try? io.writeAll(tfd, bytes, at: 0)) != nil
    io.fs.close(tfd)
    if ok { _ = try? io.rename(tmp, offsetsPath) } else { _ = io.fs.unlink(tmp) }
  }
}
