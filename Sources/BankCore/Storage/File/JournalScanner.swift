/// Reads a journal file through a sliding window, so a scan costs one `pread` per few megabytes.
struct WindowReader {
  let io: FileIO
  let fd: Int32
  /// Bytes past this offset are never read: the committed end, or the file size during recovery.
  let limit: Int64
  /// A descriptor that reads past the page cache, and the offset from which to use it: at open,
  /// the part of the journal no sync of this process or proof covers is read from the disk, so
  /// a cached copy of a write whose sync failed is never taken for data.
  var direct: (fd: Int32, from: Int64)?
  private var buffer: [UInt8] = []
  private var start: Int64 = 0
  private let chunk = 4 << 20

  init(io: FileIO, fd: Int32, limit: Int64) {
    self.io = io
    self.fd = fd
    self.limit = limit
  }

  /// Makes `[offset, offset + count)` available; `false` when it reaches past ``limit``.
  mutating func ensure(_ offset: Int64, _ count: Int) throws(StorageError) -> Bool {
    if offset + Int64(count) > limit { return false }
    if offset >= start && offset + Int64(count) <= start + Int64(buffer.count) { return true }
    let want = Int(min(Int64(max(count, chunk)), limit - offset))
    if let direct, offset + Int64(want) > direct.from {
      buffer = try io.readDirect(direct.fd, count: want, at: offset)
    } else {
      buffer = try io.read(fd, count: want, at: offset)
    }
    start = offset
    return buffer.count >= count
  }

  /// Calls `body` with the bytes at `offset`; ``ensure(_:_:)`` must have returned `true` for them.
  func with<R>(_ offset: Int64, _ count: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    buffer.withUnsafeBytes { all in
      let s = Int(offset - start)
      return body(UnsafeRawBufferPointer(rebasing: all[s..<s + count]))
    }
  }
}

/// Where a scan starts: the offset of a frame and what it must link to.
struct ScanPoint: Sendable, Equatable {
  var offset: Int64
  var nextSequence: UInt64
  var prevCRC: UInt32
  /// The frame at `offset` was found through the offset table, not by walking to it: its link
  /// to the frame before (not read) is not checked; its own checksums are.
  var linkUnchecked = false
}

/// Walks frames, checking every checksum, link and sequence number.
struct JournalScanner {
  enum Problem: Equatable {
    /// Nothing wrong up to the limit.
    case none
    /// A frame whose own checksums fail or that runs past the end: a torn write, if nothing valid
    /// follows it.
    case damaged(offset: Int64, sequence: UInt64, reason: String)
    /// A frame with a valid checksum that does not belong here: never a torn write.
    case misplaced(offset: Int64, sequence: UInt64, reason: String)
  }

  struct Result {
    /// Just after the last complete batch.
    var end: ScanPoint
    /// Offset of the last complete batch's final frame, and its stored chain hash.
    var lastFrameOffset: Int64 = -1
    var storedHead: [UInt8]?
    var records: UInt64 = 0
    var batches: UInt64 = 0
    var problem: Problem = .none
    /// Set when the file ends inside a batch whose frames were otherwise valid.
    var incompleteBatch = false
  }

  let salt: FileFormat.UInt32Salt

