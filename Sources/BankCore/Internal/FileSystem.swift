#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The raw file operations the append-only backend uses: one thin layer over POSIX.
///
/// Each call returns its result or a negated `errno`, never throws, and does one attempt. The
/// loops on `EINTR` and on short writes live in ``FileIO``, above this layer, so that tests can
/// inject short writes, `ENOSPC` and `EIO` here and watch the rest of the stack cope.
protocol FileSystem: Sendable {
  /// Opens a file; returns a descriptor or `-errno`.
  func open(_ path: String, flags: Int32, mode: UInt32) -> Int32
  func close(_ fd: Int32)
  /// Reads at most `count` bytes at `offset`; returns the count read or `-errno`.
  func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) -> Int
  /// Writes at most `count` bytes at `offset`; returns the count written or `-errno`.
  func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: Int64) -> Int
  /// Returns 0 or `-errno`.
  func fdatasync(_ fd: Int32) -> Int32
  /// Returns 0 or `-errno`.
  func fsync(_ fd: Int32) -> Int32
  /// Returns 0 or `-errno`.
  func ftruncate(_ fd: Int32, _ length: Int64) -> Int32
  /// Returns the size or `-errno`.
  func size(_ fd: Int32) -> Int64
  /// Reserves `[offset, offset + length)` for writes to come (`posix_fallocate`: allocated,
  /// reading as zeros, the file's size extended to cover it). Returns 0 or `-errno` (`-ENOSPC`,
  /// `-EOPNOTSUPP`, …): a failure leaves the file's contents as they were.
  func reserve(_ fd: Int32, offset: Int64, length: Int64) -> Int32
  /// Returns 0 or `-errno`.
  func rename(_ from: String, _ to: String) -> Int32
  /// Returns 0 or `-errno`.
  func unlink(_ path: String) -> Int32
  /// Non-blocking exclusive lock; returns 0, `-EWOULDBLOCK` or another `-errno`.
  func tryLock(_ fd: Int32) -> Int32
  /// Whether a path names a directory.
  func isDirectory(_ path: String) -> Bool
  /// Whether an open descriptor is a regular file (not a FIFO, device, socket or directory).
  func isRegularFile(_ fd: Int32) -> Bool
  /// Drops the file's clean pages from the page cache, so the next read comes from the disk and not
  /// from a cached copy of a write whose sync failed (`posix_fadvise(POSIX_FADV_DONTNEED)`).
  func evictCache(_ fd: Int32)
  /// Drops the clean cached pages of a byte range (`posix_fadvise(POSIX_FADV_DONTNEED)`): a hint
  /// that the range will not be read soon. Dirty pages are kept by the kernel.
  func dropCache(_ fd: Int32, offset: Int64, length: Int64)
  /// Moves a descriptor to 3 or above (closing the low one), so a store file is never held on
  /// standard input, output or error where a stray `write(2, …)` would overwrite it.
  func moveAboveStandardDescriptors(_ fd: Int32) -> Int32
  /// Opens a file for reads that bypass the page cache (`O_DIRECT`): they return what the disk
  /// holds. Returns a descriptor or `-errno` (`-EINVAL` where the file system has no such reads,
  /// as tmpfs, whose page cache is its only storage).
  func openDirect(_ path: String) -> Int32
  /// Whether the file system holding a descriptor is mounted read-only.
  func isReadOnlyMount(_ fd: Int32) -> Bool
  /// Releases the lock ``tryLock(_:)`` took (`flock(LOCK_UN)`).
  func unlock(_ fd: Int32)
  /// Says that this descriptor's process has the store open for writing: a shared record lock
  /// on the journal's first byte (an open-file-description lock, independent of `flock`), held
  /// until the descriptor closes. Returns 0, `-EAGAIN` while another writer is closing, or another
  /// `-errno`.
  func tryAnnounceWriter(_ fd: Int32) -> Int32
  /// Whether no other descriptor announces a writer: the shared lock of
  /// ``tryAnnounceWriter(_:)`` is upgraded to an exclusive one, which only the last writer gets.
  func isLastWriter(_ fd: Int32) -> Bool
  /// Says (`waiting`) or stops saying that this descriptor waits for the commit lock: a shared
  /// OFD record lock on the journal's second byte, held while it waits.
  func markWaiting(_ fd: Int32, _ waiting: Bool)
  /// Whether another descriptor says it waits for the commit lock (`F_OFD_GETLK` on the second
  /// byte): a writer that has held the lock through back-to-back groups lets it go only then.
  func othersWaiting(_ fd: Int32) -> Bool
}

