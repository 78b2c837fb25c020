import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A storage backend that keeps the log in one append-only file, crash-safe and tamper-evident.
///
/// - Every batch is written as checksummed, chained frames and is acknowledged only after
///   `fdatasync`. Concurrent callers share syncs (group commit).
/// - Opening keeps the longest valid prefix of whole batches, truncates a torn final batch, and
///   refuses to open (`store_corrupt`, with the byte offset and sequence number) when damage lies
///   before the tail.
/// - Several processes may write one store. A writer holds the store's exclusive `flock` only
///   while it opens and while it commits a group (from its first append to the sync that covers
///   it); each time it takes the lock it first takes what other processes committed since. Other
///   writers wait for the lock up to a timeout. A writer that holds the lock for a long burst
///   lets it go between two groups, so a waiting process gets its turn.
/// - Snapshots live beside the journal in `PATH.snapshot` and are written atomically.
///
/// `Docs/FileFormat.md` specifies the bytes.
public final class FileStorage: Storage, ExternalKeyChunks {
  /// The journal format this release writes (it reads every earlier one).
  public static var formatVersion: Int { Int(FileFormat.version) }

  /// How to open a journal.
  public struct Options: Sendable {
    /// How long to wait for the store's lock, which another process holds while it opens the
    /// store or commits a group, before failing with `store_locked`. Default: 10 seconds.
    public var lockTimeout: Duration
    /// Whether a missing journal is created (mode 0600). Default: `true`.
    public var createIfMissing: Bool
    /// Open for reading only: take no lock, never write (no header, no truncation, no snapshot),
    /// and read the durable prefix as of the open, ignoring (never cutting) a tail another
    /// process is still writing. Works on a file of mode 0444. Default: `false`.
    public var readOnly: Bool
    /// How much of the journal's end a writer keeps in the page cache: older pages are dropped
    /// once synced, in steps of a quarter of this (tests make it small).
    var cachedTailBytes: Int64 = 64 << 20
    /// The 64-byte header a store created by this open starts with, instead of a new one: a
    /// store copied from another backend (`bankctl-pg journal export`) keeps its identity and
    /// its hash chain. It must be a version-3 or current-version header that was not upgraded
    /// (``FileStorage/makeGenesis()``, or ``FileStorage/genesis`` of another store); ignored when
    /// the store exists.
    public var genesis: [UInt8]?
    /// The most journal space a writer reserves ahead of itself at once (version 4): reservations
    /// start at 1 MiB and double while the writer fills them within a second, up to this, so
    /// that a commit's `fdatasync` writes data only, not the file's new size. 0 turns
    /// reservation off (every commit then extends the file). Default: 64 MiB.
    public var reservationCap: Int64 = 64 << 20
    /// The first reservation's size (tests make it small).
    var reservationStart: Int64 = 1 << 20

    /// Creates options.
    public init(
      lockTimeout: Duration = .seconds(10), createIfMissing: Bool = true, readOnly: Bool = false
    ) {
      self.lockTimeout = lockTimeout
      self.createIfMissing = createIfMissing
      self.readOnly = readOnly
    }
  }

  /// Bytes after the last whole batch that could only be the remains of one write in flight at a
  /// crash: never acknowledged. A writer cuts them at open; a reader ignores them.
  public struct TornTail: Sendable, Equatable, CustomStringConvertible {
    /// Where the tail starts: the end of the last whole batch.
    public var offset: Int64
    /// How many bytes it holds.
    public var bytes: Int64
    /// The first sequence number the tail would have held.
    public var firstSequence: UInt64
    /// The last sequence number whose frame header is intact in the tail (`firstSequence - 1`
    /// when none is).
    public var lastSequence: UInt64

    public var description: String {
      let range =
        lastSequence >= firstSequence
        ? "sequences \(firstSequence)-\(lastSequence)"
        : "no whole frame, from sequence \(firstSequence)"
      return "\(bytes) bytes at offset \(offset) (\(range)), never acknowledged"
    }
  }

  /// What opening the journal found and did.
  public struct OpenInfo: Sendable, Equatable {
    /// Whether the journal was created by this open.
    public var created: Bool
    /// Bytes of an incomplete final batch that were truncated.
    public var truncatedBytes: Int64
    /// The snapshot's sequence number, when a valid one was found.
    public var snapshotSequence: UInt64?
    /// Why a snapshot file was present but not trusted.
    public var snapshotProblem: String?
    /// A torn final write found at open: cut by a writer, ignored by a reader.
    public var tornTail: TornTail?
    /// Whether the last writer closed the journal cleanly (version-2 journals only).
    public var cleanClose = false
    /// Whether a reader found a journal whose creation never completed (a header but no close
    /// block: its writer stopped while creating it, so nothing was ever stored). It reads as an
    /// empty store; any writing command completes the creation.
    public var incompleteCreation = false
    /// Why the close block could not be used (a write of it torn by a crash), when it could not:
    /// the open then trusted the frames' own checksums, as after a dirty close.
    public var closeBlockProblem: String?
  }

  struct BatchPoint {
    var sequence: UInt64
    var frameOffset: Int64
    var headerCRC: UInt32
    var end: Int64
    var head: [UInt8]
  }

  struct Writer {
    var end: ScanPoint
    var chain: HashChain
    /// Encoded frames appended but not yet written: the group commit leader writes them all with
    /// one `pwrite` before its `fdatasync`.
    var pending: [UInt8] = []
    var spare: [UInt8] = []
    var pendingLastSequence: UInt64 = 0
    /// Where each queued batch ends in `pending`, and its last sequence number.
    var pendingBatches: [(end: Int, sequence: UInt64)] = []
    /// File offset up to which every byte has been written.
    var written: Int64
    /// The last sequence number known durable; written into every frame header.
    var durable: UInt64
    var recent: [BatchPoint] = []
    var recentNext = 0
    var tailStart: ScanPoint
    var poisoned: StorageError?
    var closed = false
    /// Whether the close block on disk says "closed cleanly": the first write must mark it dirty
    /// (synced) before any frame reaches the file.
    /// Whether this writer marked the close block dirty and so must mark it clean at close.
    var markedDirty = false
    /// The generation of the last close-block copy written (version 3 alternates two copies).
    var closeGeneration: UInt32 = 0
    /// Where the close block's floor last pointed: it is moved forward after each MiB written,
    /// so a writer that dies leaves at most about that much of its acknowledged work unproven.
    var floorEnd: Int64 = 0
    /// The sparse sequence → offset table (``OffsetTable``), built on first use; appends extend
    /// it while it is contiguous with them.
    var offsets: OffsetTable?
    /// The journal's cached pages below this offset have been dropped (see ``cachedTailBytes``);
    /// never the first page, which holds the header and the close block that is rewritten in place.
    var cacheDroppedTo: Int64 = 4096
    /// Whether this instance holds the store's `flock` (other processes then append nothing):
    /// from the first append of a group until the sync that covers the last queued frame.
    var lockHeld = false
    /// When the lock was taken, to let it go between groups after ``FileStorage/holdLimit``.
    var heldSince = ContinuousClock.now
    /// Set when the lock was held past ``FileStorage/holdLimit``: appends wait until the
    /// queued frames are synced and the lock is let go, so another process gets its turn.
    var draining = false
    /// When a drain let the lock go: the next take waits ``FileStorage/turnPause`` from then.
    var drainedAt: ContinuousClock.Instant?
    /// Whether a group-commit leader has taken queued bytes and not yet finished writing and
    /// syncing them: the lock is never let go meanwhile.
    var writing = false
    /// The file's size as this writer last made or found it: between ``written`` and it lies
    /// space reserved for the frames to come (zeros).
    var fileSize: Int64 = 0
    /// Whether this writer reserves space ahead of itself (a journal of version 3 or 4 and a
    /// non-zero ``Options/reservationCap``).
    var reserves = false
    /// Whether the header on disk says version 4 (so at open, or upgraded by this writer).
    var headerAllowsReserve = false
    /// The next reservation's size: doubled while reservations fill within a second.
    var reserveStep: Int64 = 1 << 20
    /// When the last reservation was made.
    var reservedAt: ContinuousClock.Instant?
    /// After a reservation failed (a full disk, a file system without `fallocate`): no other is
    /// tried before the journal reaches this offset; commits extend the file meanwhile.
    var reserveRetryAt: Int64 = 0
    /// Groups this writer has written: the first is never preceded by a reservation, so a
    /// process that commits once (a `bankctl` command) pays no reservation and no trim.
    var groupsWritten = 0
  }

  /// What a group-commit leader takes from the queue to write and sync.
  struct GroupWrite {
    var bytes: [UInt8]
    var offset: Int64
    var last: UInt64
    /// A close-block copy moving the floor, written with the frames.
    var floor: (bytes: [UInt8], offset: Int64)?
    /// The first write after a clean open: the block marked dirty and synced before any frame.
    var mark: (bytes: [UInt8], offset: Int64)?
    /// Space to reserve before the frames are written, `[from, to)`.
    var reserve: (from: Int64, to: Int64)?
    /// The version-3 header upgraded to 4 before the first reservation.
    var upgrade: [UInt8]?
    /// The size the file must have before the frames go in (nobody else wrote meanwhile).
    var expectedSize: Int64
  }

  /// The journal's path.
  public let path: String
  /// The snapshot's path: the journal's path with `.snapshot` appended.
  public var snapshotPath: String { path + ".snapshot" }

  /// The store ID the header holds (16 random bytes chosen at creation), the same for every
  /// process that opens the file.
  public var storeIdentity: [UInt8] { header.storeID }
  /// The 64 bytes the store's hash chain starts from (`Docs/FileFormat.md`): its header as
  /// created. For a version-3 store that a reservation upgraded in place, that is the header's
  /// version-3 form (the same checksum), not the bytes now on disk. Another backend keeps it so
  /// that a copy of the store verifies to the same head hash.
  public var genesis: [UInt8] { header.chainGenesis }

  /// A new store's header: a random store ID, the current time, the current version. Another
  /// backend starts its chain from it, so that its stores can be copied into files.
  public static func makeGenesis() -> [UInt8] { FileFormat.Header.fresh().encode() }

