#if canImport(Glibc)
  import Glibc
#endif

/// The key index's full chunks, each written once, beside the journal (`PATH.keys`), so that a
/// snapshot names them by checksum instead of rewriting every key ever used
/// (`Docs/FileFormat.md`, "The key chunk file").
///
/// Layout: a 64-byte header (`BCKEYS01`, the journal's 16-byte store ID, the chunk size in
/// bytes as u32, zeros, and a CRC32C of the first 60 bytes in the last 4), then chunk `i` at
/// `64 + i × chunk size`. A chunk is trusted only through a snapshot that names its CRC32C; a
/// missing, short or foreign file makes that snapshot unusable (the journal is replayed instead,
/// and the next snapshot writes the file again), never wrong.
final class KeyChunkFile: Sendable {
  static let magic: [UInt8] = Array("BCKEYS01".utf8)
  static let headerSize = 64

  let path: String
  let io: FileIO
  let storeID: [UInt8]
  let readOnly: Bool
  /// How many chunks the file is known to hold intact (proven by a snapshot's checksums, or
  /// written and synced by this process); later ones are written again before being named.
  private let known = Lock<(fd: Int32?, chunks: Int, headerOK: Bool)>((nil, 0, false))

  init(path: String, io: FileIO, storeID: [UInt8], readOnly: Bool) {
    self.path = path
    self.io = io
    self.storeID = storeID
    self.readOnly = readOnly
  }

  deinit {
    if let fd = known.withLock({ $0.fd }) { io.fs.close(fd) }
  }

  private func header() -> [UInt8] {
    var w = ByteWriter(capacity: Self.headerSize)
    w.raw(Self.magic)
    w.raw(storeID)
    w.u32(UInt32(KeyIndex.chunkBytes))
    w.bytes.append(contentsOf: repeatElement(0, count: 60 - w.bytes.count))
    w.u32(CRC32C.checksum(w.bytes))
    return w.bytes
  }

  /// Opens the file for reading (and for writing, in a writer); `nil` when it cannot be.
  private func descriptor(_ k: inout (fd: Int32?, chunks: Int, headerOK: Bool), create: Bool)
    -> Int32?
  {
    if let fd = k.fd { return fd }
    let flags = readOnly ? O_RDONLY | O_NONBLOCK : O_RDWR | O_NONBLOCK | (create ? O_CREAT : 0)
    guard let fd = try? io.open(path, flags: flags, mode: 0o600) else { return nil }
    guard io.fs.isRegularFile(fd) else {
      io.fs.close(fd)
      return nil
    }
    k.fd = fd
    k.headerOK = (try? io.read(fd, count: Self.headerSize, at: 0)) == header()
    return fd
  }

  /// Chunk `i`'s bytes as stored, or `nil` when the file, its header or the chunk is missing.
  /// The caller checks them against the checksum its snapshot names.
  func read(chunk i: Int) -> [UInt8]? {
    known.withLock { k -> [UInt8]? in
      guard let fd = descriptor(&k, create: false), k.headerOK else { return nil }
      let bytes = try? io.read(
        fd, count: KeyIndex.chunkBytes,
        at: Int64(Self.headerSize) + Int64(i) * Int64(KeyIndex.chunkBytes))
      return bytes?.count == KeyIndex.chunkBytes ? bytes : nil
    }
  }

  /// Records that the first `n` chunks were proven intact (by an open that used a snapshot
  /// naming them).
  func proven(_ n: Int) {
    known.withLock { $0.chunks = max($0.chunks, n) }
  }

  /// Makes the file hold the first `index.fullChunks` chunks of `index`, durably: writes those
  /// not known to be there (and the header, if it is not this store's), then `fdatasync`s.
  ///
  /// - Throws: storage errors; the snapshot that would have named the chunks is then not saved.
  func store(_ index: KeyIndex) throws(StorageError) {
    guard !readOnly else { throw StorageError.invalidArgument("the store was opened read-only") }
    let full = index.fullChunks
    try known.withLock { k throws(StorageError) in
      // No full chunk yet: no file at all (most stores never have 32,768 keys).
      guard full > 0, full > k.chunks || !k.headerOK else { return }
      guard let fd = descriptor(&k, create: true) else {
        throw StorageError.io(
          operation: "open \(path)", errno: EIO, detail: "the key chunk file cannot be opened")
      }
      if !k.headerOK {
        try io.writeAll(fd, header(), at: 0)
        k.chunks = 0
      }
      for i in k.chunks..<full {
        try io.writeAll(
          fd, index.chunkBytes(i),
          at: Int64(Self.headerSize) + Int64(i) * Int64(KeyIndex.chunkBytes))
      }
      try io.dataSync(fd)
      k.headerOK = true
      k.chunks = full
    }
  }
}
