import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCore

/// Records every call a reader makes, so a test can prove it never writes, locks or creates.
final class RecordingFileSystem: FileSystem {
  let real = POSIXFileSystem()
  let calls = Mutex<[String]>([])
  let bytesRead = Atomic<Int>(0)
  /// Whether syncs are recorded too, and `O_DIRECT` reads offered (readers' tests want neither).
  let full: Bool

  /// While set, `fsync` fails with `EIO` (nothing is written).
  let failFsync = Atomic<Bool>(false)
  /// Run one each, in order, by the next `size` calls on a descriptor of `hookedPath`, before or
  /// after they measure (to interleave another process).
  let sizeHooks = Mutex<[(before: Bool, run: @Sendable () -> Void)]>([])
  let hookedPath = Mutex<String?>(nil)
  private let paths = Mutex<[Int32: String]>([:])

  init(full: Bool = false) { self.full = full }

  private func note(_ s: String) { calls.withLock { $0.append(s) } }
  func open(_ path: String, flags: Int32, mode: UInt32) -> Int32 {
    let access = flags & O_ACCMODE
    note(
      access == O_RDONLY && flags & (O_CREAT | O_TRUNC) == 0 ? "open-read" : "open-write \(path)")
    let fd = real.open(path, flags: flags, mode: mode)
    if fd >= 0 { paths.withLock { $0[fd] = path } }
    return fd
  }
  func close(_ fd: Int32) {
    paths.withLock { $0[fd] = nil }
    real.close(fd)
  }
  func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) -> Int {
    let n = real.pread(fd, buffer, count, offset)
    if n > 0 { bytesRead.add(n, ordering: .relaxed) }
    return n
  }
  func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: Int64) -> Int {
    note("pwrite")
    return real.pwrite(fd, buffer, count, offset)
  }
  func fdatasync(_ fd: Int32) -> Int32 {
    if full { note("fdatasync") }
    return real.fdatasync(fd)
  }
  func fsync(_ fd: Int32) -> Int32 {
    if full { note("fsync") }
    if failFsync.load(ordering: .relaxed) { return -EIO }
    return real.fsync(fd)
  }
  func openDirect(_ path: String) -> Int32 { full ? real.openDirect(path) : -EINVAL }
  func reserve(_ fd: Int32, offset: Int64, length: Int64) -> Int32 {
    note("reserve")
    return real.reserve(fd, offset: offset, length: length)
  }
  func ftruncate(_ fd: Int32, _ length: Int64) -> Int32 {
    note("ftruncate")
    return real.ftruncate(fd, length)
  }
  func size(_ fd: Int32) -> Int64 {
    let path = paths.withLock { $0[fd] }
    let hook =
      path != nil && path == hookedPath.withLock({ $0 })
      ? sizeHooks.withLock { $0.isEmpty ? nil : $0.removeFirst() } : nil
    if let hook, hook.before { hook.run() }
    let size = real.size(fd)
    if let hook, !hook.before { hook.run() }
    return size
  }
  func rename(_ from: String, _ to: String) -> Int32 {
    note("rename")
    return real.rename(from, to)
  }
  func unlink(_ path: String) -> Int32 {
    note("unlink")
    return real.unlink(path)
  }
  func tryLock(_ fd: Int32) -> Int32 {
    note("lock")
    return real.tryLock(fd)
  }
  func isDirectory(_ path: String) -> Bool { real.isDirectory(path) }
  func isRegularFile(_ fd: Int32) -> Bool { real.isRegularFile(fd) }
  func evictCache(_ fd: Int32) { real.evictCache(fd) }
  func dropCache(_ fd: Int32, offset: Int64, length: Int64) {
    note("drop \(offset) \(length)")
    real.dropCache(fd, offset: offset, length: length)
  }
  func moveAboveStandardDescriptors(_ fd: Int32) -> Int32 { real.moveAboveStandardDescriptors(fd) }
}

/// Regression tests for the durability cases outside testers found: each failed before its fix.
@Suite(.serialized) struct DurabilityTests {
  let dir = TempDirectory("durability")