  /// The store identity a header names (its store ID), or `nil` when `genesis` is not a
  /// header of a version this release reads.
  public static func storeIdentity(ofGenesis genesis: [UInt8]) -> [UInt8]? {
    FileFormat.Header.decode(genesis).0?.storeID
  }
  /// What opening found.
  public let openInfo: OpenInfo
  let io: FileIO
  let fd: Int32
  let header: FileFormat.Header
  let salt: FileFormat.UInt32Salt
  let headerCRC: UInt32
  let writer: Lock<Writer>
  let group: GroupCommit
  /// Whether this instance was opened with ``Options/readOnly``.
  public let readOnly: Bool
  /// The durable point proven at open, as a dirty close block: what a writer's first write marks.
  let openFloor: FileFormat.CloseBlock
  /// The snapshot found valid at open, until ``loadSnapshot()`` hands it over (the bank decodes
  /// it once; a payload kept for the life of the store would double the state's memory).
  private let snapshot: Lock<StoredSnapshot?>
  /// This writer's entry in ``OpenWriters`` (`nil` for a reader).
  private let writerKey: String?
  /// Serializes ``observeAppends()``.
  private let follow = Lock<Void>(())
  /// Serialises taking and letting go of the store's lock within this process: `flock` belongs
  /// to the descriptor, so the process holds it or not, whichever thread took it.
  private let commitLock = Lock<Void>(())
  /// How long to wait for the store's lock.
  let lockTimeout: Duration
  /// How long a writer may keep the lock through back-to-back groups before it lets it go once.
  static let holdLimit = Duration.milliseconds(100)
  /// How long a writer that let the lock go for another's turn waits before taking it again.
  static let turnPause = Duration.milliseconds(3)
  /// The key index's full chunks, written once each (`PATH.keys`).
  let keyChunks: KeyChunkFile
  private static let recentCapacity = 16_384
  /// How many journal bytes may be written between two moves of the close block's floor.
  static let floorRefreshBytes: Int64 = 1 << 20
  /// ``Options/reservationCap`` and ``Options/reservationStart``.
  let reservationCap: Int64
  let reservationStart: Int64
  /// How much of the journal's synced end stays in the page cache (``Options``). Older pages
  /// are dropped once synced, in steps of a quarter of it, as PostgreSQL does with a finished WAL
  /// segment: they are not read in normal operation (the state is in memory, history reads a
  /// few records by offset), so a long journal does not fill the machine's (or the container's)
  /// memory with cache, and new writes reuse freed pages instead of claiming fresh ones (on a
  /// virtual machine, a page the guest never touched costs the host a fault: 10 % of a keyed
  /// run's time at 10 M transfers went there).
  let cachedTailBytes: Int64

  /// Opens or creates the journal at `path`, recovering from a torn final write.
  ///
  /// - Throws: ``StorageError/notFound(path:)`` when missing and not to be created,
  ///   ``StorageError/locked(path:timeout:)`` after the lock timeout,
  ///   ``StorageError/openInThisProcess(path:)`` when this process already has it open for
  ///   writing,
  ///   ``StorageError/corrupt(offset:sequence:reason:)`` on damage before the tail,
  ///   ``StorageError/io(operation:errno:detail:)`` on system errors.
  /// - Complexity: O(records after the snapshot), or O(records) without one.
  public convenience init(path: String, options: Options = .init()) throws(StorageError) {
    try self.init(path: path, options: options, fileSystem: POSIXFileSystem())
  }

  init(path: String, options: Options, fileSystem: any FileSystem) throws(StorageError) {
    let io = FileIO(fs: fileSystem)
    if fileSystem.isDirectory(path) {
      throw StorageError.io(
        operation: "open \(path)", errno: EISDIR, detail: "the store path is a directory")
    }
    let readOnly = options.readOnly
    var (fd, created) = try Self.openFile(path, options: options, io: io)
    let writerKey = OpenWriters.key(path)
    var claimed = false
    do throws(StorageError) {
      guard fileSystem.isRegularFile(fd) else {
        throw StorageError.io(
          operation: "open \(path)", errno: EINVAL, detail: "the store path is not a regular file")
      }
      if !readOnly {
        // Another instance of this process would be waited for in vain: said at once.
        guard OpenWriters.claim(writerKey) else {
          throw StorageError.openInThisProcess(path: path)
        }
        claimed = true
        // First say that a writer has the store open (the last one to close marks it clean),
        // then take the lock for the open's recovery; it is let go when the open ends.
        try Self.waitFor(
          "a writer closing \(path)", path: path, timeout: options.lockTimeout
        ) { io.fs.tryAnnounceWriter(fd) }
        try Self.lock(fd, path: path, io: io, timeout: options.lockTimeout)
      }
      let direct = fileSystem.openDirect(path)
      defer { if direct >= 0 { fileSystem.close(direct) } }
      // A close block that says "closed cleanly" on the disk (read with `O_DIRECT`) and in the
      // cache alike proves that the last writer's every sync succeeded and that nobody wrote
      // since (a writer marks the block dirty, synced, before its first frame): there is nothing
      // unsynced to sync and no failed write to look for, so the cache is kept and a replay reads
      // it instead of the disk.
      let provenClean = direct >= 0 && Self.closedCleanly(fd, direct: direct, io: io)
      if !provenClean {
        // Trust nothing the page cache holds: make whatever an earlier process wrote durable
        // (or learn that it cannot be), then drop the cached pages so that what is read next is
        // what is on the disk, not a cached copy of a write whose sync failed (PostgreSQL's
        // "fsyncgate"). Recovery also reads the tail past the cache, since dropping is only
        // advice, and some file systems accept `O_DIRECT` but serve it from the cache.
        try Self.syncForOpen(fd, io: io, readOnly: readOnly)
        fileSystem.evictCache(fd)
      }
      let head = try Self.readHead(
        fd, path: path, io: io, readOnly: readOnly, genesis: options.genesis)
      var size = head.size
      let header = head.header
      var close = head.close
      created = created || head.created
      let salt = FileFormat.UInt32Salt(storeID: header.storeID)
      let headerCRC = header.crc
      let genesis = ScanPoint(
        offset: Int64(header.framesStart), nextSequence: 1, prevCRC: headerCRC)
      let limit: Int64
      (size, limit) = try Self.readerView(
        fd, io: io, header: header, close: close, size: size, readOnly: readOnly)
      if direct >= 0, !provenClean {
        close = try Self.closeBlockOnDisk(direct, cached: close, io: io, version: header.version)
      }
      let recovery = Recovery(
        io: io, fd: fd, header: header, salt: salt, genesis: genesis, size: size, limit: limit,
        close: close, readOnly: readOnly, path: path, journalSize: size,
        directFD: direct >= 0 ? direct : nil)
      let found = try recovery.run()
      var info = found.info
      info.created = created
      info.incompleteCreation = head.incompleteCreation
      if let closeProblem = head.closeProblem {
        info.closeBlockProblem =
          "\(closeProblem) (a torn write?): recovered from the frames' own checksums, to sequence \(found.end.nextSequence - 1)"
      }
      if let tail = info.tornTail, !readOnly {
        // A torn final write: never acknowledged, so it is cut off, and the cut is made durable.
        info.truncatedBytes = try Self.cut(tail, fd: fd, io: io)
      }
      let end = found.end
      // After a proven clean close the probe is not needed to trust what was read, so marking
      // the block dirty waits for the first write (``waitUntilDurable(_:)``): an open that
      // never writes costs no write and no sync.
      let lazyMark =
        !readOnly && provenClean && !created && header.version >= 2
        && info.tornTail == nil
      if !readOnly && !lazyMark {
        try Self.probe(fd, io: io, header: header, head: head, end: end, close: close)
      }
      if readOnly && !provenClean && header.reservesSpace {
        // A writer may have written into its reserved space after this reader's first sync and
        // before its reads (the file did not grow, so the limit does not stop them): what was
        // read is made durable before it is reported.
        try Self.syncForOpen(fd, io: io, readOnly: true)
      }
      self.path = path
      self.writerKey = readOnly ? nil : writerKey
      self.io = io
      self.fd = fd
      self.header = header
      self.salt = salt
      self.headerCRC = headerCRC
      self.openInfo = info
      self.readOnly = readOnly
      self.lockTimeout = options.lockTimeout
      self.cachedTailBytes = max(4096, options.cachedTailBytes)
      let cap = max(0, options.reservationCap)
      let firstStep = min(max(4096, options.reservationStart), max(4096, cap))
      self.reservationCap = cap
      self.reservationStart = firstStep
      self.openFloor = FileFormat.CloseBlock(
        clean: false, sequence: end.nextSequence - 1, end: end.offset, frameCRC: end.prevCRC)
      self.group = GroupCommit(durableThrough: end.nextSequence - 1)
      self.snapshot = Lock(found.snapshot)
      self.keyChunks = KeyChunkFile(
        path: path + ".keys", io: io, storeID: header.storeID, readOnly: readOnly)
      var w = Writer(
        end: end, chain: HashChain(head: found.head),
        written: end.offset, durable: end.nextSequence - 1,
        tailStart: found.start)
      w.markedDirty = !readOnly && header.version >= 2 && !lazyMark
      w.closeGeneration = (close?.generation ?? 0) &+ (lazyMark || readOnly ? 0 : 1)
      w.floorEnd = end.offset
      // What follows the end, when nothing was cut, is space an earlier writer reserved.
      w.fileSize = readOnly ? end.offset : try io.size(fd)
      w.reserves = !readOnly && header.version >= 3 && options.reservationCap > 0
      w.headerAllowsReserve = header.reservesSpace
      w.reserveStep = firstStep
      w.recent.reserveCapacity(64)
      if found.lastFrame >= 0 {
        w.recent.append(
          BatchPoint(
            sequence: end.nextSequence - 1, frameOffset: found.lastFrame, headerCRC: end.prevCRC,
            end: end.offset, head: found.head))
        w.recentNext = 1
      }
      self.writer = Lock(w)
    } catch {
      if claimed { OpenWriters.release(writerKey) }
      fileSystem.close(fd)
      throw error
    }
    // Other processes may append from now on; this one takes the lock again for each group.
    if !readOnly {
      fileSystem.unlock(fd)
      Self.removeStaleTemporaries(of: path)
    }
    group.leadOnAThread = { [weak self] sequence in
      guard let storage = self else { return }
      BlockingWork.start { try? storage.waitUntilDurable(sequence) }
    }
  }

