import BankCore

/// A command line split into global options, the command, its options and its positionals.
///
/// Conventions follow swift-argument-parser: `--name value` or `--name=value`, global options
/// before or after the command, and `--` ends option parsing so a memo may start with a dash.
struct ParsedArguments {
  var store: String?
  var json = false
  var lockTimeout: Duration?
  var help = false
  var version = false
  var command: String?
  var options: [String: String] = [:]
  var flags: Set<String> = []
  var positionals: [String] = []
}

/// What each command accepts.
struct CommandSpec {
  let name: String
  let valueOptions: Set<String>
  let flagOptions: Set<String>
  let positionals: [String]
  let summary: String
  let usage: String
}

enum Commands {
  static let all: [CommandSpec] = [
    CommandSpec(
      name: "open", valueOptions: ["name", "type", "currency", "overdraft", "number"],
      flagOptions: [],
      positionals: [], summary: "Open an account.",
      usage:
        "bankctl open --name <name> [--type checking|savings] [--currency <code>] [--overdraft <amount>] [--number <account>]"
    ),
    CommandSpec(
      name: "deposit", valueOptions: ["id", "memo"], flagOptions: [],
      positionals: ["account", "amount"],
      summary: "Deposit cash into an account.",
      usage: "bankctl deposit <account> <amount> [--id <key>] [--memo <text>]"),
    CommandSpec(
      name: "withdraw", valueOptions: ["id", "memo"], flagOptions: [],
      positionals: ["account", "amount"],
      summary: "Withdraw cash from an account.",
      usage: "bankctl withdraw <account> <amount> [--id <key>] [--memo <text>]"),
    CommandSpec(
      name: "transfer", valueOptions: ["id", "memo"], flagOptions: [],
      positionals: ["from", "to", "amount"],
      summary: "Move money between two accounts.",
      usage: "bankctl transfer <from> <to> <amount> [--id <key>] [--memo <text>]"),
    CommandSpec(
      name: "balance", valueOptions: [], flagOptions: [], positionals: ["account"],
      summary: "Show an account's balance.", usage: "bankctl balance <account>"),
    CommandSpec(
      name: "accounts", valueOptions: [], flagOptions: ["all"], positionals: [],
      summary: "List customer accounts with their balances.", usage: "bankctl accounts [--all]"),
    CommandSpec(
      name: "history", valueOptions: ["limit"], flagOptions: [], positionals: ["account"],
      summary: "Show an account's movements, newest first.",
      usage: "bankctl history <account> [--limit <n>]"),
    CommandSpec(
      name: "freeze", valueOptions: [], flagOptions: [], positionals: ["account"],
      summary: "Freeze an account: credits only.", usage: "bankctl freeze <account>"),
    CommandSpec(
      name: "unfreeze", valueOptions: [], flagOptions: [], positionals: ["account"],
      summary: "Make a frozen account active again.", usage: "bankctl unfreeze <account>"),
    CommandSpec(
      name: "close", valueOptions: [], flagOptions: [], positionals: ["account"],
      summary: "Close an account with a zero balance.", usage: "bankctl close <account>"),
    CommandSpec(
      name: "verify", valueOptions: [], flagOptions: [], positionals: [],
      summary: "Re-check every byte of the store and print its head hash.", usage: "bankctl verify"),
    CommandSpec(
      name: "export", valueOptions: ["format"], flagOptions: [], positionals: [],
      summary: "Write every transfer to stdout.", usage: "bankctl export --format ledger|csv|jsonl"),
    CommandSpec(
      name: "demo", valueOptions: [], flagOptions: [], positionals: [],
      summary: "Create a sample bank and run a short scripted session.", usage: "bankctl demo"),
    CommandSpec(
      name: "help", valueOptions: [], flagOptions: [], positionals: [],
      summary: "Show help for a command.", usage: "bankctl help [<command>]"),
  ]

  static func named(_ name: String) -> CommandSpec? { all.first { $0.name == name } }
}

/// A usage error: exit 64 with the command's usage line.
struct UsageError: Error {
  let message: String
  let command: String?
}

enum ArgumentParser {
  /// Parses whole or decimal seconds with at most three decimals (`2`, `0.5`, `1.250`) into
  /// milliseconds, with the same strictness as amounts.
  static func milliseconds(_ text: String) -> Int64? {
    guard let unit = try? Currency(code: "SEC", minorDigits: 3) else { return nil }
    return try? Amount(parsing: text, currency: unit).minorUnits
  }

  static func parse(_ args: [String]) throws(UsageError) -> ParsedArguments {
    var p = ParsedArguments()
    var i = 0
    var endOfOptions = false
    func value(_ name: String, inline: String?) throws(UsageError) -> String {
      if let inline { return inline }
      i += 1
      guard i < args.count else {
        throw UsageError(message: "missing value for option '--\(name)'", command: p.command)
      }
      return args[i]
    }
    while i < args.count {
      let arg = args[i]
      if !endOfOptions && arg == "--" {
        endOfOptions = true
      } else if !endOfOptions && arg.hasPrefix("--") && arg.count > 2 {
        let body = arg.dropFirst(2)
        var name = String(body)
        var inline: String?
        if let eq = body.firstIndex(of: "=") {
          name = String(body[..<eq])
          inline = String(body[body.index(after: eq)...])
        }
        switch name {
        case "store": p.store = try value(name, inline: inline)
        case "json": p.json = true
        case "help": p.help = true
        case "version": p.version = true
        case "lock-timeout":
          let v = try value(name, inline: inline)
          guard let ms = ArgumentParser.milliseconds(v), ms <= 3_600_000 else {
            throw UsageError(
              message:
                "invalid --lock-timeout '\(v.prefix(64))': expected seconds from 0 to 3600, such as 2 or 0.5",
              command: p.command)
          }
          p.lockTimeout = .milliseconds(ms)
        default:
          guard let cmd = p.command, let spec = Commands.named(cmd) else {
            throw UsageError(message: "unknown option '--\(name.prefix(64))'", command: p.command)
          }
          if spec.valueOptions.contains(name) {
            if p.options[name] != nil {
              throw UsageError(message: "option '--\(name)' given more than once", command: cmd)
            }
            p.options[name] = try value(name, inline: inline)
          } else if spec.flagOptions.contains(name), inline == nil {
            p.flags.insert(name)
          } else {
            throw UsageError(
              message: "unknown option '--\(name.prefix(64))' for '\(cmd)'", command: cmd)
          }
        }
      } else if !endOfOptions && (arg == "-h") {
        p.help = true
      } else if p.command == nil {
        guard Commands.named(arg) != nil else {
          throw UsageError(message: "unknown command '\(arg.prefix(64))'", command: nil)
        }
        p.command = arg
      } else {
        p.positionals.append(arg)
      }
      i += 1
    }
    return p
  }
}
