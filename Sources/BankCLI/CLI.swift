import BankCore
import Foundation

/// Where a command writes: standard output and standard error, injectable for tests.
///
/// In direct mode both streams go through ``FileDescriptorWriter`` (plain `write(2)`), so a full
/// disk, a closed pipe or a closed descriptor is recorded in ``outputFailure`` instead of
/// crashing the process after its work was committed. Otherwise the text is kept in ``out`` and
/// ``err``.
final class Console {
  private(set) var out = ""
  private(set) var err = ""
  let direct: Bool
  private let stdout: FileDescriptorWriter?
  private let stderr: FileDescriptorWriter?

  /// Writes to descriptors 1 and 2 when `direct`, else captures the text.
  convenience init(direct: Bool) {
    if direct { self.init(outputFD: 1, errorFD: 2) } else { self.init(capturing: ()) }
  }

  /// Writes to the given descriptors (tests use this to aim stdout at `/dev/full`).
  init(outputFD: Int32, errorFD: Int32) {
    direct = true
    stdout = FileDescriptorWriter(fd: outputFD)
    stderr = FileDescriptorWriter(fd: errorFD)
  }

  private init(capturing: Void) {
    direct = false
    stdout = nil
    stderr = nil
  }

  /// The first failed write to standard output, if any: the result was not (fully) printed.
  var outputFailure: WriteFailure? { stdout?.failure }

  /// True when standard error is a terminal, so that progress lines may be shown on it.
  var errorIsTerminal: Bool { stderr.map { isatty($0.fd) == 1 } ?? false }

  /// Writes `s` as is to standard output.
  func write(_ s: String) {
    if let stdout { stdout.write(s) } else { out += s }
  }

  /// Writes `s` and a newline to standard output.
  func print(_ s: String) { write(s + "\n") }

  /// Writes `s` and a newline to standard error.
  func error(_ s: String) { progress(s + "\n") }

  /// Writes `s` as is to standard error (a progress line ends in `\r`, not a newline).
  func progress(_ s: String) {
    if let stderr { stderr.write(s) } else { err += s }
  }
}

/// The version `--version` prints.
let bankctlVersion = "bankctl 0.1.0 (BankCore journal format \(FileStorage.formatVersion))"

/// Exit codes of DESIGN.md section 4.
enum ExitCode {
  static let ok: Int32 = 0
  static let refused: Int32 = 1
  static let usage: Int32 = 64
  static let corrupt: Int32 = 65
  static let io: Int32 = 74
  static let locked: Int32 = 75

  static func of(_ e: BankError) -> Int32 {
    if e.isRuleViolation { return refused }
    switch e.code {
    case .storeCorrupt: return corrupt
    case .ioError, .storeNotFound: return io
    case .storeLocked: return locked
    default: return usage
    }
  }

}

/// `bankctl` as a library: every command, reached through a ``StoreOpener``.
///
/// The `bankctl` executable is ``main(opener:)`` with a ``FileStoreOpener``; another backend
/// runs the same commands, with the same output, exit codes and messages, by passing its own.
public enum BankCLI {
  /// The exit code bankctl gives `error` (Docs/CLI.md): 1 refused, 64 usage or invalid input,
  /// 65 damaged store, 74 I/O, 75 locked. For front ends with commands of their own
  /// (`bankctl-pg journal import`), so that they exit as bankctl does.
  public static func exitCode(for error: BankError) -> Int32 { ExitCode.of(error) }

  /// Runs one command line (without the program name) on the process's standard descriptors and
  /// returns the exit code (DESIGN.md section 4).
  ///
  /// - Parameters:
  ///   - opener: makes the opener of the store `--store` (or `$BANKCTL_STORE`, else
  ///     `bank.journal`) names.
  public static func run(
    _ arguments: [String], environment: [String: String],
    opener: (String) -> any StoreOpener
  ) -> Int32 {
    runOnStandardDescriptors(arguments, environment: environment, opener: opener, notUTF8: nil)
  }

