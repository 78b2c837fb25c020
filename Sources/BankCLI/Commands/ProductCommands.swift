import BankCore
import Foundation

// Banking products: rates, interest, overdrafts, reversals, loans, statements and reports.

extension Commands {
  /// Banking products (DESIGN.md 4.7).
  static let products: [CommandSpec] = [
    CommandSpec(
      name: "rate set", valueOptions: ["type", "annual", "from"], flagOptions: [], positionals: [],
      summary: "Set the annual savings or overdraft rate from a day on.",
      usage: "bankctl rate set --type savings|overdraft --annual <percent> [--from <date>]",
      details: """
        OPTIONS:
          --type <type>           savings (paid on savings balances) or overdraft (charged on
                                  negative checking balances).
          --annual <percent>      The annual rate in percent, an exact decimal with at most six
                                  decimal places: 3.5, 0.25, 12 (0 to 1000).
          --from <date>           The first day it applies to, YYYY-MM-DD (default: today). Days
                                  already accrued cannot change.

        Managers and the operator. JSON: {"type","from","annual","rates":[{"type","from","annual"}]}
        with the whole history.
        """,
      permission: .operation(.setRates),
      run: { try $0.rateSet() }),
    CommandSpec(
      name: "rate list", valueOptions: [], flagOptions: [], positionals: [],
      summary: "List every rate set, oldest first.", usage: "bankctl rate list",
      details: "JSON: {\"rates\":[{\"type\",\"from\",\"annual\"}]}",
      permission: .operation(.reports),
      run: { try $0.rateList() }),
    CommandSpec(
      name: "overdraft", valueOptions: [], flagOptions: [], positionals: ["account", "amount"],
      summary: "Change a checking account's overdraft limit.",
      usage: "bankctl overdraft <account> <amount>",
      details: """
        ARGUMENTS:
          <account>               A checking account.
          <amount>                The new limit in the account's currency (0 for none).

        Refused with limit_exceeded if the account already uses more credit than the new limit.
        Managers and the operator. JSON: shaped like the output of 'open'.
        """,
      permission: .operation(.overdraft),
      run: { try $0.overdraft() }),
    CommandSpec(
      name: "interest run", valueOptions: ["date", "batch"], flagOptions: [], positionals: [],
      summary: "Accrue interest through a day, post ended months, charge loans.",
      usage: "bankctl interest run --date <YYYY-MM-DD> [--batch <n>]",
      details: """
        OPTIONS:
          --date <date>           The last day to accrue; it must have ended (UTC).
          --batch <n>             Accounts per transaction (default 10000, 1 to 1000000).

        Accrues each savings and checking account for every day up to and including the date
        not yet accrued: the end-of-day posted balance x the annual rate / 365, unrounded.
        On each month's last day the month's accrual plus the carried remainder is rounded half
        to even and posted; the remainder is carried. Idempotent per account and day; a run
        interrupted in the middle continues where it stopped when run again. Also charges loans'
        interest and marks loans more than 90 days overdue defaulted. Progress on stderr when
        it is a terminal. Managers and the operator.
        JSON: {"date","accounts","postings","savings_paid":{},"overdraft_charged":{},
        "loans_charged","loans_defaulted":[],"batches"}
        """,
      permission: .operation(.runInterest),
      run: { try $0.interestRun() }),
    CommandSpec(
      name: "interest show", valueOptions: [], flagOptions: [], positionals: ["account"],
      summary: "Show an account's accrued, unposted interest.",
      usage: "bankctl interest show <account>",
      details: """
        JSON: {"account","through","owed"}: the last day accrued and what is owed (the month's
        accrual plus the carried remainder, unrounded, ten decimals of a minor unit).
        """,
      permission: .operation(.balance),
      run: { try $0.interestShow() }),
    CommandSpec(
      name: "reverse", valueOptions: ["reason"], flagOptions: [], positionals: ["transfer"],
      summary: "Reverse a posted transfer with an opposite one, at most once.",
      usage: "bankctl reverse <transfer> --reason <text>",
      details: """
        ARGUMENTS:
          <transfer>              #12, 12, or the transfer's key.
        OPTIONS:
          --reason <text>         Why (1 to 200 characters); kept in the journal.

        Moves the same amount back from the original's credit account to its debit account,
        linked to it. Refused if it would break a limit (insufficient_funds), or with
        already_reversed. Managers and the operator.
        JSON: {"transfer","reverses","amount","from","to","reason","time"}
        """,
      permission: .operation(.reverse),
      run: { try $0.reverse() }),
    CommandSpec(
      name: "loan request",
      valueOptions: ["customer", "account", "amount", "months", "annual"], flagOptions: [],
      positionals: [], summary: "Request a loan into a customer's account.",
      usage:
        "bankctl loan request --customer <customer> --account <account> --amount <amount> --months <n> --annual <percent>",
      details: """
        OPTIONS:
          --customer <customer>   The borrower (C000001); a customer only themself.
          --account <account>     The borrower's checking or savings account to pay it into.
          --amount <amount>       The principal, in the account's currency.
          --months <n>            The term: 1 to 480 months.
          --annual <percent>      The annual rate in percent (exact, at most six decimals).

        JSON: the loan, as 'loan show' prints it, with status requested.
        """,
      permission: .operation(.requestLoan),
      run: { try $0.loanRequest() }),
    CommandSpec(
      name: "loan approve", valueOptions: [], flagOptions: [], positionals: ["loan"],
      summary: "Approve a requested loan and disburse it.", usage: "bankctl loan approve <loan>",
      details: """
        Opens the loan's account and pays the principal into the borrower's account in the same
        atomic batch as the status change. Managers and the operator. JSON: the loan.
        """,
      permission: .operation(.approveLoan),
      run: { try $0.loanDecide(approve: true) }),
    CommandSpec(
      name: "loan reject", valueOptions: ["reason"], flagOptions: [], positionals: ["loan"],
      summary: "Reject a requested loan.", usage: "bankctl loan reject <loan> [--reason <text>]",
      details: "Managers and the operator. JSON: the loan.",
      permission: .operation(.rejectLoan),
      run: { try $0.loanDecide(approve: false) }),
    CommandSpec(
      name: "loan repay", valueOptions: ["from", "id"], flagOptions: [],
      positionals: ["loan", "amount"],
      summary: "Repay a loan: interest due first, then principal.",
      usage: "bankctl loan repay <loan> <amount> [--from <account>] [--id <key>]",
      details: """
        OPTIONS:
          --from <account>        Pay from this account (default: the one it was paid into).
          --id <key>              A retry with the same key replays instead of paying twice.

        Pays the interest due first, then principal; more than the interest due shortens the
        term and keeps the installment. Refused with overpayment beyond what the loan owes.
        JSON: {"loan":{...},"paid":{"interest","principal"}}
        """,
      permission: .operation(.transferOut),
      run: { try $0.loanRepay() }),
    CommandSpec(
      name: "loan show", valueOptions: [], flagOptions: [], positionals: ["loan"],
      summary: "Show a loan.", usage: "bankctl loan show <loan>",
      details: """
        JSON: {"loan","customer","account","principal","annual_rate","months","status",
        "outstanding_principal","installment","next_due","interest_due","arrears","days_overdue",
        "paid_interest","paid_principal","loan_account","requested","decided","reason"}
        """,
      permission: .operation(.balance),
      run: { try $0.loanShow() }),
    CommandSpec(
      name: "loan schedule", valueOptions: [], flagOptions: [], positionals: ["loan"],
      summary: "Show a loan's annuity schedule.", usage: "bankctl loan schedule <loan>",
      details: """
        JSON: {"loan","installments":[{"n","due","payment","interest","principal","remaining",
        "paid"}]}; paid is true for installments payments cover.
        """,
      permission: .operation(.balance),
      run: { try $0.loanSchedule() }),
    CommandSpec(
      name: "loan quote", valueOptions: ["amount", "months", "annual", "start", "currency"],
      flagOptions: [], positionals: [],
      summary: "Compute an annuity schedule without a store.",
      usage:
        "bankctl loan quote --amount <amount> --months <n> --annual <percent> [--start <date>] [--currency <code>]",
      details: """
        The schedule a loan of these terms would have if disbursed on --start (default today).
        Reads no store. JSON: {"installment","total_interest","installments":[...]}
        """,
      permission: .anyone,
      run: { try $0.loanQuote() }),
    CommandSpec(
      name: "statement", valueOptions: ["month", "from", "to", "customer", "year"],
      flagOptions: ["csv"], positionals: ["account"],
      summary: "An account's statement, or a customer's yearly interest summary.",
      usage:
        "bankctl statement <account> (--month <YYYY-MM> | --from <date> --to <date>) [--csv] | statement --customer <customer> --year <YYYY>",
      optionalPositionals: 1,
      details: """
        OPTIONS:
          --month <YYYY-MM>       One calendar month (UTC).
          --from, --to <date>     From the start of one day to the end of another.
          --csv                   CSV (formula-safe) instead of text.
          --customer, --year      The yearly interest summary (the tax document): interest
                                  earned and charged per account, interest paid per loan.

        Opening balance, every posted entry with its running balance, totals in and out, closing
        balance. A customer sees only their own. JSON: {"account","name","currency","from","to",
        "opening_balance","entries":[{"transfer","time","description","amount","balance","kind",
        "counterparty"}],"total_in","total_out","closing_balance"}
        """,
      permission: .operation(.statement),
      run: { try $0.statement() }),
    CommandSpec(
      name: "report", valueOptions: ["currency", "by", "from", "to"], flagOptions: ["csv"],
      positionals: ["report"],
      summary: "Reports: trial-balance, deposits, loans, volume, customers.",
      usage:
        "bankctl report trial-balance|deposits|loans|volume|customers [--currency <code>] [--by day|month] [--from <date>] [--to <date>] [--csv]",
      details: """
        ARGUMENTS:
          trial-balance           Every ledger account of one currency (--currency, default
                                  USD) with its debits, credits and balance; the totals agree.
          deposits                Balances by product and currency.
          loans                   The portfolio by status and currency, with arrears.
          volume                  Counts and sums by operation per --by day or month (default),
                                  optionally --from/--to.
          customers               Customers with their accounts and activity; contact details
                                  for managers and the operator only.

        Managers, auditors and the operator. Docs/CLI.md gives each JSON shape.
        """,
      permission: .operation(.reports),
      run: { try $0.report() }),
  ]
}

