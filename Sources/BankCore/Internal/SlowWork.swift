import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Runs CPU-heavy work that needs no bank state (password hashing: one PBKDF2 of 600,000
/// iterations is about 0.2 s of CPU) on background-priority threads (nice 19), one fewer than the
/// machine has cores (at least one), so one core is never taken by hashing.
///
/// Hashing already happens before the bank's lock is taken, so it never holds up a commit; this
/// keeps it from taking the CPU away from committing threads too. On a machine with two cores,
/// four callers logging in at once would otherwise leave the threads that commit transfers
/// waiting for a core after every sync (measured by `bankbench auth.mixed16`: transfers fell to
/// 0.59 of their rate alone). Hashing still runs whenever its workers' cores are not needed by
/// committing threads; a flood of logins queues here (rate limiting is the front end's job).
enum SlowWork {
  private final class Queue: Sendable {
    let jobs = Mutex<[@Sendable () -> Void]>([])
    let ready = DispatchSemaphore(value: 0)
    let workers = Atomic<Int>(0)

    /// Runs jobs forever, at background priority.
    func work() {
      // On Linux the nice value is per thread, and `who` 0 is the calling thread.
      _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
      while true {
        ready.wait()
        let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        job?()
      }
    }
  }

  private static let queue: Queue = {
    let q = Queue()
    let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    for _ in 0..<max(1, min(cores - 1, 8)) where BackgroundThread.start({ q.work() }) {
      q.workers.add(1, ordering: .relaxed)
    }
    return q
  }()

  private final class Slot<R: Sendable>: Sendable {
    let value = Mutex<R?>(nil)
    let done = DispatchSemaphore(value: 0)
  }

  /// Runs `body` on a background-priority worker and waits for its result (on the calling
  /// thread when no worker could be started).
  static func run<R: Sendable>(_ body: @escaping @Sendable () -> R) -> R {
    let q = queue
    guard q.workers.load(ordering: .relaxed) > 0 else { return body() }
    let slot = Slot<R>()
    q.jobs.withLock {
      $0.append {
        let r = body()
        slot.value.withLock { $0 = r }
        slot.done.signal()
      }
    }
    q.ready.signal()
    slot.done.wait()
    guard let r = slot.value.withLock({ $0.take() }) else { return body() }
    return r
  }
}
