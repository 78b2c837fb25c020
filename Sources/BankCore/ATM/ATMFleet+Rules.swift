/// The rules table as data (`atm rules load`) and the reconciliation of a physical count.

extension ATMConfiguration {
  /// The rules a table may set, with the range each accepts.
  static let ruleRanges: [(name: String, range: ClosedRange<Int64>?)] = [
    ("daily_amount_limit", 1...1_000_000_000_000), ("daily_count_limit", 1...1_000),
    ("max_notes_per_dispense", 1...10_000), ("faults_before_out_of_service", 1...100),
    ("low_threshold", 0...1_000_000), ("forecast_lead_hours", 0...100_000), ("policy", nil),
  ]

  /// Parses a rules table: one `name = value` per line (or `name value`), `#` comments and
  /// blank lines ignored. Names and defaults are in `Docs/ATM.md`.
  ///
  /// - Throws: `invalid_argument` naming the line: an unknown rule, a value out of its range,
  ///   a rule given twice.
  public static func parseRules(_ text: String) throws(BankError) -> [String: String] {
    var out: [String: String] = [:]
    for (n, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
      .enumerated()
    {
      let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        .trimmingCharacters(in: .whitespaces)
      if line.isEmpty { continue }
      let parts = line.replacingOccurrences(of: "=", with: " ").split(separator: " ")
      guard parts.count == 2 else {
        throw BankError(
          .invalidArgument,
          "rules line \(n + 1): expected 'name = value', got '\(line.debugSanitized)'")
      }
      let (name, value) = (String(parts[0]), String(parts[1]))
      guard let rule = ruleRanges.first(where: { $0.name == name }) else {
        throw BankError(
          .invalidArgument,
          "rules line \(n + 1): unknown rule '\(name.debugSanitized)'; known: \(ruleRanges.map(\.name).joined(separator: ", "))"
        )
      }
      if let range = rule.range {
        guard let v = Int64(value), value.allSatisfy({ $0.isASCII && $0.isNumber }),
          range.contains(v)
        else {
          throw BankError(
            .invalidArgument,
            "rules line \(n + 1): \(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(value.debugSanitized)'"
          )
        }
      } else if MixPolicy(rawValue: value) == nil {
        throw BankError(
          .invalidArgument,
          "rules line \(n + 1): policy must be fewest_notes or equal_emptying, not '\(value.debugSanitized)'"
        )
      }
      guard out[name] == nil else {
        throw BankError(.invalidArgument, "rules line \(n + 1): \(name) is given twice")
      }
      out[name] = value
    }
    return out
  }

  /// This configuration with a stored rules table's values in place of its own.
  func applying(_ rules: [String: String]) -> ATMConfiguration {
    var c = self
    func int(_ k: String) -> Int? { rules[k].flatMap { Int($0) } }
    if let v = rules["daily_amount_limit"].flatMap({ Int64($0) }) { c.dailyAmountLimit = v }
    if let v = int("daily_count_limit") { c.dailyCountLimit = v }
    if let v = int("max_notes_per_dispense") { c.maxNotesPerDispense = v }
    if let v = int("faults_before_out_of_service") { c.faultsBeforeOutOfService = v }
    if let v = int("low_threshold") { c.defaultLowThreshold = v }
    if let v = int("forecast_lead_hours") { c.forecastLeadHours = v }
    if let v = rules["policy"].flatMap(MixPolicy.init(rawValue:)) { c.policy = v }
    return c
  }
}

/// What `atm reconcile` found and did.
public struct Reconciliation: Sendable, Hashable, Encodable {
  /// The terminal.
  public let terminal: String
  /// The value of the notes counted in its cassettes.
  public let counted: Amount
  /// The value the books held for them (after resolving pending holds).
  public let books: Amount
  /// `counted - books`: negative when notes are missing, booked to cash over/short.
  public let difference: Amount
  /// Pending withdrawal holds posted (the count shows their notes left) and voided.
  public let holdsPosted: [UInt64]
  /// See ``holdsPosted``.
  public let holdsVoided: [UInt64]

