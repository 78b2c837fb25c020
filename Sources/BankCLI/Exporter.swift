import BankCore

/// Writes every posted transfer in one of three formats; `Docs/CLI.md` specifies them.
///
/// The export streams: it reads the journal once, in order, and writes each row as soon as its
/// record is read. Memory is bounded by the accounts and the holds still pending, never by the
/// number of transfers.
enum Exporter {
  struct Row {
    let id: String
    let timestamp: Int64
    let kind: TransferKind
    let debit: Account
    let credit: Account
    let amount: Amount
    let memo: String
    /// Who made the movement and through what (for a posted hold, who posted it).
    let origin: Origin
  }

  /// Writes `ledger`'s posted transfers and posted holds to `console` in `format` (`ledger`,
  /// `csv` or `jsonl`), with a progress line on stderr when stderr is a terminal.
  ///
  /// A posted hold is identified by its hold's transfer identifier, as `history` shows it.
  ///
  /// - Complexity: O(records) time; O(accounts + pending holds) memory.
  static func export(_ ledger: Ledger, format: String, to console: Console) throws {
    var accounts = try ledger.accounts()
    let total = ledger.lastSequence
    var output = ChunkedOutput(console: console)
    let render: (Row) -> String =
      switch format {
      case "csv": csvRow
      case "jsonl": jsonlRow
      default: ledgerRow
      }
    switch format {
    case "csv": output.append(csvHeader)
    case "jsonl": break
    default: output.append(ledgerHeader(accounts))
    }
    let showProgress = console.errorIsTerminal
    var pending: [UInt64: TransferRecord] = [:]
    func account(_ id: AccountID) -> Account? {
      let index = Int(id.rawValue) - 1
      // An account opened after the list was read (a writer sharing the store) is looked up.
      while index >= accounts.count,
        let next = try? ledger.account(id: AccountID(UInt32(accounts.count + 1)))
      {
        accounts.append(next)
      }
      return index >= 0 && index < accounts.count ? accounts[index] : nil
    }
    func emit(
      _ t: TransferRecord, id: String, timestamp: Int64, amount: Int64, memo: String,
      origin: Origin
    ) {
      guard !output.failed, let d = account(t.debit), let c = account(t.credit) else { return }
      output.append(
        render(
          Row(
            id: id, timestamp: timestamp, kind: t.kind, debit: d, credit: c,
            amount: Amount(minorUnits: amount, currency: d.currency), memo: memo, origin: origin)))
    }
    try ledger.forEachRecordWithOrigin { sequence, record, origin in
      switch record {
      case .transfer(let t):
        if t.isHold {
          pending[t.number] = t
        } else {
          emit(
            t, id: t.transferID, timestamp: t.timestamp, amount: t.amount, memo: t.memo,
            origin: origin)
        }
      case .holdResolved(let r):
        // Voided and expired holds moved nothing; either way the hold is no longer pending.
        if let t = pending.removeValue(forKey: r.hold), r.outcome == .posted {
          emit(
            t, id: t.transferID, timestamp: r.timestamp, amount: r.amount,
            memo: t.memo.isEmpty ? "posts hold \(t.transferID)" : t.memo, origin: origin)
        }
      default: break
      }
      if showProgress && sequence % 65_536 == 0 {
        console.progress("\rexported \(sequence)/\(total) records")
      }
    }
    output.flush()
    if showProgress { console.progress("\rexported \(total)/\(total) records\n") }
  }

  /// The plain-text accounting name of an account: its place in the chart of accounts, then its
  /// number.
  static func accountName(_ a: Account) -> String {
    let group: String =
      switch a.kind {
      case .checking: "Liabilities:Deposits:Checking"
      case .savings: "Liabilities:Deposits:Savings"
      case .loan: "Assets:Loans"
      case .vault: "Assets:Cash:\(a.currency.code)"
      case .equity: "Equity"
      case .interest: "Expenses:Interest"
      case .fees: "Income:Fees"
      case .terminalCash: "Assets:Cash:Terminals:\(a.currency.code)"
      case .interestIncome: "Income:Interest"
      case .cashOverShort: "Expenses:CashOverShort:\(a.currency.code)"
      }
    return "\(group):\(a.number)"
  }

  // MARK: ledger

