import Foundation
import Synchronization

/// Failed attempts per key (a client address, a customer or staff name) over a sliding minute:
/// past the limit, attempts are refused with 429 and a `Retry-After`, whether the name exists or
/// not, so a flood of logins neither guesses passwords nor starves transfers.
final class RateLimiter: Sendable {
  let limit: Int
  let window: Double
  private let failures = Mutex<[String: [Double]]>([:])

  init(limit: Int = 5, window: Double = 60) {
    self.limit = limit
    self.window = window
  }

  /// Seconds until `keys` may try again, or `nil` when each is under the limit.
  func retryAfter(_ keys: [String], now: Double = Date().timeIntervalSince1970) -> Int? {
    failures.withLock { table in
      var wait: Double?
      for k in keys {
        let recent = (table[k] ?? []).filter { now - $0 < window }
        table[k] = recent.isEmpty ? nil : recent
        if recent.count >= limit, let oldest = recent.first {
          wait = max(wait ?? 0, window - (now - oldest))
        }
      }
      return wait.map { max(1, Int($0.rounded(.up))) }
    }
  }

  /// Counts a failure against every key.
  func fail(_ keys: [String], now: Double = Date().timeIntervalSince1970) {
    failures.withLock { table in
      for k in keys {
        var recent = (table[k] ?? []).filter { now - $0 < window }
        recent.append(now)
        table[k] = Array(recent.suffix(limit * 4))
      }
      // Bounded memory under a flood of distinct names: forget the stalest keys.
      if table.count > 100_000 {
        for (k, v) in table where (v.last ?? 0) < now - window { table[k] = nil }
      }
    }
  }
}
