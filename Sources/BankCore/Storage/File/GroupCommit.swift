#if canImport(Glibc)
  import Glibc
#endif

/// Tracks which records are written and which are durable, and shares one `fdatasync` among all
/// the callers waiting at the same time (group commit).
///
/// The first waiter to find no sync in flight becomes the leader: it syncs everything written so
/// far while later waiters sleep on the condition variable, then wakes them all. A failed sync
/// poisons the tracker for good: no caller is ever acknowledged after it, and the sync is never
/// retried.
///
/// `Synchronization.Mutex` has no wait operation, so this uses a pthread mutex and condition
/// variable, allocated once so they never move. Every stored property is read and written only
/// with `mutex` held, which is what makes the `@unchecked Sendable` sound.
final class GroupCommit: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var written: UInt64
  private var durable: UInt64
  private var syncing = false
  private var failure: StorageError?
  /// How many syncs ran; for tests and benchmarks.
  private var syncCount: UInt64 = 0

  init(durableThrough sequence: UInt64) {
    written = sequence
    durable = sequence
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(cond, nil)
  }

  deinit {
    pthread_cond_destroy(cond)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    cond.deallocate()
  }

  private func locked<R>(_ body: () throws(StorageError) -> R) throws(StorageError) -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body()
  }

  /// Notes that records up to `sequence` have been appended (queued, not yet synced).
  func noteWritten(_ sequence: UInt64) {
    pthread_mutex_lock(mutex)
    if sequence > written { written = sequence }
    pthread_mutex_unlock(mutex)
  }

  /// Makes every later wait fail.
  func poison(_ error: StorageError) {
    pthread_mutex_lock(mutex)
    if failure == nil { failure = error }
    pthread_cond_broadcast(cond)
    pthread_mutex_unlock(mutex)
  }

  var failed: StorageError? {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return failure
  }

  var syncs: UInt64 {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return syncCount
  }

  /// Returns once `sequence` is durable, running `sync` as the leader when no sync is in flight.
  /// `sync` writes and syncs what was appended and returns the last sequence it made durable.
  func waitUntilDurable(_ sequence: UInt64, sync: () throws(StorageError) -> UInt64)
    throws(StorageError)
  {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    if sequence > written {
      throw StorageError.invalidArgument(
        "sequence \(sequence) was never appended (last is \(written))")
    }
    while true {
      if let failure { throw StorageError.poisoned(reason: "\(failure)") }
      if durable >= sequence { return }
      if syncing {
        pthread_cond_wait(cond, mutex)
        continue
      }
      syncing = true
      pthread_mutex_unlock(mutex)
      var error: StorageError?
      var target: UInt64 = 0
      do throws(StorageError) { target = try sync() } catch let e { error = e }
      pthread_mutex_lock(mutex)
      syncing = false
      syncCount += 1
      if let error {
        if failure == nil { failure = error }
        pthread_cond_broadcast(cond)
        throw error
      }
      if target > durable { durable = target }
      pthread_cond_broadcast(cond)
    }
  }
}