  /// Runs one command line with its output captured in `console` (tests).
  static func run(
    _ arguments: [String], environment: [String: String], console: Console,
    opener: (String) -> any StoreOpener, input: SecretInput = SecretInput(),
    authConfiguration: AuthConfiguration = .init()
  ) -> Int32 {
    runCommandLine(
      arguments, environment: environment, console: console, opener: opener, input: input,
      authConfiguration: authConfiguration)
  }

  /// Runs the process's command line and exits with its code: the whole of a `main.swift`.
  ///
  /// Ignores `SIGPIPE` and `SIGXFSZ` (failed writes become exit 74), makes sure descriptors 0 to
  /// 2 are open, and refuses an argument that is not valid UTF-8 as a usage error.
  public static func main(opener: (String) -> any StoreOpener) -> Never {
    ProcessSetup.prepareStandardDescriptors()
    // `CommandLine.arguments` decodes with replacement characters; the raw bytes say whether
    // each argument really is UTF-8.
    let notUTF8 = (1..<max(1, Int(CommandLine.argc))).first { i in
      guard let p = CommandLine.unsafeArgv[i] else { return false }
      let bytes = UnsafeBufferPointer(
        start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p))
      return String(validating: bytes, as: UTF8.self) == nil
    }
    exit(
      runOnStandardDescriptors(
        Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment,
        opener: opener, notUTF8: notUTF8))
  }
}

private func runOnStandardDescriptors(
  _ arguments: [String], environment: [String: String], opener: (String) -> any StoreOpener,
  notUTF8: Int?
) -> Int32 {
  runCommandLine(
    arguments, environment: environment, console: Console(direct: true), opener: opener,
    notUTF8: notUTF8)
}

/// Runs bankctl with `arguments` (without the program name) and returns the exit code.
///
/// Output goes to the console; the store is chosen from `--store`, then `BANKCTL_STORE` in
/// `environment`, then `./bank.journal`. When standard output cannot be written the exit code is
/// 74 even though the command's effect, if any, is committed and durable (Docs/CLI.md).
func runCommandLine(
  _ arguments: [String], environment: [String: String], console: Console,
  opener makeOpener: (String) -> any StoreOpener = { FileStoreOpener(path: $0) },
  input: SecretInput = SecretInput(), authConfiguration: AuthConfiguration = .init(),
  notUTF8: Int? = nil
) -> Int32 {
  let early = ArgumentParser.early(arguments)
  if let notUTF8 {
    // Decoded with replacement characters, two different names (or memos) would be one.
    return usageFailure(
      UsageError(message: "argument \(notUTF8) is not valid UTF-8", command: nil),
      json: early.json, console: console)
  }
  // Help and version win wherever they appear, whatever else is on the line.
  if early.help || early.version {
    if early.help {
      console.print(early.topic.map(Help.command) ?? Help.overview)
    } else {
      console.print(bankctlVersion)
    }
    return finish(ExitCode.ok, json: early.json, console: console)
  }
  var parsed: ParsedArguments
  do {
    parsed = try ArgumentParser.parse(arguments)
  } catch {
    return usageFailure(error, json: early.json, console: console)
  }
  if let text = parsed.nowText {
    do throws(BankError) { parsed.now = try Instant(rfc3339: text) } catch {
      // A malformed value is a usage error (Docs/CLI.md); a well-formed time earlier than the
      // store's newest record is `invalid_argument`, found once the store is open.
      reportError(
        code: "usage", message: "invalid --now: \(error.message)", json: parsed.json,
        console: console)
      return ExitCode.usage
    }
  }
  if parsed.command == nil {
    return usageFailure(
      UsageError(message: "missing command", command: nil), json: parsed.json, console: console,
      overview: true)
  }
  guard let command = parsed.command, let spec = Commands.named(command) else {
    return ExitCode.usage
  }
  if command == "help" {
    var parsed = parsed
    if parsed.positionals.count == 2, Commands.groups[parsed.positionals[0]] != nil {
      parsed.positionals = [parsed.positionals.joined(separator: " ")]
    }
    guard parsed.positionals.count <= 1 else {
      return usageFailure(
        UsageError(
          message: "unexpected argument '\(Validate.escaped(parsed.positionals[1]))'",
          command: command), json: parsed.json, console: console)
    }
    let topic = parsed.positionals.first
    if let t = topic, Commands.named(t) == nil, Commands.groups[t] == nil {
      return usageFailure(ArgumentParser.unknownCommand(t), json: parsed.json, console: console)
    }
    console.print(topic.map(Help.command) ?? Help.overview)
    return finish(ExitCode.ok, json: parsed.json, console: console)
  }
  if parsed.positionals.count > spec.positionals.count
    || parsed.positionals.count < spec.positionals.count - spec.optionalPositionals
  {
    let missing = parsed.positionals.count < spec.positionals.count
    let what =
      missing
      ? "missing argument <\(spec.positionals[parsed.positionals.count])>"
      : "unexpected argument '\(Validate.escaped(parsed.positionals[spec.positionals.count]))'"
    return usageFailure(
      UsageError(message: what, command: command), json: parsed.json, console: console)
  }
  // An empty $BANKCTL_STORE is unset, as an empty $BANKCTL_SESSION is.
  let storePath =
    parsed.store ?? environment["BANKCTL_STORE"].flatMap { $0.isEmpty ? nil : $0 }
    ?? "bank.journal"
  var context = CommandContext(
    parsed: parsed, opener: makeOpener(storePath), lockTimeout: parsed.lockTimeout ?? .seconds(10),
    console: console)
  context.environmentSession = environment["BANKCTL_SESSION"].flatMap { $0.isEmpty ? nil : $0 }
  context.secrets = input
  context.authConfiguration = authConfiguration
  do {
    try context.execute(command)
    return finish(ExitCode.ok, json: parsed.json, console: console)
  } catch let e as UsageError {
    return usageFailure(e, json: parsed.json, console: console)
  } catch let e as BankError {
    reportError(code: e.code.rawValue, message: e.message, json: parsed.json, console: console)
    if !parsed.json && ExitCode.of(e) == ExitCode.usage {
      console.error("Usage: \(spec.fullUsage)")
      console.error("See 'bankctl \(command) --help' for more information.")
    }
    return ExitCode.of(e)
  } catch {
    reportError(code: "io_error", message: "\(error)", json: parsed.json, console: console)
    return ExitCode.io
  }
}

