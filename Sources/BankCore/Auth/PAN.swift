/// A card's primary account number: 16 digits, the last a Luhn check digit.
///
/// It prints masked (`999000******1234`: the first six and last four digits), so that logging a
/// card never leaks its number; ``digits`` gives the full number, which only `card issue` shows.
public struct PAN: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The sixteen digits as one integer.
  let value: UInt64

  init(uncheckedValue: UInt64) { value = uncheckedValue }

  /// Parses sixteen digits (spaces and dashes between groups are ignored) with a valid check
  /// digit.
  ///
  /// - Throws: `invalid_argument` naming what is wrong, never echoing the number.
  public init(parsing text: String) throws(BankError) {
    var value: UInt64 = 0
    var count = 0
    for b in text.utf8 {
      if b == UInt8(ascii: " ") || b == UInt8(ascii: "-") { continue }
      guard b >= 48, b <= 57, count < 16 else {
        throw BankError(.invalidArgument, "invalid card number: expected 16 digits")
      }
      value = value * 10 + UInt64(b - 48)
      count += 1
    }
    guard count == 16, value >= 1_000_000_000_000_000 else {
      throw BankError(.invalidArgument, "invalid card number: expected 16 digits")
    }
    guard PAN.checkDigit(for: value / 10) == UInt8(value % 10) else {
      throw BankError(.invalidArgument, "invalid card number: check digit does not match")
    }
    self.value = value
  }

  /// Builds the PAN `IIN ‖ account digits ‖ check digit` from a six-digit issuer number and a
  /// nine-digit individual account identifier (taken modulo 10⁹).
  static func make(iin: UInt64, account: UInt64) -> PAN {
    let base = iin * 1_000_000_000 + account % 1_000_000_000
    return PAN(uncheckedValue: base * 10 + UInt64(checkDigit(for: base)))
  }

  /// The Luhn check digit for the digits before it.
  static func checkDigit(for base: UInt64) -> UInt8 {
    AccountNumber.checkDigit(for: base)
  }

  /// All sixteen digits; show them only to the cardholder, once, at issue.
  public var digits: String {
    let s = String(value)
    return String(repeating: "0", count: max(0, 16 - s.count)) + s
  }

  /// The first six and last four digits with the middle hidden: `999000******1234`.
  public var masked: String {
    let d = Array(digits)
    return String(d[0..<6]) + "******" + String(d[12..<16])
  }

  /// The masked form; see ``masked``.
  public var description: String { masked }

  public static func < (a: PAN, b: PAN) -> Bool { a.value < b.value }
}
