/// An exact amount of money: signed `Int64` minor units of one currency.
///
/// Arithmetic is overflow-checked and throws `overflow`; it never traps. Parsing is strict, so
/// that an operator's typo is an error rather than a different amount.
public struct Amount: Hashable, Sendable, CustomStringConvertible {
  /// The value in minor units, for example cents.
  public let minorUnits: Int64
  /// The currency the value is counted in.
  public let currency: Currency

  /// Creates an amount from minor units.
  public init(minorUnits: Int64, currency: Currency) {
    self.minorUnits = minorUnits
    self.currency = currency
  }

  /// Zero in a currency.
  public static func zero(_ currency: Currency) -> Amount {
    Amount(minorUnits: 0, currency: currency)
  }

  /// Parses a non-negative decimal string such as `12`, `12.3` or `12.34`.
  ///
  /// Accepted: ASCII digits, optionally followed by a point and at most ``Currency/minorDigits``
  /// further digits. Rejected: empty input, signs, exponents, grouping separators, white space,
  /// non-ASCII digits, a trailing or leading point, and values beyond `Int64` minor units.
  ///
  /// - Throws: `invalid_amount` naming what was wrong.
  public init(parsing text: String, currency: Currency) throws(BankError) {
    self.currency = currency
    self.minorUnits = try Amount.parseMinorUnits(text, currency: currency)
  }

  static func parseMinorUnits(_ text: String, currency: Currency) throws(BankError) -> Int64 {
    let shown = text.debugSanitized
    func fail(_ why: String) -> BankError {
      BankError(.invalidAmount, "invalid amount '\(shown)': \(why)")
    }
    let bytes = Array(text.utf8)
    if bytes.isEmpty { throw fail("expected digits such as 12 or 12.34") }
    if bytes.count > 64 { throw fail("too long") }
    var whole: [UInt8] = []
    var fraction: [UInt8] = []
    var seenPoint = false
    for b in bytes {
      switch b {
      case UInt8(ascii: "0")...UInt8(ascii: "9"):
        if seenPoint { fraction.append(b - 48) } else { whole.append(b - 48) }
      case UInt8(ascii: "."):
        if seenPoint { throw fail("more than one decimal point") }
        seenPoint = true
      case UInt8(ascii: "-"), UInt8(ascii: "+"):
        throw fail("signs are not allowed; amounts are positive decimals such as 12.34")
      case UInt8(ascii: "e"), UInt8(ascii: "E"):
        throw fail("exponents are not allowed; write the digits out")
      case UInt8(ascii: ","), UInt8(ascii: "_"), UInt8(ascii: "'"):
        throw fail("digit grouping is not allowed; write 1000 rather than 1,000")
      case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"):
        throw fail("white space is not allowed")
      default:
        throw fail("only ASCII digits and one decimal point are allowed")
      }
    }
    if whole.isEmpty { throw fail("expected a digit before the decimal point") }
    if seenPoint && fraction.isEmpty { throw fail("expected a digit after the decimal point") }
    if fraction.count > currency.minorDigits {
      throw fail(
        currency.minorDigits == 0
          ? "\(currency.code) has no minor unit; use a whole number"
          : "\(currency.code) allows at most \(currency.minorDigits) decimal places")
    }
    var value: Int64 = 0
    for d in whole {
      let (m, o1) = value.multipliedReportingOverflow(by: 10)
      let (a, o2) = m.addingReportingOverflow(Int64(d))
      if o1 || o2 { throw fail("too large") }
      value = a
    }
    for i in 0..<currency.minorDigits {
      let d: Int64 = i < fraction.count ? Int64(fraction[i]) : 0
      let (m, o1) = value.multipliedReportingOverflow(by: 10)
      let (a, o2) = m.addingReportingOverflow(d)
      if o1 || o2 { throw fail("too large") }
      value = a
    }
    return value
  }

  /// The amount as a plain decimal with every minor digit, for example `-12.30`.
  public var description: String { Amount.format(minorUnits, digits: currency.minorDigits) }

