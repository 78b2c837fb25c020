import Dispatch

/// Runs blocking bank calls off Swift's cooperative thread pool.
///
/// A commit waits for `fdatasync` (milliseconds on a real disk); doing that on a cooperative
/// thread would stall every task scheduled on it. These calls hop to a Dispatch queue whose
/// threads are not the cooperative pool's, wait there, and resume the caller with the result.
enum BlockingWork {
  private static let queue = DispatchQueue(
    label: "BankCore.blocking", qos: .userInitiated, attributes: .concurrent)

  /// Runs `body` on a blocking thread, without waiting for it.
  static func start(_ body: @escaping @Sendable () -> Void) { queue.async(execute: body) }

  /// Runs `body` on a blocking thread and resumes the caller with its result.
  ///
  /// The durability waits of the commits and reads `body` makes are not made on that thread:
  /// they are noted (``DeferredDurability``), and the caller awaits them once `body` returns,
  /// without a thread (the sync in flight that covers them resumes it), before it sees the
  /// result. So an HTTP request that commits holds no thread while its group's `fdatasync`
  /// runs. Only closures that throw `BankError` or `any Error` defer: a durability failure is
  /// thrown as a `BankError`.
  static func run<R: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> R)
    async throws(E) -> R
  {
    let defers =
      ObjectIdentifier(E.self) == ObjectIdentifier(BankError.self)
      || ObjectIdentifier(E.self) == ObjectIdentifier((any Error).self)
    let (result, deferred): (Result<R, E>, DeferredDurability?) = await withCheckedContinuation {
      continuation in
      queue.async {
        let waits = defers ? DeferredDurability() : nil
        let result = DeferredDurability.scope(waits) { () -> Result<R, E> in
          do throws(E) { return .success(try body()) } catch { return .failure(error) }
        }
        continuation.resume(returning: (result, waits?.isEmpty == false ? waits : nil))
      }
    }
    if let deferred {
      do throws(BankError) {
        try await deferred.complete()
      } catch {
        // Only reached when E is BankError or any Error (`defers`).
        guard let typed = (error as any Error) as? E else { return try result.get() }
        throw typed
      }
    }
    return try result.get()
  }

}

extension Bank {
  /// The ledger view of this bank.
  public var ledger: Ledger { Ledger(self) }

  /// Moves money between two accounts without blocking a cooperative thread: the async form of
  /// ``Ledger/transfer(_:from:to:key:memo:)-(_,_,_,IdempotencyKey?,_)``.
  public func transfer(
    _ amount: Amount, from: AccountNumber, to: AccountNumber, key: IdempotencyKey? = nil,
    memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    try await ledger.perform { l throws(BankError) in
      try l.transfer(amount, from: from, to: to, key: key, memo: memo)
    }
  }

  /// Cash in; the async form of ``Ledger/deposit(_:to:key:memo:)-(_,_,IdempotencyKey?,_)``.
  public func deposit(
    _ amount: Amount, to account: AccountNumber, key: IdempotencyKey? = nil, memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    try await ledger.perform { l throws(BankError) in
      try l.deposit(amount, to: account, key: key, memo: memo)
    }
  }

  /// Cash out; the async form of ``Ledger/withdraw(_:from:key:memo:)-(_,_,IdempotencyKey?,_)``.
  public func withdraw(
    _ amount: Amount, from account: AccountNumber, key: IdempotencyKey? = nil, memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    try await ledger.perform { l throws(BankError) in
      try l.withdraw(amount, from: account, key: key, memo: memo)
    }
  }

  /// ``transfer(_:from:to:key:memo:)-(_,_,_,IdempotencyKey?,_)`` with the key as text, validated here (`invalid_key`).
  @available(*, deprecated, message: "pass an IdempotencyKey")
  @_disfavoredOverload
  public func transfer(
    _ amount: Amount, from: AccountNumber, to: AccountNumber, key: String?, memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    let k = try key.map { k throws(BankError) in try IdempotencyKey(k) }
    return try await transfer(amount, from: from, to: to, key: k, memo: memo)
  }

