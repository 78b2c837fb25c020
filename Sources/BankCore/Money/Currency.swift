/// An ISO 4217 currency: a three-letter code and the number of decimal digits of its minor unit.
///
/// The built-in table covers common currencies; ``init(code:minorDigits:)`` makes custom ones.
/// Equality compares both the code and the exponent.
public struct Currency: Hashable, Sendable, CustomStringConvertible {
  /// The code's three letters in the top three bytes (first letter highest) and the minor digits
  /// in the lowest: one word, so that comparing, hashing and copying a currency (and so every
  /// ``Amount``) costs an integer operation, never a string's.
  let packed: UInt32

  /// The three upper-case ASCII letters of the code, for example `USD`.
  public var code: String {
    let letters = (
      UInt8(truncatingIfNeeded: packed >> 24), UInt8(truncatingIfNeeded: packed >> 16),
      UInt8(truncatingIfNeeded: packed >> 8)
    )
    return withUnsafeBytes(of: letters) { String(decoding: $0, as: UTF8.self) }
  }

  /// The code's three letters alone, as one integer (a key that ignores the exponent).
  var letters: UInt32 { packed >> 8 }

  /// How many decimal digits the minor unit has: 2 for USD, 0 for JPY, 3 for KWD.
  public var minorDigits: Int { Int(packed & 0xFF) }

  /// Creates a currency, validating the code and exponent.
  ///
  /// - Parameters:
  ///   - code: three upper-case ASCII letters.
  ///   - minorDigits: 0 through 9.
  /// - Throws: `invalid_currency` when either is out of range.
  public init(code: String, minorDigits: Int) throws(BankError) {
    let u = Array(code.utf8)
    guard u.count == 3, u.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
      throw BankError(
        .invalidCurrency, "currency code must be three letters A-Z, got '\(code.debugSanitized)'")
    }
    guard (0...9).contains(minorDigits) else {
      throw BankError(
        .invalidCurrency, "currency \(code) minor digits must be 0...9, got \(minorDigits)")
    }
    packed = UInt32(u[0]) << 24 | UInt32(u[1]) << 16 | UInt32(u[2]) << 8 | UInt32(minorDigits)
  }

  /// A currency from letters and digits already known to be valid (the built-in table).
  init(_ a: Unicode.Scalar, _ b: Unicode.Scalar, _ c: Unicode.Scalar, digits: UInt8) {
    assert([a, b, c].allSatisfy { ("A"..."Z").contains($0) } && digits <= 9)
    packed = a.value << 24 | b.value << 16 | c.value << 8 | UInt32(digits)
  }

  public var description: String { code }

  /// The largest single amount, and the largest overdraft limit, the bank accepts in this
  /// currency: one trillion major units (1,000,000,000,000.00 USD, 1,000,000,000,000 JPY), and at
  /// most 10^18 minor units for currencies of seven or more minor digits. Larger ones are refused
  /// with `invalid_argument`. Far above any real payment, and below 2^63: a balance (or a
  /// vault's, the sum of its customers') leaves 64 bits only after tens of thousands of the
  /// largest amounts in USD (nine for a currency of six or more minor digits), and such a
  /// movement is refused (`overflow`) without affecting any other; the gross totals are 128-bit.
  public var maximumMinorUnits: Int64 {
    var m: Int64 = 1_000_000_000_000
    for _ in 0..<min(minorDigits, 6) { m *= 10 }
    return m
  }

  /// ``maximumMinorUnits`` as an amount.
  public var maximumAmount: Amount { Amount(minorUnits: maximumMinorUnits, currency: self) }

  /// Throws `invalid_argument` when `amount` is above ``maximumAmount`` (naming `what` it is).
  func requireWithinMaximum(_ amount: Amount, _ what: String) throws(BankError) {
    guard amount.minorUnits <= maximumMinorUnits else {
      throw BankError(
        .invalidArgument,
        "\(what) of \(amount.formatted) is above the largest the bank accepts in \(code), \(maximumAmount.formatted)"
      )
    }
  }

  /// 10 raised to ``minorDigits``: the number of minor units in one major unit.
  public var scale: Int64 {
    var s: Int64 = 1
    for _ in 0..<minorDigits { s *= 10 }
    return s
  }

  /// US dollar.
  public static let usd = Currency("U", "S", "D", digits: 2)
  /// Euro.
  public static let eur = Currency("E", "U", "R", digits: 2)
  /// Pound sterling.
  public static let gbp = Currency("G", "B", "P", digits: 2)
  /// Indian rupee.
  public static let inr = Currency("I", "N", "R", digits: 2)
  /// Japanese yen (no minor unit).
  public static let jpy = Currency("J", "P", "Y", digits: 0)
  /// Swiss franc.
  public static let chf = Currency("C", "H", "F", digits: 2)
  /// Kuwaiti dinar (three decimals).
  public static let kwd = Currency("K", "W", "D", digits: 3)
  /// Canadian dollar.
  public static let cad = Currency("C", "A", "D", digits: 2)
  /// Australian dollar.
  public static let aud = Currency("A", "U", "D", digits: 2)
  /// Chinese yuan.
  public static let cny = Currency("C", "N", "Y", digits: 2)
  /// Bahraini dinar (three decimals).
  public static let bhd = Currency("B", "H", "D", digits: 3)
  /// South Korean won (no minor unit).
  public static let krw = Currency("K", "R", "W", digits: 0)

  /// The built-in table of ISO 4217 currencies.
  public static let builtIn: [Currency] = [
    .usd, .eur, .gbp, .inr, .jpy, .chf, .kwd, .cad, .aud, .cny, .bhd, .krw,
  ]

  /// Looks a code up in the built-in table.
  ///
  /// - Throws: `invalid_currency` when the code is not in the table.
  public static func named(_ code: String) throws(BankError) -> Currency {
    if let c = builtIn.first(where: { $0.code == code }) { return c }
    throw BankError(
      .invalidCurrency,
      "unknown currency '\(code.debugSanitized)'; known: \(builtIn.map(\.code).joined(separator: ", "))"
    )
  }
}

extension String {
  /// The string with control characters escaped and its length capped, safe to echo in a message.
  var debugSanitized: String {
    var out = ""
    var count = 0
    for scalar in unicodeScalars {
      if count >= 64 {
        out += "…"
        break
      }
      count += 1
      if scalar.value < 0x20 || scalar.value == 0x7F {
        out += "\\u{\(String(scalar.value, radix: 16))}"
      } else {
        out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
