import BankCore

/// A command line split into global options, the command, its options and its positionals.
///
/// Conventions follow swift-argument-parser: `--name value` or `--name=value`, global options
/// before or after the command, and `--` ends option parsing so a memo may start with a dash.
struct ParsedArguments {
  var store: String?
  var json = false
  var lockTimeout: Duration?
  /// `--now`: the time the command runs as.
  var now: Instant?
  /// `--now` as given, before it is parsed.
  var nowText: String?
  /// `--session`: the token of the principal the command acts as.
  var session: String?
  var help = false
  var version = false
  var command: String?
  var options: [String: String] = [:]
  /// Options that may be given more than once (`card issue --account A --account B`).
  var repeated: [String: [String]] = [:]
  var flags: Set<String> = []
  var positionals: [String] = []
}

/// Who may run a command. The facade enforces it (each handler calls the Authenticator, which
/// consults ``BankOperation``'s matrix); the registry states it, so that help, tests and the
/// service can list it without running anything.
enum CommandPermission: Sendable, Equatable {
  /// No one needs to be logged in: `login`, the password reset flow, `help`.
  case anyone
  /// The acting principal needs this right (on the target account, for account operations).
  case operation(BankOperation)
  /// Only the operator who owns the store file (no session).
  case storeOperator
  /// Needs a session: acts on that session.
  case session
}

/// A command: what it accepts, its help, who may run it and its handler, declared together in
/// the file of its group (`Commands/`); ``Commands/all`` lists the groups.
struct CommandSpec: Sendable {
  let name: String
  let valueOptions: Set<String>
  let flagOptions: Set<String>
  let positionals: [String]
  let summary: String
  let usage: String
  /// Value options that may be repeated.
  var repeatable: Set<String> = []
  /// How many of the last positionals may be left out (`statement --customer C` needs none).
  var optionalPositionals = 0
  /// What `bankctl help <command>` prints below the usage line.
  var details: String? = nil
  /// Who may run it, as the permission matrix (DESIGN.md section 5) says.
  let permission: CommandPermission
  /// The command itself, run once the line is parsed and checked against this spec.
  let run: @Sendable (CommandContext) throws -> Void

  /// The usage line with the global options every command takes, as help and usage errors
  /// print it.
  var fullUsage: String {
    let rest = usage.dropFirst("bankctl ".count)
    if rest.hasPrefix("--session") {
      return "bankctl [--store <path>] [--json] [--now <time>] " + rest
    }
    return "bankctl [--store <path>] [--json] [--now <time>] [--session <token>] " + rest
  }
}

enum Commands {
  /// Every command, in the order help lists them: one line per command group.
  static let all: [CommandSpec] =
    accounts + money + store + people + cards + atm + products

  static func named(_ name: String) -> CommandSpec? { all.first { $0.name == name } }

  /// Words that take a subcommand (`customer register`), with their subcommands in order.
  static var groups: [String: [String]] {
    var out: [String: [String]] = [:]
    for c in all {
      let words = c.name.split(separator: " ")
      if words.count == 2 { out[String(words[0]), default: []].append(String(words[1])) }
    }
    return out
  }
}

/// A usage error: exit 64 with the command's usage line.
struct UsageError: Error {
  let message: String
  let command: String?
}

/// What `-h`, `--help`, `--version` and `--json` ask for, found before the rest is parsed.
///
/// Help and version win wherever they appear before `--`, even next to an unknown option or a
/// malformed value, so they are looked for first; `--json` is looked for first so that a usage
/// error is itself printed as JSON.
struct EarlyRequests {
  var help = false
  var version = false
  var json = false
  /// The command whose help is wanted: the first command name, or what follows `help`.
  var topic: String?
}

enum ArgumentParser {
  /// Global options that take a value.
  static let globalValueOptions: Set<String> = ["store", "lock-timeout", "now", "session"]

  /// Parses whole or decimal seconds with at most three decimals (`2`, `0.5`, `1.250`) into
  /// milliseconds, with the same strictness as amounts.
  static func milliseconds(_ text: String) -> Int64? {
    guard let unit = try? Currency(code: "SEC", minorDigits: 3) else { return nil }
    return try? Amount(parsing: text, currency: unit).minorUnits
  }

  /// `-h`, `--help`, `--version` and `--json` before `--`, and the help topic.
  static func early(_ args: [String]) -> EarlyRequests {
    var r = EarlyRequests()
    var command: String?
    var previousTakesValue = false
    for arg in args {
      if arg == "--" { break }
      defer { previousTakesValue = takesValue(arg, command: command) }
      switch arg {
      case "-h", "--help": r.help = true
      case "--version": r.version = true
      case "--json": r.json = true
      default:
        guard !previousTakesValue, !arg.hasPrefix("-") else { continue }
        if let c = command, let subs = Commands.groups[c], r.topic == c, subs.contains(arg) {
          command = c + " " + arg
          r.topic = command
          continue
        }
        if let t = r.topic, command == "help", let subs = Commands.groups[t], subs.contains(arg) {
          r.topic = t + " " + arg
          continue
        }
        guard Commands.named(arg) != nil || Commands.groups[arg] != nil else { continue }
        if command == nil {
          command = arg
          if arg != "help" { r.topic = arg }
        } else if command == "help" && r.topic == nil {
          r.topic = arg
        }
      }
    }
    return r
  }

  /// Whether `arg` is an option that consumes the next argument as its value.
  private static func takesValue(_ arg: String, command: String?) -> Bool {
    guard arg.hasPrefix("--"), !arg.contains("=") else { return false }
    let name = String(arg.dropFirst(2))
    return globalValueOptions.contains(name)
      || (command.flatMap(Commands.named)?.valueOptions.contains(name) ?? false)
  }

