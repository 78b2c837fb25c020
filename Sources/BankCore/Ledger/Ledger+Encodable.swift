/// The JSON forms of the values a service returns, with bankctl's field names (snake_case keys,
/// amounts as strings at full precision, times in RFC 3339), so that `bankd` and `bankctl --json`
/// print the same shapes.

extension Amount: Encodable {
  /// Encodes as a string with every minor digit (`"12.30"`), never a binary float.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

extension Instant: Encodable {
  /// Encodes as RFC 3339 in UTC.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

extension AccountNumber: Encodable {
  /// Encodes as the printed form, `1000-0001-7`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

extension Account: Encodable {
  private enum Keys: String, CodingKey {
    case account, name, type, currency, status, balance, available, pending
    case overdraftLimit = "overdraft_limit"
  }

  /// Encodes as bankctl's account shape:
  /// `{"account","name","type","currency","status","balance","available","pending","overdraft_limit"}`.
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
  }
}

extension HistoryEntry: Encodable {
  private enum Keys: String, CodingKey {
    case transfer, time, kind, amount, balance, memo, counterparty, by, channel
  }

  /// Encodes as bankctl's history entry: `{"transfer","time","kind","amount","balance","memo",
  /// "counterparty"}`, and `"by"` and `"channel"` when the entry carries its ``HistoryEntry/origin``.
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
      try c.encode(origin.channel.description, forKey: .channel)
    }
  }
}

extension Transfer: Encodable {
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
}

extension HoldResolution: Encodable {
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