extension CommandContext {
  func withProducts<R>(readOnly: Bool = false, _ body: (Products, Acting) throws -> R) throws -> R {
    try withBank(readOnly: readOnly) { a in try body(Products(authenticator: a.auth), a) }
  }

  func day(_ name: String, _ command: String) throws -> Day {
    try Day(parsing: try requiredOption(name, command))
  }

  /// One CSV document: a header and rows, formula-safe.
  func csv(_ header: [String], _ rows: [[String]]) -> String {
    ([header] + rows).map { $0.map(Exporter.csvField).joined(separator: ",") }.joined(
      separator: "\n")
  }

  /// `--csv`; with `--json` too, a usage error (one format at a time).
  var csvOutput: Bool {
    get throws {
      guard parsed.flags.contains("csv") else { return false }
      if json {
        throw UsageError(message: "give --json or --csv, not both", command: parsed.command)
      }
      return true
    }
  }

  // MARK: Rates

  func rateSet() throws {
    let typeName = try requiredOption("type", "rate set")
    guard let type = RateType(name: typeName) else {
      throw BankError(
        .invalidArgument,
        "invalid --type '\(Validate.escaped(typeName))': expected savings or overdraft")
    }
    let rate = try AnnualRate(parsing: try requiredOption("annual", "rate set"))
    let from = try parsed.options["from"].map { t throws(BankError) in try Day(parsing: t) }
    let (set, all) = try withProducts { p, a in
      let set = try p.setRate(type, annual: rate, from: from, as: a.principal)
      return (set, try p.rates())
    }
    var value = JSON.encoding(set)
    if case .object(var pairs) = value {
      pairs.append(("rates", .array(all.map { JSON.encoding($0) })))
      value = .object(pairs)
    }
    emit(value, human: "The \(set.type) rate is \(set.annual) % a year from \(set.from)")
  }

