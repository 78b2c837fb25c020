import Dispatch
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// One caller's transaction, waiting for whichever thread runs the next group to run it
/// (``Bank/combinedCommit(_:)``). Its result fields are written under the bank's lock; `done` is
/// set under the ``CommitQueue``'s lock after them, and the caller reads them once it sees it.
class PendingCommit: @unchecked Sendable {
  /// The clock's reading when the caller committed.
  let clockNow: Int64
  /// The origin stamp of the caller's records.
  let stamp: [UInt8]?
  /// Set (under the queue's lock) once the transaction was judged and its group appended or
  /// refused.
  fileprivate(set) var done = false
  /// Signalled once when the caller's commit is done, or when the caller is to run the next
  /// group (``CommitQueue``).
  let wake = DispatchSemaphore(value: 0)
  /// Why the transaction was refused or not stored.
  var error: BankError?
  /// The sequence its caller waits to be durable.
  var sequence: UInt64 = 0
  /// Whether a snapshot is due after this group (set on one transaction of the group).
  var snapshotDue = false

  init(clockNow: Int64, stamp: [UInt8]?) {
    self.clockNow = clockNow
    self.stamp = stamp
  }

  /// Runs the caller's `build`.
  func run(_ state: inout BankState, _ tx: inout Transaction) throws(BankError) {
    preconditionFailure("PendingCommit.run is abstract")
  }

  /// Forgets the result of a run that was rolled back.
  func discard() {}

  /// Lets the caller's closure go, so that once the caller sees its commit done nothing else
  /// refers to the caller's state.
  func release() {}
}

/// The commits waiting to be run, and which thread runs the next group. A caller queues its
/// commit; if no group is running it takes the whole queue as its group, otherwise it sleeps
/// until it is woken once: because its commit is done, or because the group that ran has ended
/// and its commit is first in the queue, which it then takes as the next group. So a caller
/// whose commit another thread ran learns it without taking the bank's lock, and a group's end
/// wakes exactly the callers it concerns.
final class CommitQueue: @unchecked Sendable {
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private var queue: [PendingCommit] = []
  private var running = false

  init() { pthread_mutex_init(mutex, nil) }

  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }

  /// Queues `commit`; returns the group this thread must run (it includes `commit`), or `nil`
  /// once another thread has run `commit`.
  func enqueue(_ commit: PendingCommit) -> [PendingCommit]? {
    pthread_mutex_lock(mutex)
    queue.append(commit)
    if running {
      pthread_mutex_unlock(mutex)
      commit.wake.wait()
      // Woken once: done, or handed the queue (`running` stays set for this thread).
      pthread_mutex_lock(mutex)
      if commit.done {
        pthread_mutex_unlock(mutex)
        return nil
      }
    }
    running = true
    // At most `maxGroup` at a time, so that one statement stays small; the rest wait for the
    // next group. The caller's own commit is first in the queue.
    let group = Array(queue.prefix(Self.maxGroup))
    queue.removeFirst(group.count)
    pthread_mutex_unlock(mutex)
    return group
  }

  /// The most transactions one group holds.
  static let maxGroup = 256

  /// How many commits wait in the queue (for tests).
  var waiting: Int {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return queue.count
  }

  /// Holds every commit in the queue as if a group were running, until ``resume()`` (for tests:
  /// callers queued meanwhile then run as one group). Only while no group runs.
  func pause() {
    pthread_mutex_lock(mutex)
    precondition(!running, "a group is running")
    running = true
    pthread_mutex_unlock(mutex)
  }

  /// Hands the queue held by ``pause()`` to its first caller.
  func resume() { finished([]) }

  /// Marks a group run by ``enqueue(_:)``'s caller done, wakes its callers, and hands the queue
  /// to the first caller waiting in it.
  func finished(_ group: [PendingCommit]) {
    pthread_mutex_lock(mutex)
    for p in group {
      p.release()
      p.done = true
    }
    if let next = queue.first {
      next.wake.signal()
    } else {
      running = false
    }
    pthread_mutex_unlock(mutex)
    // The runner's own commit is in the group and needs no waking; its semaphore stays unused.
    for p in group where p !== group.first { p.wake.signal() }
  }
}

