import Foundation

/// Where the bank reads the time for new records: nanoseconds since 1970.
///
/// Injected so tests and simulations are deterministic. Apply code never reads it; the time is
/// written into each record.
public struct BankClock: Sendable {
  private let read: @Sendable () -> Int64

  /// A clock that calls `read` for each command.
  public init(_ read: @escaping @Sendable () -> Int64) { self.read = read }

  /// The current reading.
  public func now() -> Int64 { read() }

  /// The system's wall clock.
  public static let system = BankClock {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
  }

  /// A clock that starts at `start` and advances by `step` on every reading.
  public static func manual(start: Int64 = 1_700_000_000_000_000_000, step: Int64 = 1_000_000)
    -> BankClock
  {
    let t = Lock(start)
    return BankClock {
      t.withLock { v in
        defer { v &+= step }
        return v
      }
    }
  }
}

/// The bank's clock under its earlier name.
@available(*, deprecated, renamed: "BankClock")
public typealias LedgerClock = BankClock