  func rateList() throws {
    let all = try withProducts(readOnly: true) { p, a in
      try a.require(.reports)
      return try p.rates()
    }
    emit(
      .object([("rates", .array(all.map { JSON.encoding($0) }))]),
      human: Table.render(
        header: ["TYPE", "FROM", "ANNUAL %"],
        rows: all.map { [$0.type.description, $0.from.description, $0.annual.description] },
        rightAligned: [2]))
  }

  func overdraft() throws {
    let number = try account(parsed.positionals[0])
    let a = try withBank { acting in
      let currency = try acting.ledger.account(number).currency
      let limit = try Amount(parsing: parsed.positionals[1], currency: currency)
      return try acting.auth.setOverdraftLimit(limit, of: number, as: acting.principal)
    }
    emit(
      accountJSON(a),
      human: "Account \(a.number) may now go \(a.overdraftLimit.formatted) below zero")
  }

  // MARK: Interest

  func interestRun() throws {
    let date = try day("date", "interest run")
    var batch = Products.defaultInterestBatch
    if let b = parsed.options["batch"] {
      guard let n = Int(b), (1...1_000_000).contains(n), b.allSatisfy({ $0.isASCII && $0.isNumber })
      else {
        throw BankError(
          .invalidArgument, "invalid --batch '\(Validate.escaped(b))': expected 1 to 1000000")
      }
      batch = n
    }
    let showProgress = console.errorIsTerminal
    let run = try withProducts { p, a in
      try p.runInterest(
        through: date, batchSize: batch,
        progress: showProgress
          ? { done, total in console.error("interest: \(done) of \(total) accounts") } : nil,
        as: a.principal)
    }
    func sums(_ m: [String: Int64]) -> String {
      m.isEmpty
        ? "none"
        : m.sorted { $0.key < $1.key }.map { code, minor in
          let c = (try? Currency.named(code)) ?? .usd
          return Amount(minorUnits: minor, currency: c).formatted
        }.joined(separator: ", ")
    }
    let defaulted = run.loansDefaulted.map(\.description).joined(separator: ", ")
    emit(
      .encoding(run),
      human: """
        Interest accrued through \(run.date): \(run.accounts) accounts, \(run.batches) batches
          postings:          \(run.postings)
          savings paid:      \(sums(run.savingsPaid))
          overdraft charged: \(sums(run.overdraftCharged))
          loans charged:     \(run.loansCharged)
          loans defaulted:   \(defaulted.isEmpty ? "none" : defaulted)
        """)
  }