  /// A store of one account and `deposits` single-record batches, closed cleanly.
  func cleanStore(_ name: String, deposits: Int = 30) throws -> (String, [Int]) {
    let path = dir.file(name)
    let storage = try FileStorage(path: path)
    let ledger = try Ledger(storage: storage, configuration: .init(snapshotEvery: 0))
    let a = try ledger.open(AccountSpec(name: "A")).number
    var ends: [Int] = []
    for _ in 0..<deposits {
      try ledger.deposit(usd("1"), to: a)
      // Where the journal's frames end (the file may be longer: space reserved after them).
      ends.append(Int(storage.writer.withLock { $0.written }))
    }
    ledger.close()
    return (path, ends)
  }

  /// A cleanly closed store (the disk's copy of the close block says so) opens without a write or
  /// a sync, and closes without one when nothing was committed; the first commit marks the block
  /// dirty and syncs that before its frames, so a clean block still always names the exact end.
  @Test func aCleanlyClosedStoreOpensWithoutWritingAndMarksDirtyBeforeTheFirstFrame() throws {
    let (path, ends) = try cleanStore("lazy.journal", deposits: 3)
    let probe = POSIXFileSystem().openDirect(path)
    guard probe >= 0 else { return }  // no O_DIRECT here (tmpfs): every open takes the full path
    POSIXFileSystem().close(probe)
    func closeFlags() -> UInt8 {
      let area = Array(fileBytes(path)[64..<128])
      return (FileFormat.CloseBlock.decodeArea(area, version: 3).0?.clean ?? false) ? 1 : 0
    }
    #expect(closeFlags() == 1)
    let fs = RecordingFileSystem(full: true)
    let idle = try Ledger(
      storage: FileStorage(path: path, options: .init(), fileSystem: fs),
      configuration: .init(snapshotEvery: 0))
    #expect(try idle.accounts().count == 2)
    idle.close()
    let calls = fs.calls.withLock { $0 }
    #expect(!calls.contains { $0 == "pwrite" || $0.hasSuffix("sync") }, "\(calls)")
    #expect(closeFlags() == 1)
    let before = fileBytes(path)
    fs.calls.withLock { $0 = [] }
    let ledger = try Ledger(
      storage: FileStorage(path: path, options: .init(), fileSystem: fs),
      configuration: .init(snapshotEvery: 0))
    try ledger.deposit(usd("1"), to: AccountNumber(base: 10_000_001))
    let writes = fs.calls.withLock { $0 }.filter { $0 == "pwrite" || $0.hasSuffix("sync") }
    #expect(writes == ["pwrite", "fsync", "pwrite", "fdatasync"], "mark, sync, frames, sync")
    #expect(closeFlags() == 0, "dirty while the writer is open")
    #expect(
      Array(fileBytes(path).prefix(ends.last ?? 0).dropFirst(128)) == Array(before.dropFirst(128)))
    ledger.close()
    #expect(closeFlags() == 1)
    let again = try Ledger(storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    #expect(try again.account(AccountNumber(base: 10_000_001)).balance == usd("4"))
    again.close()
    // The first commit's sync fails: nothing is acknowledged, no frame is written, and the store
    // opens as it was (a failed mark is the probe failing, one commit later).
    let clean = fileBytes(path)
    fs.failFsync.store(true, ordering: .relaxed)
    let failing = try Ledger(
      storage: FileStorage(path: path, options: .init(), fileSystem: fs),
      configuration: .init(snapshotEvery: 0))
    #expect(throws: BankError.self) {
      try failing.deposit(usd("1"), to: AccountNumber(base: 10_000_001))
    }
    failing.close()
    fs.failFsync.store(false, ordering: .relaxed)
    #expect(fileBytes(path).count == clean.count, "no frame was written")
    let after = try Ledger(storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    #expect(try after.account(AccountNumber(base: 10_000_001)).balance == usd("4"))
    try after.deposit(usd("1"), to: AccountNumber(base: 10_000_001))
    after.close()
  }

