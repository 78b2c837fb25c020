import Dispatch

extension Ledger {
  /// Runs a blocking ledger call without blocking a cooperative thread, for callers in Swift
  /// concurrency (an HTTP server's handlers): `try await ledger.perform { try $0.balance(of: a) }`.
  ///
  /// The closure's error type is inferred: `{ try $0.balance(of: a) }` throws `any Error`, and
  /// `{ l throws(BankError) in try l.balance(of: a) }` keeps `BankError`.
  public func perform<R: Sendable, E: Error>(
    _ body: @escaping @Sendable (Ledger) throws(E) -> R
  ) async throws(E) -> R {
    try await BlockingWork.run(for: bank) { () throws(E) in try body(self) }
  }

  /// Expires holds on the clock for as long as the task runs: sleeps until the soonest hold's
  /// expiry (``nextHoldExpiry``), or at most `interval` (a hold placed meanwhile may lapse
  /// sooner), then expires every hold that is due, in one batch. A long-running process
  /// (`bankd`) runs it in a task of its own; it returns when the task is cancelled or the bank
  /// is closed.
  ///
  /// - Returns: how many holds it expired in all.
  /// - Throws: storage errors from an expiry's commit.
  @discardableResult
  public func expireHoldsOnTheClock(checkingAtLeastEvery interval: Duration = .seconds(1))
    async throws(BankError) -> Int
  {
    var total = 0
    while !Task.isCancelled && !bank.watermark.isFinished {
      let now = bank.configuration.clock.now()
      let next: Instant?
      do throws(BankError) { next = try nextHoldExpiry } catch {
        if bank.watermark.isFinished { break }
        throw error
      }
      if let next, next.nanoseconds <= now {
        total += try await perform { l throws(BankError) in try l.expireHolds() }
        continue
      }
      var wait = interval
      if let next { wait = min(wait, .nanoseconds(next.nanoseconds - now)) }
      try? await Task.sleep(for: wait)
    }
    return total
  }
}