  func interestShow() throws {
    let number = try account(parsed.positionals[0])
    let owed = try withProducts(readOnly: true) { p, a in
      try a.auth.authorizeRead(.balance, of: number, as: a.principal)
      return try p.accruedInterest(of: number)
    }
    emit(
      .object([
        ("account", .string(number.description)),
        ("through", owed.through.map { .string($0.description) } ?? .null),
        ("owed", .string(owed.owed)),
      ]),
      human:
        "Account \(number): \(owed.owed) of interest accrued and not yet posted (through \(owed.through?.description ?? "no day yet"))"
    )
  }

  // MARK: Close and reverse

  func closeAccount() throws {
    let number = try account(parsed.positionals[0])
    let settle = try parsed.options["settle"].map { t throws(BankError) in try account(t) }
    let k = try key()
    let closed = try withBank { acting -> ClosedAccount in
      try Products(authenticator: acting.auth).close(
        number, settleWith: settle, key: k, as: acting.principal)
    }
    var lines = ["Account \(closed.account.number) is now \(closed.account.status)"]
    if closed.interest.minorUnits != 0 {
      lines.append("  interest posted: \(closed.interest.formatted)")
    }
    if let s = closed.settledWith {
      lines.append("  settled with \(s): \(closed.settled.formatted)")
    }
    emit(.encoding(closed), human: lines.joined(separator: "\n"))
  }

  func reverse() throws {
    let reason = try requiredOption("reason", "reverse")
    let r = try withProducts { p, a in
      try p.reverse(parsed.positionals[0], reason: reason, as: a.principal)
    }
    emit(
      .encoding(r),
      human:
        "Reversed \(r.original.id) with \(r.reversal.id): \(r.reversal.amount.formatted) from \(r.reversal.debit) to \(r.reversal.credit)"
    )
  }

