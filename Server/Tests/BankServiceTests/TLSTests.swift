import BankCore
import Foundation
import Testing

/// Runs a program and returns its exit status and standard output.
func run(_ program: String, _ arguments: [String]) throws -> (Int32, String) {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: program)
  p.arguments = arguments
  let out = Pipe()
  p.standardOutput = out
  p.standardError = FileHandle.nullDevice
  try p.run()
  let data = out.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

extension ServerTests {
  static let haveTLSTools =
    FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl")

  @Test(.enabled(if: haveTLSTools, "needs /usr/bin/openssl and /usr/bin/curl"))
  func httpsWithAPEMPair() async throws {
    let dir = NSTemporaryDirectory() + "bankd-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (made, _) = try run(
      "/usr/bin/openssl",
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem", "-out",
        dir + "/cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1",
      ])
    #expect(made == 0)
    let s = try RunningServer(arguments: [
      "--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem",
    ])
    #expect(s.base.scheme == "https")
    let port = try #require(s.base.port)
    let (ok, body) = try run(
      "/usr/bin/curl", ["-sk", "--cacert", dir + "/cert.pem", "https://127.0.0.1:\(port)/healthz"])
    #expect(ok == 0 && body.contains("\"ok\":true"), "\(body)")
    // Plain HTTP to the TLS port gets no answer.
    let (plain, answer) = try run(
      "/usr/bin/curl", ["-s", "-m", "3", "http://127.0.0.1:\(port)/healthz"])
    #expect(plain != 0 || !answer.contains("\"ok\":true"))
    #expect(s.stop() == 0)
    // A missing key file is refused before anything is served (exit 66).
    let bad = Process()
    bad.executableURL = s.process.executableURL
    bad.arguments = [
      "--store", dir + "/other.journal", "--port", "0", "--event-port", "0", "--tls-cert",
      dir + "/cert.pem", "--tls-key", dir + "/missing.pem",
    ]
    bad.standardOutput = FileHandle.nullDevice
    bad.standardError = FileHandle.nullDevice
    try bad.run()
    bad.waitUntilExit()
    #expect(bad.terminationStatus == 66)
    #expect(!FileManager.default.fileExists(atPath: dir + "/other.journal"))
  }
}