  /// Removes the temporary snapshot and offset-table files (`PATH.snapshot.tmp.PID`,
  /// `PATH.offsets.tmp.PID`) of writers that died while saving: those whose process no longer
  /// exists. A live writer's file is left alone.
  static func removeStaleTemporaries(of path: String) {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[..<$0]) } ?? "."
    let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
    let prefixes = [base + ".snapshot.tmp.", base + ".offsets.tmp."]
    let folder = directory.isEmpty ? "/" : directory
    guard let dir = opendir(folder) else { return }
    defer { closedir(dir) }
    var stale: [String] = []
    while let entry = readdir(dir) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
      }
      guard let prefix = prefixes.first(where: { name.hasPrefix($0) }),
        let pid = Int32(name.dropFirst(prefix.count)), pid > 0
      else { continue }
      if kill(pid, 0) != 0 && errno == ESRCH { stale.append(name) }
    }
    for name in stale { _ = unlink(folder == "/" ? "/" + name : folder + "/" + name) }
  }

  /// Returns once `sequence` is durable, without a thread waiting meanwhile when a sync is in
  /// flight (the sync that covers it resumes the caller); else a thread leads one.
  public func waitUntilDurableAsync(_ sequence: UInt64) async throws(StorageError) {
    let outcome = await withCheckedContinuation {
      (c: CheckedContinuation<GroupCommit.AsyncOutcome, Never>) in
      group.whenDurable(sequence) { c.resume(returning: $0) }
    }
    switch outcome {
    case .durable: return
    case .failed(let e): throw e
    case .lead:
      try await BlockingWork.run { () throws(StorageError) in try self.waitUntilDurable(sequence) }
    }
  }

  /// Step 1 of opening: the journal's descriptor, the file created (mode 0600) when it is
  /// missing and may be.
  private static func openFile(_ path: String, options: Options, io: FileIO)
    throws(StorageError) -> (fd: Int32, created: Bool)
  {
    do throws(StorageError) {
      return (
        try io.open(path, flags: options.readOnly ? O_RDONLY | O_NONBLOCK : O_RDWR | O_NONBLOCK),
        false
      )
    } catch .notFound(let p) {
      guard options.createIfMissing, !options.readOnly else {
        throw StorageError.notFound(path: p)
      }
      return (try io.open(path, flags: O_RDWR | O_CREAT | O_NONBLOCK, mode: 0o600), true)
    }
  }

  /// What ``readHead(_:path:io:readOnly:)`` found at the start of the file.
  private struct Head {
    var header: FileFormat.Header
    var close: FileFormat.CloseBlock?
    /// The file's size as measured (0 for a reader's empty or half-created store).
    var size: Int64
    /// A fresh header was written (the file was empty or its creation had crashed).
    var created = false
    /// A reader found a header whose creation was never completed.
    var incompleteCreation = false
    /// Why the close block could not be used (a torn write of it).
    var closeProblem: String?
    /// The file's first bytes as read (the header, or less in a short file).
    var prefix: [UInt8] = []
  }

  /// Step 2 of opening: the header and the close block, writing a fresh header (durably) into
  /// an empty file or over a creation that crashed, for a writer.
  private static func readHead(
    _ fd: Int32, path: String, io: FileIO, readOnly: Bool, genesis: [UInt8]?
  ) throws(StorageError) -> Head {
    var given: FileFormat.Header?
    if let genesis {
      // A version-3 genesis (another backend's store made by an earlier release, or an
      // upgraded file store's chain genesis) is written as it is; the first reservation
      // upgrades it.
      guard let h = FileFormat.Header.decode(genesis).0, h.version >= 3, !h.upgraded else {
        throw StorageError.invalidArgument(
          "the given genesis is not a version 3 or \(FileFormat.version) journal header")
      }
      given = h
    }
    var size = try io.size(fd)
    var created = false
    var incompleteCreation = false
    var closeProblem: String?
    let prefix = try io.read(fd, count: Int(min(size, Int64(FileFormat.headerSize))), at: 0)
    var header: FileFormat.Header
    var close: FileFormat.CloseBlock?
    if size < Int64(FileFormat.headerSize) {
      // Empty, or a header whose creation crashed before it was synced (nothing was ever
      // acknowledged). Anything else this short is not ours.
      guard
        prefix.allSatisfy({ $0 == 0 })
          || Array(FileFormat.magic.prefix(prefix.count)) == prefix.prefix(8).map({ $0 })
      else {
        throw StorageError.corrupt(
          offset: 0, sequence: 0, reason: "not a BankCore journal (bad magic)")
      }
      if readOnly {
        // A reader never writes: an empty file is an empty store.
        header = FileFormat.Header(storeID: [UInt8](repeating: 0, count: 16), created: 0)
        size = 0
      } else {
        (header, close) = try Self.writeFreshHeader(fd, path: path, io: io, header: given)
        created = true
        size = Int64(header.framesStart)
      }
    } else {
      let (h, why) = FileFormat.Header.decode(prefix)
      guard let h else { throw StorageError.corrupt(offset: 0, sequence: 0, reason: why) }
      header = h
      if h.version >= 2 {
        if size < Int64(h.framesStart) && readOnly {
          // The header was being created when its writer died: no frame can exist yet, so a
          // reader sees an empty store (and says why); it never writes the rest itself.
          incompleteCreation = true
          size = 0
        } else if size < Int64(h.framesStart) {
          // The header was being created when the process died: no frame can exist yet.
          (header, close) = try Self.writeFreshHeader(fd, path: path, io: io, header: given)
          created = true
          size = Int64(header.framesStart)
        } else {
          let block = try io.read(fd, count: FileFormat.closeBlockSize, at: 64)
          let (c, why) = FileFormat.CloseBlock.decodeArea(block, version: h.version)
          // A write of the block torn by a crash (both copies, in version 3) proves nothing
          // either way: recovery falls back to the frames' own checksums, as after a dirty
          // close with no floor, and says so, instead of refusing a store that holds data.
          if c == nil { closeProblem = why }
          close = c
        }
      }
    }

    return Head(
      header: header, close: close, size: size, created: created,
      incompleteCreation: incompleteCreation, closeProblem: closeProblem, prefix: prefix)
  }

  /// Step 3 of opening, for a reader: the file's size measured again when a writer may have
  /// appended since the first measure, and the limit of the store as of the close block read.
  private static func readerView(
    _ fd: Int32, io: FileIO, header: FileFormat.Header, close: FileFormat.CloseBlock?,
    size: Int64, readOnly: Bool
  ) throws(StorageError) -> (size: Int64, limit: Int64) {
    var size = size
    // A reader holds no lock: a writer may have opened, appended and closed cleanly between
    // the size read above and the close block, leaving a block whose end lies past that size.
    // Measured again after the block, the file is at least as long as the block says unless it
    // is damaged.
    if readOnly, let close, close.clean, size < close.end { size = max(size, try io.size(fd)) }
    // A clean close names the file's exact end; bytes after it were written by a writer that
    // started after this reader read the block (a writer marks the block dirty, synced, first).
    var limit = size
    if let close, close.clean, readOnly, size > close.end {
      // Either damage or a writer that opened since this reader read the block. A writer syncs
      // the dirty mark before its first frame, so a block that still says the same means
      // damage; a block that changed (dirty, or a later clean close) means a writer, and the
      // store as of the block this reader read ends where that block says. A second read that
      // does not decode counts as a change too: damage that stays put would have failed the
      // first read, so only a writer rewriting the block (a torn read of it) can cause one.
      let again = try io.read(fd, count: FileFormat.closeBlockSize, at: 64)
      if FileFormat.CloseBlock.decodeArea(again, version: header.version).0 != close {
        limit = close.end
      } else {
        // The same clean block: damage, unless the file shrank since it was measured. A writer
        // of version 4 that closes cleanly cuts its reserved space before it writes the clean
        // block, so a reader that measured before the cut and read the block after it sees the
        // block's end only when it measures again.
        let now = try io.size(fd)
        if now < size {
          size = now
          limit = now
        }
      }
    }

    return (size, limit)
  }

  /// Step 4 of opening: the close block as the disk holds it, not as a cached page of a failed
  /// write shows it. A clean block on the disk means the last writer's final sync succeeded, so
  /// no write of its can have failed and recovery need not read the tail around the cache. The
  /// disk's copy may only lower trust: a clean block counts only when both copies agree, since a
  /// reader measured the file against the cached one (a writer may have appended and closed
  /// cleanly since).
  private static func closeBlockOnDisk(
    _ direct: Int32, cached: FileFormat.CloseBlock?, io: FileIO, version: UInt32
  ) throws(StorageError) -> FileFormat.CloseBlock? {
    guard let cached,
      let onDisk = FileFormat.CloseBlock.decodeArea(
        try io.readDirect(direct, count: FileFormat.closeBlockSize, at: 64), version: version
      ).0
    else { return cached }
    if !onDisk.clean { return onDisk }
    var close = cached
    if onDisk != cached { close.clean = false }
    return close
  }

  /// Step 5 of opening, for a writer: cuts a torn final write (never acknowledged) and makes the
  /// cut durable. Returns the bytes cut.
  private static func cut(_ tail: TornTail, fd: Int32, io: FileIO) throws(StorageError) -> Int64 {
    try io.truncate(fd, to: tail.offset)
    try io.fullSync(fd)
    return tail.bytes
  }

  /// Step 6 of opening, for a writer: the probe, a write and a full fsync before anything read
  /// is trusted. A journal whose last writer's sync failed may be shown by the page cache with
  /// that write in it while the file system has lost it (its journal aborted), and an fsync of a
  /// file with nothing dirty reports nothing. Writing first makes the fsync commit, so it fails
  /// there. It also marks the close block dirty (synced before any frame), so a clean block
  /// always names the exact end.
  private static func probe(
    _ fd: Int32, io: FileIO, header: FileFormat.Header, head: Head, end: ScanPoint,
    close: FileFormat.CloseBlock?
  ) throws(StorageError) {
    let probe: (bytes: [UInt8], offset: Int64) =
      header.version >= 2
      ? FileFormat.CloseBlock(
        clean: false, sequence: end.nextSequence - 1, end: end.offset,
        frameCRC: end.prevCRC, generation: (close?.generation ?? 0) &+ 1
      ).write(version: header.version) : (head.prefix, 0)
    try io.writeAll(fd, probe.bytes, at: probe.offset)
    try io.fullSync(fd)
  }

  /// Whether the close block says "closed cleanly" both through the cache and on the disk (read
  /// with `O_DIRECT`), with the same contents. Any doubt (a short file, a version-1 journal, a
  /// read error, a block that does not decode) is a no: the open then takes the full path.
  static func closedCleanly(_ fd: Int32, direct: Int32, io: FileIO) -> Bool {
    let at = Int64(FileFormat.headerSize)
    guard let size = try? io.size(fd), size >= at + Int64(FileFormat.closeBlockSize),
      let prefix = try? io.read(fd, count: FileFormat.headerSize, at: 0),
      let header = FileFormat.Header.decode(prefix).0, header.version >= 2,
      size >= Int64(header.framesStart),
      let cached = try? io.read(fd, count: FileFormat.closeBlockSize, at: at),
      let c = FileFormat.CloseBlock.decodeArea(cached, version: header.version).0, c.clean,
      let onDisk = try? io.readDirect(direct, count: FileFormat.closeBlockSize, at: at),
      let d = FileFormat.CloseBlock.decodeArea(onDisk, version: header.version).0
    else { return false }
    return d == c
  }

  /// The sync every open starts with. A reader on a read-only file system or file cannot have
  /// unsynced writes of its own to lose, so only a writer treats every failure as fatal.
  static func syncForOpen(_ fd: Int32, io: FileIO, readOnly: Bool) throws(StorageError) {
    let r = io.fs.fsync(fd)
    if r == 0 { return }
    // EROFS also comes from a file system that turned itself read-only after an I/O error
    // (ext4's emergency read-only): only a mount that is read-only as such is harmless.
    if readOnly && ((r == -EROFS && io.fs.isReadOnlyMount(fd)) || r == -EBADF || r == -EINVAL) {
      return
    }
    throw StorageError.io(
      operation: "fsync at open", errno: -r,
      detail: FileIO.describe(-r) + "; what the store holds cannot be trusted until this succeeds")
  }

  /// Writes a new header and an empty clean close block, durably.
  private static func writeFreshHeader(
    _ fd: Int32, path: String, io: FileIO, header given: FileFormat.Header?
  ) throws(StorageError) -> (FileFormat.Header, FileFormat.CloseBlock) {
    let header = given ?? FileFormat.Header.fresh()
    // Both copies, generations 0 and 1, clean at the empty journal: the next write (2) goes to
    // the first copy and leaves the second as it is.
    var older = FileFormat.CloseBlock(
      clean: true, sequence: 0, end: Int64(header.framesStart), frameCRC: header.crc)
    var close = older
    close.generation = 1
    older.generation = 0
    try io.truncate(fd, to: 0)
    try io.writeAll(fd, header.encode() + older.encodeSlot() + close.encodeSlot(), at: 0)
    try io.fullSync(fd)
    try io.syncDirectory(containing: path)
    return (header, close)
  }

  private static func lock(_ fd: Int32, path: String, io: FileIO, timeout: Duration)
    throws(StorageError)
  {
    if io.fs.tryLock(fd) == 0 { return }
    // Say so while waiting, so that a writer holding the lock through a burst lets it go.
    io.fs.markWaiting(fd, true)
    defer { io.fs.markWaiting(fd, false) }
    try waitFor("flock", path: path, timeout: timeout) { io.fs.tryLock(fd) }
  }

  /// Polls `attempt` (0, `-EWOULDBLOCK`/`-EAGAIN` to wait, another `-errno` to fail) until it
  /// succeeds or `timeout` passes: neither `flock` nor an OFD lock has a timed wait. The pause
  /// grows from 100 µs to 1 ms, short enough to take the lock in the gap a busy writer leaves
  /// between two groups (``turnPause``).
  private static func waitFor(
    _ operation: String, path: String, timeout: Duration, _ attempt: () -> Int32
  ) throws(StorageError) {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    var micros: UInt32 = 100
    while true {
      let r = attempt()
      if r == 0 { return }
      if r != -EWOULDBLOCK && r != -EAGAIN && r != -EINTR && r != -EACCES {
        throw StorageError.io(operation: operation, errno: -r, detail: FileIO.describe(-r))
      }
      if deadline - clock.now <= .zero { throw StorageError.locked(path: path, timeout: timeout) }
      usleep(micros)
      micros = min(micros * 2, 1_000)
    }
  }

  // MARK: Sharing the store with other processes

  /// Makes this instance hold the store's lock for an append: at once when it holds it already,
  /// else after taking it (waiting up to ``lockTimeout``) and taking what other processes
  /// appended since this one last held it. Waits while a drain lets the lock go.
  private func holdLock() throws(StorageError) {
    while true {
      let (held, draining, closed, poisoned) = writer.withLock {
        ($0.lockHeld, $0.draining, $0.closed, $0.poisoned)
      }
      if closed { throw StorageError.closed }
      if let poisoned { throw StorageError.poisoned(reason: "\(poisoned)") }
      if held && !draining { return }
      if draining {
        // Nothing is queued during a drain; what is queued is written and synced now (by this
        // caller, if no other leads), and that sync lets the lock go.
        try waitUntilDurable(lastSequence)
        continue
      }
      try takeLock()
    }
  }

  /// Takes the store's lock if this instance does not hold it, then what other processes
  /// appended while it did not.
  private func takeLock() throws(StorageError) {
    try commitLock.withLock { _ throws(StorageError) in
      let (held, drainedAt) = writer.withLock { ($0.lockHeld, $0.drainedAt) }
      if held { return }
      if let drainedAt {
        // A drain let the lock go so that a waiting process can take it: give it the time to.
        let left = drainedAt + Self.turnPause - ContinuousClock.now
        if left > .zero {
          usleep(UInt32(clamping: left.components.attoseconds / 1_000_000_000_000 + 1))
        }
      }
      try Self.lock(fd, path: path, io: io, timeout: lockTimeout)
      do throws(StorageError) {
        try follow.withLock { _ throws(StorageError) in try takeAppends(holdingLock: true) }
      } catch {
        io.fs.unlock(fd)
        throw error
      }
      writer.withLock {
        $0.lockHeld = true
        $0.heldSince = .now
        $0.drainedAt = nil
      }
    }
  }

  /// Lets the store's lock go once nothing this instance queued is left unsynced, or at once
  /// after a failed write (the instance is poisoned: nothing it queued will be written, and the
  /// next writer cuts what part of it reached the file). Past ``holdLimit`` of back-to-back
  /// groups, starts a drain. Called after every sync.
  func releaseLockIfIdle() {
    guard writer.withLock({ $0.lockHeld }) else { return }
    commitLock.withLock { _ in
      writer.withLock { w in
        guard w.lockHeld, !w.writing else { return }
        if w.pending.isEmpty || w.poisoned != nil {
          io.fs.unlock(fd)
          w.lockHeld = false
          if w.draining {
            w.draining = false
            w.drainedAt = .now
          }
        } else if ContinuousClock.now - w.heldSince > Self.holdLimit {
          // Only for another process that says it waits; else the burst goes on.
          if io.fs.othersWaiting(fd) { w.draining = true } else { w.heldSince = .now }
        }
      }
    }
  }

  /// With the lock held: the close block as another writer may have left it, so that this one's
  /// next copy takes the next generation and a block marked clean is marked dirty again before
  /// a frame follows it.
  private func refreshCloseBlock() throws(StorageError) {
    guard header.version >= 2 else { return }
    let area = try io.read(fd, count: FileFormat.closeBlockSize, at: 64)
    guard let block = FileFormat.CloseBlock.decodeArea(area, version: header.version).0 else {
      return
    }
    writer.withLock { w in
      if Int32(bitPattern: block.generation &- w.closeGeneration) > 0 {
        w.closeGeneration = block.generation
      }
      w.markedDirty = !block.clean
    }
  }

  // MARK: Appending

  /// Encodes the batch as frames and queues them; ``waitUntilDurable(_:)`` writes and syncs.
  ///
  /// No I/O happens here, so the ledger's lock is never held across a system call and every
  /// caller waiting at the same moment shares one `pwrite` and one `fdatasync`.
  public func append(_ batch: RecordBatch) throws(StorageError) -> UInt64 {
    // Without a condition the append always happens.
    try append(batch, condition: nil) ?? 0
  }

  /// Appends the batch if the last record is `expected`, checked under the writer's lock with
  /// the append itself, so banks sharing this store never append over each other.
  public func append(_ batch: RecordBatch, ifLastIs expected: UInt64) throws(StorageError)
    -> UInt64?
  {
    try append(batch, condition: expected)
  }

  private func append(_ batch: RecordBatch, condition expected: UInt64?) throws(StorageError)
    -> UInt64?
  {
    guard !batch.isEmpty else { throw StorageError.invalidArgument("empty batch") }
    guard !readOnly else { throw StorageError.invalidArgument("the store was opened read-only") }
    let framed = batch.bytes.count + batch.count * FileFormat.frameHeaderSize + FileFormat.hashSize
    guard framed <= FileFormat.maxUnsyncedBytes else {
      throw StorageError.invalidArgument(
        "a batch of \(framed) bytes exceeds the \(FileFormat.maxUnsyncedBytes >> 20) MiB limit of one atomic write; split it"
      )
    }
    var appended: UInt64??
    do throws(StorageError) {
      while appended == nil {
        try holdLock()
        appended = try queue(batch, ifLastIs: expected)
      }
    } catch {
      releaseLockIfIdle()
      throw error
    }
    guard let last = appended ?? nil else {
      // Lost to another writer. The lock is kept: the caller catches up and tries again while
      // no other process can append, so a writer in a tight loop elsewhere cannot make it lose
      // every time. The bank lets it go when its commit ends (``releaseLockIfIdle()``).
      return nil
    }
    // Outside the writer lock: the group-commit mutex is always taken first (see GroupCommit).
    group.noteAppended(last)
    return last
  }

  /// Queues the batch's frames under the writer lock: `nil` when the store's lock was let go
  /// meanwhile (take it again), `.some(nil)` when the last record is not `expected`.
  private func queue(_ batch: RecordBatch, ifLastIs expected: UInt64?) throws(StorageError)
    -> UInt64??
  {
    try writer.withLock { w throws(StorageError) -> UInt64?? in
      if w.closed { throw StorageError.closed }
      if let p = w.poisoned { throw StorageError.poisoned(reason: "\(p)") }
      guard w.lockHeld, !w.draining else { return nil }
      if let expected, w.end.nextSequence &- 1 != expected { return .some(nil) }
      let base = w.pending.count
      w.pending.reserveCapacity(
        base + batch.bytes.count + batch.count * FileFormat.frameHeaderSize + 64)
      var chain = w.chain
      var seq = w.end.nextSequence
      var prev = w.end.prevCRC
      var lastFrameStart = 0
      batch.bytes.withUnsafeBytes { all in
        var start = 0
        for (i, end) in batch.ends.enumerated() {
          let rec = UnsafeRawBufferPointer(rebasing: all[start..<end])
          chain.add(sequence: seq, bytes: rec)
          let trailer: [UInt8]? = i == batch.ends.count - 1 ? chain.endBatch() : nil
          lastFrameStart = w.pending.count
          if var t = w.offsets, t.covered == seq - 1 {
            w.offsets = nil
            let o = w.end.offset + Int64(lastFrameStart - base)
            let size = Int64(FileFormat.frameHeaderSize + rec.count + (trailer?.count ?? 0))
            t.add(sequence: seq, offset: o, end: o + size)
            w.offsets = t
          }
          prev = FileFormat.appendFrame(
            to: &w.pending, body: rec, trailer: trailer, sequence: seq, prev: prev,
            durable: w.durable, salt: salt)
          seq += 1
          start = end
        }
      }
      let added = Int64(w.pending.count - base)
      let frameOffset = w.end.offset + Int64(lastFrameStart - base)
      w.end = ScanPoint(offset: w.end.offset + added, nextSequence: seq, prevCRC: prev)
      w.chain = chain
      w.pendingLastSequence = seq - 1
      w.pendingBatches.append((w.pending.count, seq - 1))
      let point = BatchPoint(
        sequence: seq - 1, frameOffset: frameOffset, headerCRC: prev, end: w.end.offset,
        head: chain.head)
      Self.remember(point, in: &w)
      return seq - 1
    }
  }

  /// Returns once `sequence` is durable. The caller that finds no sync in flight writes every
  /// queued frame and syncs; the others wait for it.
  public func waitUntilDurable(_ sequence: UInt64) throws(StorageError) {
    try group.waitUntilDurable(
      sequence,
      take: {
        writer.withLock { w -> (GroupWrite, UInt64) in
          // The first write after a clean open marks the close block dirty and syncs that before
          // any frame, so that a clean block always names the file's exact end.
          // (A version-2 writer that has not marked it yet: the open proved it clean and left it.)
          // Without the store's lock nothing is queued and nothing may be written.
          w.writing = w.lockHeld
          var mark: (bytes: [UInt8], offset: Int64)?
          if w.lockHeld && header.version >= 2 && !w.markedDirty {
            var block = openFloor
            w.closeGeneration &+= 1
            block.generation = w.closeGeneration
            mark = block.write(version: header.version)
          }
          // Move the close block's floor to what is already durable, in the same sync as the
          // new frames: the block claims only what an earlier sync proved, so it is true whichever
          // of the two writes reaches the disk.
          var floor: (bytes: [UInt8], offset: Int64)?
          if w.lockHeld, w.markedDirty, w.written - w.floorEnd >= Self.floorRefreshBytes,
            let block = closeBlock(&w, clean: false)
          {
            floor = block.write(version: header.version)
            w.floorEnd = w.written
          }
          var taken: GroupWrite
          var covered: UInt64
          // One write never exceeds maxUnsyncedBytes, so recovery can tell a torn write (at most
          // that long) from a damaged journal.
          if w.pending.count > FileFormat.maxUnsyncedBytes,
            let cut = w.pendingBatches.last(where: { $0.end <= FileFormat.maxUnsyncedBytes })
          {
            let b = Array(w.pending[0..<cut.end])
            w.pending.removeFirst(cut.end)
            w.pendingBatches = w.pendingBatches.filter { $0.end > cut.end }.map {
              ($0.end - cut.end, $0.sequence)
            }
            taken = GroupWrite(
              bytes: b, offset: w.written, last: cut.sequence, floor: floor, mark: mark,
              expectedSize: w.fileSize)
            covered = cut.sequence
          } else {
            let b = w.pending
            swap(&w.pending, &w.spare)
            w.pending.removeAll(keepingCapacity: true)
            w.pendingBatches.removeAll(keepingCapacity: true)
            taken = GroupWrite(
              bytes: b, offset: w.written, last: w.pendingLastSequence, floor: floor, mark: mark,
              expectedSize: w.fileSize)
            covered = w.pendingLastSequence
          }
          planReservation(&w, for: &taken)
          return (taken, covered)
        }
      },
      write: { (taken: GroupWrite) throws(StorageError) in
        do throws(StorageError) {
          if let mark = taken.mark {
            // As the probe at open: a full fsync, so a file system that lost its journal fails
            // here, before any frame is written.
            try io.writeAll(fd, mark.bytes, at: mark.offset)
            try io.fullSync(fd)
            writer.withLock { $0.markedDirty = true }
          }
          // After the dirty mark, never before: a reader that finds the file longer than a
          // clean block's end takes the changed block as the sign of a writer.
          let expectedSize = try reserve(taken)
          if let floor = taken.floor { try io.writeAll(fd, floor.bytes, at: floor.offset) }
          let end = taken.offset + Int64(taken.bytes.count)
          if !taken.bytes.isEmpty && (taken.reserve != nil || end > expectedSize) {
            // Frames go exactly at the journal's end, or nowhere: a writer whose idea of the end
            // (and of the space reserved after it) is not the file's would write over frames (its
            // own or another process's). Frames that fit in space this writer reserved, or found
            // zeros at when it took the lock, need no measure (see ``noFramesAfter``).
            let size = try io.size(fd)
            // Larger is fine when zeros are where the frames go: another writer reserved space
            // (and died, or let it be) since this one last measured.
            var reserved = false
            if size > expectedSize {
              reserved = try !Self.dataFollows(taken.offset, size: size, fd: fd, io: io)
            }
            guard size == expectedSize || reserved else {
              throw StorageError.corrupt(
                offset: UInt64(taken.offset), sequence: taken.last,
                reason:
                  "this writer's next frames go at byte \(taken.offset) of a \(expectedSize)-byte file but the journal is \(size) bytes; nothing was written"
              )
            }
          }
          if !taken.bytes.isEmpty { try io.writeAll(fd, taken.bytes, at: taken.offset) }
          try io.dataSync(fd)
        } catch {
          // Part of the queued frames may be on disk. None was acknowledged; reopening (or the
          // next writer to take the lock) truncates them as a torn tail. Never retry: the kernel
          // may have dropped the pages.
          writer.withLock {
            if $0.poisoned == nil { $0.poisoned = error }
            $0.writing = false
          }
          releaseLockIfIdle()
          throw error
        }
        let bytes = taken.bytes
        let drop = writer.withLock { w -> (Int64, Int64)? in
          w.writing = false
          // Only bytes move the end: a leader with nothing to write (a sync for a sequence
          // another process appended) took its offset before other writers' frames were
          // taken in, and must not set the end back over them.
          if !bytes.isEmpty {
            w.written = taken.offset + Int64(bytes.count)
            w.fileSize = max(w.fileSize, w.written)
            w.groupsWritten += 1
          }
          if taken.last > w.durable { w.durable = taken.last }
          if w.spare.capacity < bytes.capacity {
            w.spare = bytes
            w.spare.removeAll(keepingCapacity: true)
          }
          let below = (w.written - cachedTailBytes) & ~4095
          guard below - w.cacheDroppedTo >= cachedTailBytes / 4 else { return nil }
          defer { w.cacheDroppedTo = below }
          return (w.cacheDroppedTo, below - w.cacheDroppedTo)
        }
        if let (start, length) = drop { io.fs.dropCache(fd, offset: start, length: length) }
        releaseLockIfIdle()
      })
  }

  // MARK: Reserving space

  /// Decides, under the writer lock, whether the frames taken need space reserved first: when
  /// they reach past the space already reserved. Each reservation ends on a 4 KiB boundary, a
  /// step past the frames; the step doubles (up to ``reservationCap``) while reservations fill
  /// within a second and halves when one lasted over a minute.
  private func planReservation(_ w: inout Writer, for taken: inout GroupWrite) {
    let need = taken.offset + Int64(taken.bytes.count)
    guard w.lockHeld, w.reserves, !taken.bytes.isEmpty, need > w.fileSize,
      w.written >= w.reserveRetryAt, w.groupsWritten > 0
    else { return }
    let now = ContinuousClock.now
    if let at = w.reservedAt {
      if now - at < .seconds(1) {
        w.reserveStep = min(w.reserveStep * 2, reservationCap)
      } else if now - at > .seconds(60) {
        w.reserveStep = max(w.reserveStep / 2, reservationStart)
      }
    }
    w.reservedAt = now
    let to = (need + w.reserveStep + 4095) & ~4095
    taken.reserve = (max(w.fileSize, taken.offset), to)
    if !w.headerAllowsReserve {
      taken.upgrade = header.asUpgraded(true).encode()
    }
  }

  /// Makes the reservation a leader planned (upgrading a version-3 header first), and returns
  /// the size the file must have before its frames are written. A reservation that fails (a
  /// full disk, no `fallocate`) is no failure of the commit: its frames extend the file
  /// instead, and a full disk fails the commit whose own write finds no space.
  private func reserve(_ taken: GroupWrite) throws(StorageError) -> Int64 {
    guard let (from, to) = taken.reserve else { return taken.expectedSize }
    if let upgrade = taken.upgrade {
      // The header says version 4 (durably) before any space follows the end: a release that
      // reads only version 3 refuses the store by name instead of taking the zeros for damage.
      // The checksum stays the same, so a torn write of it reads as version 3 again.
      try io.writeAll(fd, upgrade, at: 0)
      try io.fullSync(fd)
      writer.withLock { $0.headerAllowsReserve = true }
    }
    let r = io.fs.reserve(fd, offset: from, length: to - from)
    guard r == 0 else {
      // Whatever the error, the file's contents are as they were; its size may not be (a
      // partial allocation), so the next write compares against the size measured now.
      let size = try io.size(fd)
      writer.withLock { w in
        w.reserveStep = reservationStart
        w.reserveRetryAt = taken.offset + reservationStart
        w.fileSize = size
      }
      return size
    }
    // The new size and extents are made durable now, once, so that the commits that write into
    // them sync their data only. Another writer may have reserved further: the file says.
    try io.dataSync(fd)
    let size = try io.size(fd)
    writer.withLock { $0.fileSize = size }
    return size
  }

  /// How many `fdatasync` calls group commit has made; shows how many callers shared each one.
  public var syncCount: UInt64 { group.syncs }

  /// The sequence number of the last appended record, 0 when empty.
  public var lastSequence: UInt64 { writer.withLock { $0.end.nextSequence - 1 } }

  /// Keeps a batch boundary among the recent ones (scan starting points, snapshot points).
  private static func remember(_ point: BatchPoint, in w: inout Writer) {
    if w.recent.count < Self.recentCapacity {
      w.recent.append(point)
    } else {
      w.recent[w.recentNext % Self.recentCapacity] = point
    }
    w.recentNext += 1
  }

  /// Measures the file again and takes the whole batches other processes appended since, made
  /// durable first (the sync a reader's open starts with), their checksums, links and chain
  /// hashes checked. A batch still being written is left for a later call: a follower never
  /// reads a half-written tail. A writer that holds the store's lock has nothing to take (no one
  /// else appends meanwhile); one that does not pays one `fstat` when nothing was appended.
  ///
  /// - Throws: ``StorageError/corrupt(offset:sequence:reason:)`` when an appended batch's chain
  ///   hash does not match (the journal was altered); I/O errors.
  /// - Complexity: O(bytes appended since the last call).
  public func observeAppends() throws(StorageError) {
    if !readOnly {
      let (held, known, knownSize) = try writer.withLock { w throws(StorageError) in
        if w.closed { throw StorageError.closed }
        return (w.lockHeld, w.written, w.fileSize)
      }
      if held { return }
      if try noFramesAfter(known, knownSize: knownSize) { return }
      guard try io.size(fd) > known else { return }
    }
    try follow.withLock { _ throws(StorageError) in try takeAppends(holdingLock: false) }
  }

  /// ``observeAppends()``'s work, one caller at a time (under ``follow``), and a writer's when
  /// it takes the store's lock (`holdingLock`): then no other process is writing, so bytes after
  /// the last whole batch are what a writer that crashed or failed left torn, never
  /// acknowledged, and are cut (at most one write's worth: more is damage, and refused).
  private func takeAppends(holdingLock: Bool, closing: Bool = false) throws(StorageError) {
    let (from, known, chain, knownSize) = try writer.withLock { w throws(StorageError) in
      if w.closed && !closing { throw StorageError.closed }
      return (w.end, w.written, w.chain, w.fileSize)
    }
    if !closing, try noFramesAfter(known, knownSize: knownSize) { return }
    let size = try io.size(fd)
    if holdingLock && size < known {
      throw StorageError.corrupt(
        offset: UInt64(size), sequence: from.nextSequence,
        reason:
          "the journal ends at byte \(size), before byte \(known), which this writer wrote and synced: something other than a writer cut it"
      )
    }
    // After this one's end: nothing, zeros (space reserved; the file need not have grown for
    // frames to follow), or another writer's frames. The first bytes tell: a frame header is
    // never zero, and any write, torn or whole, starts at the end.
    var appended = false
    if size > known { appended = try Self.dataFollows(known, size: size, fd: fd, io: io) }
    // Another writer's close-block copies come with its frames (or with its open, which a
    // later append follows): read them again only when the file changed.
    if holdingLock && (size != knownSize || appended || closing) { try refreshCloseBlock() }
    guard appended else {
      // Another writer may have reserved space, or cut it at a clean close.
      if holdingLock { writer.withLock { $0.fileSize = size } }
      return
    }
    // A reader of an empty file made up an all-zero identity.
    let placeholder = header.storeID.allSatisfy { $0 == 0 }
    guard known >= Int64(header.framesStart), !readOnly || !openInfo.incompleteCreation,
      !placeholder
    else {
      // Opened before the store was created: its identity (and so every checksum's salt) was
      // not known then.
      throw StorageError.invalidArgument(
        "the store \(path) was empty or still being created when this reader opened it; open it again to follow it"
      )
    }
    // What the writer wrote is made durable, or the follow fails: a sync error is never taken
    // as "nothing to sync" (a writer whose own sync failed leaves pages only the cache holds).
    let r = io.fs.fsync(fd)
    guard r == 0 else {
      throw StorageError.io(
        operation: "fsync while following", errno: -r,
        detail: FileIO.describe(-r) + "; what was appended cannot be trusted to be durable")
    }
    // The new region is read from the disk where `O_DIRECT` works, not from a cached page of a
    // write whose sync failed.
    var reader = WindowReader(io: io, fd: fd, limit: size)
    let direct = io.fs.openDirect(path)
    defer { if direct >= 0 { io.fs.close(direct) } }
    if direct >= 0 { reader.direct = (direct, known - known % 4096) }
    let found = try JournalScanner(salt: salt).scan(&reader, from: from, chain: chain)
    if case .misplaced(let o, let s, let r) = found.problem {
      throw StorageError.corrupt(offset: UInt64(o), sequence: s, reason: r)
    }
    var newSize = size
    if holdingLock, size > found.end.offset,
      try Self.dataFollows(found.end.offset, size: size, fd: fd, io: io)
    {
      // The torn write's data, not the space reserved after it, is what one write can leave.
      let torn =
        try Recovery.dataEnd(io: io, fd: fd, direct: false, from: found.end.offset, to: size)
        - found.end.offset
      guard torn <= Int64(FileFormat.maxUnsyncedBytes) + 65_536 else {
        throw StorageError.corrupt(
          offset: UInt64(found.end.offset), sequence: found.end.nextSequence,
          reason:
            "\(torn) bytes follow the last valid batch, more than one write can leave torn; not truncating"
        )
      }
      // The reserved space after it goes with it; the next commit reserves again.
      try io.truncate(fd, to: found.end.offset)
      try io.fullSync(fd)
      newSize = found.end.offset
    }
    if holdingLock { writer.withLock { $0.fileSize = newSize } }
    guard found.batches > 0, let head = found.storedHead else { return }
    if !holdingLock {
      // Another writer may have written into its reserved space after the sync above (the file
      // need not grow), and the scan may have read those frames: they are made durable before
      // they are taken. A writer holding the lock has nobody writing meanwhile.
      let again = io.fs.fsync(fd)
      guard again == 0 else {
        throw StorageError.io(
          operation: "fsync while following", errno: -again,
          detail: FileIO.describe(-again) + "; what was appended cannot be trusted to be durable")
      }
    }
    let last = found.end.nextSequence - 1
    // Durable first: a reader that sees the new end never waits for a sync nobody will make.
    group.noteDurable(last)
    writer.withLock { w in
      guard w.end.offset == from.offset else { return }
      w.end = found.end
      w.written = found.end.offset
      w.durable = last
      w.chain = HashChain(head: head)
      Self.remember(
        BatchPoint(
          sequence: last, frameOffset: found.lastFrameOffset, headerCRC: found.end.prevCRC,
          end: found.end.offset, head: head), in: &w)
    }
  }

  /// Whether a writer with space reserved after its end finds zeros there: then nobody appended
  /// (every writer writes at the end), and the file is not measured at all. An `fstat` is not
  /// free here: on Linux 6.13 and later a query of the file's times makes the next write record a
  /// fine-grained change time, and on this machine's ext4 that costs every following `fdatasync`
  /// an inode write (one `fstat` per commit took single commits from 10,900/s to 7,600/s in a C
  /// probe). `false` when there is no reserved space to look at or anything is there.
  private func noFramesAfter(_ known: Int64, knownSize: Int64) throws(StorageError) -> Bool {
    let n = FileFormat.frameHeaderSize
    guard knownSize - known >= Int64(n) else { return false }
    let peek = try io.read(fd, count: n, at: known)
    return peek.count == n && !peek.contains { $0 != 0 }
  }

  /// Whether anything but zeros lies at `offset` (the length of a frame header, or what is left
  /// of the file): a frame, whole or torn, rather than reserved space. Read through the cache,
  /// which shows every write of every process at once.
  static func dataFollows(_ offset: Int64, size: Int64, fd: Int32, io: FileIO)
    throws(StorageError) -> Bool
  {
    let count = Int(min(Int64(FileFormat.frameHeaderSize), size - offset))
    guard count > 0 else { return false }
    return try io.read(fd, count: count, at: offset).contains { $0 != 0 }
  }

  // MARK: Reading

  /// Reads durable records; queued ones are written and synced first.
  /// Calls `body` with each batch's records, in order, from the first, checking every frame
  /// and the hash chain: what copying the store to another backend needs (the chain hashes
  /// batches, so their boundaries are part of the store).
  ///
  /// - Complexity: O(records).
  public func forEachBatch(_ body: ([[UInt8]]) throws(StorageError) -> Void) throws(StorageError) {
    try waitUntilDurable(lastSequence)
    let limit = try writer.withLock { w throws(StorageError) -> Int64 in
      if w.closed { throw StorageError.closed }
      return w.written
    }
    var reader = WindowReader(io: io, fd: fd, limit: limit)
    var batch: [[UInt8]] = []
    var failure: StorageError?
    let start = ScanPoint(offset: Int64(header.framesStart), nextSequence: 1, prevCRC: headerCRC)
    let result = try JournalScanner(salt: salt).scan(
      &reader, from: start, chain: HashChain(genesis: header.chainGenesis),
      onRecord: { _, bytes in
        batch.append(Array(bytes))
        return failure == nil
      },
      onBatchEnd: { _ in
        guard failure == nil else { return }
        do throws(StorageError) { try body(batch) } catch { failure = error }
        batch.removeAll()
      })
    if let failure { throw failure }
    switch result.problem {
    case .none: return
    case .damaged(let o, let s, let r), .misplaced(let o, let s, let r):
      throw StorageError.corrupt(offset: UInt64(o), sequence: s, reason: r)
    }
  }

  public func forEachRecord(after sequence: UInt64, _ body: (StoredRecord) -> Bool)
    throws(StorageError)
  {
    try waitUntilDurable(lastSequence)
    var (start, limit) = try writer.withLock { w throws(StorageError) -> (ScanPoint, Int64) in
      if w.closed { throw StorageError.closed }
      var best = ScanPoint(
        offset: Int64(header.framesStart), nextSequence: 1, prevCRC: headerCRC)
      if w.tailStart.nextSequence <= sequence + 1 { best = w.tailStart }
      for p in w.recent where p.sequence <= sequence && p.sequence + 1 > best.nextSequence {
        best = ScanPoint(offset: p.end, nextSequence: p.sequence + 1, prevCRC: p.headerCRC)
      }
      return (best, w.written)
    }
    // Far behind every known boundary (a feed catching up from an old cursor): start at the
    // offset table's frame at or before the first wanted record, so a read costs what it reads,
    // not a walk from the start. That frame's own checksums are checked; the link to the one
    // before it, which is not read, is not.
    if sequence + 1 >= start.nextSequence + 4 * OffsetTable.stride,
      let table = try? offsetTable(covering: sequence + 1)
    {
      let slot = Int(sequence / OffsetTable.stride)
      let first = UInt64(slot) * OffsetTable.stride + 1
      if slot < table.offsets.count, first > start.nextSequence {
        start = ScanPoint(
          offset: table.offsets[slot], nextSequence: first, prevCRC: 0, linkUnchecked: true)
      }
    }
    var reader = WindowReader(io: io, fd: fd, limit: limit)
    let result = try JournalScanner(salt: salt).scan(&reader, from: start) { seq, bytes in
      if seq <= sequence { return true }
      return body(StoredRecord(sequence: seq, bytes: bytes))
    }
    switch result.problem {
    case .none: return
    case .damaged(let o, let s, let r), .misplaced(let o, let s, let r):
      throw StorageError.corrupt(offset: UInt64(o), sequence: s, reason: r)
    }
  }

  /// Re-reads every frame, checking checksums, links and sequence numbers, and recomputes the
  /// hash chain against every stored hash.
  ///
  /// - Complexity: O(journal size).
  public func verify() throws(StorageError) -> VerifyReport {
    // A writer takes the store's lock (and so what other processes appended) to measure the
    // file: bytes past the last batch are then no other writer's group in flight.
    var trailing: (end: Int64, dataEnd: Int64)?
    if !readOnly {
      try holdLock()
      defer { releaseLockIfIdle() }
      _ = try durableEnd()
      // The sync may have let the lock go: taken again, with what others appended meanwhile.
      try holdLock()
      trailing = try dataAfterEnd()
    }
    let limit = try durableEnd()
    var reader = WindowReader(io: io, fd: fd, limit: limit)
    let genesis = ScanPoint(
      offset: Int64(header.framesStart), nextSequence: 1, prevCRC: headerCRC)
    let result = try JournalScanner(salt: salt).scan(
      &reader, from: genesis, chain: HashChain(genesis: header.chainGenesis))
    switch result.problem {
    case .none: break
    case .damaged(let o, let s, let r), .misplaced(let o, let s, let r):
      throw StorageError.corrupt(offset: UInt64(o), sequence: s, reason: r)
    }
    if let trailing, trailing.dataEnd > trailing.end {
      // Space reserved after the end reads as zeros; anything else there is damage.
      throw StorageError.corrupt(
        offset: UInt64(trailing.end), sequence: result.end.nextSequence,
        reason: "\(trailing.dataEnd - trailing.end) unexpected bytes after the last batch")
    }
    var warnings: [String] = []
    if let tail = openInfo.tornTail {
      warnings.append(
        "torn tail: \(tail); a writer opening the store will cut it"
          + (readOnly ? "" : " (this open cut it)"))
    }
    if let problem = openInfo.closeBlockProblem {
      warnings.append("the close block could not be used: \(problem)")
    }
    if openInfo.incompleteCreation {
      warnings.append(
        "the journal's creation was never completed (\(path) holds a header and no close block): the store is empty, and the next writing command completes it"
      )
    }
    if header.version < 2 {
      warnings.append(
        "journal format version 1: it has no close block, so a truncation at a batch boundary cannot be detected"
      )
    }
    let head = result.storedHead ?? SHA256.hash(header.chainGenesis)
    return VerifyReport(
      records: result.records, batches: result.batches, headHash: head.hexString,
      warnings: warnings)
  }

  /// With the store's lock held: where this writer's frames end and where the data after them
  /// ends (the last byte that is not zero), or `nil` when a group of this process was queued or
  /// written meanwhile (its frames would look like bytes after the end): then nothing is judged.
  private func dataAfterEnd() throws(StorageError) -> (end: Int64, dataEnd: Int64)? {
    func state() -> (Int64, Bool) {
      writer.withLock { w in (w.written, w.lockHeld && !w.writing && w.pending.isEmpty) }
    }
    let (end, idle) = state()
    guard idle else { return nil }
    let size = try io.size(fd)
    let dataEnd =
      size > end ? try Recovery.dataEnd(io: io, fd: fd, direct: false, from: end, to: size) : end
    let (endAfter, idleAfter) = state()
    guard idleAfter, endAfter == end else { return nil }
    return (end, dataEnd)
  }

  /// Makes everything appended durable and returns where the written journal ends: the limit of
  /// a full read (verify, a snapshot read back).
  private func durableEnd() throws(StorageError) -> Int64 {
    try waitUntilDurable(lastSequence)
    return try writer.withLock { w throws(StorageError) -> Int64 in
      if w.closed { throw StorageError.closed }
      return w.written
    }
  }

  // MARK: Snapshots

  /// The last saved snapshot, if it is valid: the first call after open returns the one recovery
  /// found (and keeps no copy); any later call reads the file again and checks it against the
  /// journal as recovery does.
  ///
  /// - Complexity: O(snapshot size).
  public func loadSnapshot() throws(StorageError) -> StoredSnapshot? {
    let found = snapshot.withLock { s in
      defer { s = nil }
      return s
    }
    if let found { return found }
    let limit = try durableEnd()
    var reader = WindowReader(io: io, fd: fd, limit: limit)
    let read = Self.readSnapshot(
      path: snapshotPath, io: io, header: header, salt: salt,
      reader: &reader, journalSize: limit)
    guard case .valid(let snap, _, _, _) = read else { return nil }
    return snap
  }

  /// Why the snapshot file beside the journal cannot be used now (damaged, foreign, stale or
  /// unreadable), naming the file, or `nil` when there is none or it is sound. `verify` reports
  /// it as a warning: the journal is the truth and the snapshot only a cache.
  public func snapshotProblem() -> String? {
    snapshotFileProblem().map { "the snapshot \(snapshotPath) was not used: \($0)" }
  }

  /// Opened with ``Options/readOnly``.
  public var isReadOnly: Bool { readOnly }

  /// The snapshot problem and the torn tail of ``openInfo``.
  public var openFindings: StorageOpenFindings {
    StorageOpenFindings(snapshotProblem: openInfo.snapshotProblem, tornTail: openInfo.tornTail)
  }

  /// ``snapshotProblem()`` without the file's name.
  func snapshotFileProblem() -> String? {
    guard let limit = try? durableEnd() else { return nil }
    var reader = WindowReader(io: io, fd: fd, limit: limit)
    switch Self.readSnapshot(
      path: snapshotPath, io: io, header: header, salt: salt, reader: &reader, journalSize: limit)
    {
    case .none, .valid: return nil
    case .problem(let why): return why
    case .stale(let why, _, let pastView):
      // A reader's view ends where it measured the file: a snapshot past it, with the file
      // grown since, is a writer's newer one (as recovery judges it), not a problem.
      // The same holds for a writer: another process may have appended and saved since.
      if pastView, ((try? io.size(fd)) ?? 0) > limit { return nil }
      return why
    }
  }

  /// Writes the snapshot atomically (temporary file, fsync, rename, directory fsync), stamped with
  /// the journal position it covers, after making that position durable.
  public func saveSnapshot(_ snap: StoredSnapshot) throws(StorageError) {
    guard !readOnly else { throw StorageError.invalidArgument("the store was opened read-only") }
    try waitUntilDurable(snap.sequence)
    let point = try writer.withLock { w throws(StorageError) -> BatchPoint in
      if w.closed { throw StorageError.closed }
      guard let p = w.recent.first(where: { $0.sequence == snap.sequence }) else {
        throw StorageError.invalidArgument(
          "sequence \(snap.sequence) is not a recent batch boundary; snapshot at the current head")
      }
      return p
    }
    var w = ByteWriter(capacity: 128 + snap.payload.count)
    w.raw(Self.snapshotMagic)
    w.u32(1)
    w.raw(header.storeID)
    w.u64(snap.sequence)
    w.u64(UInt64(point.frameOffset))
    w.u32(point.headerCRC)
    w.raw(point.head)
    w.u64(UInt64(snap.payload.count))
    w.u32(CRC32C.checksum(snap.payload))
    w.u32(CRC32C.checksum(w.bytes))
    // Named by process: writers in several processes may save at once.
    let tmp = snapshotPath + ".tmp.\(getpid())"
    _ = io.fs.unlink(tmp)
    let tfd = try io.open(tmp, flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
    do throws(StorageError) {
      // Header and payload are written apart: the payload (hundreds of MB for a store of ten
      // million keys) is never copied.
      try io.writeAll(tfd, w.bytes, at: 0)
      // In pieces, each synced by this (background) thread: on ext4 the journal's next commit
      // would otherwise have to write out every dirty byte of the snapshot first, and the
      // journal's `fdatasync` (a commit waiting for its acknowledgement) would wait for hundreds
      // of MB it has nothing to do with.
      let piece = 8 << 20
      var at = 0
      while at < snap.payload.count {
        let n = min(piece, snap.payload.count - at)
        let failure: StorageError? = snap.payload.withUnsafeBytes { buf in
          do throws(StorageError) {
            try io.writeAll(
              tfd, UnsafeRawBufferPointer(rebasing: buf[at..<(at + n)]),
              at: Int64(w.bytes.count + at))
            if snap.payload.count > piece { try io.dataSync(tfd) }
          } catch { return error }
          return nil
        }
        if let failure { throw failure }
        at += n
      }
      try io.fullSync(tfd)
    } catch {
      io.fs.close(tfd)
      _ = io.fs.unlink(tmp)
      throw error
    }
    io.fs.close(tfd)
    try io.rename(tmp, snapshotPath)
    try io.syncDirectory(containing: snapshotPath)
    // The caller holds the state it encoded; the payload is not kept here (see `snapshot`).
    snapshot.withLock { $0 = nil }
    saveOffsets(through: snap.sequence)
  }

  static let snapshotMagic: [UInt8] = Array("BCSNAP01".utf8)
  static let snapshotHeaderSize = 8 + 4 + 16 + 8 + 8 + 4 + 32 + 8 + 4 + 4

  enum SnapshotRead {
    case none
    case problem(String)
    /// Intact and ours, but the journal no longer holds the frame it covers: it still proves
    /// that records up to `claimed` were once durable.
    /// `pastView` says whether the frame it names lies, wholly or in part, past the end of what
    /// was read (a reader's view may end before a writer's newer frames).
    case stale(String, claimed: UInt64, pastView: Bool)
    case valid(StoredSnapshot, ScanPoint, [UInt8], Int64)
  }

  /// The largest snapshot payload accepted: a snapshot is derived from the journal's records, so
  /// it is never much larger than the journal; anything larger is not read at all.
  static func snapshotLimit(journalSize: Int64) -> Int64 { journalSize + (1 << 20) }

  /// Reads and checks the snapshot file. It is untrusted input: opened without blocking (a FIFO
  /// must not hang the open), accepted only as a regular file, and its declared length is checked
  /// against the file size and ``snapshotLimit(journalSize:)`` before the payload is read.
  static func readSnapshot(
    path: String, io: FileIO, header: FileFormat.Header, salt: FileFormat.UInt32Salt,
    reader: inout WindowReader, journalSize: Int64
  ) -> SnapshotRead {
    let sfd: Int32
    do throws(StorageError) { sfd = try io.open(path, flags: O_RDONLY | O_NONBLOCK) } catch {
      if case .notFound = error { return .none }
      return .problem("snapshot cannot be opened: \(error)")
    }
    defer { io.fs.close(sfd) }
    guard io.fs.isRegularFile(sfd) else {
      return .problem("snapshot is not a regular file; ignored")
    }
    do throws(StorageError) {
      let size = try io.size(sfd)
      guard size >= Int64(snapshotHeaderSize) else { return .problem("snapshot is truncated") }
      let head = try io.read(sfd, count: snapshotHeaderSize, at: 0)
      let declared = head.withUnsafeBytes { b in
        UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 80, as: UInt64.self))
      }
      guard head.count == snapshotHeaderSize, head.prefix(8).elementsEqual(snapshotMagic) else {
        return .problem("not a snapshot file")
      }
      guard declared == UInt64(size - Int64(snapshotHeaderSize)) else {
        return .problem(
          "snapshot is \(size) bytes but its header declares a \(declared)-byte payload")
      }
      guard size <= snapshotLimit(journalSize: journalSize) + Int64(snapshotHeaderSize) else {
        return .problem(
          "snapshot of \(size) bytes is larger than a \(journalSize)-byte journal can produce; ignored"
        )
      }
      let bytes = head + (try io.read(sfd, count: Int(declared), at: Int64(snapshotHeaderSize)))
      return bytes.withUnsafeBytes { buf -> SnapshotRead in
        var r = ByteReader(buf)
        do throws(DecodeError) {
          guard try r.bytes(8) == snapshotMagic, try r.u32() == 1 else {
            return .problem("not a snapshot file")
          }
          guard try r.bytes(16) == header.storeID else {
            return .problem("snapshot belongs to another store")
          }
          let seq = try r.u64()
          let frameOffset = Int64(bitPattern: try r.u64())
          let frameCRC = try r.u32()
          let head = try r.bytes(32)
          let length = try r.u64()
          let payloadCRC = try r.u32()
          let headerCRC = try r.u32()
          guard headerCRC == CRC32C.checksum(bytes[0..<(snapshotHeaderSize - 4)]) else {
            return .problem("snapshot header checksum mismatch")
          }
          guard length == UInt64(r.remaining) else {
            return .problem("snapshot payload is truncated")
          }
          let payload = try r.bytes(Int(length))
          guard CRC32C.checksum(payload) == payloadCRC else {
            return .problem("snapshot payload checksum mismatch")
          }
          // The journal must still hold the frame the snapshot names, unchanged.
          let hs = FileFormat.frameHeaderSize
          guard frameOffset >= Int64(header.framesStart),
            (try? reader.ensure(frameOffset, hs)) == true,
            let h = reader.with(
              frameOffset, hs,
              { b in b.baseAddress.flatMap { FileFormat.FrameHeader.read($0, salt: salt) } }),
            h.sequence == seq, h.headerCRC == frameCRC, h.endOfBatch,
            Int(h.length) > FileFormat.hashSize
          else {
            return .stale(
              "snapshot is stale: the journal does not hold the frame it covers", claimed: seq,
              pastView: frameOffset + Int64(hs) > reader.limit)
          }
          let bodyOffset = frameOffset + Int64(hs)
          guard (try? reader.ensure(bodyOffset, Int(h.length))) == true,
            reader.with(
              bodyOffset, Int(h.length),
              { b in
                CRC32C.update(0, b) == h.bodyCRC
                  && Array(b[(b.count - FileFormat.hashSize)...]) == head
              })
          else {
            return .stale(
              "snapshot is stale: the journal's frame does not match it", claimed: seq,
              pastView: bodyOffset + Int64(h.length) > reader.limit)
          }
          let point = ScanPoint(
            offset: bodyOffset + Int64(h.length), nextSequence: seq + 1, prevCRC: frameCRC)
          return .valid(StoredSnapshot(sequence: seq, payload: payload), point, head, frameOffset)
        } catch {
          return .problem("snapshot does not decode: \(error.reason)")
        }
      }
    } catch {
      return .problem("snapshot cannot be read: \(error)")
    }
  }

  // MARK: Closing

  /// Releases the store; later calls fail with ``StorageError/closed``.
  ///
  /// Waits for a group-commit leader still writing, so the descriptor is never closed (and reused)
  /// under it. A writer that marked the close block dirty marks it clean at the durable end, so the
  /// next open can tell a truncated or zeroed end from a torn write.
  public func close() {
    let wasOpen = writer.withLock { w -> Bool in
      defer { w.closed = true }
      return !w.closed
    }
    guard wasOpen else { return }
    group.shutdown(.closed)
    defer { if let writerKey { OpenWriters.release(writerKey) } }
    // Only the store's last writer marks it clean, holding its lock and current with every
    // other writer's appends; otherwise the block stays dirty, which only relaxes recovery.
    let poisoned = writer.withLock { $0.poisoned != nil }
    if !readOnly, !poisoned {
      commitLock.withLock { _ in
        guard !writer.withLock({ $0.lockHeld }) else { return }
        guard (try? Self.lock(fd, path: path, io: io, timeout: lockTimeout)) != nil else { return }
        let caughtUp: Bool
        do throws(StorageError) {
          try follow.withLock { _ throws(StorageError) in
            try takeAppends(holdingLock: true, closing: true)
          }
          caughtUp = true
        } catch { caughtUp = false }
        if caughtUp {
          writer.withLock { $0.lockHeld = true }
        } else {
          io.fs.unlock(fd)
        }
      }
    }
    let block = writer.withLock { w -> (bytes: [UInt8], offset: Int64)? in
      guard !readOnly, w.lockHeld, w.markedDirty, w.poisoned == nil, w.pending.isEmpty,
        io.fs.isLastWriter(fd)
      else { return nil }
      return closeBlock(&w, clean: true)?.write(version: header.version)
    }
    if let block {
      // Best effort: if this fails the block stays dirty, which only relaxes recovery.
      do throws(StorageError) {
        // The reserved space is cut first, durably: a cleanly closed journal ends exactly at
        // its clean block's end, so that a zeroed or extended end of one is damage, never space.
        let end = writer.withLock { $0.written }
        if try io.size(fd) > end {
          try io.truncate(fd, to: end)
          try io.fullSync(fd)
        }
        try io.writeAll(fd, block.bytes, at: block.offset)
        try io.dataSync(fd)
      } catch {}
    }
    io.fs.close(fd)
  }

  /// The close block for the writer's durable point, or `nil` when that point is unknown (a
  /// version-1 journal, or a write still unsynced).
  /// Takes the next generation for it (version 3 alternates between two copies).
  private func closeBlock(_ w: inout Writer, clean: Bool) -> FileFormat.CloseBlock? {
    guard header.version >= 2 else { return nil }
    var block: FileFormat.CloseBlock
    if w.durable == 0 {
      block = FileFormat.CloseBlock(
        clean: clean, sequence: 0, end: Int64(header.framesStart), frameCRC: headerCRC)
    } else {
      guard let p = w.recent.last(where: { $0.sequence == w.durable }), p.end == w.written
      else { return nil }
      block = FileFormat.CloseBlock(
        clean: clean, sequence: p.sequence, end: p.end, frameCRC: p.headerCRC)
    }
    w.closeGeneration &+= 1
    block.generation = w.closeGeneration
    return block
  }

  deinit { close() }
}

/// The stores this process has open for writing, by their resolved path, so that a second
/// writer in the same process is refused at once instead of waiting for its own lock.
enum OpenWriters {
  // A pthread mutex (``Lock``), which ThreadSanitizer sees, unlike `Synchronization.Mutex`.
  private static let open = Lock<Set<String>>([])

  /// The key of `path`: its resolved form when it exists (links and `..` resolved), else as
  /// given.
  static func key(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// Takes `key`; `false` when this process already has it.
  static func claim(_ key: String) -> Bool { open.withLock { $0.insert(key).inserted } }

  /// Gives `key` back.
  static func release(_ key: String) { _ = open.withLock { $0.remove(key) } }
}
