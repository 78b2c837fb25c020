#if canImport(Glibc)
  import Glibc
#endif

/// A mutual-exclusion lock around a value: every lock in BankCore is one of these.
///
/// It wraps a plain pthread mutex rather than `Synchronization.Mutex`, for two measured reasons:
/// - ThreadSanitizer intercepts pthread mutexes, so `swift test --sanitize=thread` can verify the
///   locking. `Synchronization.Mutex` locks with futex calls inside an uninstrumented runtime
///   library, which TSan cannot see, so every access it protects was reported as a race.
/// - glibc's default mutex sleeps at once. `Mutex` spins first, and with dozens of callers
///   blocking on disk syncs on two cores the spinning starved the lock holder (half the
///   throughput at 64 callers).
///
/// The mutex is allocated once and never moves, and the value is only touched while it is held,
/// which is what makes the `@unchecked Sendable` sound. Not reentrant.
final class Lock<Value>: @unchecked Sendable {
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
