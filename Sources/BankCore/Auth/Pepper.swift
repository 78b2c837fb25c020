#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The 32-byte secret that keys every PIN code (``PINHasher``), kept outside the journal.
///
/// It lives in a key file beside the store (`STORE.key`, mode 0600) or is supplied by the
/// embedding application. Losing it means every PIN must be set again; copying it with the store
/// lets whoever holds both search PINs offline, so back them up separately.
struct Pepper: Sendable, Equatable {
  /// The pepper's length in bytes.
  static let length = 32

  /// The secret. Never log, print or journal it.
  let bytes: [UInt8]

  /// Wraps a pepper the embedding application supplies.
  ///
  /// - Throws: `invalid_argument` unless it is exactly 32 bytes.
  init(bytes: [UInt8]) throws(BankError) {
    guard bytes.count == Self.length else {
      throw BankError(
        .invalidArgument, "a pepper must be exactly \(Self.length) bytes, not \(bytes.count)")
    }
    self.bytes = bytes
  }

  /// The key file's path for a store: the store's path with `.key` appended.
  static func keyPath(forStore storePath: String) -> String { storePath + ".key" }

  /// Reads the pepper from a key file that must be a regular file (not a link, FIFO or device)
  /// of exactly 32 bytes, readable by its owner only.
  ///
  /// - Throws: `io_error` saying whether the file is missing, unreadable, of the wrong kind or
  ///   size, or open to other users, and what that means for PINs.
  static func load(from path: String) throws(BankError) -> Pepper {
    let fd = retrying { open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
    if fd < 0 {
      let e = errno
      if e == ENOENT {
        throw BankError(
          .ioError,
          "key file \(path) is missing: PINs cannot be checked or set until it is restored (a new key means every PIN must be set again)"
        )
      }
      if e == ELOOP {
        throw BankError(.ioError, "key file \(path) is a symbolic link; refusing to follow it")
      }
      throw BankError(.ioError, "key file \(path) cannot be opened (errno \(e)): \(describe(e))")
    }
    defer { _ = close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      let e = errno
      throw BankError(.ioError, "key file \(path) cannot be examined (errno \(e)): \(describe(e))")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      throw BankError(.ioError, "key file \(path) is not a regular file")
    }
    guard info.st_size == Self.length else {
      throw BankError(
        .ioError,
        "key file \(path) is \(info.st_size) bytes; a key file holds exactly \(Self.length)")
    }
    guard (info.st_mode & 0o077) == 0 else {
      throw BankError(
        .ioError,
        "key file \(path) is accessible to other users (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 on it"
      )
    }
    var buffer = [UInt8](repeating: 0, count: Self.length)
    var done = 0
    while done < Self.length {
      let n = buffer.withUnsafeMutableBytes { raw in
        retrying { read(fd, raw.baseAddress.map { $0 + done }, Self.length - done) }
      }
      if n < 0 {
        let e = errno
        throw BankError(.ioError, "key file \(path) cannot be read (errno \(e)): \(describe(e))")
      }
      if n == 0 {
        throw BankError(.ioError, "key file \(path) ended early; a key file holds exactly 32 bytes")
      }
      done += n
    }
    return try Pepper(bytes: buffer)
  }

  /// Creates a new key file holding 32 bytes from `generator`, with mode 0600, and syncs it and
  /// its directory so that a crash cannot leave a store whose PINs were set with a lost key.
  ///
  /// - Throws: `io_error` if the file already exists or cannot be written.
  static func create(
    at path: String, using generator: inout some RandomNumberGenerator
  ) throws(BankError) -> Pepper {
    let pepper = try Pepper(bytes: RandomBytes.generate(count: Self.length, using: &generator))
    let fd = retrying { open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
    if fd < 0 {
      let e = errno
      throw BankError(
        .ioError, "key file \(path) cannot be created (errno \(e)): \(describe(e))")
    }
    var failure: Int32 = 0
    var done = 0
    while done < Self.length && failure == 0 {
      let n = pepper.bytes.withUnsafeBytes { raw in
        retrying { write(fd, raw.baseAddress.map { $0 + done }, Self.length - done) }
      }
      if n <= 0 { failure = n < 0 ? errno : EIO } else { done += n }
    }
    if failure == 0 && fsync(fd) != 0 { failure = errno }
    _ = close(fd)
    if failure != 0 {
      _ = unlink(path)
      throw BankError(
        .ioError, "key file \(path) cannot be written (errno \(failure)): \(describe(failure))")
    }
    syncDirectory(of: path)
    return pepper
  }

  /// Creates a new key file with the system's secure generator.
  ///
  /// - Throws: `io_error` if the file already exists or cannot be written.
  static func create(at path: String) throws(BankError) -> Pepper {
    var system = SystemRandomNumberGenerator()
    return try create(at: path, using: &system)
  }

  /// Loads the key file, creating it first if it does not exist.
  ///
  /// - Throws: `io_error` as ``load(from:)`` and ``create(at:using:)`` do.
  static func loadOrCreate(
    at path: String, using generator: inout some RandomNumberGenerator
  ) throws(BankError) -> Pepper {
    var info = stat()
    if lstat(path, &info) != 0 && errno == ENOENT {
      return try create(at: path, using: &generator)
    }
    return try load(from: path)
  }

  private static func syncDirectory(of path: String) {
    let directory: String
    if let slash = path.lastIndex(of: "/") {
      directory = slash == path.startIndex ? "/" : String(path[..<slash])
    } else {
      directory = "."
    }
    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
      _ = fsync(fd)
      _ = close(fd)
    }
  }

  private static func retrying<T: BinaryInteger>(_ call: () -> T) -> T {
    while true {
      let r = call()
      if r >= 0 || errno != EINTR { return r }
    }
  }

  private static func describe(_ e: Int32) -> String { String(cString: strerror(e)) }
}