  /// The declarations that make hledger (`check --strict`) and ledger-cli (`--pedantic`) read
  /// every amount exactly: the decimal mark, each currency, each account.
  static func ledgerHeader(_ accounts: [Account]) -> String {
    var out = "; BankCore journal export: every posted transfer, double entry.\n"
    out +=
      "; Debits are positive and credits negative, so customer deposits (liabilities) show as negative balances.\n\n"
    // hledger guesses the decimal mark of `1,000` or `1.234` unless told; ledger-cli always
    // reads `.` and skips this directive.
    out += "decimal-mark .\n\n"
    // Each transaction's origin is two tags on its own comment lines; ledger-cli --pedantic
    // needs them declared.
    out += "tag by\ntag channel\n\n"
    var currencies: [Currency] = []
    for a in accounts where !currencies.contains(a.currency) { currencies.append(a.currency) }
    for c in currencies {
      if c.minorDigits > 0 {
        let sample = "1,000." + String(repeating: "0", count: c.minorDigits)
        out += "commodity \(c.code)\n  format \(sample) \(c.code)\n\n"
      } else {
        // No `format` line: hledger insists on a decimal mark in one (`1,000.`), which
        // ledger-cli cannot parse. Amounts of this currency never contain a mark, so neither
        // tool can misread them.
        out += "commodity \(c.code)\n\n"
      }
    }
    for a in accounts {
      // The owner goes on an indented comment line: on the directive's own line ledger-cli
      // would take it as part of the account's name.
      out += "account \(accountName(a))\n  ; owner: \(ledgerText(a.name))\n"
    }
    return out
  }

  static func ledgerRow(_ r: Row) -> String {
    let memo = ledgerText(r.memo)
    let description = memo.isEmpty ? r.kind.description : memo
    return """

      \(Time.date(r.timestamp)) (\(r.id)) \(description)
          ; by: \(ledgerText(r.origin.by))
          ; channel: \(r.origin.channel)
          \(accountName(r.debit))  \(r.amount.description) \(r.amount.currency.code)
          \(accountName(r.credit))  -\(r.amount.description) \(r.amount.currency.code)

      """
  }

  /// Text that stays inside one description or comment: no line breaks or other unsafe
  /// characters (each becomes a space, so a memo cannot start a new transaction or directive),
  /// no `;` (which would start a comment and hide the rest), and single spaces.
  static func ledgerText(_ s: String) -> String {
    var out = ""
    var space = false
    for scalar in s.unicodeScalars {
      if scalar == ";" {
        out += ","
        space = false
      } else if Validate.isUnsafeForDisplay(scalar) || scalar.properties.isWhitespace {
        space = !out.isEmpty
      } else {
        if space { out += " " }
        space = false
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  // MARK: csv

  static let csvHeader =
    "transfer,time,kind,debit_account,credit_account,amount,currency,memo,by,channel\n"

  static func csvRow(_ r: Row) -> String {
    [
      r.id, Time.iso8601(r.timestamp), r.kind.description, r.debit.number.description,
      r.credit.number.description,
      r.amount.description, r.amount.currency.code, r.memo, r.origin.by,
      r.origin.channel.description,
    ].map(csvField).joined(separator: ",") + "\n"
  }

  /// One CSV field, RFC 4180 quoted when needed, and neutralised against formula injection
  /// (OWASP): a field that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
  /// leading `'` and is quoted, so a spreadsheet shows it as text instead of evaluating it.
  /// A field that already starts with `'` gets one more, so a reader gets every field back
  /// exactly by removing one leading `'` wherever there is one.
  static func csvField(_ s: String) -> String {
    let neutralised: Bool =
      switch s.unicodeScalars.first {
      case "=", "+", "-", "@", "\t", "\r", "'": true
      default: false
      }
    let field = neutralised ? "'" + s : s
    if neutralised || field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
    {
      return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return field
  }

  // MARK: jsonl

  static func jsonlRow(_ r: Row) -> String {
    JSON.object([
      ("transfer", .string(r.id)), ("time", .string(Time.iso8601(r.timestamp))),
      ("kind", .string(r.kind.description)),
      ("debit_account", .string(r.debit.number.description)),
      ("credit_account", .string(r.credit.number.description)),
      ("amount", .string(r.amount.description)), ("currency", .string(r.amount.currency.code)),
      ("memo", .string(r.memo)), ("by", .string(r.origin.by)),
      ("channel", .string(r.origin.channel.description)),
    ]).rendered + "\n"
  }
}

/// Output collected into chunks of about 64 KiB, each handed to the console in one write.
struct ChunkedOutput {
  let console: Console
  private var buffer = ""

  init(console: Console) {
    self.console = console
    buffer.reserveCapacity(Self.chunk + 4096)
  }

  static let chunk = 1 << 16

  /// True once a write to stdout has failed: producing more output is pointless.
  var failed: Bool { console.outputFailure != nil }

  mutating func append(_ s: String) {
    buffer += s
    if buffer.utf8.count >= Self.chunk { flush() }
  }

  mutating func flush() {
    guard !buffer.isEmpty else { return }
    console.write(buffer)
    buffer.removeAll(keepingCapacity: true)
  }
}