  private enum Keys: String, CodingKey {
    case terminal, counted, books, difference
    case holdsPosted = "holds_posted"
    case holdsVoided = "holds_voided"
  }

  /// Encodes as `{"terminal","counted","books","difference","holds_posted","holds_voided"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(terminal, forKey: .terminal)
    try c.encode(counted, forKey: .counted)
    try c.encode(books, forKey: .books)
    try c.encode(difference, forKey: .difference)
    try c.encode(holdsPosted.map { "#\($0)" }, forKey: .holdsPosted)
    try c.encode(holdsVoided.map { "#\($0)" }, forKey: .holdsVoided)
  }
}

extension ATMFleet {
  /// The configuration in force: this fleet's, with the rules table stored in the journal.
  func effective(_ atm: ATMState) -> ATMConfiguration { configuration.applying(atm.rules) }

  /// Stores a new rules table in the journal, so that every process applies the same rules.
  /// Managers and the operator.
  ///
  /// - Throws: `permission_denied`, `invalid_argument` (see ``ATMConfiguration/parseRules(_:)``).
  public func loadRules(_ text: String, as principal: Principal) throws(BankError)
    -> ATMConfiguration
  {
    try Self.require(.loadATM, principal)
    let rules = try ATMConfiguration.parseRules(text)
    try Origin.acting(as: principal, channel: bank.configuration.channel) { () throws(BankError) in
      try commit { _, _, tx throws(BankError) -> CoreOutcome<ATMRecord, Void> in
        CoreOutcome(
          records: [.rulesLoaded(rules: rules, time: Instant(nanoseconds: tx.now))],
          result: .success(()))
      }
    }
    return configuration.applying(rules)
  }

