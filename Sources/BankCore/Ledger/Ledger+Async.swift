import Dispatch

extension Ledger {
  /// Runs a blocking ledger call without blocking a cooperative thread, for callers in Swift
  /// concurrency (an HTTP server's handlers): `try await ledger.perform { try $0.balance(of: a) }`.
  public func perform<R: Sendable>(_ body: @escaping @Sendable (Ledger) throws(BankError) -> R)
    async throws(BankError) -> R
  {
    try await BlockingWork.run { () throws(BankError) in try body(self) }
  }
}
