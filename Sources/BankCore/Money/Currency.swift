/// An ISO 4217 currency: a three-letter code and the number of decimal digits of its minor unit.
///
/// The built-in table covers common currencies; ``init(code:minorDigits:)`` makes custom ones.
/// Equality compares both the code and the exponent.
public struct Currency: Hashable, Sendable, CustomStringConvertible {
  /// The three upper-case ASCII letters of the code, for example `USD`.
  public let code: String
  /// How many decimal digits the minor unit has: 2 for USD, 0 for JPY, 3 for KWD.
  public let minorDigits: Int

  /// Creates a currency, validating the code and exponent.
  ///
  /// - Parameters:
  ///   - code: three upper-case ASCII letters.
  ///   - minorDigits: 0 through 9.
  /// - Throws: `invalid_currency` when either is out of range.
  public init(code: String, minorDigits: Int) throws(BankError) {
    guard code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
      throw BankError(
        .invalidCurrency, "currency code must be three letters A-Z, got '\(code.debugSanitized)'")
    }
    guard (0...9).contains(minorDigits) else {
      throw BankError(
        .invalidCurrency, "currency \(code) minor digits must be 0...9, got \(minorDigits)")
    }
    self.code = code
    self.minorDigits = minorDigits
  }

  init(unchecked code: String, _ minorDigits: Int) {
    self.code = code
    self.minorDigits = minorDigits
  }

  public var description: String { code }

  /// 10 raised to ``minorDigits``: the number of minor units in one major unit.
  public var scale: Int64 {
    var s: Int64 = 1
    for _ in 0..<minorDigits { s *= 10 }
    return s
  }

  /// US dollar.
  public static let usd = Currency(unchecked: "USD", 2)
  /// Euro.
  public static let eur = Currency(unchecked: "EUR", 2)
  /// Pound sterling.
  public static let gbp = Currency(unchecked: "GBP", 2)
  /// Indian rupee.
  public static let inr = Currency(unchecked: "INR", 2)
  /// Japanese yen (no minor unit).
  public static let jpy = Currency(unchecked: "JPY", 0)
  /// Swiss franc.
  public static let chf = Currency(unchecked: "CHF", 2)
  /// Kuwaiti dinar (three decimals).
  public static let kwd = Currency(unchecked: "KWD", 3)
  /// Canadian dollar.
  public static let cad = Currency(unchecked: "CAD", 2)
  /// Australian dollar.
  public static let aud = Currency(unchecked: "AUD", 2)
  /// Chinese yuan.
  public static let cny = Currency(unchecked: "CNY", 2)
  /// Bahraini dinar (three decimals).
  public static let bhd = Currency(unchecked: "BHD", 3)
  /// South Korean won (no minor unit).
  public static let krw = Currency(unchecked: "KRW", 0)

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
