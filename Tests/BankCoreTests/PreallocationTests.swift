import Foundation
import TestSupport
import Testing

@testable import BankCore

/// Issue 24: the journal reserves space ahead of its writer (format version 4), and every reader,
/// writer and follower finds where the records end inside it.
@Suite(.serialized) struct PreallocationTests {
  let dir = TempDirectory("prealloc")

  func size(_ path: String) -> Int64 {
    ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? NSNumber)?.int64Value
      ?? -1
  }

  /// Options with small reservations, so that a few commits cross several of them.
  func small(cap: Int64 = 64 << 10) -> FileStorage.Options {
    var o = FileStorage.Options(lockTimeout: .seconds(2))
    o.reservationStart = 4096
    o.reservationCap = cap
    return o
  }

  func records(_ count: Int, from: Int = 0) -> [[UInt8]] {
    (from..<(from + count)).map { i in
      (0..<(20 + i % 50)).map { UInt8(truncatingIfNeeded: $0 &+ i) }
    }
  }

  /// Commits one record per batch; returns the frames' end after each.
  @discardableResult
  func commit(_ s: FileStorage, _ recs: [[UInt8]]) throws -> [Int64] {
    var ends: [Int64] = []
    for r in recs {
      try s.commit(rawBatch([r]))
      ends.append(s.writer.withLock { $0.written })
    }
    return ends
  }

  @Test func aWriterReservesAheadSoCommitsDoNotGrowTheFile() throws {
    let path = dir.file("ahead.journal")
    let fs = FaultyFileSystem()
    let s = try FileStorage(path: path, options: small(cap: 1 << 20), fileSystem: fs)
    let ends = try commit(s, records(400))
    // The first group extends the file as ever; from the second on, space is reserved ahead.
    #expect(fs.reservations.load(ordering: .relaxed) >= 2)
    #expect(fs.reservations.load(ordering: .relaxed) < 40, "reservations grow with the rate")
    let fileSize = size(path)
    #expect(fileSize > ends.last ?? 0, "space reserved after the last frame")
    #expect(fileSize % 4096 == 0)
    // What follows the frames is zeros.
    let bytes = fileBytes(path)
    #expect(bytes[Int(ends.last ?? 0)...].allSatisfy { $0 == 0 })
    #expect(FileFormat.Header.decode(bytes).0?.version == 4)
    // A reader sees every record and no tail while the writer is open.
    let reader = try FileStorage(path: path, options: .init(readOnly: true))
    #expect(try readAll(reader) == records(400))
    #expect(reader.openInfo.tornTail == nil)
    #expect(try reader.verify().warnings.isEmpty)
    reader.close()
    // A writer's verify accepts the reserved zeros.
    #expect(try s.verify().records == 400)
    s.close()
    // A clean close cuts the reserved space: the file ends at the clean block's end.
    #expect(size(path) == ends.last)
    let area = Array(fileBytes(path)[64..<128])
    let block = try #require(FileFormat.CloseBlock.decodeArea(area, version: 4).0)
    #expect(block.clean && block.end == ends.last)
  }

  @Test func aCleanlyClosedStoreWithZerosAfterItsEndIsDamage() throws {
    let path = dir.file("clean-zeros.journal")
    let s = try FileStorage(path: path, options: small())
    try commit(s, records(50))
    s.close()
    let clean = fileBytes(path)
    for extra in [1, 40, 4096, 100_000] {
      writeFileBytes(path, clean + [UInt8](repeating: 0, count: extra))
      guard case .failure(.corrupt(let offset, _, _)) = openRecords(path) else {
        Issue.record("\(extra) zeros after a clean close were taken for reserved space")
        continue
      }
      #expect(offset == UInt64(clean.count))
      #expect(fileBytes(path).count == clean.count + extra, "nothing was cut")
    }
  }

  /// A writer killed with space reserved: the copy of its file (dirty block, zeros after the
  /// frames) opens with every record, no torn tail, and takes new commits into that space.
  @Test func aStoreLeftPreallocatedByACrashOpensWithEveryRecord() throws {
    let path = dir.file("crash.journal")
    let s = try FileStorage(path: path, options: small())
    let ends = try commit(s, records(120))
    let image = fileBytes(path)
    s.close()
    #expect(image.count > Int(ends.last ?? 0))
    let copy = dir.file("crash-copy.journal")
    writeFileBytes(copy, image)
    let again = try FileStorage(path: copy, options: small())
    #expect(again.openInfo.tornTail == nil && !again.openInfo.cleanClose)
    #expect(try readAll(again) == records(120))
    #expect(size(copy) == Int64(image.count), "the reserved space is kept, not cut")
    try commit(again, records(30, from: 120))
    #expect(try again.verify().records == 150)
    again.close()
    #expect(try readAll(FileStorage(path: copy, options: .init(readOnly: true))) == records(150))

    // A torn frame inside the reserved space is still a torn tail, cut by a writer; zeros
    // after it do not hide it.
    var torn = image
    let end = Int(ends.last ?? 0)
    for i in 0..<60 { torn[end + i] = UInt8(truncatingIfNeeded: i &* 37 &+ 1) }
    writeFileBytes(copy, torn)
    let reader = try FileStorage(path: copy, options: .init(readOnly: true))
    #expect(reader.openInfo.tornTail?.offset == Int64(end))
    #expect(reader.openInfo.tornTail?.bytes == 60)
    #expect(try reader.verify().warnings.contains { $0.hasPrefix("torn tail") })
    reader.close()
    let writer = try FileStorage(path: copy, options: small())
    #expect(writer.openInfo.truncatedBytes == 60)
    #expect(try readAll(writer) == records(120))
    writer.close()
    #expect(size(copy) == Int64(end))

    // Garbage far out in the reserved space, more than one write past the end: damage.
    var far = image + [UInt8](repeating: 0, count: FileFormat.maxUnsyncedBytes)
    far[far.count - 1] = 0x5A
    writeFileBytes(copy, far)
    guard case .failure(.corrupt(let offset, _, _)) = openRecords(copy) else {
      Issue.record("a byte more than one write past the end was cut as a torn tail")
      return
    }
    #expect(offset == UInt64(end))
  }

  /// `cp --sparse=always` turns the reserved zeros into holes: the copy reads the same.
  @Test func aSparseCopyOfAnOpenStoreOpens() throws {
    let path = dir.file("sparse.journal")
    let s = try FileStorage(path: path, options: small(cap: 1 << 20))
    try commit(s, records(200))
    let copy = dir.file("sparse-copy.journal")
    let cp = try runProcess("/bin/cp", ["--sparse=always", path, copy])
    s.close()
    #expect(cp.status == 0, "\(cp.stderr)")
    let c = try FileStorage(path: copy, options: small())
    #expect(c.openInfo.tornTail == nil)
    #expect(try readAll(c) == records(200))
    try commit(c, records(10, from: 200))
    c.close()
    let verify = try FileStorage(path: copy, options: .init(readOnly: true))
    #expect(try verify.verify().records == 210)
  }

  /// A follower (a reader, or another writer) learns of new frames although the file does not
  /// grow: they land in space reserved before.
  @Test func aFollowerSeesFramesWrittenIntoReservedSpace() throws {
    let path = dir.file("follow.journal")
    let s = try FileStorage(path: path, options: small(cap: 1 << 20))
    try commit(s, records(5))
    let reader = try FileStorage(path: path, options: .init(readOnly: true))
    #expect(reader.lastSequence == 5)
    let before = size(path)
    try commit(s, records(5, from: 5))
    #expect(size(path) == before, "written into reserved space")
    try reader.observeAppends()
    #expect(reader.lastSequence == 10)
    #expect(try readAll(reader) == records(10))
    // Nothing new: the peek at the end finds zeros and reads nothing more.
    try reader.observeAppends()
    #expect(reader.lastSequence == 10)
    reader.close()
    s.close()
  }

  /// A version-3 store (the previous release's format) is upgraded to 4 by its first
  /// reservation: the version field and a patch change, the checksum, the first frame's link and
  /// the hash chain stay. A write of the header torn half way reads as version 3.
  @Test func aVersion3StoreIsUpgradedWithItsChainIntact() throws {
    let path = dir.file("v3.journal")
    var options = small()
    let v3 = FileFormat.Header(storeID: (0..<16).map { UInt8($0 * 11) }, created: 1, version: 3)
    options.genesis = v3.encode()
    let old = try FileStorage(path: path, options: options)
    try old.commit(rawBatch(records(3)))
    old.close()
    let before = fileBytes(path)
    #expect(FileFormat.Header.decode(before).0 == v3)
    // One commit per open (a bankctl command) reserves nothing and leaves version 3.
    let once = try FileStorage(path: path, options: small())
    try once.commit(rawBatch([[9]]))
    once.close()
    #expect(fileBytes(path)[8] == 3)
    let s = try FileStorage(path: path, options: small())
    try commit(s, records(20, from: 3))
    let header = Array(fileBytes(path)[0..<64])
    #expect(header[8] == 4 && Array(header[40..<44]) == FileFormat.upgradePatch)
    #expect(header[60..<64] == before[60..<64], "the checksum is unchanged")
    #expect(s.genesis == v3.encode(), "the chain starts from the version-3 form")
    s.close()
    let upgraded = try #require(FileFormat.Header.decode(header).0)
    #expect(upgraded.upgraded && upgraded.version == 4 && upgraded.chainGenesis == v3.encode())
    let r = try FileStorage(path: path, options: .init(readOnly: true))
    let report = try r.verify()
    #expect(report.records == 24)
    r.close()
    // Every mix of the old and new header bytes (a torn write) reads as version 3 or 4.
    for mask in 1..<32 {
      var mixed = before
      let changed = [8, 40, 41, 42, 43]
      for (bit, i) in changed.enumerated() where mask & (1 << bit) != 0 { mixed[i] = header[i] }
      let decoded = FileFormat.Header.decode(Array(mixed[0..<64])).0
      #expect(decoded != nil, "mask \(mask)")
      #expect(decoded?.chainGenesis == v3.encode(), "mask \(mask)")
    }
    // A version this release does not know is refused by name.
    var newer = header
    newer[8] = 5
    let crc = CRC32C.checksum(newer[0..<60])
    for i in 0..<4 { newer[60 + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
    #expect(FileFormat.Header.decode(newer).1.contains("unsupported journal version 5"))
  }

  /// A full disk: a reservation that fails is no failure (the commit extends the file); the
  /// commit whose own write finds no space fails with ENOSPC, and nothing acknowledged is lost;
  /// once space is freed, the store opens and takes commits again.
  @Test func aFullDiskFailsOnlyTheCommitThatNeededSpace() throws {
    let path = dir.file("full.journal")
    let fs = FaultyFileSystem()
    fs.failReserve.store(ENOSPC, ordering: .relaxed)
    let s = try FileStorage(path: path, options: small(), fileSystem: fs)
    try commit(s, records(30))
    #expect(fs.reservations.load(ordering: .relaxed) == 0)
    #expect(size(path) == s.writer.withLock { $0.written }, "appends extend the file")
    // Reservations work again: commits go into reserved space, and a full disk does not stop
    // those that fit in it.
    fs.failReserve.store(0, ordering: .relaxed)
    try commit(s, records(200, from: 30))
    let reserved = size(path) - s.writer.withLock { $0.written }
    #expect(reserved > 0)
    fs.diskFull.store(true, ordering: .relaxed)
    var acknowledged = 230
    var failure: StorageError?
    for r in records(400, from: 230) {
      do {
        try s.commit(rawBatch([r]))
        acknowledged += 1
      } catch {
        failure = error
        break
      }
    }
    #expect(acknowledged > 230, "commits into the reserved space succeeded on a full disk")
    guard case .io(_, let errno, _) = failure else {
      Issue.record("no commit failed on the full disk: \(String(describing: failure))")
      return
    }
    #expect(errno == ENOSPC)
    s.close()
    fs.diskFull.store(false, ordering: .relaxed)
    let again = try FileStorage(path: path, options: small())
    let recs = try readAll(again)
    #expect(recs.count == acknowledged, "every acknowledged record, and nothing else")
    #expect(recs == records(acknowledged))
    try commit(again, records(5, from: acknowledged))
    again.close()
  }

  /// A reader that measured the file (space reserved) before the last writer's clean close cut
  /// it, and read the clean block after: it measures again and sees the clean end, no damage.
  @Test func aReaderRacingACleanCloseSeesItsEnd() throws {
    let path = dir.file("race-close.journal")
    let w = try FileStorage(path: path, options: small())
    try commit(w, records(40))
    #expect(size(path) > w.writer.withLock { $0.written })
    let fs = RecordingFileSystem()
    fs.hookedPath.withLock { $0 = path }
    fs.sizeHooks.withLock { $0 = [(before: false, run: { w.close() })] }
    let r = try FileStorage(path: path, options: .init(readOnly: true), fileSystem: fs)
    #expect(fs.sizeHooks.withLock { $0.isEmpty }, "the close ran inside the reader's open")
    #expect(r.openInfo.cleanClose)
    #expect(try readAll(r) == records(40))
    r.close()
  }

  /// A writer that takes the lock after another process died in the middle of its write finds
  /// the torn bytes at its end with a large reservation after them: only the bytes count against
  /// the one-write limit, and they are cut.
  @Test func aTornWriteBeforeALargeReservationIsCutWhenTheLockIsTaken() throws {
    let path = dir.file("torn-reserved.journal")
    let w = try FileStorage(path: path, options: small())
    let ends = try commit(w, records(10))
    let end = try #require(ends.last)
    // As another writer leaves the file: a reservation past one write's worth, and 100 bytes of
    // a frame it never finished at the end.
    let fd = open(path, O_RDWR)
    #expect(ftruncate(fd, off_t(end) + off_t(FileFormat.maxUnsyncedBytes) + (1 << 20)) == 0)
    let junk = [UInt8](repeating: 0xC3, count: 100)
    #expect(junk.withUnsafeBytes { pwrite(fd, $0.baseAddress, 100, off_t(end)) } == 100)
    close(fd)
    try commit(w, records(1, from: 10))
    #expect(try readAll(w) == records(11))
    #expect(try w.verify().records == 11)
    w.close()
    #expect(try readAll(FileStorage(path: path, options: .init(readOnly: true))) == records(11))
  }

  /// `Tools/read_journal.py` (written from `Docs/FileFormat.md` alone) agrees with `verify` on a
  /// store left with reserved space, an upgraded version-3 store and one whose upgrade was torn.
  @Test func theIndependentReaderReadsVersion4() throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
      print("SKIPPED: python3 is not installed")
      return
    }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("Tools/read_journal.py").path
    func agree(_ name: String, _ bytes: [UInt8]) throws {
      let p = dir.file("indep-\(name).journal")
      writeFileBytes(p, bytes)
      let r = try FileStorage(path: p, options: .init(readOnly: true))
      let report = try r.verify()
      r.close()
      let theirs = try runProcess("/usr/bin/python3", [script, p])
      #expect(theirs.status == 0, "\(name): \(theirs.stderr)")
      #expect(
        theirs.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
          == "records \(report.records) batches \(report.batches) head_hash \(report.headHash)",
        "\(name)")
      #expect(!theirs.stderr.contains("torn tail"), "\(name): \(theirs.stderr)")
    }
    // Reserved space after the frames of a store still open.
    let open4 = dir.file("indep-src.journal")
    let w = try FileStorage(path: open4, options: small())
    try commit(w, records(30))
    try agree("reserved", fileBytes(open4))
    w.close()
    // An upgraded version-3 store, and the same with its upgrade torn (version byte only).
    var options = small()
    options.genesis = FileFormat.Header(storeID: (0..<16).map { UInt8($0) }, created: 7, version: 3)
      .encode()
    let v3 = dir.file("indep-v3.journal")
    let u = try FileStorage(path: v3, options: options)
    try commit(u, records(30))
    var upgraded = fileBytes(v3)
    let end = Int(u.writer.withLock { $0.written })
    u.close()
    #expect(upgraded[8] == 4)
    try agree("upgraded", upgraded)
    // A torn upgrade comes before any reservation (the header is synced first): the frames only.
    upgraded = Array(upgraded[0..<end])
    upgraded[8] = 3
    try agree("torn-upgrade", upgraded)
  }
}
