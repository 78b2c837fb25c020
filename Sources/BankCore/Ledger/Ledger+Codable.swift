/// The JSON forms of the ledger's values, with bankctl's field names (snake_case keys, amounts as
/// strings at full precision, times in RFC 3339), so that `bankd` and `bankctl --json` print the
/// same shapes and a client decodes them into the same types.
///
/// Decoding is strict, as the library's parsers are: an amount with too many decimals for its
/// currency, an account number with a wrong check digit or an unknown kind is a
/// `DecodingError.dataCorrupted` whose description is the library's message.

extension CodingUserInfoKey {
  /// The currency in which a bare amount string (`"12.30"`) decodes when the JSON around it
  /// names none. Values that carry a currency field (an account, a transfer, a history entry)
  /// decode their amounts in it and do not need this key; `"12.30 USD"` needs it neither.
  public static let bankCoreCurrency: CodingUserInfoKey = {
    guard let key = CodingUserInfoKey(rawValue: "BankCore.currency") else {
      preconditionFailure("a non-empty raw value makes a key")
    }
    return key
  }()
}

extension Amount {
  /// A signed decimal in `currency` (`-12.30`): the form history and balances print.
  static func signed(_ text: String, currency: Currency) throws(BankError) -> Amount {
    guard text.hasPrefix("-") else { return try Amount(parsing: text, currency: currency) }
    let magnitude = try Amount.parseMinorUnits(String(text.dropFirst()), currency: currency)
    return Amount(minorUnits: -magnitude, currency: currency)
  }

  /// A 128-bit sum of minor units as an amount string (gross totals may pass 64 bits).
  static func format(_ minorUnits: Int128, digits: Int) -> String {
    if let small = Int64(exactly: minorUnits) { return format(small, digits: digits) }
    var text = String(minorUnits.magnitude)
    if digits > 0 { text.insert(".", at: text.index(text.endIndex, offsetBy: -digits)) }
    return minorUnits < 0 ? "-" + text : text
  }

  /// A 128-bit sum as the 128-bit `format` writes it.
  static func parseWide(_ text: String, currency: Currency) throws(BankError) -> Int128 {
    let fail = BankError(.invalidAmount, "invalid total '\(text.debugSanitized)'")
    let digits = currency.minorDigits
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == (digits > 0 ? 2 : 1), parts.count == 1 || parts[1].count == digits,
      parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
      let value = Int128(parts.joined())
    else { throw fail }
    return value
  }
}

extension Amount: Codable {
  /// Encodes as a string with every minor digit (`"12.30"`), never a binary float; the currency
  /// is a field of the value around it.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }

  /// Decodes `"12.30 USD"`, or a bare `"12.30"` (signed, `"-12.30"`, for a balance) in the
  /// currency of `userInfo[.bankCoreCurrency]`.
  ///
  /// - Throws: `DecodingError.dataCorrupted` for an amount its currency cannot hold, an unknown
  ///   currency, or a bare amount without a currency in `userInfo`.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    let text = try c.decode(String.self)
    let parts = text.split(separator: " ", omittingEmptySubsequences: false)
    let currency: Currency
    if parts.count == 2 {
      currency = try c.parsed(String(parts[1]), Currency.named)
    } else if let given = decoder.userInfo[.bankCoreCurrency] as? Currency {
      currency = given
    } else {
      throw DecodingError.dataCorruptedError(
        in: c,
        debugDescription:
          "the amount '\(text.debugSanitized)' names no currency: write '12.30 USD', or decode it inside the value that carries its currency, or set userInfo[.bankCoreCurrency]"
      )
    }
    self = try c.parsed(String(parts[0])) { t throws(BankError) in
      try Amount.signed(t, currency: currency)
    }
  }
}

extension Currency: Codable {
  /// Encodes as the ISO 4217 code, `"USD"`.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(code) }

  /// Decodes a code of the built-in table (``builtIn``).
  public init(from decoder: any Decoder) throws { self = try decoder.decodeText(Currency.named) }
}

extension Instant: Codable {
  /// Encodes as RFC 3339 in UTC, to the nanosecond when it has a fraction.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }

  /// Decodes RFC 3339 (``init(rfc3339:)``).
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText(Instant.init(rfc3339:))
  }
}

extension AccountNumber: Codable {
  /// Encodes as the printed form, `1000-0001-7`.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }

  /// Decodes the printed form, its check digit checked (``init(parsing:)``).
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText(AccountNumber.init(parsing:))
  }
}

extension IdempotencyKey: Decodable {
  /// Decodes a key's text, validated as ``init(_:)`` does.
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText(IdempotencyKey.init)
  }
}

extension HistoryCursor: Codable {
  /// Encodes as the text form `bankctl history --before` takes.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }

  /// Decodes the text form.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    let text = try c.decode(String.self)
    guard let cursor = HistoryCursor(text) else {
      throw DecodingError.dataCorruptedError(
        in: c, debugDescription: "invalid history cursor '\(text.debugSanitized)'")
    }
    self = cursor
  }
}

extension Account: Codable {
  private enum Keys: String, CodingKey {
    case account, name, type, currency, status, balance, available, pending
    case overdraftLimit = "overdraft_limit"
    case overLimit = "over_limit"
  }

  /// Encodes as bankctl's account shape:
  /// `{"account","name","type","currency","status","balance","available","pending",
  /// "overdraft_limit"}`, with `"over_limit":true` after them only when bank charges took the
  /// balance past the limit (``isOverLimit``).
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(number, forKey: .account)
    try c.encode(name, forKey: .name)
    try c.encode(kind.description, forKey: .type)
    try c.encode(currency.code, forKey: .currency)
    try c.encode(status.description, forKey: .status)
    try c.encode(balance, forKey: .balance)
    try c.encode(available, forKey: .available)
    try c.encode(pending, forKey: .pending)
    try c.encode(overdraftLimit, forKey: .overdraftLimit)
    if isOverLimit { try c.encode(true, forKey: .overLimit) }
  }

  /// Decodes the shape ``encode(to:)`` writes, as a client of `bankd` reads an account.
  ///
  /// Every figure the JSON shows comes back exactly (``balance``, ``available``, ``pending``,
  /// ``overdraftLimit``). What it does not carry does not: ``id`` is 0 (the store's internal ID
  /// is not part of the JSON; the number names the account), ``opened`` is the epoch, and the
  /// gross totals are the net figures (``postedCredits`` is the balance of a deposit account).
  ///
  /// - Throws: `DecodingError` for a missing field, a malformed value, or figures that
  ///   contradict each other (an `available` that no pending debit explains).
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Keys.self)
    let currency = try c.decode(Currency.self, forKey: .currency)
    func minor(_ key: Keys) throws -> Int64 { try c.amount(key, in: currency).minorUnits }
    let kind = try c.named(.type, AccountKind.allCases)
    let balance = try minor(.balance)
    let pending = try minor(.pending)
    let limit = try minor(.overdraftLimit)
    // Pending debits show only in `available`, on a customer's deposit account.
    let pendingDebits: Int64 =
      kind.isCustomer && kind.isCreditNormal
      ? (balance &+ limit) &- (try minor(.available)) : (pending < 0 ? -pending : 0)
    let pendingCredits: Int64 =
      kind.isCustomer && kind.isCreditNormal
      ? pending &+ pendingDebits : (pending > 0 ? pending : 0)
    guard pendingDebits >= 0, pendingCredits >= 0 else {
      throw DecodingError.dataCorruptedError(
        forKey: .available, in: c,
        debugDescription: "available and pending disagree with the balance and the limit")
    }
    self.init(
      id: AccountID(0), number: try c.decode(AccountNumber.self, forKey: .account),
      name: try c.decode(String.self, forKey: .name), kind: kind, currency: currency,
      status: try c.named(.status, AccountStatus.allCases), overdraftLimitMinor: limit,
      postedDebits: kind.isCreditNormal ? 0 : Int128(balance),
      postedCredits: kind.isCreditNormal ? Int128(balance) : 0,
      pendingDebits: kind.isCreditNormal ? pendingDebits : pendingCredits,
      pendingCredits: kind.isCreditNormal ? pendingCredits : pendingDebits,
      opened: Instant(nanoseconds: 0))
    for (key, shown) in [(Keys.available, self.available), (.pending, self.pending)] {
      if try minor(key) == shown.minorUnits { continue }
      throw DecodingError.dataCorruptedError(
        forKey: key, in: c,
        debugDescription: "\(key.stringValue) disagrees with the other figures (\(shown))")
    }
  }
}

extension HistoryEntry: Codable {
  private enum Keys: String, CodingKey {
    case transfer, time, kind, amount, balance, memo, counterparty
    case by, role, channel
  }