  /// The amount followed by its currency code, for example `12.30 USD`.
  public var formatted: String { "\(description) \(currency.code)" }

  static func format(_ minorUnits: Int64, digits: Int) -> String {
    let negative = minorUnits < 0
    // magnitude avoids trapping on Int64.min.
    var digitsText = String(minorUnits.magnitude)
    if digits > 0 {
      if digitsText.count <= digits {
        digitsText = String(repeating: "0", count: digits - digitsText.count + 1) + digitsText
      }
      digitsText.insert(".", at: digitsText.index(digitsText.endIndex, offsetBy: -digits))
    }
    return negative ? "-" + digitsText : digitsText
  }

  /// The sum of two amounts of one currency.
  ///
  /// - Throws: `currency_mismatch` or `overflow`.
  public func adding(_ other: Amount) throws(BankError) -> Amount {
    try sameCurrency(other)
    let (v, o) = minorUnits.addingReportingOverflow(other.minorUnits)
    if o { throw BankError(.overflow, "\(formatted) + \(other.formatted) overflows") }
    return Amount(minorUnits: v, currency: currency)
  }

  /// The difference of two amounts of one currency.
  ///
  /// - Throws: `currency_mismatch` or `overflow`.
  public func subtracting(_ other: Amount) throws(BankError) -> Amount {
    try sameCurrency(other)
    let (v, o) = minorUnits.subtractingReportingOverflow(other.minorUnits)
    if o { throw BankError(.overflow, "\(formatted) - \(other.formatted) overflows") }
    return Amount(minorUnits: v, currency: currency)
  }

  /// The amount multiplied by an integer factor.
  ///
  /// - Throws: `overflow`.
  public func multiplied(by factor: Int64) throws(BankError) -> Amount {
    let (v, o) = minorUnits.multipliedReportingOverflow(by: factor)
    if o { throw BankError(.overflow, "\(formatted) × \(factor) overflows") }
    return Amount(minorUnits: v, currency: currency)
  }

  fileprivate func sameCurrency(_ other: Amount) throws(BankError) {
    if other.currency != currency {
      throw BankError(
        .currencyMismatch, "cannot combine \(formatted) with \(other.formatted)")
    }
  }
}

extension Amount: Comparable {
  /// A total order: by currency code, then by value. Amounts of one currency compare by value;
  /// to refuse a comparison across currencies instead, use ``isLess(than:)``.
  public static func < (a: Amount, b: Amount) -> Bool {
    a.currency.code != b.currency.code
      ? a.currency.code < b.currency.code : a.minorUnits < b.minorUnits
  }

  /// Whether this amount is less than `other`, of the same currency.
  ///
  /// - Throws: `currency_mismatch`.
  public func isLess(than other: Amount) throws(BankError) -> Bool {
    try sameCurrency(other)
    return minorUnits < other.minorUnits
  }

  /// The checked sum: `try a + b`.
  ///
  /// - Throws: `currency_mismatch` or `overflow`; never traps.
  public static func + (a: Amount, b: Amount) throws(BankError) -> Amount { try a.adding(b) }

  /// The checked difference: `try a - b`.
  ///
  /// - Throws: `currency_mismatch` or `overflow`; never traps.
  public static func - (a: Amount, b: Amount) throws(BankError) -> Amount {
    try a.subtracting(b)
  }

  /// The checked negation.
  ///
  /// - Throws: `overflow` for the one value whose negation does not fit.
  public static prefix func - (a: Amount) throws(BankError) -> Amount {
    try zero(a.currency).subtracting(a)
  }
}

/// Overflow-checked helpers on raw minor units, shared by the ledger's rules.
enum Checked {
  static func add(_ a: Int64, _ b: Int64) -> Int64? {
    let (v, o) = a.addingReportingOverflow(b)
    return o ? nil : v
  }
  static func sub(_ a: Int64, _ b: Int64) -> Int64? {
    let (v, o) = a.subtractingReportingOverflow(b)
    return o ? nil : v
  }
}
