import Foundation

/// Paths and process helpers for tests that launch the built executables.
public enum BuiltProducts {
  /// The directory holding the test bundle and the package's executables.
  public static var directory: String {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    // The test runner is either the .xctest bundle itself or a binary inside it.
    while url.path != "/"
      && !FileManager.default.fileExists(
        atPath: url.deletingLastPathComponent().appendingPathComponent("bankctl").path)
      && !FileManager.default.fileExists(
        atPath: url.deletingLastPathComponent().appendingPathComponent("bankcore-testhelper").path)
    {
      url = url.deletingLastPathComponent()
    }
    return url.deletingLastPathComponent().path
  }

  /// The path of a built executable.
  public static func executable(_ name: String) -> String { directory + "/" + name }
}

/// The result of running a process to completion.
public struct ProcessResult: Sendable {
  public let status: Int32
  public let stdout: String
  public let stderr: String
}

/// Makes a write to a pipe whose reader has gone fail with `EPIPE` instead of killing the
/// whole test runner with `SIGPIPE` (a child under test may exit before reading its input).
public func ignoreBrokenPipes() {
  _ = brokenPipesIgnored
}

private let brokenPipesIgnored: Bool = {
  _ = signal(SIGPIPE, SIG_IGN)
  return true
}()

/// Runs an executable with arguments and environment, waiting for it to exit.
public func runProcess(
  _ path: String, _ arguments: [String], environment: [String: String]? = nil, stdin: String? = nil
) throws -> ProcessResult {
  ignoreBrokenPipes()
  let p = Process()
  p.executableURL = URL(fileURLWithPath: path)
  p.arguments = arguments
  if let environment { p.environment = environment }
  let out = Pipe()
  let err = Pipe()
  p.standardOutput = out
  p.standardError = err
  let input = stdin.map { _ in Pipe() }
  p.standardInput = input ?? FileHandle.nullDevice
  try p.run()
  if let input, let stdin {
    // Written whole, then closed: the child sees the end of its input after the last line.
    // A child that exits before reading it all (an early error) is not the runner's failure.
    try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8))
    try? input.fileHandleForWriting.close()
  }
  // Read both pipes concurrently so a chatty child cannot block on a full pipe.
  let group = DispatchGroup()
  nonisolated(unsafe) var errData = Data()
  group.enter()
  DispatchQueue.global().async {
    errData = err.fileHandleForReading.readDataToEndOfFile()
    group.leave()
  }
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  group.wait()
  p.waitUntilExit()
  return ProcessResult(
    status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}
