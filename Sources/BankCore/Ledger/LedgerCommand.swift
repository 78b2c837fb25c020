/// What to open: the owner, kind, currency, overdraft and optionally a chosen number.
public struct AccountSpec: Sendable, Equatable {
  /// The owner's name or the account's title: 1 to 100 characters, no control characters.
  public var name: String
  /// What the account is for.
  public var kind: AccountKind
  /// The currency of every movement on it.
  public var currency: Currency
  /// How far below zero debits may take it, in the account's currency; only for checking
  /// accounts. `nil` for none.
  public var overdraftLimit: Amount?
  /// A caller-chosen number, which must be valid and unused; `nil` lets the bank assign one.
  public var number: AccountNumber?

  /// Describes an account to open.
  public init(
    name: String, kind: AccountKind = .checking, currency: Currency = .usd,
    overdraftLimit: Amount? = nil, number: AccountNumber? = nil
  ) {
    self.name = name
    self.kind = kind
    self.currency = currency
    self.overdraftLimit = overdraftLimit
    self.number = number
  }

  /// Checks the spec on its own, before any state is consulted.
  ///
  /// - Throws: `invalid_argument` for an empty, over-long or control-character name, or an
  ///   overdraft on anything but a checking account; `invalid_amount` for a negative overdraft;
  ///   `currency_mismatch` for an overdraft in another currency than the account's.
  public func validate() throws(BankError) {
    try Validate.text(name, field: "name", max: 100, allowEmpty: false)
    guard let overdraftLimit else { return }
    if overdraftLimit.currency != currency {
      throw BankError(
        .currencyMismatch,
        "the overdraft limit \(overdraftLimit.formatted) is not in the account's currency \(currency.code)"
      )
    }
    if overdraftLimit.minorUnits < 0 {
      throw BankError(.invalidAmount, "an overdraft limit must not be negative")
    }
    try currency.requireWithinMaximum(overdraftLimit, "an overdraft limit")
    if overdraftLimit.minorUnits > 0 && kind != .checking {
      throw BankError(.invalidArgument, "only checking accounts have overdrafts, not \(kind)")
    }
  }
}

/// Identifies a hold: by the caller's key or by its transfer number.
public enum HoldReference: Sendable, Equatable, CustomStringConvertible {
  /// The idempotency key the hold was placed with.
  case key(IdempotencyKey)
  /// The ledger-assigned transfer number.
  case number(UInt64)

  public var description: String {
    switch self {
    case .key(let k): k.text
    case .number(let n): "#\(n)"
    }
  }
}

/// One command the ledger can commit. A list of them is a linked batch: all or nothing.
public enum LedgerCommand: Sendable, Equatable {
  /// Opens an account (and the currency's vault, the first time the currency is used).
  case open(AccountSpec)
  /// Moves money between two accounts; `kind` labels it in history.
  case transfer(
    amount: Amount, from: AccountNumber, to: AccountNumber, key: IdempotencyKey? = nil,
    memo: String = "",
    kind: TransferKind = .transfer)
  /// Cash in: from the currency's vault to the account.
  case deposit(amount: Amount, to: AccountNumber, key: IdempotencyKey? = nil, memo: String = "")
  /// Cash out: from the account to the currency's vault.
  case withdraw(amount: Amount, from: AccountNumber, key: IdempotencyKey? = nil, memo: String = "")
  /// Reserves funds: pending until posted, voided or expired. `to` defaults to the vault;
  /// `expiresAt` `nil` means the hold never lapses on its own.
  case placeHold(
    amount: Amount, from: AccountNumber, to: AccountNumber? = nil, expiresAt: Instant? = nil,
    key: IdempotencyKey? = nil, memo: String = "")
  /// Posts a pending hold, in full (`amount` nil) or in part.
  case postHold(HoldReference, amount: Amount? = nil)
  /// Releases a pending hold.
  case voidHold(HoldReference)
  /// Expires every pending hold whose time has come, as of the command's timestamp.
  case expireHolds
  /// Freezes, unfreezes or closes an account. Closing needs a zero balance and no holds.
  case setStatus(AccountNumber, AccountStatus)
  /// Changes a checking account's overdraft limit.
  case setOverdraft(AccountNumber, Amount)
}