  /// A writer drops the page cache of what it synced long ago (so a long journal does not fill
  /// memory with cache), in contiguous, page-aligned steps that never reach the recent tail, and
  /// what was dropped reads back from the disk.
  @Test func aWriterDropsTheCacheOfWhatItSyncedLongAgoAndNothingElse() throws {
    let path = dir.file("drop.journal")
    let fs = RecordingFileSystem()
    var options = FileStorage.Options()
    let tail: Int64 = 64 << 10
    options.cachedTailBytes = tail
    let storage = try FileStorage(path: path, options: options, fileSystem: fs)
    let ledger = try Ledger(storage: storage, configuration: .init(snapshotEvery: 0))
    let a = try ledger.open(AccountSpec(name: "A")).number
    for _ in 0..<40 {
      try ledger.submit(
        [LedgerCommand](repeating: .deposit(amount: usd("1"), to: a), count: 100))
    }
    // Where the frames end (space reserved after them is never read, so never cached).
    let size = storage.writer.withLock { $0.written }
    let drops = fs.calls.withLock { $0 }.filter { $0.hasPrefix("drop ") }.map {
      $0.split(separator: " ").dropFirst().compactMap { Int64($0) }
    }
    #expect(drops.count >= 3, "\(drops.count) drops for a journal of \(size) bytes")
    var next: Int64 = 4096  // the first page (header and close block) stays
    for d in drops {
      #expect(d.count == 2 && d[0] == next && d[1] >= tail / 4 && (d[0] + d[1]) % 4096 == 0)
      next = d[0] + (d.count == 2 ? d[1] : 0)
    }
    #expect(next <= size - tail, "the last \(tail) bytes stay cached")
    #expect(next > size - tail - tail / 4 - 4096, "and everything older is dropped")
    #expect(try ledger.history(of: a, limit: 5000).count == 4000)
    ledger.close()
    let again = try Ledger(storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    #expect(try again.history(of: a, limit: 5000).count == 4000)
    #expect(try again.account(a).balance == usd("4000"))
    again.close()
  }

  func openReader(_ path: String, fs: any FileSystem = POSIXFileSystem()) throws(StorageError)
    -> FileStorage
  {
    try FileStorage(path: path, options: .init(readOnly: true), fileSystem: fs)
  }

  @Test func aCleanCloseMakesATruncatedOrZeroedEndDamageNotATornTail() throws {
    let (path, ends) = try cleanStore("clean.journal")
    let good = fileBytes(path)
    #expect(try openRecords(path).get().count == 32)  // the vault, the account, 30 deposits
    var cases: [(String, [UInt8])] = []
    // Truncation exactly at earlier batch boundaries: every byte left is valid.
    for end in ends.suffix(6).dropLast() { cases.append(("cut at \(end)", Array(good[0..<end]))) }
    cases.append(("cut inside the last batch", Array(good.dropLast(5))))
    var zeroed = good
    for i in max(128, good.count - 512)..<good.count { zeroed[i] = 0 }
    cases.append(("last 512 bytes zeroed", zeroed))
    cases.append(("junk appended", good + [UInt8](repeating: 0x5A, count: 100)))
    for (name, bytes) in cases {
      writeFileBytes(path, bytes)
      for readOnly in [false, true] {
        let r: Result<[[UInt8]], StorageError>
        if readOnly {
          r = Result(catching: { () throws(StorageError) in try readAll(try openReader(path)) })
        } else {
          r = openRecords(path)
        }
        guard case .failure(.corrupt(_, _, let reason)) = r else {
          Issue.record("\(name) (readOnly \(readOnly)) was accepted: \(r)")
          continue
        }
        #expect(reason.contains("clean"), "\(name): \(reason)")
        #expect(fileBytes(path) == bytes, "\(name): nothing was cut")
      }
    }
  }

  @Test func aLongRunningWritersFloorMovesForward() throws {
    let path = dir.file("floor-move.journal")
    let s = try FileStorage(path: path)
    var ends: [Int64] = []
    for i in 0..<400 {
      try s.commit(rawBatch([[UInt8](repeating: UInt8(i % 250), count: 8_000)]))
      ends.append(s.writer.withLock { $0.written })
    }
    // The file as a writer killed now leaves it: the close block is dirty, but its floor has
    // followed the durable end (about every MiB), not stayed where the writer opened.
    let bytes = fileBytes(path)
    s.close()
    let block = try #require(
      FileFormat.CloseBlock.decodeArea(Array(bytes[64..<128]), version: 3).0)
    #expect(!block.clean)
    #expect(block.sequence > 200, "floor at \(block.sequence)")
    // So cutting its acknowledged batches at a batch boundary below the floor is detected.
    let cut = try #require(ends.last { $0 < block.end - 100_000 })
    let copy = dir.file("floor-cut.journal")
    writeFileBytes(copy, Array(bytes[0..<Int(cut)]))
    guard case .failure(.corrupt(_, _, let reason)) = openRecords(copy) else {
      Issue.record("a cut below the moved floor was accepted")
      return
    }
    #expect(reason.contains("durable"), "\(reason)")
  }

