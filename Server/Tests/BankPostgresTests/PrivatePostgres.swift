import Foundation

/// A private PostgreSQL server for one test suite (`Tools/pg_private.sh`): initdb in a
/// temporary folder, an unprivileged user, a free port on loopback; stopped at the end. Nothing
/// uses a server that was already running.
final class PrivatePostgres: @unchecked Sendable {
  let dir: String
  let port: Int
  let url: String
  static let script = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Tools/pg_private.sh").path

  init() throws {
    dir = NSTemporaryDirectory() + "bankpg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    port = Self.freePort()
    url = try Self.run(["start", dir, String(port)]).trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// A URL naming another database on the server, created empty.
  func database(_ name: String) throws -> String {
    _ = try Self.run(
      ["sql", dir, String(port), "DROP DATABASE IF EXISTS \(name)", "CREATE DATABASE \(name)"])
    return "postgres://bank@127.0.0.1:\(port)/\(name)"
  }

  /// Runs SQL statements on `database` and returns what psql printed.
  func sql(_ database: String, _ statements: String...) throws -> String {
    try Self.run(["psql", dir, String(port), database] + statements)
  }

  func restart() throws { _ = try Self.run(["restart", dir]) }

  func stop() {
    _ = try? Self.run(["stop", dir])
    try? FileManager.default.removeItem(atPath: dir)
  }

  @discardableResult
  static func run(_ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = [script] + args
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
      throw NSError(
        domain: "PrivatePostgres", code: Int(p.terminationStatus),
        userInfo: [
          NSLocalizedDescriptionKey: "pg_private.sh \(args.first ?? ""): "
            + String(decoding: errors, as: UTF8.self)
        ])
    }
    return String(decoding: data, as: UTF8.self)
  }

  static func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
    }
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
  }
}