/// Prints an error on stderr, as `Error: …` or as `{"error":{"code","message"}}`.
///
/// Every message passes through ``Validate/escaped(_:limit:)`` here, whatever built it: values
/// are escaped (and capped) where they are quoted, and this last pass guarantees that nothing a
/// user typed, nor a path or a name from the store, reaches a terminal as a control sequence.
func reportError(code: String, message: String, json: Bool, console: Console) {
  let message = Validate.escaped(message, limit: nil)
  if json {
    console.error(
      JSON.object([("error", .object([("code", .string(code)), ("message", .string(message))]))])
        .rendered)
  } else {
    console.error("Error: \(message)")
  }
}

/// The exit code of a command that did its work: `code`, unless its output could not be written.
///
/// A failed write to stdout is reported once on stderr (which may fail too; then the exit code
/// is all a caller gets) and gives exit 74. The command's effect stays committed either way.
func finish(_ code: Int32, json: Bool, console: Console) -> Int32 {
  guard let failure = console.outputFailure else { return code }
  reportError(
    code: "io_error",
    message:
      "could not write the output to stdout: \(failure.reason) (errno \(failure.errno)); the command itself completed and its effect, if any, is durable",
    json: json, console: console)
  return ExitCode.io
}

func usageFailure(_ e: UsageError, json: Bool, console: Console, overview: Bool = false) -> Int32 {
  reportError(code: "usage", message: e.message, json: json, console: console)
  if json { return ExitCode.usage }
  if overview {
    console.error(Help.overview)
  } else if let c = e.command, let spec = Commands.named(c) {
    console.error("Usage: \(spec.fullUsage)")
    console.error("See 'bankctl \(c) --help' for more information.")
  } else {
    console.error("Usage: bankctl [--store <path>] [--json] <command> [<arguments>]")
    console.error("See 'bankctl --help' for more information.")
  }
  return ExitCode.usage
}
