import Dispatch

#if canImport(Glibc)
  import Glibc
#endif

/// Runs blocking bank calls off Swift's cooperative thread pool.
///
/// A commit waits for `fdatasync` (milliseconds on a real disk) or a database's answer; doing
/// that on a cooperative thread would stall every task scheduled on it. These calls hop to a
/// thread that is not the cooperative pool's, wait there, and resume the caller with the result.
enum BlockingWork {
  /// Where the calls of a bank on a local store run: a Dispatch queue, which on Linux runs about
  /// as many threads as there are cores. Its calls wait briefly (their durability waits are
  /// deferred, ``DeferredDurability``), and more threads would only contend for the bank's lock.
  private static let queue = DispatchQueue(
    label: "BankCore.blocking", qos: .userInitiated, attributes: .concurrent)
  /// Where the calls of a bank whose storage combines commits run: a thread per call in flight
  /// (``BlockingThreads``), so that every caller can wait in the commit queue at once and a
  /// group holds as many transactions as there are callers.
  private static let threads = BlockingThreads(limit: 512)

  /// Runs `body` on a blocking thread, without waiting for it.
  static func start(_ body: @escaping @Sendable () -> Void) { queue.async(execute: body) }

  /// Runs `body` on a blocking thread of the kind `bank` needs (see ``threads``).
  static func run<R: Sendable, E: Error>(
    for bank: Bank, _ body: @escaping @Sendable () throws(E) -> R
  ) async throws(E) -> R {
    try await run(wide: bank.storage.combinesCommits, body)
  }

  /// Runs `body` on a blocking thread and resumes the caller with its result.
  ///
  /// The durability waits of the commits and reads `body` makes are not made on that thread:
  /// they are noted (``DeferredDurability``), and the caller awaits them once `body` returns,
  /// without a thread (the sync in flight that covers them resumes it), before it sees the
  /// result. So an HTTP request that commits holds no thread while its group's `fdatasync`
  /// runs. Only closures that throw `BankError` or `any Error` defer: a durability failure is
  /// thrown as a `BankError`.
  static func run<R: Sendable, E: Error>(
    wide: Bool = false, _ body: @escaping @Sendable () throws(E) -> R
  ) async throws(E) -> R {
    let defers =
      ObjectIdentifier(E.self) == ObjectIdentifier(BankError.self)
      || ObjectIdentifier(E.self) == ObjectIdentifier((any Error).self)
    let (result, deferred): (Result<R, E>, DeferredDurability?) = await withCheckedContinuation {
      continuation in
      let job = { @Sendable in
        let waits = defers ? DeferredDurability() : nil
        let result = DeferredDurability.scope(waits) { () -> Result<R, E> in
          do throws(E) { return .success(try body()) } catch { return .failure(error) }
        }
        continuation.resume(returning: (result, waits?.isEmpty == false ? waits : nil))
      }
      if wide { threads.submit(job) } else { queue.async(execute: job) }
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

/// Threads for blocking work: one per job in flight, up to `limit`, each kept for a while once
/// idle. A Dispatch concurrent queue is not enough for a storage that combines commits
/// (``Storage/combinesCommits``): on Linux it runs about as many threads as there are cores and
/// adds more only slowly while they block, so on two cores two or three callers at a time would
/// wait in the commit queue, and groups would hold one or two transactions. Threads blocked in
/// a wait cost no CPU; here every caller gets one, so groups grow with the load. Past `limit`,
/// jobs queue until a thread is free.
final class BlockingThreads: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let ready = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  /// Jobs not yet taken, first at `head`.
  private var jobs: [(@Sendable () -> Void)?] = []
  private var head = 0
  private var threads = 0
  private var idle = 0
  private let limit: Int
  /// How long an idle thread waits for a job before it ends.
  private static let idleSeconds = 20

  init(limit: Int) {
    self.limit = limit
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(ready, nil)
  }

  // Each thread holds a reference to the pool while it runs, so the pool is freed only once
  // every thread has ended (the process's pools are statics and never are).
  deinit {
    pthread_cond_destroy(ready)
    pthread_mutex_destroy(mutex)
    ready.deallocate()
    mutex.deallocate()
  }

  /// Runs `job` on a thread of the pool: an idle one, or a new one while fewer than `limit` run.
  func submit(_ job: @escaping @Sendable () -> Void) {
    pthread_mutex_lock(mutex)
    jobs.append(job)
    let waiting = jobs.count - head
    var spawn = false
    if waiting > idle && threads < limit {
      threads += 1
      spawn = true
    }
    if idle > 0 { pthread_cond_signal(ready) }
    pthread_mutex_unlock(mutex)
    if spawn && !startThread() {
      pthread_mutex_lock(mutex)
      threads -= 1
      // No thread could be made: a running thread takes the job when it is free; with none
      // running, a Dispatch thread runs the queued jobs rather than none (never the caller's
      // thread, which may be one of the cooperative pool's).
      let none = threads == 0
      pthread_mutex_unlock(mutex)
      if none { DispatchQueue.global().async { self.work(untilEmpty: true) } }
    }
  }

  private func startThread() -> Bool {
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    var thread = pthread_t()
    let context = Unmanaged.passRetained(self).toOpaque()
    let made = pthread_create(
      &thread, &attributes,
      { raw in
        guard let raw else { return nil }
        let pool = Unmanaged<BlockingThreads>.fromOpaque(raw).takeRetainedValue()
        pool.work(untilEmpty: false)
        return nil
      }, context)
    if made != 0 {
      Unmanaged<BlockingThreads>.fromOpaque(context).release()
      return false
    }
    return true
  }

  /// A thread's loop: takes jobs until it has been idle for ``idleSeconds`` (or, `untilEmpty`,
  /// until none is queued: a submitter that could start no thread).
  private func work(untilEmpty: Bool) {
    pthread_mutex_lock(mutex)
    while true {
      if untilEmpty && head == jobs.count {
        pthread_mutex_unlock(mutex)
        return
      }
      while head == jobs.count {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += Self.idleSeconds
        idle += 1
        let waited = pthread_cond_timedwait(ready, mutex, &deadline)
        idle -= 1
        if waited == ETIMEDOUT && head == jobs.count {
          threads -= 1
          pthread_mutex_unlock(mutex)
          return
        }
      }
      let job = jobs[head]
      jobs[head] = nil
      head += 1
      if head == jobs.count {
        jobs.removeAll(keepingCapacity: true)
        head = 0
      } else if head >= 1024 && head * 2 >= jobs.count {
        jobs.removeFirst(head)
        head = 0
      }
      pthread_mutex_unlock(mutex)
      job?()
      pthread_mutex_lock(mutex)
    }
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
    try await BlockingWork.run(for: self) { () throws(E) in try body(self) }
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