  /// Scans from `point` up to the reader's limit.
  ///
  /// - Parameters:
  ///   - chain: when given, every batch's hash is recomputed and compared with the stored one.
  ///   - onRecord: called for each record of each complete batch, in order; return `false` to stop.
  func scan(
    _ reader: inout WindowReader, from point: ScanPoint, chain: HashChain? = nil,
    onRecord: (UInt64, UnsafeRawBufferPointer) -> Bool = { _, _ in true },
    onBatchEnd: (UInt64) -> Void = { _ in }
  ) throws(StorageError) -> Result {
    var result = Result(end: point)
    var chain = chain
    var cursor = point
    var pendingRecords: UInt64 = 0
    // Callers pass a limit that ends on a batch boundary (the committed end), so records are
    // handed out as they are read; recovery scans pass no callback.
    var stopped = false
    let hs = FileFormat.frameHeaderSize
    while true {
      guard try reader.ensure(cursor.offset, hs) else {
        if cursor.offset < reader.limit {
          result.problem = .damaged(
            offset: cursor.offset, sequence: cursor.nextSequence, reason: "truncated frame header")
        } else if pendingRecords > 0 {
          result.incompleteBatch = true
        }
        return result
      }
      let header = reader.with(cursor.offset, hs) { buf in
        buf.baseAddress.flatMap { FileFormat.FrameHeader.read($0, salt: salt) }
      }
      guard let h = header else {
        result.problem = .damaged(
          offset: cursor.offset, sequence: cursor.nextSequence,
          reason: "frame header checksum mismatch")
        return result
      }
      if h.sequence != cursor.nextSequence || (h.prev != cursor.prevCRC && !cursor.linkUnchecked) {
        result.problem = .misplaced(
          offset: cursor.offset, sequence: cursor.nextSequence,
          reason: h.sequence != cursor.nextSequence
            ? "expected sequence \(cursor.nextSequence), found \(h.sequence)"
            : "frame does not link to the previous frame")
        return result
      }
      let length = Int(h.length)
      let minLength = h.endOfBatch ? FileFormat.hashSize + 1 : 1
      guard length <= FileFormat.maxBodyLength, length >= minLength,
        h.flags & ~FileFormat.flagEndOfBatch == 0
      else {
        result.problem = .misplaced(
          offset: cursor.offset, sequence: cursor.nextSequence,
          reason: "impossible frame length or flags")
        return result
      }
      let bodyOffset = cursor.offset + Int64(hs)
      guard try reader.ensure(bodyOffset, length) else {
        result.problem = .damaged(
          offset: cursor.offset, sequence: cursor.nextSequence,
          reason: "frame body runs past the end of the file")
        return result
      }
      let recordLength = h.endOfBatch ? length - FileFormat.hashSize : length
      let ok: Bool = reader.with(bodyOffset, length) { body in
        guard CRC32C.update(0, body) == h.bodyCRC else { return false }
        let rec = UnsafeRawBufferPointer(rebasing: body[0..<recordLength])
        chain?.add(sequence: h.sequence, bytes: rec)
        if !onRecord(h.sequence, rec) { stopped = true }
        if h.endOfBatch { result.storedHead = Array(body[recordLength..<length]) }
        return true
      }
      guard ok else {
        result.problem = .damaged(
          offset: cursor.offset, sequence: cursor.nextSequence,
          reason: "frame body checksum mismatch")
        return result
      }
      let frameOffset = cursor.offset
      cursor = ScanPoint(
        offset: bodyOffset + Int64(length), nextSequence: h.sequence + 1, prevCRC: h.headerCRC)
      pendingRecords += 1
      if h.endOfBatch {
        if var c = chain {
          let computed = c.endBatch()
          chain = c
          if computed != result.storedHead {
            result.problem = .misplaced(
              offset: frameOffset, sequence: h.sequence,
              reason: "hash chain mismatch: the batch ending at sequence \(h.sequence) was altered")
            return result
          }
        }
        result.end = cursor
        onBatchEnd(h.sequence)
        result.lastFrameOffset = frameOffset
        result.records += pendingRecords
        result.batches += 1
        pendingRecords = 0
      }
      if stopped { return result }
    }
  }

  /// The offset of a frame after `offset` that proves damage there is not a torn final write:
  /// one with a valid salted header checksum that was written when `sequence` was already
  /// durable. Frames written while `sequence` was still in flight are no proof, because after a
  /// crash the kernel may have persisted them without the earlier pages of the same write.
  func proofOfDamage(_ reader: inout WindowReader, after offset: Int64, sequence: UInt64)
    throws(StorageError) -> Int64?
  {
    let hs = FileFormat.frameHeaderSize
    var o = offset + 1
    while o + Int64(hs) <= reader.limit {
      let span = Int(min(Int64(1 << 20), reader.limit - o))
      guard try reader.ensure(o, span) else { return nil }
      let found: Int? = reader.with(o, span) { buf -> Int? in
        guard let base = buf.baseAddress, span >= hs else { return nil }
        for i in 0...(span - hs) {
          // Cheap filter first: a plausible length, then the salted checksum.
          let len = UInt32(littleEndian: (base + i + 16).loadUnaligned(as: UInt32.self))
          if len == 0 || len > UInt32(FileFormat.maxBodyLength) { continue }
          if let h = FileFormat.FrameHeader.read(base + i, salt: salt), h.durable >= sequence {
            return i
          }
        }
        return nil
      }
      if let found { return o + Int64(found) }
      o += Int64(max(1, span - hs + 1))
    }
    return nil
  }
}