/// What one committed command did.
public enum LedgerOutcome: Sendable, Equatable {
  /// An account was opened.
  case opened(AccountID)
  /// Money moved or a hold was placed; `replayed` is true when an identical earlier transfer with
  /// the same key was found and nothing moved.
  case transferred(Transfer, replayed: Bool)
  /// A hold was posted, voided or expired.
  case holdResolved(HoldResolution)
  /// Holds expired by ``LedgerCommand/expireHolds``.
  case expired(count: Int)
  /// An account's status or limit changed.
  case changed(AccountID)
}

/// Checks of caller-supplied text shared by the ledger and the CLI.
package enum Validate {
  /// Throws `invalid_key` unless the key is 1 to 64 characters from `[A-Za-z0-9._:-]`.
  package static func key(_ key: String?) throws(BankError) {
    guard let key else { return }
    let ok =
      (1...64).contains(key.utf8.count)
      && key.utf8.allSatisfy { b in
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 46 || b == 95
          || b == 58 || b == 45
      }
    if !ok {
      throw BankError(
        .invalidKey,
        "invalid idempotency key '\(key.debugSanitized)': expected 1 to 64 characters from A-Z a-z 0-9 . _ : -"
      )
    }
  }

  /// Throws `invalid_argument` for text that is empty or only white space (unless empty text is
  /// allowed), longer than `max` characters, or holds a character for which
  /// ``isUnsafeForDisplay(_:)`` is true.
  package static func text(_ s: String, field: String, max: Int, allowEmpty: Bool) throws(BankError)
  {
    if !allowEmpty && s.isEmpty {
      throw BankError(.invalidArgument, "\(field) must not be empty")
    }
    if s.count > max {
      throw BankError(
        .invalidArgument, "\(field) is \(s.count) characters; at most \(max) are allowed")
    }
    if let bad = s.unicodeScalars.first(where: isUnsafeForDisplay) {
      let hex = String(bad.value, radix: 16, uppercase: true)
      let code = "U+" + String(repeating: "0", count: Swift.max(0, 4 - hex.count)) + hex
      throw BankError(
        .invalidArgument,
        "\(field) must not contain control, bidirectional-override or invisible characters (found \(code))"
      )
    }
    // A name that is only spaces looks empty in every listing.
    if !allowEmpty && s.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
      throw BankError(.invalidArgument, "\(field) must not be only spaces")
    }
  }

  /// Whether showing `scalar` to a person could deceive or disturb them: C0 and C1 control
  /// characters and DEL (terminal escapes), the bidirectional embeddings, overrides and isolates
  /// U+202A–U+202E and U+2066–U+2069 (text that displays in another order than it reads),
  /// the zero-width characters U+200B–U+200D, U+2060 and U+FEFF, and the line and paragraph
  /// separators U+2028 and U+2029.
  ///
  /// ``text(_:field:max:allowEmpty:)`` refuses exactly these characters, and ``escaped(_:limit:)``
  /// escapes exactly these, so what is refused on the way in is what is neutralised on the way out.
  package static func isUnsafeForDisplay(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F: true
    case 0x200B...0x200D, 0x2028...0x202E, 0x2060, 0x2066...0x2069, 0xFEFF: true
    default: false
    }
  }

  /// `s` made safe to echo in a message: each scalar for which ``isUnsafeForDisplay(_:)`` is true
  /// becomes `\u{hex}`, and with a `limit` the result keeps at most that many scalars of `s`,
  /// then `…`.
  ///
  /// Escaping does not touch backslashes, so escaping text twice changes nothing.
  package static func escaped(_ s: String, limit: Int? = 64) -> String {
    var out = ""
    var count = 0
    for scalar in s.unicodeScalars {
      if let limit, count >= limit {
        out += "…"
        break
      }
      count += 1
      if isUnsafeForDisplay(scalar) {
        out += "\\u{\(String(scalar.value, radix: 16))}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
