import Foundation

/// A fresh directory under the system's temporary folder, removed by ``remove()``.
public struct TempDirectory: Sendable {
  /// The directory's path.
  public let path: String

  /// Creates a uniquely named directory.
  public init(_ label: String = "bankcore") {
    let p = NSTemporaryDirectory() + "\(label)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    try? FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
    path = p
  }

  /// A path inside the directory.
  public func file(_ name: String) -> String { path + "/" + name }

  /// Deletes the directory and everything in it.
  public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The bytes of a file, or an empty array when it cannot be read.
public func fileBytes(_ path: String) -> [UInt8] {
  // Plain POSIX reads: Foundation's Data(contentsOf:) leaks a buffer on an empty file, which
  // LeakSanitizer reports against the tests.
  let fd = open(path, O_RDONLY)
  guard fd >= 0 else { return [] }
  defer { close(fd) }
  var out: [UInt8] = []
  var chunk = [UInt8](repeating: 0, count: 1 << 16)
  while true {
    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    if n <= 0 { break }
    out.append(contentsOf: chunk[0..<n])
  }
  return out
}

/// Overwrites a file with bytes.
public func writeFileBytes(_ path: String, _ bytes: [UInt8]) {
  try? Data(bytes).write(to: URL(fileURLWithPath: path))
}
