#if canImport(Glibc)
  import Glibc
#endif

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z (UTC), as records store it.
///
/// Times come into the ledger through a command (from an injected clock) and are written into
/// records, so replay never reads a clock.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// Nanoseconds since 1970-01-01T00:00:00Z.
  public let nanoseconds: Int64

  /// Wraps a count of nanoseconds since 1970.
  public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

  public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

  /// The latest time the bank accepts, 2200-01-01T00:00:00Z: a command at a later time (given,
  /// or read from the clock) is refused with `invalid_argument`. It lies 62 years before the end
  /// of what 64-bit nanoseconds hold (2262-04-11), so every expiry, session, reset token, lockout,
  /// hold and card validity computed from an accepted time still fits, and journal time never
  /// wraps.
  public static let latest = Instant(nanoseconds: 7_258_118_400 * 1_000_000_000)

  /// RFC 3339 in UTC with microseconds, for example `2026-03-31T17:00:00.000000Z`.
  public var description: String {
    var secs = time_t(nanoseconds / 1_000_000_000)
    var rem = nanoseconds % 1_000_000_000
    if rem < 0 {
      rem += 1_000_000_000
      secs -= 1
    }
    var t = tm()
    gmtime_r(&secs, &t)
    func pad(_ v: Int, _ n: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    let date =
      "\(pad(Int(t.tm_year) + 1900, 4))-\(pad(Int(t.tm_mon) + 1, 2))-\(pad(Int(t.tm_mday), 2))"
    let time = "\(pad(Int(t.tm_hour), 2)):\(pad(Int(t.tm_min), 2)):\(pad(Int(t.tm_sec), 2))"
    return "\(date)T\(time).\(pad(Int(rem / 1000), 6))Z"
  }
}

extension Instant {
  /// Parses an RFC 3339 timestamp strictly: `YYYY-MM-DDTHH:MM:SS`, an optional fraction of up to
  /// nine digits, then `Z` or an offset `±HH:MM` (for example `2026-03-31T17:00:00Z`), from
  /// 1970-01-01T00:00:00Z to ``latest`` (2200-01-01T00:00:00Z) inclusive.
  ///
  /// - Throws: `invalid_argument` naming what is wrong.
  public init(rfc3339 text: String) throws(BankError) {
    let fail = { (why: String) -> BankError in
      BankError(
        .invalidArgument,
        "invalid time '\(text.debugSanitized)': \(why); expected RFC 3339 such as 2026-03-31T17:00:00Z"
      )
    }
    let b = Array(text.utf8)
    func digits(_ at: Int, _ n: Int) -> Int? {
      guard at + n <= b.count else { return nil }
      var v = 0
      for i in at..<(at + n) {
        guard b[i] >= 48, b[i] <= 57 else { return nil }
        v = v * 10 + Int(b[i] - 48)
      }
      return v
    }
    guard b.count >= 20, let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45,
      let day = digits(8, 2), b[10] == 84 || b[10] == 116, let hour = digits(11, 2), b[13] == 58,
      let minute = digits(14, 2), b[16] == 58, let second = digits(17, 2)
    else { throw fail("not in the form YYYY-MM-DDTHH:MM:SS") }
    guard let days = Instant.days(year: year, month: month, day: day) else {
      throw fail("no such date")
    }
    guard hour < 24, minute < 60, second < 60 else { throw fail("no such time of day") }
    var i = 19
    var nanos = 0
    if i < b.count, b[i] == 46 {
      i += 1
      var n = 0
      while i < b.count, b[i] >= 48, b[i] <= 57 {
        guard n < 9 else { throw fail("more than nine fractional digits") }
        nanos = nanos * 10 + Int(b[i] - 48)
        n += 1
        i += 1
      }
      guard n > 0 else { throw fail("a decimal point without digits") }
      for _ in n..<9 { nanos *= 10 }
    }
    var offset = 0
    guard i < b.count else { throw fail("no time zone (Z or ±HH:MM)") }
    if b[i] == 90 || b[i] == 122 {
      i += 1
    } else if b[i] == 43 || b[i] == 45, let oh = digits(i + 1, 2), i + 3 < b.count, b[i + 3] == 58,
      let om = digits(i + 4, 2), oh < 24, om < 60
    {
      offset = (oh * 60 + om) * 60 * (b[i] == 43 ? 1 : -1)
      i += 6
    } else {
      throw fail("a bad time zone")
    }
    guard i == b.count else { throw fail("trailing characters") }
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset
    let (ns, overflow) = Int64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
    guard !overflow, seconds >= 0, ns <= Instant.latest.nanoseconds - Int64(nanos) else {
      throw fail("outside 1970-01-01T00:00:00Z to 2200-01-01T00:00:00Z, the times the bank accepts")
    }
    self.init(nanoseconds: ns + Int64(nanos))
  }

  /// Parses a calendar date `YYYY-MM-DD` as midnight UTC.
  ///
  /// - Throws: `invalid_argument`.
  public init(date text: String) throws(BankError) {
    try self.init(rfc3339: text + "T00:00:00Z")
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date, or `nil` when no such date exists.
  static func days(year: Int, month: Int, day: Int) -> Int? {
    guard (1...12).contains(month), day >= 1 else { return nil }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    guard day <= lengths[month - 1] else { return nil }
    // Howard Hinnant's days_from_civil.
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
  }
}
