/// The JSON forms of the Authenticator's values, as `bankctl --json` prints them.

extension CustomerID: Codable {
  /// Encodes as `C000001`.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }

  /// Decodes `C000001` (``init(parsing:)``).
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText(CustomerID.init(parsing:))
  }
}

extension YearMonth: Codable {
  /// Encodes as `YYYY-MM`.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }

  /// Decodes `YYYY-MM` (``init(parsing:)``).
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText(YearMonth.init(parsing:))
  }
}

extension Customer: Codable {
  private enum Keys: String, CodingKey {
    case customer, name, email, phone, age, gender, accounts, cards
  }

  /// Encodes as `customer show` prints it: `{"customer","name","email","phone","age","gender",
  /// "accounts","cards"}`; `gender` is `""` when not given.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(id, forKey: .customer)
    try c.encode(name, forKey: .name)
    try c.encode(email, forKey: .email)
    try c.encode(phone, forKey: .phone)
    try c.encode(age, forKey: .age)
    try c.encode(gender ?? "", forKey: .gender)
    try c.encode(accounts, forKey: .accounts)
    try c.encode(cards, forKey: .cards)
  }

  /// Decodes the shape ``encode(to:)`` writes; `cards` may be absent (what `customer register`
  /// and `customer update` print), meaning none are listed.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Keys.self)
    let gender = try c.decode(String.self, forKey: .gender)
    self.init(
      id: try c.decode(CustomerID.self, forKey: .customer),
      name: try c.decode(String.self, forKey: .name),
      email: try c.decode(String.self, forKey: .email),
      phone: try c.decode(String.self, forKey: .phone),
      age: try c.decode(Int.self, forKey: .age), gender: gender.isEmpty ? nil : gender,
      accounts: try c.decode([AccountNumber].self, forKey: .accounts),
      cards: try c.decodeIfPresent([String].self, forKey: .cards) ?? [])
  }
}

/// The keys of a card's JSON, shared by ``Card`` (masked) and ``IssuedCard`` (in full).
private enum CardKeys: String, CodingKey {
  case card, customer, accounts, expires, status
  case hasPIN = "has_pin"
  case failedPINAttempts = "failed_pin_attempts"
  case issuedAt = "issued_at"
}

extension Card: Encodable {
  /// Encodes as `{"card","customer","accounts","expires","status","has_pin",
  /// "failed_pin_attempts","issued_at"}`, `card` masked.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CardKeys.self)
    try c.encode(pan.masked, forKey: .card)
    try c.encode(customer, forKey: .customer)
    try c.encode(accounts, forKey: .accounts)
    try c.encode(expiry, forKey: .expires)
    try c.encode(status.description, forKey: .status)
    try c.encode(hasPIN, forKey: .hasPIN)
    try c.encode(failedPINAttempts, forKey: .failedPINAttempts)
    try c.encode(issuedAt, forKey: .issuedAt)
  }
}

extension IssuedCard: Encodable {
  /// Encodes as `card issue` prints it, once: `{"card","customer","accounts","expires",
  /// "status"}` with `card` the full number.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CardKeys.self)
    try c.encode(pan, forKey: .card)
    try c.encode(card.customer, forKey: .customer)
    try c.encode(card.accounts, forKey: .accounts)
    try c.encode(card.expiry, forKey: .expires)
    try c.encode(card.status.description, forKey: .status)
  }
}