  // MARK: Loans

  func loanID(_ text: String) throws -> LoanID { try LoanID(parsing: text) }

  func months(_ command: String) throws -> Int {
    let t = try requiredOption("months", command)
    guard let n = Int(t), t.allSatisfy({ $0.isASCII && $0.isNumber }), (1...480).contains(n) else {
      throw BankError(
        .invalidArgument, "invalid --months '\(Validate.escaped(t))': expected 1 to 480")
    }
    return n
  }

  func loanJSON(_ l: Loan) -> JSON { .encoding(l) }

  func loanText(_ l: Loan) -> String {
    """
    Loan \(l.id) (\(l.status)) for \(l.customer), paid into \(l.account)
      principal:    \(l.principal.formatted) over \(l.months) months at \(l.annualRate) %
      installment:  \(l.installment.formatted)
      outstanding:  \(l.outstandingPrincipal.formatted) principal, \(l.interestDue.formatted) interest due
      next due:     \(l.nextDue?.description ?? "-")
      arrears:      \(l.arrears.formatted)\(l.daysOverdue > 0 ? " (\(l.daysOverdue) days overdue)" : "")
    """
  }

  func loanRequest() throws {
    let customer = try customerID(try requiredOption("customer", "loan request"))
    let number = try account(try requiredOption("account", "loan request"))
    let monthsValue = try months("loan request")
    let rate = try AnnualRate(parsing: try requiredOption("annual", "loan request"))
    let amountText = try requiredOption("amount", "loan request")
    let l = try withProducts { p, a in
      let currency = try a.ledger.account(number).currency
      let amount = try Amount(parsing: amountText, currency: currency)
      return try p.requestLoan(
        customer: customer, account: number, amount: amount, months: monthsValue,
        annualRate: rate, as: a.principal)
    }
    emit(loanJSON(l), human: loanText(l))
  }

  func loanDecide(approve: Bool) throws {
    let id = try loanID(parsed.positionals[0])
    let reason = parsed.options["reason"] ?? ""
    let l = try withProducts { p, a in
      approve
        ? try p.approveLoan(id, as: a.principal)
        : try p.rejectLoan(id, reason: reason, as: a.principal)
    }
    emit(loanJSON(l), human: loanText(l))
  }

  func loanRepay() throws {
    let id = try loanID(parsed.positionals[0])
    let from = try parsed.options["from"].map { t throws(BankError) in try account(t) }
    let k = try key()
    let r = try withProducts { p, a in
      let loan = try p.loan(id, as: a.principal)
      let amount = try Amount(parsing: parsed.positionals[1], currency: loan.principal.currency)
      return try p.repayLoan(id, amount: amount, from: from, key: k, as: a.principal)
    }
    emit(
      .encoding(r),
      human: "Paid \(r.interest.formatted) of interest and \(r.principal.formatted) of principal\n"
        + loanText(r.loan))
  }

  func loanShow() throws {
    let id = try loanID(parsed.positionals[0])
    let l = try withProducts(readOnly: true) { p, a in try p.loan(id, as: a.principal) }
    emit(loanJSON(l), human: loanText(l))
  }

  func scheduleJSON(_ rows: [Installment], covered: Int) -> JSON {
    .array(
      rows.map { i in
        .object([
          ("n", .int(Int64(i.number))), ("due", .string(i.due.description)),
          ("payment", money(i.payment)), ("interest", money(i.interest)),
          ("principal", money(i.principal)), ("remaining", money(i.remaining)),
          ("paid", .bool(i.number <= covered)),
        ])
      })
  }

  func scheduleText(_ rows: [Installment]) -> String {
    Table.render(
      header: ["N", "DUE", "PAYMENT", "INTEREST", "PRINCIPAL", "REMAINING"],
      rows: rows.map {
        [
          String($0.number), $0.due.description, $0.payment.description, $0.interest.description,
          $0.principal.description, $0.remaining.description,
        ]
      }, rightAligned: [0, 2, 3, 4, 5])
  }