extension FileSystem {
  func isRegularFile(_ fd: Int32) -> Bool { true }
  func reserve(_ fd: Int32, offset: Int64, length: Int64) -> Int32 { -EOPNOTSUPP }
  func evictCache(_ fd: Int32) {}
  func dropCache(_ fd: Int32, offset: Int64, length: Int64) {}
  func moveAboveStandardDescriptors(_ fd: Int32) -> Int32 { fd }
  func openDirect(_ path: String) -> Int32 { -EINVAL }
  func isReadOnlyMount(_ fd: Int32) -> Bool { false }
  func unlock(_ fd: Int32) {}
  func tryAnnounceWriter(_ fd: Int32) -> Int32 { 0 }
  func isLastWriter(_ fd: Int32) -> Bool { true }
  func markWaiting(_ fd: Int32, _ waiting: Bool) {}
  func othersWaiting(_ fd: Int32) -> Bool { true }
}

/// The real operating system.
struct POSIXFileSystem: FileSystem {
  func open(_ path: String, flags: Int32, mode: UInt32) -> Int32 {
    let fd = Glibc.open(path, flags | O_CLOEXEC, mode_t(mode))
    return fd >= 0 ? fd : -errno
  }
  // Never retried: after close returns, the descriptor is gone whatever it reported.
  func close(_ fd: Int32) { _ = Glibc.close(fd) }
  func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64) -> Int {
    let n = Glibc.pread(fd, buffer, count, off_t(offset))
    return n >= 0 ? n : -Int(errno)
  }
  func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: Int64) -> Int {
    let n = Glibc.pwrite(fd, buffer, count, off_t(offset))
    return n >= 0 ? n : -Int(errno)
  }
  func fdatasync(_ fd: Int32) -> Int32 { Glibc.fdatasync(fd) == 0 ? 0 : -errno }
  func fsync(_ fd: Int32) -> Int32 { Glibc.fsync(fd) == 0 ? 0 : -errno }
  func ftruncate(_ fd: Int32, _ length: Int64) -> Int32 {
    Glibc.ftruncate(fd, off_t(length)) == 0 ? 0 : -errno
  }
  func size(_ fd: Int32) -> Int64 {
    var st = stat()
    return fstat(fd, &st) == 0 ? Int64(st.st_size) : Int64(-errno)
  }
  func reserve(_ fd: Int32, offset: Int64, length: Int64) -> Int32 {
    // `posix_fallocate` returns the error number itself; `EINTR` is retried.
    var r: Int32
    repeat { r = posix_fallocate(fd, off_t(offset), off_t(length)) } while r == EINTR
    return -r
  }
  func rename(_ from: String, _ to: String) -> Int32 { Glibc.rename(from, to) == 0 ? 0 : -errno }
  func unlink(_ path: String) -> Int32 { Glibc.unlink(path) == 0 ? 0 : -errno }
  func tryLock(_ fd: Int32) -> Int32 { flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : -errno }
  func unlock(_ fd: Int32) { _ = flock(fd, LOCK_UN) }
  func tryAnnounceWriter(_ fd: Int32) -> Int32 { Self.recordLock(fd, type: F_RDLCK) }
  func isLastWriter(_ fd: Int32) -> Bool { Self.recordLock(fd, type: F_WRLCK) == 0 }
  func markWaiting(_ fd: Int32, _ waiting: Bool) {
    _ = Self.recordLock(fd, type: waiting ? F_RDLCK : F_UNLCK, byte: 1)
  }
  func othersWaiting(_ fd: Int32) -> Bool {
    var l = Glibc.flock()
    l.l_type = Int16(F_WRLCK)
    l.l_whence = Int16(SEEK_SET)
    l.l_start = 1
    l.l_len = 1
    let getOFDLock: Int32 = 36  // F_OFD_GETLK
    // When the question cannot be asked, assume someone waits: letting go costs 3 ms.
    guard fcntl(fd, getOFDLock, &l) == 0 else { return true }
    return l.l_type != Int16(F_UNLCK)
  }

  /// `F_OFD_SETLK` (Linux's open-file-description record locks, which `flock` does not see and
  /// which belong to the descriptor, not the process) on one byte of the journal.
  private static func recordLock(_ fd: Int32, type: Int32, byte: Int = 0) -> Int32 {
    var l = Glibc.flock()
    l.l_type = Int16(type)
    l.l_whence = Int16(SEEK_SET)
    l.l_start = byte
    l.l_len = 1
    let setOFDLock: Int32 = 37  // F_OFD_SETLK
    while true {
      if fcntl(fd, setOFDLock, &l) == 0 { return 0 }
      if errno != EINTR { return -errno }
    }
  }
  func isDirectory(_ path: String) -> Bool {
    var st = stat()
    return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
  }
  func isRegularFile(_ fd: Int32) -> Bool {
    var st = stat()
    return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
  }
  func evictCache(_ fd: Int32) { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) }
  func dropCache(_ fd: Int32, offset: Int64, length: Int64) {
    _ = posix_fadvise(fd, off_t(offset), off_t(length), POSIX_FADV_DONTNEED)
  }
  func isReadOnlyMount(_ fd: Int32) -> Bool {
    var s = statvfs()
    return fstatvfs(fd, &s) == 0 && s.f_flag & UInt(ST_RDONLY) != 0
  }
  func openDirect(_ path: String) -> Int32 {
    // Glibc's Swift module does not export O_DIRECT (it needs _GNU_SOURCE); its value is part of
    // each architecture's kernel ABI.
    #if arch(x86_64) || arch(i386)
      let direct: Int32 = 0o40000
    #elseif arch(arm64) || arch(arm)
      let direct: Int32 = 0o200000
    #else
      return -EINVAL
    #endif
    let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | direct)
    return fd >= 0 ? moveAboveStandardDescriptors(fd) : -errno
  }
  func moveAboveStandardDescriptors(_ fd: Int32) -> Int32 {
    guard fd >= 0, fd <= 2 else { return fd }
    let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
    Glibc.close(fd)
    return moved >= 0 ? moved : -errno
  }
}

