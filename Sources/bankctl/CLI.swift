import BankCore
import Foundation

/// Where a command writes: standard output and standard error, injectable for tests.
final class Console {
  private(set) var out = ""
  private(set) var err = ""
  let direct: Bool

  init(direct: Bool) { self.direct = direct }

  func print(_ s: String) {
    if direct { FileHandle.standardOutput.write(Data((s + "\n").utf8)) } else { out += s + "\n" }
  }
  func error(_ s: String) {
    if direct { FileHandle.standardError.write(Data((s + "\n").utf8)) } else { err += s + "\n" }
  }
}

/// The version `--version` prints.
let bankctlVersion = "bankctl 0.1.0 (BankCore journal format 1)"

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

/// Runs bankctl with `arguments` (without the program name) and returns the exit code.
///
/// Output goes to the console; the store is chosen from `--store`, then `BANKCTL_STORE` in
/// `environment`, then `./bank.journal`.
func run(_ arguments: [String], environment: [String: String], console: Console) -> Int32 {
  let jsonWanted = arguments.contains("--json")
  let parsed: ParsedArguments
  do {
    parsed = try ArgumentParser.parse(arguments)
  } catch {
    return usageFailure(error, json: jsonWanted, console: console)
  }
  if parsed.version && parsed.command == nil {
    console.print(bankctlVersion)
    return ExitCode.ok
  }
  if parsed.help || parsed.command == nil || parsed.command == "help" {
    let topic = parsed.command == "help" ? parsed.positionals.first : parsed.command
    if parsed.command == nil && !parsed.help {
      if parsed.json {
        return usageFailure(
          UsageError(message: "missing command", command: nil), json: true, console: console)
      }
      console.error("Error: missing command")
      console.error(Help.overview)
      return ExitCode.usage
    }
    if let t = topic, Commands.named(t) == nil {
      return usageFailure(
        UsageError(message: "unknown command '\(t.prefix(64))'", command: nil), json: parsed.json,
        console: console)
    }
    console.print(topic.map(Help.command) ?? Help.overview)
    return ExitCode.ok
  }
  guard let command = parsed.command, let spec = Commands.named(command) else {
    return ExitCode.usage
  }
  if command != "help" && parsed.positionals.count != spec.positionals.count {
    let missing = parsed.positionals.count < spec.positionals.count
    let what =
      missing
      ? "missing argument <\(spec.positionals[parsed.positionals.count])>"
      : "unexpected argument '\(parsed.positionals[spec.positionals.count].prefix(64))'"
    return usageFailure(
      UsageError(message: what, command: command), json: parsed.json, console: console)
  }
  let storePath = parsed.store ?? environment["BANKCTL_STORE"] ?? "bank.journal"
  let context = CommandContext(
    parsed: parsed, storePath: storePath, lockTimeout: parsed.lockTimeout ?? .seconds(10),
    console: console)
  do {
    try context.execute(command)
    return ExitCode.ok
  } catch let e as UsageError {
    return usageFailure(e, json: parsed.json, console: console)
  } catch let e as BankError {
    if parsed.json {
      console.error(
        JSON.object([
          ("error", .object([("code", .string(e.code.rawValue)), ("message", .string(e.message))]))
        ]).rendered)
    } else {
      console.error("Error: \(e.message)")
      if ExitCode.of(e) == ExitCode.usage {
        console.error("Usage: \(spec.usage)")
        console.error("See 'bankctl \(command) --help' for more information.")
      }
    }
    return ExitCode.of(e)
  } catch {
    console.error("Error: \(error)")
    return ExitCode.io
  }
}

func usageFailure(_ e: UsageError, json: Bool, console: Console) -> Int32 {
  if json {
    console.error(
      JSON.object([
        ("error", .object([("code", .string("usage")), ("message", .string(e.message))]))
      ]).rendered)
    return ExitCode.usage
  }
  console.error("Error: \(e.message)")
  if let c = e.command, let spec = Commands.named(c) {
    console.error("Usage: \(spec.usage)")
    console.error("See 'bankctl \(c) --help' for more information.")
  } else {
    console.error("Usage: bankctl [--store <path>] [--json] <command> [<arguments>]")
    console.error("See 'bankctl --help' for more information.")
  }
  return ExitCode.usage
}
