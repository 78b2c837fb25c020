#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A write to standard output or standard error that the operating system refused.
struct WriteFailure: Error, Equatable {
  /// The `errno` of the failed `write(2)`: typically `EPIPE`, `ENOSPC`, `EBADF` or `EIO`.
  let errno: Int32

  /// The system's description, for example "No space left on device".
  var reason: String { String(cString: strerror(errno)) }
}

/// A file descriptor that text is written to with plain `write(2)`.
///
/// Every byte goes through one loop that retries on `EINTR` and continues after short writes, as
/// swift-system's shim does. A failure is remembered, never trapped: `FileHandle.write` raises an
/// Objective-C style exception on `EPIPE` or `ENOSPC` that Swift turns into a crash, and a crash
/// after a committed deposit tells a script nothing about whether the money moved.
/// After the first failure the writer drops further output, so a closed pipe costs nothing.
final class FileDescriptorWriter {
  let fd: Int32
  private(set) var failure: WriteFailure?

  init(fd: Int32) { self.fd = fd }

  /// Writes every byte of `text`, or records why not.
  ///
  /// - Returns: false once any write on this descriptor has failed.
  @discardableResult
  func write(_ text: String) -> Bool {
    guard failure == nil else { return false }
    var text = text
    text.withUTF8 { buffer in
      var offset = 0
      while offset < buffer.count {
        let n = Self.rawWrite(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
        if n > 0 {
          offset += n
        } else if n < 0 && errno == EINTR {
          continue
        } else {
          // write(2) returning 0 for a non-empty buffer makes no progress; treat it as an I/O error.
          failure = WriteFailure(errno: n == 0 ? EIO : errno)
          return
        }
      }
    }
    return failure == nil
  }

  private static func rawWrite(_ fd: Int32, _ base: UnsafePointer<UInt8>?, _ count: Int) -> Int {
    #if canImport(Darwin)
      return Darwin.write(fd, base, count)
    #elseif canImport(Glibc)
      return Glibc.write(fd, base, count)
    #else
      return Musl.write(fd, base, count)
    #endif
  }
}

/// What the process does before anything else, so that output failures are reported, not fatal.
enum ProcessSetup {
  /// Ignores `SIGPIPE` (a closed pipe becomes `EPIPE` from `write(2)`, reported with exit 74)
  /// and `SIGXFSZ` (a write past `ulimit -f` becomes `EFBIG`, reported with exit 74 and the store
  /// intact, instead of killing the process), and puts `/dev/null` on any of descriptors 0, 1 and 2 that is closed.
  ///
  /// The invariant this protects: the store is never opened as descriptor 1 or 2. Otherwise our
  /// own output, or a crash banner from the runtime, would be written over the journal (SQLite
  /// guards against the same thing). Descriptors 1 and 2 get `/dev/null` opened *read-only*, so
  /// the slot is taken but a write still fails with `EBADF`, exactly as it would have on the
  /// closed descriptor: a caller that closed stdout still learns (exit 74) that the result was
  /// not printed.
  static func prepareStandardDescriptors() {
    _ = signal(SIGPIPE, SIG_IGN)
    _ = signal(SIGXFSZ, SIG_IGN)
    for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
      let opened = open("/dev/null", O_RDONLY)
      if opened >= 0 && opened != fd {
        // Only possible if a lower descriptor was closed meanwhile; keep the slot anyway.
        _ = dup2(opened, fd)
        _ = close(opened)
      }
    }
  }
}