  @Test func readersNeverWriteLockCreateOrCut() throws {
    let (path, _) = try cleanStore("reader.journal", deposits: 12)
    // As a writer killed mid-write leaves it: a dirty close block and half a batch.
    let torn = crashed(fileBytes(path)) + [UInt8](repeating: 0x11, count: 37)
    writeFileBytes(path, torn)
    _ = chmod(path, 0o444)
    defer { _ = chmod(path, 0o600) }
    // A writer holding the lock does not block a reader.
    let fs = RecordingFileSystem()
    let storage = try openReader(path, fs: fs)
    let ledger = try Ledger(storage: storage, configuration: .init(snapshotEvery: 1))
    #expect(try ledger.accounts().count == 2)
    #expect(ledger.openReport.tornTail?.bytes == 37)
    #expect(ledger.openReport.tornTail?.firstSequence == 15)
    let report = try ledger.verify()
    #expect(report.records == 14)
    #expect(report.warnings.contains { $0.contains("torn tail") })
    #expect(throws: BankError.self) {
      try ledger.deposit(usd("1"), to: AccountNumber(base: 10_000_001))
    }
    ledger.close()
    #expect(
      fs.calls.withLock { $0 }.allSatisfy { $0 == "open-read" }, "\(fs.calls.withLock { $0 })")
    #expect(fileBytes(path) == torn, "the in-flight tail is ignored, not cut")
    #expect(!FileManager.default.fileExists(atPath: path + ".snapshot"))
    // An empty file stays empty: a reader never writes a header into it.
    let empty = dir.file("empty.journal")
    writeFileBytes(empty, [])
    let e = try openReader(empty)
    #expect(e.lastSequence == 0)
    e.close()
    #expect(fileBytes(empty).isEmpty)
    // And a reader works while a writer holds the lock.
    _ = chmod(path, 0o600)
    let writer = try FileStorage(path: path)
    let r2 = try openReader(path)
    #expect(try readAll(r2).count == 14)
    r2.close()
    writer.close()
  }

  /// A reader holds no lock, so whole writer sessions (open, deposit, snapshot, clean close) can
  /// run while it opens: between its measuring the journal and reading the close block (a block
  /// whose end lies past the size it measured), between that and measuring again (a block that
  /// changed again, and a snapshot past its view), and before it checks whether the file grew.
  /// In every interleaving the reader opens the store as of the first session's clean close,
  /// never calling what it did not measure damage.
  @Test func aReaderRacingWholeWriterSessionsOpensAStoreItFinds() throws {
    // For the reader's successive size calls on the journal, "a" runs a session after it
    // measures, "b" before, "-" nothing. With `O_DIRECT` the first call is the clean-close
    // proof's: "a" there races the proof itself, and "-" lines the rest up with the plain open.
    let races = ["a", "aa", "ab", "aab"]
    let cases = races.map { (false, $0) } + (["a"] + races.map { "-" + $0 }).map { (true, $0) }
    for (n, (direct, pattern)) in cases.enumerated() {
      let (path, _) = try cleanStore("race-\(n).journal", deposits: 5)
      let a = try AccountNumber(base: 10_000_001)
      let failure = Mutex<String?>(nil)
      let fs = RecordingFileSystem(full: direct)
      let session: @Sendable () -> Void = {
        do {
          let w = try Ledger(
            storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
          try w.deposit(usd("1"), to: a)
          try w.takeSnapshot()
          w.close()
        } catch { failure.withLock { $0 = "\(error)" } }
      }
      let nothing: @Sendable () -> Void = {}
      let hooks: [(before: Bool, run: @Sendable () -> Void)] = pattern.map { c in
        (before: c == "b", run: c == "-" ? nothing : session)
      }
      fs.sizeHooks.withLock { $0 = hooks }
      fs.hookedPath.withLock { $0 = path }
      let what = "O_DIRECT \(direct), pattern \(pattern)"
      let ledger = try Ledger(
        storage: try openReader(path, fs: fs), configuration: .init(snapshotEvery: 0))
      #expect(fs.sizeHooks.withLock { $0.isEmpty }, "\(what): every session ran inside the open")
      fs.sizeHooks.withLock { $0 = [] }
      #expect(failure.withLock { $0 } == nil, "\(what)")
      // The view as of the first session: A and the vault opened, six deposits.
      #expect(try ledger.balance(of: a) == usd("6"), "\(what)")
      #expect(try ledger.verify().records == 8, "\(what)")
      ledger.close()
      // And every session did commit.
      let sessions = pattern.filter { $0 != "-" }.count
      let after = try Ledger(
        storage: try openReader(path), configuration: .init(snapshotEvery: 0))
      #expect(try after.balance(of: a) == usd("\(5 + sessions)"), "\(what)")
      after.close()
    }
  }

  /// The file store hands the snapshot it found at open to the bank once and keeps no copy (the
  /// payload would double the state's memory); a later load reads the file again, so it reports
  /// the file as it is now.
  @Test func theStoreKeepsNoSnapshotPayloadAndLaterLoadsReadTheFile() throws {
    let path = dir.file("snapshot-once.journal")
    let first = try Ledger(storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    let a = try first.open(AccountSpec(name: "A")).number
    for _ in 0..<5 { try first.deposit(usd("10"), to: a) }
    try first.takeSnapshot()
    first.close()
    let storage = try FileStorage(path: path)
    let bank = try Bank(storage: storage, configuration: .init(snapshotEvery: 0))
    #expect(bank.openReport.snapshotSequence == 7)
    let again = try #require(try storage.loadSnapshot())
    #expect(again.sequence == 7 && !again.payload.isEmpty)
    // Damage the file's last byte (inside the payload): the next load reads it and finds it bad.
    var bytes = fileBytes(path + ".snapshot")
    bytes[bytes.count - 1] ^= 0xFF
    writeFileBytes(path + ".snapshot", bytes)
    #expect(try storage.loadSnapshot() == nil)
    // A snapshot saved since is read back from the file too.
    try bank.takeSnapshot()
    #expect(try storage.loadSnapshot()?.payload == again.payload)
    #expect(try bank.ledger.balance(of: a) == usd("50"))
    bank.close()
  }

  @Test func aForgedSnapshotWithRecomputedChecksumsFailsVerify() throws {
    let path = dir.file("forged.journal")
    let ledger = try Ledger(
      storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    let a = try ledger.open(AccountSpec(name: "A")).number
    for _ in 0..<5 { try ledger.deposit(usd("10"), to: a) }
    try ledger.takeSnapshot()
    ledger.close()
    // Raise the balance by 10,000.00 and write the snapshot through the real writer, so every
    // checksum and the journal position are right.
    let storage = try FileStorage(path: path)
    let snap = try #require(try storage.loadSnapshot())
    var state = try BankState.decodeSnapshot(snap.payload, cores: Bank.standardCores)
    let id = try state.ledger.id(of: a)
    state.ledger.bal[id.index].postedCredits += 1_000_000
    try storage.saveSnapshot(
      StoredSnapshot(sequence: snap.sequence, payload: state.encodeSnapshot()))
    storage.close()
    let forged = try Ledger(
      storage: FileStorage(path: path, options: .init(readOnly: true)),
      configuration: .init(snapshotEvery: 0))
    defer { forged.close() }
    #expect(try forged.balance(of: a) == usd("10050"), "open trusts an intact snapshot")
    do {
      _ = try forged.verify()
      Issue.record("verify accepted a forged snapshot")
    } catch {
      #expect(error.code == .storeCorrupt)
      #expect(error.message.contains("snapshot"))
    }
  }

  @Test func theSnapshotFileIsUntrustedInput() throws {
    let (path, _) = try cleanStore("snap.journal", deposits: 3)
    let snap = path + ".snapshot"
    // A FIFO would block a plain open for ever.
    #expect(mkfifo(snap, 0o600) == 0)
    var s = try openReader(path)
    #expect(s.openInfo.snapshotProblem?.contains("not a regular file") == true)
    s.close()
    try FileManager.default.removeItem(atPath: snap)
    // A 6 GiB sparse file is refused from its 96-byte header, never read whole.
    for size in [Int64(2) << 30, Int64(6) << 30] {
      #expect(FileManager.default.createFile(atPath: snap, contents: nil))
      #expect(truncate(snap, off_t(size)) == 0)
      let fs = RecordingFileSystem()
      s = try openReader(path, fs: fs)
      #expect(s.openInfo.snapshotProblem != nil)
      #expect(
        fs.bytesRead.load(ordering: .relaxed) < 1 << 20,
        "read \(fs.bytesRead.load(ordering: .relaxed))")
      s.close()
      try FileManager.default.removeItem(atPath: snap)
    }
    // A header that declares a payload larger than the journal could produce is not read.
    var header = FileStorage.snapshotMagic + [1, 0, 0, 0]
    header += [UInt8](repeating: 0, count: FileStorage.snapshotHeaderSize - header.count)
    let big = UInt64(64) << 20
    withUnsafeBytes(of: big.littleEndian) { header.replaceSubrange(80..<88, with: $0) }
    writeFileBytes(snap, header)
    #expect(truncate(snap, off_t(FileStorage.snapshotHeaderSize) + off_t(big)) == 0)
    let fs = RecordingFileSystem()
    s = try openReader(path, fs: fs)
    #expect(s.openInfo.snapshotProblem?.contains("larger than") == true)
    #expect(fs.bytesRead.load(ordering: .relaxed) < 1 << 20)
    s.close()
  }

  @Test func closeWaitsForAnInFlightGroupCommitLeader() throws {
    let fs = FaultyFileSystem()
    let path = dir.file("close-race.journal")
    let s = try FileStorage(path: path, options: .init(), fileSystem: fs)
    try s.commit(rawBatch([[1]]))
    fs.syncDelay.store(200_000, ordering: .relaxed)
    let before = fs.syncs.load(ordering: .relaxed)
    let result = Mutex<Result<UInt64, StorageError>?>(nil)
    let t = Thread {
      let r = Result(catching: { () throws(StorageError) in try s.commit(rawBatch([[2]])) })
      result.withLock { $0 = r }
    }
    t.start()
    // Wait until the leader is inside fdatasync (which now takes 200 ms), then close.
    while fs.syncs.load(ordering: .relaxed) == before { usleep(1_000) }
    s.close()
    while result.withLock({ $0 == nil }) { usleep(1_000) }
    // The leader's sync ran on a live descriptor, so the commit it made is acknowledged, and
    // the journal holds it.
    let r = try #require(result.withLock { $0 })
    #expect((try? r.get()) == 2, "\(r)")
    #expect(try openRecords(path).get() == [[1], [2]])
  }

  @Test func aStoreIsNeverOpenedOnAStandardDescriptor() throws {
    let saved = dup(0)
    #expect(saved > 2)
    Glibc.close(0)
    defer {
      dup2(saved, 0)
      Glibc.close(saved)
    }
    let s = try FileStorage(path: dir.file("fd.journal"))
    #expect(s.fd > 2, "the journal was opened as descriptor \(s.fd)")
    s.close()
  }

  @Test func aVersion1StoreFromTheLastReleaseOpensWithIdenticalBalances() throws {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("Fixtures/v1")
    let path = dir.file("v1.journal")
    for suffix in ["", ".snapshot"] {
      writeFileBytes(
        path + suffix, fileBytes(fixtures.appendingPathComponent("v1.journal" + suffix).path))
    }
    let expected = try String(
      contentsOf: fixtures.appendingPathComponent("expected.txt"), encoding: .utf8
    )
    .split(separator: "\n").map(String.init)
    let ledger = try Ledger(
      storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    // The release-1 snapshot holds no history chains and no key sequences, which only the
    // journal can give: the journal is replayed instead, and the snapshot is still verified.
    #expect(ledger.openReport.snapshotSequence == nil)
    #expect(ledger.openReport.snapshotProblem?.contains("older release") == true)
    let lines = try ledger.accounts().map {
      "\($0.number) \($0.balance.formatted) \($0.available.formatted)"
    }
    #expect(lines == Array(expected.prefix(lines.count)))
    let report = try ledger.verify()
    #expect(
      expected.last
        == "head_hash \(report.headHash) records \(report.records) batches \(report.batches)")
    // It keeps working, in its own format.
    try ledger.deposit(usd("1"), to: AccountNumber(parsing: "1000-0001-7"))
    ledger.close()
    #expect(fileBytes(path)[8] == 1, "a version-1 journal stays version 1")
    let again = try Ledger(storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    #expect(try again.balance(of: AccountNumber(parsing: "1000-0001-7")) == usd("563.23"))
    again.close()
  }
}
