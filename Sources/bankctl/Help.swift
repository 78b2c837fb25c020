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

  static let details: [String: String] = [
    "open": """
    OPTIONS:
      --name <name>           The owner's name: 1 to 100 characters (400 bytes), not blank, no
                              control, bidirectional or invisible characters. Optional with
                              --customer (the customer's name).
      --customer <customer>   Open an extra account owned by this customer (C000001); the
                              store must exist.
      --type <type>           checking (default) or savings.
      --currency <code>       An ISO 4217 code from the built-in table (default USD).
      --overdraft <amount>    Checking only: how far below zero the balance may go (default 0;
                              managers and the operator only).
      --number <account>      Choose the account number (nine digits with a valid check digit,
                              below 9000-: that range is the bank's own).

    Without --customer, creates the store if it does not exist.
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
    Re-reads every frame, checks every CRC32C, link and sequence number, recomputes the
    SHA-256 hash chain, and replays every record (the snapshot, when one is read, must match).
    Exits 65 with store_corrupt on damage. Findings that are not damage (a torn tail never
    acknowledged, an older format's limits, a snapshot that cannot be used, a missing PIN key)
    are warnings: exit 0, each printed on stderr as 'warning: ...'.
    JSON: {"ok","records","batches","head_hash","warnings"}; warnings is a list of strings,
    empty when there is nothing to say.
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
    "customer register": """
    OPTIONS:
      --name <name>           1 to 100 characters (400 bytes), not blank.
      --email <email>         Unique among customers (compared case-insensitively).
      --phone <phone>         E.164: + and 8 to 15 digits, e.g. +14155550101.
      --age <years>           18 to 130.
      --gender <text>         Optional, up to 32 characters.
      --type <type>           The first account: checking (default) or savings.
      --currency <code>       The first account's currency (default USD).

    SECRETS (stdin, one line each; prompted twice on a terminal): password.
    Creates the store if it does not exist. Tellers, managers and the operator.
    JSON: {"customer","name","email","phone","age","gender","accounts"}
    """,
    "customer update": """
    ARGUMENTS:
      <customer>              The customer ID, e.g. C000001.

    OPTIONS:
      --name, --email, --phone, --age, --gender   As at registration; only those given change.

    SECRETS: a customer changing their own email or phone gives their current password.
    After a change of email or phone, password forgot is refused for 72 hours.
    JSON: {"customer","name","email","phone","age","gender","accounts"}
    """,
    "customer show": """
    ARGUMENTS:
      <customer>              The customer ID, e.g. C000001.

    OPTIONS:
      --history               Add every recorded change of the details, with who made it.

    JSON: {"customer","name","email","phone","age","gender","accounts","cards"} (cards masked);
    with --history also "history":[{"time","by","changes"}].
    """,
    "staff add": """
    OPTIONS:
      --username <user>       3 to 32 characters from a-z 0-9 . _ -
      --name <name>           1 to 100 characters.
      --role <role>           teller, manager or auditor.

    SECRETS (stdin): password. Operator only.
    JSON: {"staff","username","name","role"}
    """,
    "login": """
    OPTIONS:
      --customer <customer>   Log in as a customer (C000001), or
      --staff <user>          as a staff member.

    SECRETS (stdin): password. Five wrong passwords lock logins for 15 minutes.
    JSON: {"session","principal","role","expires_at"}; the token is printed only this once.
    """,
    "logout": """
    OPTIONS:
      --all                   End every session of the session's holder, not only this one.

    JSON: {"ok":true} (with --all also "sessions_ended").
    """,
    "session revoke": """
    OPTIONS:
      --customer <customer>   End every session of this customer, or
      --staff <user>          of this staff member.

    Managers and the operator. JSON: {"ok":true,"principal","sessions_ended"}
    """,
    "password forgot": """
    OPTIONS:
      --account <account>     One of the customer's account numbers.
      --email <email>         The customer's email.
      --phone <phone>         The customer's phone.

    The same refusal whichever field is wrong, and within 72 hours of a contact change.
    JSON: {"reset_token","expires_at"}; the token is valid for 15 minutes.
    """,
    "password reset": """
    SECRETS (stdin, one line each): reset token, then new password.
    Ends every session of the customer. JSON: {"ok":true}
    """,
    "card issue": """
    OPTIONS:
      --customer <customer>   The cardholder.
      --account <account>     A linked account of theirs (repeat for more; the first is the
                              default at a terminal).

    JSON: {"card","customer","accounts","expires","status"}; the only output with the full number.
    """,
    "card set-pin": """
    ARGUMENTS:
      <pan>                   The card number (16 digits).

    SECRETS (stdin): the PIN, 4 to 12 digits. A customer sets only a card's first PIN and
    replaces it with card change-pin; staff and the operator set PINs at the counter.
    JSON: {"card","status"} (masked)
    """,
    "card change-pin": """
    ARGUMENTS:
      <pan>                   The card number (16 digits).

    SECRETS (stdin, one line each): old PIN, new PIN. A wrong old PIN counts towards the card's
    three tries. JSON: {"card","status"} (masked)
    """,
    "card block": """
    ARGUMENTS:
      <pan>                   The card number (16 digits).

    The cardholder, tellers, managers and the operator. JSON: {"card","status"} (masked)
    """,
    "pin-key reset": """
    For a store whose PIN key file (STORE.key) was lost: no PIN can be checked without it.
    Clears the PIN of every card in one batch, then creates a new key file (mode 0600). Each
    card then takes card set-pin again (at the counter, or by its holder). Refused while the key
    file exists. Operator only.
    JSON: {"ok":true,"cards_cleared","key_file"}
    """,
    "card unblock": """
    ARGUMENTS:
      <pan>                   The card number (16 digits).

    Managers and the operator; also clears the PIN tries. JSON: {"card","status"} (masked)
    """,
  ]

  static func command(_ name: String) -> String {
    if let subs = Commands.groups[name] {
      let lines = subs.compactMap { Commands.named(name + " " + $0) }.map {
        "  " + $0.fullUsage
      }
      return
        "OVERVIEW: \(name) commands.\n\nUSAGE:\n\(lines.joined(separator: "\n"))\n\nSee 'bankctl help \(name) <subcommand>' for details."
    }
    guard let spec = Commands.named(name) else { return overview }
    var body = details[name].map { "\($0)\n\n" } ?? ""
    if spec.valueOptions.contains("id"), !body.contains("--id") {
      body +=
        "With --id <key>, a retry with the same key and arguments replays the original outcome;\nthe same key with other arguments is idempotency_conflict (keys are per principal).\n\n"
    }
    return
      "OVERVIEW: \(spec.summary)\n\nUSAGE: \(spec.fullUsage)\n\n\(body)Global options: --store <path>, --json, --lock-timeout <secs>, --now <time> and --session <token>; see 'bankctl --help'."
  }
}
