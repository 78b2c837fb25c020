#if canImport(Glibc)
  import Glibc
#endif

/// Tracks which records are appended and which are durable, and shares one write and one
/// `fdatasync` among all the callers waiting at the same time (group commit).
///
/// The first waiter to find no sync in flight becomes the leader: with the tracker's mutex held it
/// takes everything queued so far (so it knows exactly which sequence numbers its sync covers),
/// then writes and syncs without the mutex. Waiters covered by the sync in flight sleep on one
/// condition variable; waiters that arrived too late for it sleep on the other. When a sync ends,
/// only the covered waiters are woken, plus one late waiter to lead the next sync. Fewer useless
/// wake-ups matter on a two-core machine, where context switches are the bottleneck.
///
/// A failed sync poisons the tracker for good: no caller is acknowledged after it, and the sync is
/// never retried.
///
/// `Synchronization.Mutex` has no wait operation, so this uses a pthread mutex and condition
/// variables, allocated once so they never move. Every stored property is read and written only
/// with `mutex` held, which is what makes the `@unchecked Sendable` sound. Lock order: this mutex,
/// then the storage's writer lock (inside `take`); never the reverse.
final class GroupCommit: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  /// Indexed by generation parity: waiters for sync `g` sleep on `conds[g % 2]`.
  private let conds = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 2)
  private var appended: UInt64
  private var durable: UInt64
  private var syncing = false
  /// The generation of the sync in flight, or of the next one when none is.
  private var generation: UInt64 = 0
  /// The last sequence number the sync in flight covers.
  private var flightTarget: UInt64 = 0
  private var failure: StorageError?
  private var syncCount: UInt64 = 0
  /// Callers currently inside `waitUntilDurable`.
  private var waiters = 0

  init(durableThrough sequence: UInt64) {
    appended = sequence
    durable = sequence
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(conds, nil)
    pthread_cond_init(conds + 1, nil)
  }

  deinit {
    pthread_cond_destroy(conds)
    pthread_cond_destroy(conds + 1)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    conds.deallocate()
  }

  private func cond(_ g: UInt64) -> UnsafeMutablePointer<pthread_cond_t> { conds + Int(g % 2) }

  /// Notes that records up to `sequence` have been appended (queued, not yet synced).
  func noteAppended(_ sequence: UInt64) {
    pthread_mutex_lock(mutex)
    if sequence > appended { appended = sequence }
    pthread_mutex_unlock(mutex)
  }

  /// Makes every later wait fail.
  func poison(_ error: StorageError) {
    pthread_mutex_lock(mutex)
    if failure == nil { failure = error }
    pthread_cond_broadcast(conds)
    pthread_cond_broadcast(conds + 1)
    pthread_mutex_unlock(mutex)
  }

  /// How many syncs ran; for tests and benchmarks.
  var syncs: UInt64 {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return syncCount
  }

  /// Returns once `sequence` is durable.
  ///
  /// - Parameters:
  ///   - take: run by a leader with the mutex held; claims the queued bytes and returns them with
  ///     the last sequence number they hold.
  ///   - write: run by the leader without the mutex; writes and syncs what `take` returned.
  func waitUntilDurable<Taken>(
    _ sequence: UInt64, take: () -> (Taken, UInt64), write: (Taken) throws(StorageError) -> Void
  ) throws(StorageError) {
    pthread_mutex_lock(mutex)
    waiters += 1
    defer {
      waiters -= 1
      pthread_mutex_unlock(mutex)
    }
    if sequence > appended {
      throw StorageError.invalidArgument(
        "sequence \(sequence) was never appended (last is \(appended))")
    }
    // A leader whose own records are durable keeps leading for a few more rounds while others'
    // records are queued: starting the next sync at once saves a wake-up and keeps the disk busy.
    var extraRounds = 0
    var keepLeading = false
    while true {
      if let failure { throw StorageError.poisoned(reason: "\(failure)") }
      if durable >= sequence && !keepLeading { return }
      if syncing {
        pthread_cond_wait(cond(sequence <= flightTarget ? generation : generation + 1), mutex)
        continue
      }
      syncing = true
      if waiters > 2 && !keepLeading {
        // Everything appended before `take` runs is covered by this sync, so callers arriving
        // during the pause wait with this generation.
        flightTarget = UInt64.max
        // Other callers are mid-commit: give them a moment to join this sync (PostgreSQL's
        // commit_delay). A lone caller never waits.
        pthread_mutex_unlock(mutex)
        usleep(50)
        pthread_mutex_lock(mutex)
      }
      let (taken, target) = take()
      flightTarget = target
      let myGeneration = generation
      pthread_mutex_unlock(mutex)
      var error: StorageError?
      do throws(StorageError) { try write(taken) } catch let e { error = e }
      pthread_mutex_lock(mutex)
      syncing = false
      syncCount += 1
      generation = myGeneration + 1
      if let error {
        if failure == nil { failure = error }
        pthread_cond_broadcast(conds)
        pthread_cond_broadcast(conds + 1)
        throw error
      }
      if target > durable { durable = target }
      pthread_cond_broadcast(cond(myGeneration))
      keepLeading = durable >= sequence && appended > durable && extraRounds < 3
      if keepLeading {
        extraRounds += 1
      } else {
        // One late arrival leads the next sync; the rest keep sleeping until it ends.
        pthread_cond_signal(cond(generation))
      }
    }
  }
}