  /// Compares a physical count of a terminal's cassettes with the books: first resolves the
  /// withdrawal holds no restart could (posted when the count shows their notes gone, voided
  /// otherwise), then books any remaining difference between the terminal's cash and the
  /// cash over/short account, with a `reconciliation` alert. Managers and the operator.
  ///
  /// - Throws: `permission_denied`, `terminal_not_found`, `invalid_argument`,
  ///   `currency_mismatch`.
  public func reconcile(
    terminal: String, counted: [NoteCount], as principal: Principal
  ) throws(BankError) -> Reconciliation {
    try Self.validateTerminalID(terminal)
    try Self.require(.loadATM, principal)
    return try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Reconciliation in
      try commit { atm, state, tx throws(BankError) -> CoreOutcome<ATMRecord, Reconciliation> in
        guard let t = atm.terminals[terminal] else { throw Self.noTerminal(terminal) }
        var count: [Int64: Int] = [:]
        for n in counted {
          guard n.denomination.currency == t.currency else {
            throw BankError(
              .currencyMismatch,
              "terminal \(terminal) holds \(t.currency.code) notes, not \(n.denomination.currency.code)"
            )
          }
          guard n.denomination.minorUnits > 0, n.count >= 0, n.count <= 1_000_000 else {
            throw BankError(.invalidArgument, "invalid count \(n.denomination)x\(n.count)")
          }
          guard t.cassetteIndex(n.denomination.minorUnits) != nil else {
            throw BankError(
              .invalidArgument,
              "terminal \(terminal) has no \(n.denomination.formatted) cassette; load one to add it"
            )
          }
          count[n.denomination.minorUnits, default: 0] += n.count
        }
        let now = Instant(nanoseconds: tx.now)
        var books: [Int64: Int] = [:]
        for c in t.cassettes { books[c.denomination] = c.count }
        func value(_ notes: [Int64: Int]) -> Int64 {
          notes.reduce(Int64(0)) { $0 + $1.key * Int64($1.value) }
        }
        var records: [ATMRecord] = []
        var posted: [UInt64] = []
        var voided: [UInt64] = []
        for (hold, h) in atm.holds.filter({ $0.value.terminal == terminal }).sorted(by: {
          $0.key < $1.key
        }) {
          var left = books
          for n in h.notes { left[n.denomination, default: 0] -= n.count }
          let gone = abs(value(count) - value(left)) < abs(value(count) - value(books))
          _ = try state.ledger.stage(
            gone ? .postHold(.number(hold)) : .voidHold(.number(hold)), now: tx.now,
            stage: &tx.ledgerStage, batch: &tx.batch)
          if gone {
            records.append(.notesDispensed(terminal: terminal, notes: h.notes, time: now))
            let held = Amount(
              minorUnits: h.notes.reduce(Int64(0)) { $0 + $1.denomination * Int64($1.count) },
              currency: t.currency)
            records.append(
              .event(
                terminal: terminal, type: .withdrawal,
                detail:
                  "hold #\(hold) of \(held.formatted) posted at a reconciliation: the count shows its notes gone",
                cassette: 0, time: now))
            books = left
            posted.append(hold)
          } else {
            voided.append(hold)
          }
          records.append(.holdResolved(hold: hold, posted: gone, time: now))
        }
        let difference = value(count) - value(books)
        if difference != 0 {
          let over = try overShortAccount(t.currency, &state, &tx)
          let cash = state.ledger.info[t.cashAccount.index].number
          let amount = Amount(minorUnits: abs(difference), currency: t.currency)
          _ = try state.ledger.stage(
            .transfer(
              amount: amount, from: difference < 0 ? over : cash, to: difference < 0 ? cash : over,
              key: nil, memo: "reconcile \(terminal)", kind: .transfer),
            now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        }
        let countedList = count.sorted { $0.key > $1.key }.map {
          NoteBundle(denomination: $0.key, count: $0.value)
        }
        records.append(.cassettesCounted(terminal: terminal, counts: countedList, time: now))
        var after = atm
        for r in records { _ = after.applyChecked(r) }
        if let t2 = after.terminals[terminal] {
          // The low and empty rules, for the cassettes the count found short.
          let fell = Set(
            countedList.filter { (books[$0.denomination] ?? 0) > $0.count }.map(\.denomination)
          )
          .union(
            t.cassettes.filter { count[$0.denomination] == nil && $0.count > 0 }.map(\.denomination)
          )
          records += ATMRules.afterDispense(
            t2, touched: fell, configuration: effective(atm), now: now)
        }
        let result = Reconciliation(
          terminal: terminal, counted: Amount(minorUnits: value(count), currency: t.currency),
          books: Amount(minorUnits: value(books), currency: t.currency),
          difference: Amount(minorUnits: difference, currency: t.currency), holdsPosted: posted,
          holdsVoided: voided)
        records.append(
          .event(
            terminal: terminal, type: .reconciled,
            detail:
              "counted \(result.counted.formatted) against \(result.books.formatted) on the books; difference \(result.difference.formatted); holds posted \(posted.map { "#\($0)" }), voided \(voided.map { "#\($0)" })",
            cassette: 0, time: now))
        if difference != 0 {
          records.append(
            .event(
              terminal: terminal, type: .alert,
              detail:
                "reconciliation: \(terminal) is \(difference < 0 ? "short" : "over") by \(Amount(minorUnits: abs(difference), currency: t.currency).formatted); booked to cash over/short",
              cassette: 0, time: now))
        }
        return CoreOutcome(records: records, result: .success(result))
      }
    }
  }

  /// The cash over/short account of `currency`, opened in this batch when there is none.
  private func overShortAccount(
    _ currency: Currency, _ state: inout BankState, _ tx: inout Transaction
  ) throws(BankError) -> AccountNumber {
    if let i = state.ledger.info.first(where: {
      $0.kind == .cashOverShort && $0.currency == currency
    }) {
      return i.number
    }
    guard
      case .opened(let id) = try state.ledger.stage(
        .open(
          AccountSpec(
            name: "Cash over/short \(currency.code)", kind: .cashOverShort, currency: currency)),
        now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
    else { throw BankError(.invalidArgument, "the cash over/short account did not open") }
    return state.ledger.info[id.index].number
  }
}