/// A pending commit with its typed result.
final class TypedPendingCommit<R>: PendingCommit, @unchecked Sendable {
  typealias Build = (inout BankState, inout Transaction) throws(BankError) -> R
  private var build: Build?
  /// The build's result, once it ran and its group was stored.
  private(set) var result: R?

  init(clockNow: Int64, stamp: [UInt8]?, build: @escaping Build) {
    self.build = build
    super.init(clockNow: clockNow, stamp: stamp)
  }

  override func run(_ state: inout BankState, _ tx: inout Transaction) throws(BankError) {
    guard let build else { preconditionFailure("a finished commit was run again") }
    result = try build(&state, &tx)
  }

  override func discard() { result = nil }

  override func release() { build = nil }
}

extension Bank {
  /// ``commit(_:)`` for a storage that combines commits (``Storage/combinesCommits``): the
  /// caller queues its transaction (``CommitQueue``). One thread at a time takes the queue as a
  /// group and, under the bank's lock, runs every transaction in it, each judged against the
  /// state the ones before it left (and rolled back alone when refused), then appends their
  /// records as one batch. Everything else is as in ``commit(_:)``: one lock orders validation,
  /// append and apply; a lost race rolls the whole group back, and it is judged again after
  /// catching up; the durability wait is each caller's own, outside the lock.
  func combinedCommit<R>(_ build: (inout BankState, inout Transaction) throws(BankError) -> R)
    throws(BankError) -> R
  {
    let clockNow = configuration.clock.now()
    let stamp = currentStamp()
    let outcome = withoutActuallyEscaping(build) { build -> Result<(R, UInt64, Bool), BankError> in
      let mine = TypedPendingCommit(clockNow: clockNow, stamp: stamp, build: build)
      if let group = commitQueue.enqueue(mine) {
        // Other writers of a shared store (nodes on one database) take turns when the backend
        // offers them: the group is then judged on the head it appends after.
        storage.takeAppendTurn()
        var races = 0
        while !guarded.withLock({ g in runGroup(&g, group, races: &races) }) {
          // Past a few lost races, back off outside the lock.
          Self.backOff(afterRaces: races)
        }
        storage.endAppendTurn(moreQueued: commitQueue.waiting > 0)
        commitQueue.finished(group)
      }
      precondition(mine.done, "a queued commit was not run")
      if let error = mine.error { return .failure(error) }
      guard let result = mine.result else {
        return .failure(BankError(.storeLocked, "nothing was stored, try again"))
      }
      return .success((result, mine.sequence, mine.snapshotDue))
    }
    let (result, sequence, snapshotDue) = try outcome.get()
    try finishCommit(through: sequence, snapshotDue: snapshotDue)
    return result
  }