  /// Encodes as bankctl's history entry: `{"transfer","time","kind","amount","balance","memo",
  /// "counterparty"}`, and `"by"`, `"channel"` (and `"role"` for staff) when the entry carries
  /// its ``HistoryEntry/origin``.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(transfer, forKey: .transfer)
    try c.encode(time, forKey: .time)
    try c.encode(kind.description, forKey: .kind)
    try c.encode(amount, forKey: .amount)
    try c.encode(balance, forKey: .balance)
    try c.encode(memo, forKey: .memo)
    try c.encode(counterparty, forKey: .counterparty)
    if let origin {
      try c.encode(origin.by, forKey: .by)
      if case .staff(_, let role) = origin.principal {
        try c.encode(role.description, forKey: .role)
      }
      try c.encode(origin.channel.description, forKey: .channel)
    }
  }

  /// Decodes the shape ``encode(to:)`` writes. The entry's JSON sits in a page that names the
  /// account but not its currency: set `userInfo[.bankCoreCurrency]` to the account's currency.
  /// The ``cursor`` is not part of the JSON (a page carries `next`): a decoded entry's cursor
  /// has sequence 0, which ``Ledger/history(of:limit:before:)`` refuses.
  ///
  /// - Throws: `DecodingError` for a missing field or currency, or a malformed value.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Keys.self)
    guard let currency = decoder.userInfo[.bankCoreCurrency] as? Currency else {
      throw DecodingError.dataCorrupted(
        DecodingError.Context(
          codingPath: c.codingPath,
          debugDescription:
            "a history entry's amounts are in its account's currency: set userInfo[.bankCoreCurrency]"
        ))
    }
    var origin: Origin?
    if let by = try c.decodeIfPresent(String.self, forKey: .by) {
      let principal: Principal
      if by == IdempotencyKey.operatorScope {
        principal = .operator
      } else if by.hasPrefix("staff.") {
        principal = .staff(
          username: String(by.dropFirst("staff.".count)), role: try c.named(.role, Role.allCases))
      } else {
        principal = .customer(try c.parsed(.by, CustomerID.init(parsing:)))
      }
      origin = Origin(principal: principal, channel: try c.named(.channel, Channel.allCases))
    }
    self.init(
      transfer: try c.decode(String.self, forKey: .transfer),
      kind: try c.named(.kind, TransferKind.allCases),
      time: try c.decode(Instant.self, forKey: .time),
      amount: try c.amount(.amount, in: currency), balance: try c.amount(.balance, in: currency),
      memo: try c.decode(String.self, forKey: .memo),
      counterparty: try c.decode(AccountNumber.self, forKey: .counterparty),
      cursor: HistoryCursor(sequence: 0, balanceBefore: 0, check: 0), origin: origin)
  }
}

extension Transfer: Codable, Hashable {
  private enum Keys: String, CodingKey {
    case transfer, number, kind, from, to, amount, currency, time, memo, hold
    case expiresAt = "expires_at"
  }

  /// Encodes as `{"transfer","number","kind","from","to","amount","currency","time","memo",
  /// "hold","expires_at"}` (`expires_at` only for a hold that lapses).
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(id, forKey: .transfer)
    try c.encode(number, forKey: .number)
    try c.encode(kind.description, forKey: .kind)
    try c.encode(debit, forKey: .from)
    try c.encode(credit, forKey: .to)
    try c.encode(amount, forKey: .amount)
    try c.encode(amount.currency.code, forKey: .currency)
    try c.encode(time, forKey: .time)
    try c.encode(memo, forKey: .memo)
    try c.encode(isHold, forKey: .hold)
    try c.encodeIfPresent(expiresAt, forKey: .expiresAt)
  }

  /// Decodes the shape ``encode(to:)`` writes; a `transfer` other than `#` and the number is
  /// the caller's key. A decoded transfer equals the one encoded.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Keys.self)
    let currency = try c.decode(Currency.self, forKey: .currency)
    let number = try c.decode(UInt64.self, forKey: .number)
    let id = try c.decode(String.self, forKey: .transfer)
    let key = try c.parsed(.transfer) { t throws(BankError) -> String? in
      t == "#\(number)" ? nil : try IdempotencyKey(t).text
    }
    self.init(
      number: number, keyText: key,
      debit: try c.decode(AccountNumber.self, forKey: .from),
      credit: try c.decode(AccountNumber.self, forKey: .to),
      nanoseconds: try c.decode(Instant.self, forKey: .time).nanoseconds,
      memo: try c.decode(String.self, forKey: .memo),
      expiryNanoseconds: try c.decodeIfPresent(Instant.self, forKey: .expiresAt)?.nanoseconds ?? 0,
      amount: try c.amount(.amount, in: currency, signed: false),
      kind: try c.named(.kind, TransferKind.allCases),
      isHold: try c.decode(Bool.self, forKey: .hold))
  }

  /// Transfers are equal when every public field is: the key compares as its caller gave it,
  /// whatever namespace the record keeps it in.
  public static func == (a: Transfer, b: Transfer) -> Bool {
    a.number == b.number && a.id == b.id && a.debit == b.debit && a.credit == b.credit
      && a.nanoseconds == b.nanoseconds && a.memo == b.memo
      && a.expiryNanoseconds == b.expiryNanoseconds && a.amount == b.amount && a.kind == b.kind
      && a.isHold == b.isHold
  }

  /// Hashes the number and the identifier (equal transfers have both equal).
  public func hash(into h: inout Hasher) {
    h.combine(number)
    h.combine(id)
  }
}

