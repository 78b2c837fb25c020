/// A UTC calendar day: the unit interest accrues in and loans fall due on.
public struct Day: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// Days since 1970-01-01.
  public let number: Int

  /// The day `number` days after 1970-01-01.
  public init(number: Int) { self.number = number }

  /// The UTC day an instant falls on.
  public init(_ instant: Instant) {
    let perDay: Int64 = 86_400 * 1_000_000_000
    let n = instant.nanoseconds
    number = Int(n >= 0 ? n / perDay : (n - perDay + 1) / perDay)
  }

  /// A day from its calendar date, or `nil` when there is no such date.
  public init?(year: Int, month: Int, day: Int) {
    guard let n = Instant.days(year: year, month: month, day: day) else { return nil }
    number = n
  }

  /// Parses `YYYY-MM-DD`.
  ///
  /// - Throws: `invalid_argument` naming the text.
  public init(parsing text: String) throws(BankError) {
    let b = Array(text.utf8)
    func digits(_ r: Range<Int>) -> Int? {
      guard b[r].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
      return b[r].reduce(0) { $0 * 10 + Int($1 - 48) }
    }
    guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
      let y = digits(0..<4), let m = digits(5..<7), let d = digits(8..<10),
      let day = Day(year: y, month: m, day: d)
    else {
      throw BankError(
        .invalidArgument,
        "invalid date '\(text.debugSanitized)': expected YYYY-MM-DD, such as 2026-01-31")
    }
    guard day >= Day(number: 0), day < Day(Instant.latest) else {
      throw BankError(
        .invalidArgument,
        "invalid date '\(text.debugSanitized)': dates run from 1970-01-01 to \(Day(Instant.latest).adding(days: -1))"
      )
    }
    self = day
  }

  /// The calendar date: year, month 1 to 12, day 1 to 31 (Howard Hinnant's civil_from_days).
  public var date: (year: Int, month: Int, day: Int) {
    let z = number + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }

  /// The month the day is in.
  public var month: YearMonth {
    let d = date
    return YearMonth(year: d.year, month: d.month)
  }

  /// Whether it is the last day of its month.
  public var isLastOfMonth: Bool { Day(number: number + 1).date.day == 1 }

  /// The first instant of the day.
  public var start: Instant {
    let (ns, overflow) = Int64(clamping: number).multipliedReportingOverflow(by: 86_400_000_000_000)
    return Instant(nanoseconds: overflow ? (number < 0 ? Int64.min : Int64.max) : ns)
  }
  /// The first instant of the next day: the day's end, exclusive.
  public var end: Instant { Day(number: number + 1).start }

  /// The day `count` days later.
  public func adding(days count: Int) -> Day { Day(number: number + count) }

  /// The same day of the month `count` months later, or that month's last day when it has
  /// fewer days (31 January plus one month is 28 or 29 February).
  public func adding(months count: Int) -> Day {
    let d = date
    let target = YearMonth(year: d.year, month: d.month).adding(months: count)
    let day = min(d.day, target.dayCount)
    return Day(year: target.year, month: target.month, day: day) ?? self
  }

  /// `YYYY-MM-DD`.
  public var description: String {
    let d = date
    func pad(_ v: Int, _ n: Int) -> String {
      let s = String(v)
      return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    return "\(pad(d.year, 4))-\(pad(d.month, 2))-\(pad(d.day, 2))"
  }

  public static func < (a: Day, b: Day) -> Bool { a.number < b.number }
}

extension YearMonth {
  /// How many days the month has.
  public var dayCount: Int {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
  }
  /// Its first day.
  public var firstDay: Day { Day(number: Instant.days(year: year, month: month, day: 1) ?? 0) }
  /// Its last day.
  public var lastDay: Day {
    Day(number: Instant.days(year: year, month: month, day: dayCount) ?? 0)
  }
}
