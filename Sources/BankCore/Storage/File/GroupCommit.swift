#if canImport(Glibc)
  import Glibc
#endif

/// Tracks which records are appended and which are durable, and shares one write and one
/// `fdatasync` among all the callers waiting at the same time (group commit).
///
/// The first waiter to find no sync in flight becomes the leader: with the tracker's mutex held it
/// takes everything queued so far (so it knows exactly which sequence numbers its sync covers),
/// then writes and syncs without the mutex. Every other waiter sleeps on a semaphore of its own.
/// When a sync ends, the leader posts the semaphores of exactly the waiters it covered, having
/// already told each one its outcome, so they return without touching the mutex; it then either
/// keeps leading for a few more rounds or hands the lead to one waiter. On two cores, wake-ups are
/// the bottleneck, so none is wasted.
///
/// A failed sync poisons the tracker for good: no caller is acknowledged after it, and the sync is
/// never retried.
///
/// The mutex and the semaphores are pthread and POSIX objects allocated once and never moved;
/// every stored property is touched only with the mutex held, and a waiter reads its outcome only
/// after its semaphore is posted, which is what makes the `@unchecked Sendable` sound. Lock order:
/// this mutex, then the storage's writer lock (inside `take`); never the reverse.
final class GroupCommit: @unchecked Sendable {
  /// One sleeping caller.
  private final class Waiter: @unchecked Sendable {
    enum Outcome {
      case waiting
      case durable
      case lead
      case failed(StorageError)
    }
    let sequence: UInt64
    var outcome = Outcome.waiting
    let semaphore = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    /// For a waiter with no thread (``GroupCommit/whenDurable(_:_:)``): told its outcome through
    /// this instead of the semaphore. It is never told to lead.
    let resume: (@Sendable (AsyncOutcome) -> Void)?

    init(_ sequence: UInt64, resume: (@Sendable (AsyncOutcome) -> Void)? = nil) {
      self.sequence = sequence
      self.resume = resume
      sem_init(semaphore, 0, 0)
    }

    deinit {
      sem_destroy(semaphore)
      semaphore.deallocate()
    }

    func wake(_ outcome: Outcome) {
      if let resume {
        switch outcome {
        case .durable: resume(.durable)
        case .failed(let e): resume(.failed(StorageError.poisoned(reason: "\(e)")))
        case .lead, .waiting: resume(.lead)
        }
        return
      }
      self.outcome = outcome
      sem_post(semaphore)
    }

    func sleep() {
      while sem_wait(semaphore) != 0 && errno == EINTR {}
    }
  }

  /// What a waiter without a thread is told: durable, failed, or that no sync is in flight and
  /// it must lead one from a thread (``waitUntilDurable(_:take:write:)``).
  enum AsyncOutcome: Sendable {
    case durable
    case failed(StorageError)
    case lead
  }

  /// Starts a thread that leads a sync covering the sequence given: called when a sync ends and
  /// only waiters without a thread are left uncovered (set once, before any wait).
  nonisolated(unsafe) var leadOnAThread: (@Sendable (UInt64) -> Void)?

  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  /// Signalled whenever a caller starts waiting, for a leader gathering its group.
  private let arrivals = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  /// Signalled whenever a leader finishes its write and sync, for ``shutdown(_:)``.
  private let idle = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  /// How many other callers were active at the end of the last sync: the group the next leader
  /// waits (briefly) to gather.
  private var expected = 0
  private var appended: UInt64
  private var durable: UInt64
  private var syncing = false
  private var waiters: [Waiter] = []
  private var failure: StorageError?
  private var syncCount: UInt64 = 0

  init(durableThrough sequence: UInt64) {
    appended = sequence
    durable = sequence
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(arrivals, nil)
    pthread_cond_init(idle, nil)
  }

  deinit {
    pthread_cond_destroy(arrivals)
    pthread_cond_destroy(idle)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    arrivals.deallocate()
    idle.deallocate()
  }

  /// The leader's pause before taking the queue: until the callers active at the end of the last
  /// sync have queued again, or 100 µs, whichever comes first. A lone caller never waits.
  private func gather() {
    guard expected > 0, waiters.count < expected else { return }
    var deadline = timespec()
    clock_gettime(CLOCK_REALTIME, &deadline)
    deadline.tv_nsec += 100_000
    if deadline.tv_nsec >= 1_000_000_000 {
      deadline.tv_sec += 1
      deadline.tv_nsec -= 1_000_000_000
    }
    while waiters.count < expected {
      if pthread_cond_timedwait(arrivals, mutex, &deadline) == ETIMEDOUT { break }
    }
  }

  /// Notes that records up to `sequence` have been appended (queued, not yet synced).
  func noteAppended(_ sequence: UInt64) {
    pthread_mutex_lock(mutex)
    if sequence > appended { appended = sequence }
    pthread_mutex_unlock(mutex)
  }

  /// Notes that records up to `sequence` are durable without a sync of this instance's: a
  /// read-only store took them from the file after its own sync.
  func noteDurable(_ sequence: UInt64) {
    pthread_mutex_lock(mutex)
    if sequence > appended { appended = sequence }
    if sequence > durable { durable = sequence }
    pthread_mutex_unlock(mutex)
  }