  /// The command name nearest to `word` by edit distance, when it is close enough to be a typo.
  static func suggestion(for word: String) -> String? {
    // Group words ("customer", "password") are commands' first words too.
    let names = Set(Commands.all.map(\.name) + Commands.groups.keys)
    let candidates = names.sorted().map { ($0, editDistance(word, $0)) }
    guard let best = candidates.min(by: { $0.1 < $1.1 }) else { return nil }
    return best.1 <= max(1, min(2, best.0.count / 3)) ? best.0 : nil
  }

  /// The Levenshtein distance: insertions, deletions and substitutions of characters.
  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.lowercased())
    let b = Array(b.lowercased())
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
      current[0] = i
      for j in 1...b.count {
        current[j] = min(
          previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      swap(&previous, &current)
    }
    return previous[b.count]
  }

  static func unknownCommand(_ word: String) -> UsageError {
    let hint = suggestion(for: word).map { "; did you mean '\($0)'?" } ?? ""
    return UsageError(
      message: "unknown command '\(Validate.escaped(word))'\(hint)", command: nil)
  }

  static func parse(_ args: [String]) throws(UsageError) -> ParsedArguments {
    var p = ParsedArguments()
    var i = 0
    var endOfOptions = false
    var seenGlobals: Set<String> = []
    /// The value of an option: `--name=value` as written, else the next argument, which must not
    /// itself look like an option; `--name -- value` takes the argument after `--` whatever it
    /// is, and ends option parsing as `--` always does.
    func value(_ name: String, inline: String?) throws(UsageError) -> String {
      if let inline { return inline }
      i += 1
      guard i < args.count else {
        throw UsageError(message: "missing value for option '--\(name)'", command: p.command)
      }
      if args[i] == "--" {
        endOfOptions = true
        i += 1
        guard i < args.count else {
          throw UsageError(message: "missing value for option '--\(name)'", command: p.command)
        }
        return args[i]
      }
      if args[i].hasPrefix("-") && args[i].count > 1 {
        throw UsageError(
          message:
            "missing value for option '--\(name)': '\(Validate.escaped(args[i]))' is an option; for a value that starts with '-', write --\(name)=VALUE or --\(name) -- VALUE",
          command: p.command)
      }
      return args[i]
    }
    func flag(_ name: String, inline: String?) throws(UsageError) {
      guard inline == nil else {
        throw UsageError(
          message: "option '--\(name)' takes no value; write '--\(name)' alone", command: p.command)
      }
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
        // A global option with a value is given once: a second `--store` in a wrapper's
        // arguments must not silently redirect its writes.
        if Self.globalValueOptions.contains(name) {
          guard seenGlobals.insert(name).inserted else {
            throw UsageError(message: "option '--\(name)' given more than once", command: p.command)
          }
        }
        switch name {
        case "store":
          let v = try value(name, inline: inline)
          guard !v.isEmpty else {
            throw UsageError(message: "invalid --store: the path is empty", command: p.command)
          }
          p.store = v
        case "json":
          try flag(name, inline: inline)
          p.json = true
        case "help":
          try flag(name, inline: inline)
          p.help = true
        case "version":
          try flag(name, inline: inline)
          p.version = true
        case "lock-timeout":
          let v = try value(name, inline: inline)
          guard let ms = ArgumentParser.milliseconds(v), ms <= 3_600_000 else {
            throw UsageError(
              message:
                "invalid --lock-timeout '\(Validate.escaped(v))': expected seconds from 0 to 3600, such as 2 or 0.5",
              command: p.command)
          }
          p.lockTimeout = .milliseconds(ms)
        case "now":
          // Parsed in `run` (a malformed value is `usage`).
          p.nowText = try value(name, inline: inline)
        case "session":
          let v = try value(name, inline: inline)
          guard !v.isEmpty, v.utf8.count <= 256 else {
            throw UsageError(
              message: "invalid --session: expected a session token", command: p.command)
          }
          p.session = v
        default:
          guard let cmd = p.command, let spec = Commands.named(cmd) else {
            throw UsageError(
              message: "unknown option '--\(Validate.escaped(name))'", command: p.command)
          }
          if spec.repeatable.contains(name) {
            p.repeated[name, default: []].append(try value(name, inline: inline))
          } else if spec.valueOptions.contains(name) {
            if p.options[name] != nil {
              throw UsageError(message: "option '--\(name)' given more than once", command: cmd)
            }
            p.options[name] = try value(name, inline: inline)
          } else if spec.flagOptions.contains(name) {
            try flag(name, inline: inline)
            p.flags.insert(name)
          } else {
            throw UsageError(
              message: "unknown option '--\(Validate.escaped(name))' for '\(cmd)'", command: cmd)
          }
        }
      } else if !endOfOptions && (arg == "-h") {
        p.help = true
      } else if p.command == nil {
        if let subs = Commands.groups[arg] {
          let next = i + 1 < args.count ? args[i + 1] : nil
          guard let next, subs.contains(next) else {
            let got = next.map { " '\(Validate.escaped($0))'" } ?? ""
            throw UsageError(
              message:
                "'\(arg)' needs a subcommand\(got.isEmpty ? "" : ", not\(got)"): \(subs.joined(separator: ", "))",
              command: nil)
          }
          p.command = arg + " " + next
          i += 1
        } else {
          guard Commands.named(arg) != nil else { throw unknownCommand(arg) }
          p.command = arg
        }
      } else {
        p.positionals.append(arg)
      }
      i += 1
    }
    return p
  }
}
