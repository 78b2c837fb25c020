#if canImport(Glibc)
  import Glibc
#endif

/// A lock around a value that puts waiters to sleep at once instead of spinning.
///
/// `Synchronization.Mutex` spins before it sleeps, which is right when holders are brief and
/// threads are few. The ledger's commit path is the opposite case: dozens of callers block on
/// disk syncs on a machine with two cores, so a spinning waiter only steals the core the lock
/// holder needs. This wraps a plain pthread mutex (glibc's default type sleeps on a futex
/// without spinning). The mutex is allocated once and never moves, and the value is only touched
/// while it is held, which makes the `@unchecked Sendable` sound.
final class BlockingLock<Value>: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private var value: Value

  init(_ value: Value) {
    self.value = value
    pthread_mutex_init(mutex, nil)
  }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Runs `body` with exclusive access to the value.
  func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&value)
  }
}