  /// Makes every later wait fail, and wakes every waiter with the failure.
  func poison(_ error: StorageError) {
    pthread_mutex_lock(mutex)
    if failure == nil { failure = error }
    let sleeping = waiters
    waiters = []
    pthread_mutex_unlock(mutex)
    for w in sleeping { w.wake(.failed(error)) }
  }

  /// Poisons the tracker like ``poison(_:)``, then waits until no leader is writing or syncing,
  /// so the caller may close the descriptor without a leader writing into a reused one.
  func shutdown(_ error: StorageError) {
    pthread_mutex_lock(mutex)
    if failure == nil { failure = error }
    while syncing { pthread_cond_wait(idle, mutex) }
    let sleeping = waiters
    waiters = []
    pthread_mutex_unlock(mutex)
    for w in sleeping { w.wake(.failed(error)) }
  }

  /// How many syncs ran; for tests and benchmarks.
  var syncs: UInt64 {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return syncCount
  }

  /// Calls `resume` once, with `.durable` as soon as `sequence` is durable (at once if it is), a
  /// failure, or `.lead` when no sync is in flight to wait for (the caller then leads one from
  /// a thread). While a sync is in flight the caller is queued without a thread of its own: the
  /// sync that covers it tells it, so an async caller costs no sleeping thread.
  func whenDurable(_ sequence: UInt64, _ resume: @escaping @Sendable (AsyncOutcome) -> Void) {
    pthread_mutex_lock(mutex)
    if sequence > appended {
      let last = appended
      pthread_mutex_unlock(mutex)
      resume(
        .failed(
          StorageError.invalidArgument("sequence \(sequence) was never appended (last is \(last))"))
      )
      return
    }
    if durable >= sequence {
      pthread_mutex_unlock(mutex)
      resume(.durable)
      return
    }
    if let failure {
      pthread_mutex_unlock(mutex)
      resume(.failed(StorageError.poisoned(reason: "\(failure)")))
      return
    }
    guard syncing else {
      pthread_mutex_unlock(mutex)
      resume(.lead)
      return
    }
    waiters.append(Waiter(sequence, resume: resume))
    pthread_cond_signal(arrivals)
    pthread_mutex_unlock(mutex)
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
    if sequence > appended {
      let last = appended
      pthread_mutex_unlock(mutex)
      throw StorageError.invalidArgument(
        "sequence \(sequence) was never appended (last is \(last))")
    }
    var extraRounds = 0
    var keepLeading = false
    while true {
      // A sequence already durable is acknowledged even after a later failure or a close: the
      // sync that covered it succeeded.
      if durable >= sequence && (!keepLeading || failure != nil) {
        pthread_mutex_unlock(mutex)
        return
      }
      if let failure {
        pthread_mutex_unlock(mutex)
        throw StorageError.poisoned(reason: "\(failure)")
      }
      if syncing {
        let me = Waiter(sequence)
        waiters.append(me)
        pthread_cond_signal(arrivals)
        pthread_mutex_unlock(mutex)
        me.sleep()
        switch me.outcome {
        case .durable: return
        case .failed(let e): throw StorageError.poisoned(reason: "\(e)")
        case .lead, .waiting:
          pthread_mutex_lock(mutex)
          continue
        }
      }
      syncing = true
      gather()
      let (taken, target) = take()
      pthread_mutex_unlock(mutex)
      var error: StorageError?
      do throws(StorageError) { try write(taken) } catch let e { error = e }
      pthread_mutex_lock(mutex)
      syncing = false
      pthread_cond_broadcast(idle)
      syncCount += 1
      if let error {
        if failure == nil { failure = error }
        let sleeping = waiters
        waiters = []
        pthread_mutex_unlock(mutex)
        for w in sleeping { w.wake(.failed(error)) }
        throw error
      }
      if target > durable { durable = target }
      var covered: [Waiter] = []
      var rest: [Waiter] = []
      for w in waiters {
        if w.sequence <= durable { covered.append(w) } else { rest.append(w) }
      }
      expected = covered.count + rest.count
      keepLeading = durable >= sequence && !rest.isEmpty && extraRounds < 3
      var next: Waiter?
      var threadFor: UInt64?
      if keepLeading {
        extraRounds += 1
      } else if let i = rest.firstIndex(where: { $0.resume == nil }) {
        next = rest.remove(at: i)
      } else if durable >= sequence, let last = rest.map(\.sequence).max() {
        // Only waiters without a thread are left, and this leader's caller is covered: a new
        // thread leads for them.
        threadFor = last
      }
      waiters = rest
      let spawn = threadFor == nil ? nil : leadOnAThread
      // Outcomes are set and semaphores posted without the mutex: the woken callers return
      // straight away instead of queueing for it.
      pthread_mutex_unlock(mutex)
      for w in covered { w.wake(.durable) }
      next?.wake(.lead)
      if let threadFor, let spawn { spawn(threadFor) }
      pthread_mutex_lock(mutex)
    }
  }
}
