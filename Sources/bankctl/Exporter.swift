import BankCore

/// Writes every posted transfer in one of three formats; `Docs/CLI.md` specifies them.
enum Exporter {
  struct Row {
    let id: String
    let timestamp: Int64
    let kind: TransferKind
    let debit: Account
    let credit: Account
    let amount: Amount
    let memo: String
  }

  static func rows(_ ledger: Ledger) throws -> ([Account], [Row]) {
    let accounts = try ledger.accounts()
    var holds: [UInt64: TransferRecord] = [:]
    var rows: [Row] = []
    func acct(_ id: AccountID) -> Account { accounts[Int(id.rawValue) - 1] }
    try ledger.forEachRecord { _, record in
      switch record {
      case .transfer(let t):
        if t.isHold {
          holds[t.number] = t
        } else {
          let d = acct(t.debit)
          rows.append(
            Row(
              id: t.transferID, timestamp: t.timestamp, kind: t.kind, debit: d,
              credit: acct(t.credit),
              amount: Amount(minorUnits: t.amount, currency: d.currency), memo: t.memo))
        }
      case .holdResolved(let r):
        if r.outcome == .posted, let t = holds[r.hold] {
          let d = acct(t.debit)
          rows.append(
            Row(
              id: "#\(r.number)", timestamp: r.timestamp, kind: t.kind, debit: d,
              credit: acct(t.credit),
              amount: Amount(minorUnits: r.amount, currency: d.currency),
              memo: t.memo.isEmpty ? "posts hold \(t.transferID)" : t.memo))
        }
      default: break
      }
    }
    return (accounts, rows)
  }

  static func export(_ ledger: Ledger, format: String) throws -> String {
    let (accounts, rows) = try rows(ledger)
    switch format {
    case "csv": return csv(rows)
    case "jsonl": return jsonl(rows)
    default: return ledgerJournal(accounts, rows)
    }
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
      }
    return "\(group):\(a.number)"
  }

  static func ledgerJournal(_ accounts: [Account], _ rows: [Row]) -> String {
    var out = "; BankCore journal export: every posted transfer, double entry.\n"
    out +=
      "; Debits are positive and credits negative, so customer deposits (liabilities) show as negative balances.\n\n"
    var currencies: [Currency] = []
    for a in accounts where !currencies.contains(a.currency) { currencies.append(a.currency) }
    for c in currencies {
      let sample =
        c.minorDigits > 0 ? "1,000." + String(repeating: "0", count: c.minorDigits) : "1,000"
      out += "commodity \(c.code)\n  format \(sample) \(c.code)\n\n"
    }
    for a in accounts {
      out += "account \(accountName(a))  ; \(a.name.replacingOccurrences(of: ";", with: ","))\n"
    }
    for r in rows {
      let description = r.memo.isEmpty ? r.kind.description : r.memo
      out += "\n\(Time.date(r.timestamp)) (\(r.id)) \(description)\n"
      out += "    \(accountName(r.debit))  \(r.amount.description) \(r.amount.currency.code)\n"
      out += "    \(accountName(r.credit))  -\(r.amount.description) \(r.amount.currency.code)\n"
    }
    return out
  }

  static func csvField(_ s: String) -> String {
    if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
      return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
    return s
  }

  static func csv(_ rows: [Row]) -> String {
    var out = "transfer,time,kind,debit_account,credit_account,amount,currency,memo\n"
    for r in rows {
      out +=
        [
          r.id, Time.iso8601(r.timestamp), r.kind.description, r.debit.number.description,
          r.credit.number.description,
          r.amount.description, r.amount.currency.code, r.memo,
        ].map(csvField).joined(separator: ",") + "\n"
    }
    return out
  }

  static func jsonl(_ rows: [Row]) -> String {
    var out = ""
    for r in rows {
      out +=
        JSON.object([
          ("transfer", .string(r.id)), ("time", .string(Time.iso8601(r.timestamp))),
          ("kind", .string(r.kind.description)),
          ("debit_account", .string(r.debit.number.description)),
          ("credit_account", .string(r.credit.number.description)),
          ("amount", .string(r.amount.description)), ("currency", .string(r.amount.currency.code)),
          ("memo", .string(r.memo)),
        ]).rendered + "\n"
    }
    return out
  }
}