  /// Runs a group of queued transactions under the lock and appends their records as one
  /// batch: `true` once every transaction of the group has a result or an error; `false` when
  /// the group lost several races in a row and should run again after a pause outside the lock.
  private func runGroup(_ g: inout Guarded, _ group: [PendingCommit], races: inout Int) -> Bool {
    while true {
      for p in group {
        p.error = nil
        p.discard()
      }
      do throws(BankError) {
        try g.requireUsable()
        try observeOtherProcesses(&g)
      } catch {
        for p in group { p.error = error }
        return true
      }
      let base = g.state.sequence
      var batch = RecordBatch()
      // The transactions judged and applied, in order, to be rolled back in reverse if the
      // group is not stored.
      var staged: [(PendingCommit, Transaction)] = []
      var judgedBehind = false
      // Transactions judged after the first one that stores records saw a state that holds
      // records not yet stored: if the append fails, their outcomes fall with it.
      var firstStaging: Int?
      for (i, p) in group.enumerated() {
        let kept = batch.count
        do throws(BankError) {
          let last = g.state.lastTimestamp
          try Self.checkTime(p.clockNow, after: last)
          var undo: [(Int, Balances)] = []
          // Every stage starts at the group's base: the batch holds the records of the
          // transactions before this one, so its sequences and key look-ups are the group's.
          var tx = Transaction(
            ledgerStage: Stage(g.state.ledger, baseSequence: base, read: reader, undo: &undo),
            batch: RecordBatch(), now: p.clockNow > last ? p.clockNow : last &+ 1)
          swap(&tx.batch, &batch)
          tx.batch.stamp = p.stamp
          do throws(BankError) {
            // The records of the transactions before this one are not in the storage yet: a
            // read of the journal inside this one (an account's history chain) finds them here.
            if kept > 0 {
              let before = InFlightRecords(base: base, batch: tx.batch, count: kept)
              InFlightRecords.open.add(1, ordering: .relaxed)
              defer { InFlightRecords.open.subtract(1, ordering: .relaxed) }
              let ran = InFlightRecords.$current.withValue(before) { () -> BankError? in
                do throws(BankError) { try p.run(&g.state, &tx) } catch { return error }
                return nil
              }
              if let ran { throw ran }
            } else {
              try p.run(&g.state, &tx)
            }
          } catch {
            g.state.rollback(tx)
            swap(&tx.batch, &batch)
            throw error
          }
          swap(&tx.batch, &batch)
          if firstStaging == nil && batch.count > kept { firstStaging = i }
          staged.append((p, tx))
        } catch {
          batch.removeRecords(after: kept)
          p.error = error
          // Refused against a state another writer has moved on from: judged again below.
          if error.code.category == .refused || error.code.category == .invalidInput,
            storage.lastSequence != g.state.sequence
          {
            judgedBehind = true
          }
        }
      }
      // A group that stores nothing (replays and refusals) still needs a current judgement;
      // one that stores something needs its append to win.
      var stored: UInt64?
      var failure: BankError?
      if judgedBehind || (batch.isEmpty && storage.lastSequence != g.state.sequence) {
        stored = nil
      } else if batch.isEmpty {
        stored = g.state.sequence
      } else {
        batch.stamp = nil
        do throws(StorageError) {
          stored = try storage.append(batch, ifLastIs: base)
        } catch {
          failure = BankError(error)
        }
      }
      if let last = stored, failure == nil {
        if last != base { g.state.sequence = last }
        let due = last != base && g.snapshotDue(at: last, every: configuration.snapshotEvery)
        for (i, (p, _)) in staged.enumerated() {
          p.sequence = last
          p.snapshotDue = due && i == 0
        }
        return true
      }
      for (_, tx) in staged.reversed() { g.state.rollback(tx) }
      if let failure {
        // The staged transactions, and every one judged after the first of them.
        for (i, p) in group.enumerated()
        where i >= (firstStaging ?? group.count) || staged.contains(where: { $0.0 === p }) {
          p.error = failure
        }
        return true
      }
      // Another writer appended first, or judgements were made behind it: catch up and judge
      // the whole group again.
      races += 1
      guard races <= Self.maxRaces else {
        let e = BankError(
          .storeLocked,
          "other writers appended to the store first \(races) times in a row; nothing was stored, try again"
        )
        for p in group { p.error = e }
        return true
      }
      do throws(BankError) {
        try catchUp(&g)
      } catch {
        for p in group { p.error = error }
        return true
      }
      // Past a few lost races, back off outside the lock (the caller), then judge again.
      if races > 4 { return false }
    }
  }
}

/// The records of a group's earlier transactions while a later one is judged
/// (``Bank/combinedCommit(_:)``): they follow `base` and are not in the storage yet, so a read of
/// the journal made inside the later transaction (``Ledger/readRecord(_:)``) finds them here.
final class InFlightRecords: Sendable {
  let base: UInt64
  let batch: RecordBatch
  let count: Int

  init(base: UInt64, batch: RecordBatch, count: Int) {
    self.base = base
    self.batch = batch
    self.count = count
  }

  /// The records of the transactions before the one being judged on this thread, if any.
  @TaskLocal static var current: InFlightRecords?
  /// How many scopes of ``current`` are open in the process: while none is, a journal read pays
  /// one atomic load, not a task-local look-up.
  static let open = Atomic<Int>(0)

  /// The bytes of the record at `sequence`, when it is one of the records of the transactions
  /// before the one being judged on this thread.
  static func record(at sequence: UInt64) -> [UInt8]? {
    guard open.load(ordering: .relaxed) > 0, let f = current, sequence > f.base,
      sequence - f.base <= UInt64(f.count)
    else { return nil }
    return f.batch.record(Int(sequence - f.base) - 1)
  }
}
