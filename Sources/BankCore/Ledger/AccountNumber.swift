/// A customer-facing account number: eight digits followed by a Luhn check digit.
///
/// It prints as `1000-0001-7` and parses with or without the dashes. The check digit catches
/// every single-digit typo and most transpositions before a command reaches the ledger.
public struct AccountNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// The nine digits as one integer: the eight-digit base times ten plus the check digit.
  public let rawValue: UInt64

  /// The eight-digit base without its check digit.
  public var base: UInt64 { rawValue / 10 }

  /// Makes the number for an eight-digit base by appending its Luhn check digit.
  ///
  /// - Throws: `invalid_account_number` when the base is outside 1...99,999,999.
  public init(base: UInt64) throws(BankError) {
    guard base >= 1, base <= 99_999_999 else {
      throw BankError(.invalidAccountNumber, "account number base \(base) is outside 1...99999999")
    }
    self.rawValue = base * 10 + UInt64(AccountNumber.checkDigit(for: base))
  }

  init(uncheckedRaw: UInt64) { rawValue = uncheckedRaw }

  /// Parses `1000-0001-7` or `100000017`, validating the length and check digit.
  ///
  /// - Throws: `invalid_account_number` with the reason.
  public init(parsing text: String) throws(BankError) {
    let shown = text.debugSanitized
    var digits: [UInt8] = []
    let bytes = Array(text.utf8)
    let dashed = bytes.count == 11 && bytes[4] == UInt8(ascii: "-") && bytes[9] == UInt8(ascii: "-")
    for (i, b) in bytes.enumerated() {
      if dashed && (i == 4 || i == 9) { continue }
      guard b >= 48 && b <= 57 else {
        throw BankError(
          .invalidAccountNumber,
          "invalid account number '\(shown)': expected nine digits such as 1000-0001-7")
      }
      digits.append(b - 48)
    }
    guard digits.count == 9 else {
      throw BankError(
        .invalidAccountNumber,
        "invalid account number '\(shown)': expected nine digits such as 1000-0001-7")
    }
    var base: UInt64 = 0
    for d in digits.prefix(8) { base = base * 10 + UInt64(d) }
    guard base >= 1 else {
      throw BankError(
        .invalidAccountNumber, "invalid account number '\(shown)': base must not be zero")
    }
    guard AccountNumber.checkDigit(for: base) == digits[8] else {
      throw BankError(
        .invalidAccountNumber, "invalid account number '\(shown)': check digit does not match")
    }
    rawValue = base * 10 + UInt64(digits[8])
  }

  /// The Luhn check digit for a base number.
  public static func checkDigit(for base: UInt64) -> UInt8 {
    var sum: UInt64 = 0
    var n = base
    var double = true  // the rightmost base digit sits next to the check digit, so it is doubled
    while n > 0 {
      var d = n % 10
      n /= 10
      if double {
        d *= 2
        if d > 9 { d -= 9 }
      }
      sum += d
      double.toggle()
    }
    return UInt8((10 - sum % 10) % 10)
  }

  /// `NNNN-NNNN-N`: nine digits (more for a number past nine digits, which the ledger never
  /// assigns), grouped four, four and the check digit.
  public var description: String {
    var digits: [UInt8] = []
    var v = rawValue
    repeat {
      digits.append(UInt8(v % 10) + 48)
      v /= 10
    } while v > 0
    while digits.count < 9 { digits.append(48) }
    digits.reverse()
    var out: [UInt8] = []
    out.reserveCapacity(digits.count + 2)
    let n = digits.count
    out += digits[0..<(n - 5)]
    out.append(45)
    out += digits[(n - 5)..<(n - 1)]
    out.append(45)
    out.append(digits[n - 1])
    return String(decoding: out, as: UTF8.self)
  }

  public static func < (a: AccountNumber, b: AccountNumber) -> Bool { a.rawValue < b.rawValue }
}
