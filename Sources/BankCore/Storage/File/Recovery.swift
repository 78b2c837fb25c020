/// What opening a journal decides: the durable prefix to trust, the snapshot to start from, and
/// whether what follows the last whole batch is a torn write (cut by a writer, ignored by a
/// reader) or damage (refused, nothing cut).
///
/// The rules, in `Docs/FileFormat.md` ("Recovery rules"): a tail may be cut only if it could be the
/// bytes of the one write that was in flight; it is never longer than one write can be; it never
/// reaches below what the close block, a snapshot or a later frame's durable watermark proves was
/// synced; and a journal whose last writer closed cleanly has no torn tail at all.
struct Recovery {
  let io: FileIO
  let fd: Int32
  let header: FileFormat.Header
  let salt: FileFormat.UInt32Salt
  let genesis: ScanPoint
  let size: Int64
  /// How far to read: the file size, or a clean close's end for a reader.
  let limit: Int64
  let close: FileFormat.CloseBlock?
  let readOnly: Bool
  let path: String
  let journalSize: Int64
  /// A descriptor from ``FileSystem/openDirect(_:)``, when the file system has such reads.
  let directFD: Int32?

  struct Found {
    var end: ScanPoint
    var start: ScanPoint
    var head: [UInt8]
    var lastFrame: Int64
    var snapshot: StoredSnapshot?
    var info: FileStorage.OpenInfo
    /// Just after the last byte that is not zero (version 4; the limit otherwise): what follows
    /// it, up to the limit, is space a writer reserved.
    var dataEnd: Int64
  }

  func run() throws(StorageError) -> Found {
    var reader = WindowReader(io: io, fd: fd, limit: limit)
    // Version 4: a writer reserves space ahead of itself, and the zeros after the last byte
    // written are that space, not a tail. (A clean close trims it: there, every byte counts.)
    var dataEnd = limit
    if header.reservesSpace, close?.clean != true {
      dataEnd = try Self.dataEnd(
        io: io, fd: directFD ?? fd, direct: directFD != nil,
        from: Int64(header.framesStart), to: limit)
    }
    if let directFD, close?.clean != true {
      // Only the final write of the last writer can be a failed one (a failed sync ends a
      // writer), and no write is longer than maxUnsyncedBytes; a margin covers frame headers.
      // A writer that closed cleanly (its close block, read from the disk, says so) had every
      // sync succeed, so its tail needs no reading around the cache.
      let from = max(
        Int64(header.framesStart), dataEnd - Int64(FileFormat.maxUnsyncedBytes) - 65_536)
      reader.direct = (directFD, from)
    }
    var info = FileStorage.OpenInfo(
      created: false, truncatedBytes: 0, snapshotSequence: nil, snapshotProblem: nil)
    info.cleanClose = close?.clean ?? false
    var start = genesis
    var startHead = SHA256.hash(header.chainGenesis)
    var startFrame: Int64 = -1
    var loaded: StoredSnapshot?
    // The highest sequence number known to have been durable; recovery never cuts below it.
    var floor: UInt64 = 0
    var floorWhy = ""
    if let close, close.sequence > 0 {
      floor = close.sequence
      floorWhy =
        close.clean
        ? "the journal was closed cleanly at sequence \(close.sequence) (offset \(close.end))"
        : "the close block proves sequence \(close.sequence) (offset \(close.end)) was durable"
    }
    if size > 0 {
      switch FileStorage.readSnapshot(
        path: path + ".snapshot", io: io, header: header, salt: salt, reader: &reader,
        journalSize: journalSize)
      {
      case .none: break
      case .problem(let why): info.snapshotProblem = why
      case .stale(let why, let claimed, let pastView):
        info.snapshotProblem = why
        // A reader's view ends where it measured the file. A writer that appended and saved a
        // snapshot since leaves one whose frame lies past that end, and the file longer than the
        // reader measured: that snapshot proves nothing missing from the view (the writer, on
        // its own open, is the one that would find records lost), so it is only not used. A
        // snapshot whose frame lies inside the view and does not match it is damage, as ever.
        let writerSince = readOnly && pastView && ((try? io.size(fd)) ?? 0) > limit
        if writerSince {
          info.snapshotProblem =
            "snapshot is newer than the journal this reader read (a writer is active); ignored"
        }
        if claimed > floor && !writerSince {
          floor = claimed
          floorWhy = "the snapshot proves records up to sequence \(claimed) were durable"
        }
      case .valid(let snap, let point, let head, let frame):
        loaded = snap
        start = point
        startHead = head
        startFrame = frame
        info.snapshotSequence = snap.sequence
      }
    }
    let scanner = JournalScanner(salt: salt)
    let result = try scanner.scan(&reader, from: start)
    var end = result.end
    if case .misplaced(let offset, let seq, let reason) = result.problem {
      throw StorageError.corrupt(offset: UInt64(offset), sequence: seq, reason: reason)
    }
    if case .damaged(let offset, let seq, let reason) = result.problem, offset < dataEnd,
      let later = try scanner.proofOfDamage(&reader, after: offset, sequence: seq)
    {
      throw StorageError.corrupt(
        offset: UInt64(offset), sequence: seq,
        reason:
          "\(reason); the frame at offset \(later) was written after sequence \(seq) was durable, so this is not a torn write"
      )
    }
    let valid = end.nextSequence - 1
    if floor > valid {
      throw StorageError.corrupt(
        offset: UInt64(end.offset), sequence: end.nextSequence,
        reason:
          "\(floorWhy), but only \(valid) valid records remain (the file is \(size) bytes); acknowledged records are missing, not truncating"
      )
    }
    if let close, close.clean {
      // A clean close leaves no write in flight: the file ends exactly where the block says.
      if valid != close.sequence || end.offset != close.end || end.prevCRC != close.frameCRC {
        throw StorageError.corrupt(
          offset: UInt64(end.offset), sequence: end.nextSequence,
          reason:
            "the journal was closed cleanly at sequence \(close.sequence) (offset \(close.end)), but the last valid batch ends at sequence \(valid) (offset \(end.offset))"
        )
      }
      if limit > close.end {
        throw StorageError.corrupt(
          offset: UInt64(close.end), sequence: end.nextSequence,
          reason:
            "\(limit - close.end) bytes follow the clean close at offset \(close.end); a cleanly closed journal has no torn tail"
        )
      }
    }
    if dataEnd - end.offset > Int64(FileFormat.maxUnsyncedBytes) {
      // No write is longer than this, so no crash can leave this much torn.
      throw StorageError.corrupt(
        offset: UInt64(end.offset), sequence: end.nextSequence,
        reason:
          "\(dataEnd - end.offset) bytes follow the last valid batch, more than one write can leave torn; not truncating"
      )
    }
    if end.offset < dataEnd {
      info.tornTail = FileStorage.TornTail(
        offset: end.offset, bytes: dataEnd - end.offset, firstSequence: end.nextSequence,
        lastSequence: try lastFramedSequence(&reader, from: end))
    }
    let lastFrame = result.lastFrameOffset >= 0 ? result.lastFrameOffset : startFrame
    let head = result.storedHead ?? startHead
    if result.records == 0 { end = start }
    return Found(
      end: end, start: start, head: head, lastFrame: lastFrame, snapshot: loaded, info: info,
      dataEnd: max(dataEnd, end.offset))
  }

