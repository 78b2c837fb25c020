/// The help texts. Snapshot tests pin them; `Docs/CLI.md` explains them at length.
enum Help {
  static let overview = """
    OVERVIEW: Operate a BankCore ledger stored in an append-only journal file.

    USAGE: bankctl [--store <path>] [--json] [--lock-timeout <seconds>] <command> [<arguments>]

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

  static let details: [String: String] = [
    "open": """
    OPTIONS:
      --name <name>           The owner's name: 1 to 100 characters, not only spaces, no control,
                              bidirectional-override or invisible characters.
      --type <type>           checking (default) or savings.
      --currency <code>       An ISO 4217 code from the built-in table (default USD).
      --overdraft <amount>    Checking only: how far below zero the balance may go (default 0).
      --number <account>      Choose the account number (nine digits with a valid check digit).

    Creates the store if it does not exist.
    JSON: {"account","name","type","currency","status","balance","available","overdraft_limit"}
    """,
    "deposit": """
    ARGUMENTS:
      <account>               The account number, e.g. 1000-0001-7.
      <amount>                A positive decimal with at most the currency's minor digits, e.g. 12.34.

    OPTIONS:
      --id <key>              Idempotency key (1-64 of A-Z a-z 0-9 . _ : -). A retry with the same key
                              and arguments moves no money and reports "replayed": true.
      --memo <text>           Up to 200 characters.

    JSON: {"transfer","account","amount","currency","balance","replayed"}
    """,
    "withdraw": """
    ARGUMENTS:
      <account>               The account number, e.g. 1000-0001-7.
      <amount>                A positive decimal with at most the currency's minor digits, e.g. 12.34.

    OPTIONS:
      --id <key>              Idempotency key; see 'bankctl help deposit'.
      --memo <text>           Up to 200 characters.

    Refused with insufficient_funds (exit 1) when the available balance, overdraft included, is short.
    JSON: {"transfer","account","amount","currency","balance","replayed"}
    """,
    "transfer": """
    ARGUMENTS:
      <from>                  The account debited.
      <to>                    The account credited (same currency, a different account).
      <amount>                A positive decimal, e.g. 12.34.

    OPTIONS:
      --id <key>              Idempotency key; see 'bankctl help deposit'.
      --memo <text>           Up to 200 characters.

    JSON: {"transfer","from","to","amount","currency","from_balance","to_balance","replayed"}
    (to_balance is null when the session may not read TO)
    """,
    "balance": """
    ARGUMENTS:
      <account>               The account number.

    JSON: {"account","currency","balance","available","pending"}
    """,
    "accounts": """
    OPTIONS:
      --all                   Include the bank's internal accounts (vaults).

    JSON: {"accounts":[...]} with each element shaped like the output of 'open'.
    """,
    "history": """
    ARGUMENTS:
      <account>               The account number.

    OPTIONS:
      --limit <n>             At most n entries (1 to 1000000).
      --before <cursor>       Continue with the entries older than a page that ended here:
                              the cursor a page with more entries prints ('next').

    JSON: {"account","entries":[{"transfer","time","amount","balance","memo"}],"next"}, newest
    first; amount is signed from the account's view; next is the cursor of the following page,
    or null when there is none.
    """,
    "freeze":
      "ARGUMENTS:\n  <account>               The account number.\n\nA frozen account accepts credits but no debits.\nJSON: shaped like the output of 'open'.",
    "unfreeze":
      "ARGUMENTS:\n  <account>               The account number.\n\nJSON: shaped like the output of 'open'.",
    "close":
      "ARGUMENTS:\n  <account>               The account number.\n\nRefused with account_not_empty unless the balance is zero and no hold is pending.\nJSON: shaped like the output of 'open'.",
    "verify": """
    Re-reads every frame, checks every CRC32C, link and sequence number, and recomputes the
    SHA-256 hash chain. Exits 65 with store_corrupt on damage.
    JSON: {"ok","records","batches","head_hash"}
    """,
    "export": """
    OPTIONS:
      --format <format>       ledger (default): a journal hledger and ledger-cli read as is;
                              csv: one row per transfer with a header line;
                              jsonl: one JSON object per transfer per line.
    """,
    "demo": """
    Opens ten customer accounts holding 1,000.00 to 10,000.00 USD in the store (created if
    missing), then runs a short scripted session of deposits, withdrawals and transfers.
    """,
    "help": "ARGUMENTS:\n  <command>               The command to describe.",
  ]

  static func command(_ name: String) -> String {
    if let subs = Commands.groups[name] {
      let lines = subs.compactMap { Commands.named(name + " " + $0) }.map {
        "  " + $0.usage
      }
      return
        "OVERVIEW: \(name) commands.\n\nUSAGE:\n\(lines.joined(separator: "\n"))\n\nSee 'bankctl help \(name) <subcommand>' for details."
    }
    guard let spec = Commands.named(name) else { return overview }
    return
      "OVERVIEW: \(spec.summary)\n\nUSAGE: \(spec.usage)\n\n\(details[name] ?? "")\n\nGlobal options --store, --json, --lock-timeout, --now and --session apply; see 'bankctl --help'."
  }
}