/// The discipline above the raw layer: retry on `EINTR`, loop over short reads and writes, turn
/// failures into ``StorageError``. `fsync` is never retried after a failure: after an error the
/// kernel may have dropped the dirty pages, so a retry that succeeds would lie (PostgreSQL, 2018).
struct FileIO: Sendable {
  let fs: any FileSystem

  func open(_ path: String, flags: Int32, mode: UInt32 = 0o600) throws(StorageError) -> Int32 {
    while true {
      var fd = fs.open(path, flags: flags, mode: mode)
      if fd >= 0 { fd = fs.moveAboveStandardDescriptors(fd) }
      if fd >= 0 { return fd }
      if fd == -EINTR { continue }
      if fd == -ENOENT { throw StorageError.notFound(path: path) }
      throw StorageError.io(operation: "open \(path)", errno: -fd, detail: Self.describe(-fd))
    }
  }

  func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int64)
    throws(StorageError)
  {
    guard let base = buffer.baseAddress else { return }
    var done = 0
    while done < buffer.count {
      let n = fs.pwrite(fd, base + done, buffer.count - done, offset + Int64(done))
      if n == -Int(EINTR) { continue }
      if n < 0 {
        throw StorageError.io(
          operation: "write", errno: Int32(-n), detail: Self.describe(Int32(-n)))
      }
      if n == 0 { throw StorageError.io(operation: "write", errno: EIO, detail: "wrote no bytes") }
      done += n
    }
  }

  func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64) throws(StorageError) {
    let r: StorageError? = bytes.withUnsafeBytes { buf in
      do throws(StorageError) { try writeAll(fd, buf, at: offset) } catch { return error }
      return nil
    }
    if let r { throw r }
  }

  /// Reads up to `count` bytes at `offset`; fewer only at end of file.
  func read(_ fd: Int32, count: Int, at offset: Int64) throws(StorageError) -> [UInt8] {
    // Nothing to read: an array made with no capacity is the shared empty one, whose count the
    // initializer below would write (a data race with every other thread doing the same).
    guard count > 0 else { return [] }
    // Not zero-filled first: every byte kept is one `pread` wrote (a replay reads 4 MiB at a time).
    var done = 0
    var err: StorageError?
    let out = [UInt8](unsafeUninitializedCapacity: count) { buf, initialized in
      defer { initialized = done }
      guard let base = buf.baseAddress else { return }
      err = Self.readLoop(fs, fd, UnsafeMutableRawPointer(base), count, offset, &done, "read")
    }
    if let err { throw err }
    return out
  }

  /// `pread`s until `count` bytes are in or the file ends, retrying `EINTR`; `done` counts them.
  private static func readLoop(
    _ fs: any FileSystem, _ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int,
    _ offset: Int64, _ done: inout Int, _ operation: String
  ) -> StorageError? {
    while done < count {
      let n = fs.pread(fd, base + done, count - done, offset + Int64(done))
      if n == -Int(EINTR) { continue }
      if n < 0 {
        return StorageError.io(
          operation: operation, errno: Int32(-n), detail: Self.describe(Int32(-n)))
      }
      if n == 0 { break }
      done += n
    }
    return nil
  }

  /// Reads like ``read(_:count:at:)`` through a descriptor from ``FileSystem/openDirect(_:)``:
  /// the transfer is widened to whole 4 KiB blocks into an aligned buffer, as `O_DIRECT` needs.
  func readDirect(_ fd: Int32, count: Int, at offset: Int64) throws(StorageError) -> [UInt8] {
    let block: Int64 = 4096
    let start = offset & ~(block - 1)
    let end = (offset + Int64(count) + block - 1) & ~(block - 1)
    let span = Int(end - start)
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: span, alignment: Int(block))
    defer { buffer.deallocate() }
    var done = 0
    // Every `pread` through `O_DIRECT` must be aligned in offset, length and buffer. A short read
    // that ends off a block boundary is the end of the file as of that read (a writer may be
    // extending it): stop there rather than retry at an unaligned offset (`EINVAL`). A short read
    // that ends on a boundary may go on, still aligned.
    while done < span {
      let n = fs.pread(fd, buffer + done, span - done, start + Int64(done))
      if n == -Int(EINTR) { continue }
      if n < 0 {
        throw StorageError.io(
          operation: "read (direct)", errno: Int32(-n), detail: Self.describe(Int32(-n)))
      }
      if n == 0 { break }
      done += n
      if done % Int(block) != 0 { break }
    }
    let skip = Int(offset - start)
    guard done > skip else { return [] }
    let have = min(count, done - skip)
    return Array(UnsafeRawBufferPointer(start: buffer + skip, count: have))
  }

  func dataSync(_ fd: Int32) throws(StorageError) {
    let r = fs.fdatasync(fd)
    if r != 0 {
      throw StorageError.io(operation: "fdatasync", errno: -r, detail: Self.describe(-r))
    }
  }

  func fullSync(_ fd: Int32) throws(StorageError) {
    let r = fs.fsync(fd)
    if r != 0 { throw StorageError.io(operation: "fsync", errno: -r, detail: Self.describe(-r)) }
  }

  func truncate(_ fd: Int32, to length: Int64) throws(StorageError) {
    var r: Int32
    repeat { r = fs.ftruncate(fd, length) } while r == -EINTR
    if r != 0 {
      throw StorageError.io(operation: "ftruncate", errno: -r, detail: Self.describe(-r))
    }
  }

  func size(_ fd: Int32) throws(StorageError) -> Int64 {
    let s = fs.size(fd)
    if s < 0 {
      throw StorageError.io(operation: "fstat", errno: Int32(-s), detail: Self.describe(Int32(-s)))
    }
    return s
  }

  /// Makes a create, rename or unlink in a directory durable.
  func syncDirectory(containing path: String) throws(StorageError) {
    let dir = Self.directory(of: path)
    let fd = try open(dir, flags: O_RDONLY | O_DIRECTORY)
    defer { fs.close(fd) }
    try fullSync(fd)
  }

  func rename(_ from: String, _ to: String) throws(StorageError) {
    let r = fs.rename(from, to)
    if r != 0 { throw StorageError.io(operation: "rename", errno: -r, detail: Self.describe(-r)) }
  }

  static func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    let d = String(path[..<slash])
    return d.isEmpty ? "/" : d
  }

  static func describe(_ code: Int32) -> String {
    guard let s = strerror(code) else { return "error \(code)" }
    return String(cString: s)
  }
}