extension HoldResolution: Codable {
  private enum Keys: String, CodingKey { case number, hold, outcome, amount, currency, time }

  /// Encodes as `{"number","hold","outcome","amount","currency","time"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(number, forKey: .number)
    try c.encode("#\(hold)", forKey: .hold)
    try c.encode(outcome.description, forKey: .outcome)
    try c.encode(amount, forKey: .amount)
    try c.encode(amount.currency.code, forKey: .currency)
    try c.encode(time, forKey: .time)
  }

  /// Decodes the shape ``encode(to:)`` writes.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Keys.self)
    let currency = try c.decode(Currency.self, forKey: .currency)
    let hold = try c.decode(String.self, forKey: .hold)
    guard hold.hasPrefix("#"), let holdNumber = UInt64(hold.dropFirst()) else {
      throw DecodingError.dataCorruptedError(
        forKey: .hold, in: c, debugDescription: "expected '#' and a transfer number")
    }
    self.init(
      number: try c.decode(UInt64.self, forKey: .number), hold: holdNumber,
      outcome: try c.named(.outcome, [HoldOutcome.posted, .voided, .expired]),
      amount: try c.amount(.amount, in: currency, signed: false),
      time: try c.decode(Instant.self, forKey: .time))
  }
}

extension TransferReceipt: Encodable {
  private enum Keys: String, CodingKey {
    case transfer, from, to, amount, currency, replayed
    case fromBalance = "from_balance"
    case toBalance = "to_balance"
  }

  /// Encodes as bankctl's transfer shape:
  /// `{"transfer","from","to","amount","currency","from_balance","to_balance","replayed"}`;
  /// `to_balance` is `null` when the credited account is hidden from the acting principal.
  ///
  /// A receipt is not `Decodable`: its JSON is a summary of a transfer and two accounts, not
  /// all of them. A client decodes the ``Transfer`` and the ``Account``s from their own calls.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(transfer.id, forKey: .transfer)
    try c.encode(debitAccount.number, forKey: .from)
    try c.encode(creditAccount.number, forKey: .to)
    try c.encode(amount, forKey: .amount)
    try c.encode(amount.currency.code, forKey: .currency)
    try c.encode(debitAccount.balance, forKey: .fromBalance)
    if creditAccountHidden {
      try c.encodeNil(forKey: .toBalance)
    } else {
      try c.encode(creditAccount.balance, forKey: .toBalance)
    }
    try c.encode(replayed, forKey: .replayed)
  }
}

// MARK: Coding helpers

extension Encoder {
  /// Encodes a value as its text form.
  func encodeText(_ text: String) throws {
    var c = singleValueContainer()
    try c.encode(text)
  }
}

extension Decoder {
  /// A value read from its text form by a library parser, its refusal as a `DecodingError`.
  func decodeText<T>(_ parse: (String) throws(BankError) -> T) throws -> T {
    let c = try singleValueContainer()
    return try c.parsed(try c.decode(String.self), parse)
  }
}

extension SingleValueDecodingContainer {
  /// `text` parsed by a library parser, its refusal as a `DecodingError`.
  func parsed<T>(_ text: String, _ parse: (String) throws(BankError) -> T) throws -> T {
    do { return try parse(text) } catch {
      throw DecodingError.dataCorruptedError(in: self, debugDescription: error.message)
    }
  }
}

extension KeyedDecodingContainer {
  /// The string at `key` parsed by a library parser, its refusal as a `DecodingError`.
  func parsed<T>(_ key: Key, _ parse: (String) throws(BankError) -> T) throws -> T {
    let text = try decode(String.self, forKey: key)
    do { return try parse(text) } catch {
      throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: error.message)
    }
  }

  /// The amount at `key` in `currency`: a plain decimal, signed (`-12.30`) when `signed`.
  func amount(_ key: Key, in currency: Currency, signed: Bool = true) throws -> Amount {
    try parsed(key) { t throws(BankError) in
      signed ? try Amount.signed(t, currency: currency) : try Amount(parsing: t, currency: currency)
    }
  }

  /// The case of `cases` whose description is the string at `key`.
  func named<T: CustomStringConvertible>(_ key: Key, _ cases: some Collection<T>) throws -> T {
    let text = try decode(String.self, forKey: key)
    guard let value = cases.first(where: { $0.description == text }) else {
      throw DecodingError.dataCorruptedError(
        forKey: key, in: self,
        debugDescription:
          "unknown \(key.stringValue) '\(text.debugSanitized)'; expected one of: \(cases.map(\.description).joined(separator: ", "))"
      )
    }
    return value
  }
}