  /// Just after the last byte in `[from, to)` that is not zero (`from` when all are): read
  /// backwards, a MiB at a time, through `O_DIRECT` when `direct` (what the disk holds, not a
  /// cached page of a failed write).
  static func dataEnd(io: FileIO, fd: Int32, direct: Bool, from: Int64, to: Int64)
    throws(StorageError) -> Int64
  {
    let step: Int64 = 1 << 20
    var hi = to
    while hi > from {
      let lo = max(from, (hi - 1) & ~(step - 1))
      let bytes =
        direct
        ? try io.readDirect(fd, count: Int(hi - lo), at: lo)
        : try io.read(fd, count: Int(hi - lo), at: lo)
      // A read shorter than asked: the file ended there (a writer may have cut it since).
      if let last = Self.lastNonZero(bytes) { return lo + Int64(last) + 1 }
      hi = lo
    }
    return from
  }

  /// The index of the last byte that is not zero, eight at a time.
  static func lastNonZero(_ bytes: [UInt8]) -> Int? {
    bytes.withUnsafeBytes { buf -> Int? in
      guard let base = buf.baseAddress else { return nil }
      var i = buf.count
      while i >= 8 {
        if base.loadUnaligned(fromByteOffset: i - 8, as: UInt64.self) != 0 { break }
        i -= 8
      }
      while i > 0 {
        if buf[i - 1] != 0 { return i - 1 }
        i -= 1
      }
      return nil
    }
  }

  /// The sequence number of the last frame of a torn tail whose header is still intact and in
  /// order (the tail's first sequence minus one when none is), to say exactly what a cut removes.
  private func lastFramedSequence(_ reader: inout WindowReader, from point: ScanPoint)
    throws(StorageError) -> UInt64
  {
    var cursor = point
    let hs = FileFormat.frameHeaderSize
    while try reader.ensure(cursor.offset, hs) {
      let h = reader.with(cursor.offset, hs) { buf in
        buf.baseAddress.flatMap { FileFormat.FrameHeader.read($0, salt: salt) }
      }
      guard let h, h.sequence == cursor.nextSequence, h.prev == cursor.prevCRC else { break }
      cursor = ScanPoint(
        offset: cursor.offset + Int64(hs) + Int64(h.length), nextSequence: h.sequence + 1,
        prevCRC: h.headerCRC)
    }
    return cursor.nextSequence - 1
  }
}