  func loanSchedule() throws {
    let id = try loanID(parsed.positionals[0])
    let (rows, covered) = try withProducts(readOnly: true) { p, a in
      (try p.schedule(of: id, as: a.principal), try p.coveredInstallments(of: id, as: a.principal))
    }
    emit(
      .object([
        ("loan", .string(id.description)), ("installments", scheduleJSON(rows, covered: covered)),
      ]),
      human: "Loan \(id)\n" + scheduleText(rows))
  }

  func loanQuote() throws {
    let currency = try Currency.named(parsed.options["currency"] ?? "USD")
    let amount = try Amount(parsing: try requiredOption("amount", "loan quote"), currency: currency)
    let n = try months("loan quote")
    let rate = try AnnualRate(parsing: try requiredOption("annual", "loan quote"))
    let start =
      try parsed.options["start"].map { t throws(BankError) in try Day(parsing: t) }
      ?? Day(Instant(nanoseconds: clock.now()))
    let rows = try LoanMath.schedule(principal: amount, months: n, rate: rate, start: start)
    let interest = WideAmount(
      minorUnits: rows.reduce(Int128(0)) { $0 + Int128($1.interest.minorUnits) }, currency: currency
    )
    let installment = rows.first?.payment ?? .zero(currency)
    emit(
      .object([
        ("amount", money(amount)), ("currency", .string(currency.code)),
        ("months", .int(Int64(n))), ("annual_rate", .string(rate.description)),
        ("installment", money(installment)),
        ("total_interest", .string(interest.description)),
        ("installments", scheduleJSON(rows, covered: 0)),
      ]),
      human: scheduleText(rows))
  }

  // MARK: Statements

