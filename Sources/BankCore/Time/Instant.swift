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
