/// An annual interest rate in percent, exact: an integer count of millionths of a percent
/// (scale 6: `3.65` is 3,650,000; `0.000001` is the smallest step). No binary floating point is
/// involved anywhere a rate is parsed, stored or applied.
public struct AnnualRate: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
  /// Millionths of a percent: the rate × 10⁶.
  public let microPercent: Int64

  /// The most a rate may be: 1,000 %.
  public static let maximum = AnnualRate(microPercent: 1_000_000_000)
  /// Zero.
  public static let zero = AnnualRate(microPercent: 0)
  /// The scale: decimal places of a percent.
  public static let scale = 6

  /// A rate of `microPercent` millionths of a percent.
  public init(microPercent: Int64) { self.microPercent = microPercent }

  /// Parses a percentage such as `3.5`, `0.25` or `12`: ASCII digits with at most six decimal
  /// places, from 0 to 1000.
  ///
  /// - Throws: `invalid_argument` naming the text and the rule.
  public init(parsing text: String) throws(BankError) {
    func fail(_ why: String) -> BankError {
      BankError(.invalidArgument, "invalid rate '\(text.debugSanitized)': \(why)")
    }
    let b = Array(text.utf8)
    guard !b.isEmpty, b.count <= 20 else { throw fail("expected a percentage such as 3.5") }
    var whole: Int64 = 0
    var fraction: Int64 = 0
    var places = 0
    var point = false
    var digits = 0
    for c in b {
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"):
        if point {
          places += 1
          guard places <= Self.scale else {
            throw fail("at most \(Self.scale) decimal places are allowed")
          }
          fraction = fraction * 10 + Int64(c - 48)
        } else {
          digits += 1
          // Leading zeros add nothing; past four significant digits it is over 1000.
          guard whole < 10_000 else { throw fail("at most 1000 percent") }
          whole = whole * 10 + Int64(c - 48)
        }
      case UInt8(ascii: "."):
        guard !point else { throw fail("more than one decimal point") }
        point = true
      case UInt8(ascii: "%"):
        throw fail("write the number without a percent sign, such as 3.5")
      case UInt8(ascii: "-"), UInt8(ascii: "+"):
        throw fail("signs are not allowed; a rate is a percentage from 0 to 1000")
      default:
        throw fail("expected a percentage such as 3.5 (digits and one decimal point)")
      }
    }
    guard digits > 0, !point || places > 0 else {
      throw fail("expected digits on both sides of the decimal point, such as 0.5")
    }
    var scaled: Int64 = fraction
    for _ in places..<Self.scale { scaled *= 10 }
    let value = whole * 1_000_000 + scaled
    guard value <= Self.maximum.microPercent else { throw fail("at most 1000 percent") }
    self.microPercent = value
  }

  /// The rate as a decimal without trailing zeros: `3.65`, `12`, `0.000001`.
  public var description: String {
    let whole = microPercent / 1_000_000
    var fraction = String(microPercent % 1_000_000)
    if fraction == "0" { return String(whole) }
    fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
    while fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(whole).\(fraction)"
  }

  public static func < (a: AnnualRate, b: AnnualRate) -> Bool { a.microPercent < b.microPercent }

  /// Decodes from the string form, `"3.65"`.
  public init(from decoder: any Decoder) throws {
    let text = try decoder.singleValueContainer().decode(String.self)
    do throws(BankError) { self = try AnnualRate(parsing: text) } catch {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: error.message))
    }
  }

  /// Encodes as a string, `"3.65"`, as amounts are.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(description)
  }
}

/// Exact rational arithmetic for interest: integers with a fixed denominator, rounded half to
/// even once, at the end.
enum Exact {
  /// The denominator of a daily accrual: an accrual of `n` means n ÷ 36,500,000,000 minor units.
  /// One day's interest on a balance of `b` minor units at `r` millionths of a percent a year,
  /// actual/365, is b × r ÷ (365 × 100 × 10⁶): exactly `b × r` in these units.
  static let accrualDenominator: Int128 = 365 * 100 * 1_000_000

  /// `n ÷ d` rounded half to even (d > 0).
  static func roundHalfEven(_ n: Int128, _ d: Int128) -> Int128 {
    var q = n / d
    var r = n % d
    if r < 0 {
      q -= 1
      r += d
    }
    // Now n = q·d + r with 0 ≤ r < d.
    let twice = 2 * r
    if twice > d || (twice == d && q & 1 != 0) { q += 1 }
    return q
  }

  /// An accrual in minor units as a decimal string with its full precision trimmed to `places`
  /// decimals (half to even), for reports: `"0.0032"`.
  static func minorDecimal(_ n: Int128, places: Int, digits: Int) -> String {
    var scale: Int128 = 1
    for _ in 0..<places { scale *= 10 }
    let v = roundHalfEven(n * scale, accrualDenominator)
    let totalPlaces = places + digits
    let negative = v < 0
    var s = String(negative ? -v : v)
    if s.count <= totalPlaces { s = String(repeating: "0", count: totalPlaces - s.count + 1) + s }
    let cut = s.index(s.endIndex, offsetBy: -totalPlaces)
    var out = String(s[..<cut])
    if totalPlaces > 0 { out += "." + s[cut...] }
    return (negative ? "-" : "") + out
  }
}
