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

extension LedgerCommand {
  /// The idempotency key a command carries, if any.
  var idempotencyKey: IdempotencyKey? {
    switch self {
    case .transfer(_, _, _, let key, _, _), .deposit(_, _, let key, _), .withdraw(_, _, let key, _),
      .placeHold(_, _, _, _, let key, _):
      key
    default: nil
    }
  }
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

  /// Checks a name, memo or other free text: at most `max` characters as a person sees them
  /// (grapheme clusters) and `4 × max` bytes of UTF-8, no character carrying more than
  /// ``maxCombiningMarks`` combining marks, none of the characters ``isUnsafeForDisplay(_:)``
  /// refuses, and, unless `allowEmpty`, something visible (``isBlank(_:)``).
  ///
  /// The byte bound keeps every line of an export within what hledger and ledger-cli read (a
  /// memo of one letter and 20,000 combining marks counted as one character).
  ///
  /// - Throws: `invalid_argument` naming the field and the rule.
  package static func text(_ s: String, field: String, max: Int, allowEmpty: Bool) throws(BankError)
  {
    if !allowEmpty && s.isEmpty {
      throw BankError(.invalidArgument, "\(field) must not be empty")
    }
    let bytes = s.utf8.count
    if bytes > 4 * max {
      throw BankError(
        .invalidArgument, "\(field) is \(bytes) bytes of UTF-8; at most \(4 * max) are allowed")
    }
    let characters = s.count
    if characters > max {
      throw BankError(
        .invalidArgument, "\(field) is \(characters) characters; at most \(max) are allowed")
    }
    if let bad = s.unicodeScalars.first(where: isUnsafeForDisplay) {
      throw BankError(
        .invalidArgument,
        "\(field) must not contain control, bidirectional or invisible characters (found \(codePoint(bad)))"
      )
    }
    for ch in s {
      let marks = ch.unicodeScalars.reduce(0) { $0 + (isCombiningMark($1) ? 1 : 0) }
      if marks > maxCombiningMarks {
        throw BankError(
          .invalidArgument,
          "\(field) has a character with \(marks) combining marks; at most \(maxCombiningMarks) are allowed"
        )
      }
    }
    // A name that is only spaces or invisible characters looks empty in every listing.
    if !allowEmpty && isBlank(s) {
      throw BankError(
        .invalidArgument, "\(field) must not be blank (only spaces or invisible characters)")
    }
  }

  /// The most combining marks one character may carry: enough for every living script (Vietnamese
  /// stacks two, some Indic clusters three), too few to build a tower of marks.
  package static let maxCombiningMarks = 4

  /// `U+XXXX` for a scalar, as messages name it.
  static func codePoint(_ scalar: Unicode.Scalar) -> String {
    let hex = String(scalar.value, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: Swift.max(0, 4 - hex.count)) + hex
  }

  /// Whether a scalar is a combining mark (general categories Mn, Mc and Me).
  static func isCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark: true
    default: false
    }
  }

  /// Whether text shows nothing a person can see: every scalar is white space, a separator, a
  /// control, format, private-use, surrogate or unassigned code point, a default-ignorable code
  /// point (U+00AD, U+3164, U+115F, U+FFA0, the tags U+E0000–U+E007F, the variation selectors),
  /// or a combining mark with nothing to combine with; or U+2800 BRAILLE PATTERN BLANK, the one
  /// symbol defined to show no dots.
  package static func isBlank(_ s: String) -> Bool {
    s.unicodeScalars.allSatisfy { scalar in
      let p = scalar.properties
      if p.isWhitespace || p.isDefaultIgnorableCodePoint || scalar.value == 0x2800 { return true }
      switch p.generalCategory {
      case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format, .privateUse,
        .surrogate, .unassigned, .nonspacingMark, .spacingMark, .enclosingMark:
        return true
      default:
        return false
      }
    }
  }

  /// Whether showing `scalar` to a person could deceive or disturb them: controls (C0, C1 and
  /// DEL: terminal escapes), every bidirectional control by the Unicode property Bidi_Control
  /// (the marks U+200E, U+200F and U+061C, the embeddings and overrides U+202A–U+202E and the
  /// isolates U+2066–U+2069: text that displays in another order than it reads), the
  /// zero-width characters U+200B–U+200D, U+2060 and U+FEFF, and the line and paragraph
  /// separators.
  ///
  /// ``text(_:field:max:allowEmpty:)`` refuses exactly these characters, and ``escaped(_:limit:)``
  /// escapes exactly these, so what is refused on the way in is what is neutralised on the way out.
  package static func isUnsafeForDisplay(_ scalar: Unicode.Scalar) -> Bool {
    let p = scalar.properties
    if p.isBidiControl { return true }
    switch p.generalCategory {
    case .control, .lineSeparator, .paragraphSeparator: return true
    default: break
    }
    switch scalar.value {
    case 0x200B...0x200D, 0x2060, 0xFEFF: return true
    default: return false
    }
  }

  /// `s` made safe to echo in a message: each scalar for which ``isUnsafeForDisplay(_:)`` is true
  /// becomes `\u{hex}`, and with a `limit` the result keeps at most that many scalars of `s`,
  /// then `…`.
  ///
  /// Escaping does not touch backslashes, so escaping text twice changes nothing.
  package static func escaped(_ s: String, limit: Int? = 64) -> String {
    // Printable ASCII within the limit has nothing to escape.
    if s.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && (limit.map { s.utf8.count <= $0 } ?? true)
    {
      return s
    }
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
