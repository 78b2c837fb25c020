/// The help texts. Snapshot tests pin them; `Docs/CLI.md` explains them at length.
enum Help {
  static let overview = """
    OVERVIEW: Operate a BankCore ledger stored in an append-only journal file.

    USAGE: bankctl [--store <path>] [--json] [--lock-timeout <seconds>] [--now <time>] [--session <token>] <command> [<arguments>]

    OPTIONS:
      --store <path>          The journal file. Default: $BANKCTL_STORE, then ./bank.journal.
      --json                  Print exactly one JSON object on stdout (errors as JSON on stderr).
      --lock-timeout <secs>   How long to wait for another bankctl on the same store (default 10).
      --now <time>            Run as of an RFC 3339 time (2026-03-31T17:00:00Z); refused when
                              earlier than the newest record: journal time never goes back.
      --session <token>       Act as a logged-in customer or staff member (default
                              $BANKCTL_SESSION; none: the operator who owns the store).
      -h, --help              Show help information.
      --version               Show the version.
      --                      End of options: what follows is an argument or a value, even
                              if it starts with '-' (--memo -- -5 gives the memo '-5').

    COMMANDS:
    \(Commands.all.map { "  " + $0.name.padding(toLength: 17, withPad: " ", startingAt: 0) + "  " + $0.summary }.joined(separator: "\n"))

    EXIT CODES:
      0 success, 1 refused by a banking rule, 64 usage or invalid input, 65 store corrupt,
      74 I/O error or missing store, 75 store locked by another process.

    See 'bankctl help <command>' for detailed help.
    """

  static func command(_ name: String) -> String {
    if let subs = Commands.groups[name] {
      let lines = subs.compactMap { Commands.named(name + " " + $0) }.map {
        "  " + $0.fullUsage
      }
      return
        "OVERVIEW: \(name) commands.\n\nUSAGE:\n\(lines.joined(separator: "\n"))\n\nSee 'bankctl help \(name) <subcommand>' for details."
    }
    guard let spec = Commands.named(name) else { return overview }
    var body = spec.details.map { "\($0)\n\n" } ?? ""
    if spec.valueOptions.contains("id"), !body.contains("--id") {
      body +=
        "With --id <key>, a retry with the same key and arguments replays the original outcome;\nthe same key with other arguments is idempotency_conflict (keys are per principal).\n\n"
    }
    return
      "OVERVIEW: \(spec.summary)\n\nUSAGE: \(spec.fullUsage)\n\n\(body)Global options: --store <path>, --json, --lock-timeout <secs>, --now <time> and --session <token>; see 'bankctl --help'."
  }
}