  func statement() throws {
    if let customerText = parsed.options["customer"] {
      guard parsed.positionals.isEmpty else {
        throw UsageError(
          message: "give an account or --customer, not both", command: "statement")
      }
      let customer = try customerID(customerText)
      let yearText = try requiredOption("year", "statement")
      guard let year = Int(yearText), yearText.count == 4, yearText.allSatisfy(\.isNumber),
        (1970...2199).contains(year)
      else {
        throw BankError(
          .invalidArgument,
          "invalid --year '\(Validate.escaped(yearText))': expected YYYY, 1970 to 2199")
      }
      let s = try withProducts(readOnly: true) { p, a in
        try p.interestSummary(of: customer, year: year, as: a.principal)
      }
      if try csvOutput {
        console.print(
          csv(
            [
              "customer", "year", "account", "type", "currency", "interest_earned", "interest_paid",
            ],
            s.accounts.map {
              [
                s.customer.description, String(year), $0.account.description, $0.type.description,
                $0.interestEarned.currency.code, $0.interestEarned.description,
                $0.interestPaid.description,
              ]
            }
              + s.loans.map {
                [
                  s.customer.description, String(year), $0.loan.description, "loan",
                  $0.interestPaid.currency.code, "0", $0.interestPaid.description,
                ]
              }))
        return
      }
      let rows =
        s.accounts.map {
          [
            $0.account.description, $0.type.description, $0.interestEarned.formatted,
            $0.interestPaid.formatted,
          ]
        } + s.loans.map { [$0.loan.description, "loan", "-", $0.interestPaid.formatted] }
      emit(
        .encoding(s),
        human: "Interest summary \(year) for \(s.customer) (\(s.name))\n"
          + Table.render(
            header: ["ACCOUNT", "TYPE", "EARNED", "PAID"], rows: rows, rightAligned: [2, 3]))
      return
    }
    guard let accountText = parsed.positionals.first else {
      throw UsageError(message: "missing argument <account>", command: "statement")
    }
    let number = try account(accountText)
    let from: Day
    let to: Day
    if let m = parsed.options["month"] {
      guard parsed.options["from"] == nil, parsed.options["to"] == nil else {
        throw UsageError(message: "give --month or --from/--to, not both", command: "statement")
      }
      let month = try YearMonth(parsing: m)
      from = try Day(parsing: month.firstDay.description)
      to = try Day(parsing: month.lastDay.description)
    } else {
      guard parsed.options["from"] != nil || parsed.options["to"] != nil else {
        throw UsageError(
          message: "missing option '--month' (or --from and --to)", command: "statement")
      }
      from = try day("from", "statement")
      to = try day("to", "statement")
    }
    let s = try withProducts(readOnly: true) { p, a in
      try p.statement(of: number, from: from, to: to, as: a.principal)
    }
    if try csvOutput {
      var rows: [[String]] = [
        ["", from.start.description, "Opening balance", "", s.openingBalance.description]
      ]
      rows += s.entries.map {
        [
          $0.transfer, $0.time.description, $0.description, $0.amount.description,
          $0.balance.description,
        ]
      }
      rows.append(["", to.end.description, "Closing balance", "", s.closingBalance.description])
      console.print(csv(["transfer", "time", "description", "amount", "balance"], rows))
      return
    }
    if json {
      // Built directly (a statement may hold thousands of entries): the same keys, in the same
      // order, as `Statement`'s Encodable form.
      let entries: [JSON] = s.entries.map { e in
        .object([
          ("transfer", .string(e.transfer)), ("time", .string(e.time.description)),
          ("description", .string(e.description)), ("amount", .string(e.amount.description)),
          ("balance", .string(e.balance.description)), ("kind", .string(e.kind.description)),
          ("counterparty", .string(e.counterparty.description)),
        ])
      }
      console.print(
        JSON.object([
          ("account", .string(s.account.description)), ("name", .string(s.name)),
          ("currency", .string(s.openingBalance.currency.code)),
          ("from", .string(s.from.description)), ("to", .string(s.to.description)),
          ("opening_balance", .string(s.openingBalance.description)), ("entries", .array(entries)),
          ("total_in", .string(s.totalIn.description)),
          ("total_out", .string(s.totalOut.description)),
          ("closing_balance", .string(s.closingBalance.description)),
        ]).rendered)
      return
    }
    var text = """
      Statement of \(s.account) (\(s.name)), \(s.from) to \(s.to), \(s.openingBalance.currency.code)
      Opening balance: \(s.openingBalance.description)


      """
    text += Table.render(
      header: ["DATE", "TRANSFER", "DESCRIPTION", "AMOUNT", "BALANCE"],
      rows: s.entries.map {
        [
          String($0.time.description.prefix(10)), $0.transfer, $0.description,
          $0.amount.description, $0.balance.description,
        ]
      }, rightAligned: [3, 4])
    text += """

      Total in:  \(s.totalIn.description)
      Total out: \(s.totalOut.description)
      Closing balance: \(s.closingBalance.description)
      """
    console.print(text)
  }

  // MARK: Reports