  /// ``deposit(_:to:key:memo:)-(_,_,IdempotencyKey?,_)`` with the key as text, validated here (`invalid_key`).
  @available(*, deprecated, message: "pass an IdempotencyKey")
  @_disfavoredOverload
  public func deposit(_ amount: Amount, to account: AccountNumber, key: String?, memo: String = "")
    async throws(BankError) -> TransferReceipt
  {
    let k = try key.map { k throws(BankError) in try IdempotencyKey(k) }
    return try await deposit(amount, to: account, key: k, memo: memo)
  }

  /// ``withdraw(_:from:key:memo:)-(_,_,IdempotencyKey?,_)`` with the key as text, validated here (`invalid_key`).
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

  /// An account's history, newest first, a page at a time; the async form of
  /// ``Ledger/history(of:limit:before:)``.
  public func history(
    of number: AccountNumber, limit: Int? = nil, before: HistoryCursor? = nil
  ) async throws(BankError) -> [HistoryEntry] {
    try await ledger.perform { l throws(BankError) in
      try l.history(of: number, limit: limit, before: before)
    }
  }

  /// Runs blocking calls on this bank off the cooperative pool: the async form of anything
  /// (`try await bank.perform { try $0.ledger.accounts() }`). The closure's error
  /// type is inferred, as in ``Ledger/perform(_:)``.
  public func perform<R: Sendable, E: Error>(_ body: @escaping @Sendable (Bank) throws(E) -> R)
    async throws(E) -> R
  {
    try await BlockingWork.run { () throws(E) in try body(self) }
  }

  /// Opens an account; the async form of ``Ledger/open(_:)``.
  @discardableResult
  public func open(_ spec: AccountSpec) async throws(BankError) -> Account {
    try await ledger.perform { l throws(BankError) in try l.open(spec) }
  }

  /// Commits a linked batch (all or nothing); the async form of ``Ledger/submit(_:)-([LedgerCommand])``.
  @discardableResult
  public func submit(_ commands: [LedgerCommand]) async throws(BankError) -> [LedgerOutcome] {
    try await ledger.perform { l throws(BankError) in try l.submit(commands) }
  }

  /// Places a pending hold; the async form of ``Ledger/placeHold(_:from:to:expiresAt:key:memo:)-(_,_,_,Instant?,_,_)``.
  @discardableResult
  public func placeHold(
    _ amount: Amount, from: AccountNumber, to: AccountNumber? = nil, expiresAt: Instant? = nil,
    key: IdempotencyKey? = nil, memo: String = ""
  ) async throws(BankError) -> TransferReceipt {
    try await ledger.perform { l throws(BankError) in
      try l.placeHold(amount, from: from, to: to, expiresAt: expiresAt, key: key, memo: memo)
    }
  }

  /// Posts a pending hold, in full or in part; the async form of ``Ledger/postHold(_:amount:)``.
  @discardableResult
  public func postHold(_ hold: HoldReference, amount: Amount? = nil) async throws(BankError)
    -> HoldResolution
  {
    try await ledger.perform { l throws(BankError) in try l.postHold(hold, amount: amount) }
  }

  /// Releases a pending hold; the async form of ``Ledger/voidHold(_:)``.
  @discardableResult
  public func voidHold(_ hold: HoldReference) async throws(BankError) -> HoldResolution {
    try await ledger.perform { l throws(BankError) in try l.voidHold(hold) }
  }

  /// Freezes, unfreezes or closes an account; the async form of ``Ledger/setStatus(_:of:)``.
  @discardableResult
  public func setStatus(_ status: AccountStatus, of number: AccountNumber) async throws(BankError)
    -> Account
  {
    try await ledger.perform { l throws(BankError) in try l.setStatus(status, of: number) }
  }

  /// Every account, in opening order; the async form of ``Ledger/accounts()``.
  public func accounts() async throws(BankError) -> [Account] {
    try await ledger.perform { l throws(BankError) in try l.accounts() }
  }

  /// An account's posted balance; the async form of ``Ledger/balance(of:)``.
  public func balance(of number: AccountNumber) async throws(BankError) -> Amount {
    try await ledger.perform { l throws(BankError) in try l.balance(of: number) }
  }
}
