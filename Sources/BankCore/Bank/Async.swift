import Dispatch

/// Runs blocking bank calls off Swift's cooperative thread pool.
///
/// A commit waits for `fdatasync` (milliseconds on a real disk); doing that on a cooperative
/// thread would stall every task scheduled on it. These calls hop to a Dispatch queue whose
/// threads are not the cooperative pool's, wait there, and resume the caller with the result.
enum BlockingWork {
  private static let queue = DispatchQueue(
    label: "BankCore.blocking", qos: .userInitiated, attributes: .concurrent)

  static func run<R: Sendable>(_ body: @escaping @Sendable () throws(BankError) -> R)
    async throws(BankError) -> R
  {
    let result: Result<R, BankError> = await withCheckedContinuation { continuation in
      queue.async {
        do throws(BankError) {
          continuation.resume(returning: .success(try body()))
        } catch {
          continuation.resume(returning: .failure(error))
        }
      }
    }
    return try result.get()
  }
}

extension Bank {
  /// The ledger view of this bank.
  public var ledger: Ledger { Ledger(self) }

  /// Moves money between two accounts without blocking a cooperative thread: the async form of
  /// ``Ledger/transfer(_:from:to:key:memo:)``.
  public func transfer(
    _ amount: Amount, from: AccountNumber, to: AccountNumber, key: IdempotencyKey? = nil,
    memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    try await ledger.perform { l throws(BankError) in
      try l.transfer(amount, from: from, to: to, key: key, memo: memo)
    }
  }

  /// Cash in; the async form of ``Ledger/deposit(_:to:key:memo:)``.
  public func deposit(
    _ amount: Amount, to account: AccountNumber, key: IdempotencyKey? = nil, memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    try await ledger.perform { l throws(BankError) in
      try l.deposit(amount, to: account, key: key, memo: memo)
    }
  }

  /// Cash out; the async form of ``Ledger/withdraw(_:from:key:memo:)``.
  public func withdraw(
    _ amount: Amount, from account: AccountNumber, key: IdempotencyKey? = nil, memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    try await ledger.perform { l throws(BankError) in
      try l.withdraw(amount, from: account, key: key, memo: memo)
    }
  }

  /// ``transfer(_:from:to:key:memo:)`` with the key as text, validated here (`invalid_key`).
  @available(*, deprecated, message: "pass an IdempotencyKey")
  @_disfavoredOverload
  public func transfer(
    _ amount: Amount, from: AccountNumber, to: AccountNumber, key: String?, memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    let k = try key.map { k throws(BankError) in try IdempotencyKey(k) }
    return try await transfer(amount, from: from, to: to, key: k, memo: memo)
  }

  /// ``deposit(_:to:key:memo:)`` with the key as text, validated here (`invalid_key`).
  @available(*, deprecated, message: "pass an IdempotencyKey")
  @_disfavoredOverload
  public func deposit(_ amount: Amount, to account: AccountNumber, key: String?, memo: String = "")
    async throws(BankError) -> TransferReceipt
  {
    let k = try key.map { k throws(BankError) in try IdempotencyKey(k) }
    return try await deposit(amount, to: account, key: k, memo: memo)
  }

  /// ``withdraw(_:from:key:memo:)`` with the key as text, validated here (`invalid_key`).
  @available(*, deprecated, message: "pass an IdempotencyKey")
  @_disfavoredOverload
  public func withdraw(
    _ amount: Amount, from account: AccountNumber, key: String?, memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    let k = try key.map { k throws(BankError) in try IdempotencyKey(k) }
    return try await withdraw(amount, from: account, key: k, memo: memo)
  }

  /// An account; the async form of ``Ledger/account(_:)``.
  public func account(_ number: AccountNumber) async throws(BankError) -> Account {
    try await ledger.perform { l throws(BankError) in try l.account(number) }
  }

  /// An account's history, newest first; the async form of ``Ledger/history(of:limit:)``.
  public func history(of number: AccountNumber, limit: Int? = nil) async throws(BankError)
    -> [HistoryEntry]
  {
    try await ledger.perform { l throws(BankError) in try l.history(of: number, limit: limit) }
  }
}