  func report() throws {
    let which = parsed.positionals[0]
    switch which {
    case "trial-balance":
      let currency = try Currency.named(parsed.options["currency"] ?? "USD")
      let tb = try withProducts(readOnly: true) { p, a in
        try p.trialBalance(currency: currency, as: a.principal)
      }
      let rows = tb.accounts.map {
        [
          $0.account.description, $0.name, $0.kind.description, $0.debits.description,
          $0.credits.description, $0.balance.description,
        ]
      }
      if try csvOutput {
        console.print(
          csv(
            ["account", "name", "kind", "debits", "credits", "balance"],
            rows + [["", "total", "", tb.totalDebits.description, tb.totalCredits.description, ""]])
        )
        return
      }
      emit(
        .encoding(tb),
        human: "Trial balance, \(currency.code)\n"
          + Table.render(
            header: ["ACCOUNT", "NAME", "KIND", "DEBITS", "CREDITS", "BALANCE"],
            rows: rows + [
              ["", "TOTAL", "", tb.totalDebits.description, tb.totalCredits.description, ""]
            ],
            rightAligned: [3, 4, 5]))
    case "deposits":
      let only = try parsed.options["currency"].map { t throws(BankError) in try Currency.named(t) }
      let lines = try withProducts(readOnly: true) { p, a in
        try p.depositsReport(as: a.principal).filter { only == nil || $0.currency == only }
      }
      let rows = lines.map {
        [
          $0.type.description, $0.currency.code, String($0.accounts), $0.balance.description,
          String($0.overdrawn), $0.overdrawnTotal.description, String($0.overLimit),
        ]
      }
      let header = [
        "type", "currency", "accounts", "balance", "overdrawn", "overdrawn_total", "over_limit",
      ]
      if try csvOutput { return console.print(csv(header, rows)) }
      emit(
        .object([("deposits", .array(lines.map { JSON.encoding($0) }))]),
        human: Table.render(
          header: header.map { $0.uppercased() }, rows: rows, rightAligned: [2, 3, 4, 5, 6]))
    case "loans":
      let only = try parsed.options["currency"].map { t throws(BankError) in try Currency.named(t) }
      let (lines, loans) = try withProducts(readOnly: true) { p, a in
        let (lines, loans) = try p.loansReport(as: a.principal)
        return (
          lines.filter { only == nil || $0.currency == only },
          loans.filter { only == nil || $0.principal.currency == only }
        )
      }
      let rows = lines.map {
        [
          $0.status.description, $0.currency.code, String($0.count), $0.principal.description,
          $0.outstandingPrincipal.description, $0.interestDue.description, $0.arrears.description,
        ]
      }
      let header = [
        "status", "currency", "count", "principal", "outstanding_principal", "interest_due",
        "arrears",
      ]
      if try csvOutput { return console.print(csv(header, rows)) }
      emit(
        .object([
          ("portfolio", .array(lines.map { JSON.encoding($0) })),
          ("loans", .array(loans.map { JSON.encoding($0) })),
        ]),
        human: Table.render(
          header: header.map { $0.uppercased() }, rows: rows, rightAligned: [2, 3, 4, 5, 6]))
    case "volume":
      let byText = parsed.options["by"] ?? "month"
      guard let by = VolumePeriod(rawValue: byText) else {
        throw BankError(
          .invalidArgument, "invalid --by '\(Validate.escaped(byText))': expected day or month")
      }
      let from = try parsed.options["from"].map { t throws(BankError) in try Day(parsing: t) }
      let to = try parsed.options["to"].map { t throws(BankError) in try Day(parsing: t) }
      let only = try parsed.options["currency"].map { t throws(BankError) in try Currency.named(t) }
      let lines = try withProducts(readOnly: true) { p, a in
        try p.volumeReport(by: by, from: from, to: to, as: a.principal).filter {
          only == nil || $0.currency == only
        }
      }
      let rows = lines.map {
        [
          $0.period, $0.operation.description, $0.currency.code, String($0.count),
          $0.total.description,
        ]
      }
      let header = ["period", "operation", "currency", "count", "total"]
      if try csvOutput { return console.print(csv(header, rows)) }
      emit(
        .object([("by", .string(by.rawValue)), ("volume", .array(lines.map { JSON.encoding($0) }))]
        ),
        human: Table.render(
          header: header.map { $0.uppercased() }, rows: rows, rightAligned: [3, 4]))
    case "customers":
      let list = try withProducts(readOnly: true) { p, a in try p.customersReport(as: a.principal) }
      var rows: [[String]] = []
      for c in list {
        for a in c.accounts {
          rows.append([
            c.customer.description, c.name, c.email ?? "", c.phone ?? "", a.account.description,
            a.type.description, a.status.description, a.balance.description,
            a.balance.currency.code,
            a.lastActivity?.description ?? "",
          ])
        }
        if c.accounts.isEmpty {
          rows.append([
            c.customer.description, c.name, c.email ?? "", c.phone ?? "", "", "", "", "", "", "",
          ])
        }
      }
      let header = [
        "customer", "name", "email", "phone", "account", "type", "status", "balance", "currency",
        "last_activity",
      ]
      if try csvOutput { return console.print(csv(header, rows)) }
      emit(
        .object([("customers", .array(list.map { JSON.encoding($0) }))]),
        human: Table.render(header: header.map { $0.uppercased() }, rows: rows, rightAligned: [7]))
    default:
      throw UsageError(
        message:
          "unknown report '\(Validate.escaped(which))': expected trial-balance, deposits, loans, volume or customers",
        command: "report")
    }
  }
}
