import Synchronization

/// A record the bank has committed, as the feed delivers it: its place in the journal, the core
/// that owns it and its bytes (the tag first, then the record type's version).
public struct CommittedRecord: Sendable, Equatable {
  /// The record's sequence number; the first record of a store is 1.
  public let sequence: UInt64
  /// The name of the core whose tag range holds the record (`ledger`, `auth`, …), or `unknown`
  /// for a tag no core of this bank owns.
  public let core: String
  /// The record's bytes, as stored.
  public let bytes: [UInt8]

  /// The record's tag: which kind of record it is, within its core's range.
  public var tag: UInt8 { bytes.first ?? 0 }

  /// Who wrote the record, and through what (``Origin/operatorOnCLI`` for a record without a
  /// stamp); `nil` when its stamp does not decode.
  public var origin: Origin? {
    bytes.withUnsafeBytes { b in try? RecordEnvelope.origin(of: b) }
  }
}

/// The durable watermark of a bank: the sequence up to which every record is committed and
/// durable, with the tasks waiting for it to move.
final class Watermark: Sendable {
  private struct Waiter {
    var continuation: CheckedContinuation<Void, Never>
    /// Wakes the waiter at its timeout; cancelled when it is woken sooner.
    var timer: Task<Void, Never>
  }
  private struct State {
    var finished = false
    var nextWaiter: UInt64 = 0
    var waiters: [UInt64: Waiter] = [:]
  }
  private let state: Mutex<State>
  /// The watermark itself: read and moved without the lock, so a commit with nobody waiting
  /// pays two atomic operations.
  private let current: Atomic<UInt64>
  /// Waiters registered or registering: a commit locks only when it may have someone to wake.
  private let waiting = Atomic<Int>(0)

  init(_ value: UInt64) {
    state = Mutex(State())
    current = Atomic(value)
  }

  var value: UInt64 { current.load(ordering: .acquiring) }
  var isFinished: Bool { state.withLock { $0.finished } }

  /// Moves the watermark to `sequence` if that is further, and wakes every waiter. Every record
  /// up to `sequence` must be durable (the caller has waited for it).
  func advance(to sequence: UInt64) {
    var seen = current.load(ordering: .relaxed)
    while sequence > seen {
      let (exchanged, original) = current.compareExchange(
        expected: seen, desired: sequence, ordering: .sequentiallyConsistent)
      if exchanged { break }
      seen = original
    }
    guard sequence > seen, waiting.load(ordering: .sequentiallyConsistent) > 0 else { return }
    let woken = state.withLock { s -> [Waiter] in
      defer { s.waiters.removeAll() }
      return Array(s.waiters.values)
    }
    wake(woken)
  }

  /// Wakes every waiter for good: the bank was closed.
  func finish() {
    let woken = state.withLock { s -> [Waiter] in
      s.finished = true
      defer { s.waiters.removeAll() }
      return Array(s.waiters.values)
    }
    wake(woken)
  }

  private func wake(_ waiters: [Waiter]) {
    for w in waiters {
      waiting.subtract(1, ordering: .sequentiallyConsistent)
      w.timer.cancel()
      w.continuation.resume()
    }
  }

  /// Returns once the watermark is past `sequence`, the bank is closed, the task is cancelled,
  /// or `timeout` has passed, whichever is first.
  func wait(above sequence: UInt64, timeout: Duration) async {
    let id = state.withLock { s -> UInt64 in
      s.nextWaiter &+= 1
      return s.nextWaiter
    }
    await withTaskCancellationHandler {
      await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
        let timer = Task { [self] in
          try? await Task.sleep(for: timeout)
          self.release(id)
        }
        let ready = state.withLock { s -> Bool in
          // Counted before the watermark is read: a commit that moves it after this read sees
          // the count and wakes this waiter; one that moved it before is seen here.
          waiting.add(1, ordering: .sequentiallyConsistent)
          if current.load(ordering: .sequentiallyConsistent) > sequence || s.finished
            || Task.isCancelled
          {
            waiting.subtract(1, ordering: .sequentiallyConsistent)
            return true
          }
          s.waiters[id] = Waiter(continuation: c, timer: timer)
          return false
        }
        if ready {
          timer.cancel()
          c.resume()
        }
      }
    } onCancel: {
      release(id)
    }
  }

  /// Wakes one waiter (its timeout, or its task's cancellation), if it still waits.
  private func release(_ id: UInt64) {
    guard let w = state.withLock({ $0.waiters.removeValue(forKey: id) }) else { return }
    wake([w])
  }
}

extension Bank {
  /// The durable watermark: every record up to this sequence is committed, applied and durable,
  /// and nothing after it is yet (as far as this bank knows). It only grows.
  ///
  /// Commits that finish their syncs out of order move it only as far as a sync covers: a record
  /// is never reported before everything before it is durable too.
  public var durableSequence: UInt64 { watermark.value }

  /// The committed records after `sequence`, in journal order, as an `AsyncSequence` that never
  /// ends while the bank is open: it delivers what is committed up to the watermark, then waits
  /// for more. It reads the records back from the storage, so a commit that made its sync before
  /// an earlier one's is still delivered after it.
  ///
  /// For a bank on a read-only store that another process writes (a follower), the feed polls:
  /// each `pollInterval` it measures the store again (``refresh()``) and delivers the new whole
  /// batches, never a half-written tail. A follower that stopped resumes from the last sequence
  /// it handled.
  ///
  /// The sequence ends (returns `nil`) when the bank is closed; a storage failure is thrown.
  public func records(after sequence: UInt64, pollInterval: Duration = .milliseconds(50))
    -> CommittedRecords
  {
    CommittedRecords(bank: self, after: sequence, pollInterval: pollInterval)
  }

  /// The one synchronous reader of committed records that every journal scan uses: each record
  /// after `after` and up to `upTo` (the watermark when `nil`) whose tag is in `tags` (every tag
  /// when `nil`), in journal order, until `body` returns `false`.
  ///
  /// - Complexity: O(records read).
  func forEachCommitted(
    after: UInt64, upTo: UInt64? = nil, tags: ClosedRange<UInt8>? = nil,
    _ body: (UInt64, UnsafeRawBufferPointer) throws(BankError) -> Bool
  ) throws(BankError) {
    let upTo = upTo ?? durableSequence
    guard upTo > after else { return }
    var failure: BankError?
    do throws(StorageError) {
      try storage.forEachRecord(after: after) { rec in
        if rec.sequence > upTo { return false }
        if let tags {
          guard let tag = rec.bytes.first, tags.contains(tag) else { return true }
        }
        do throws(BankError) {
          return try body(rec.sequence, rec.bytes)
        } catch {
          failure = error
          return false
        }
      }
    } catch {
      throw BankError(error)
    }
    if let failure { throw failure }
  }

  /// Up to `limit` committed records after `after`, up to the watermark.
  func committedRecords(after: UInt64, limit: Int) throws(BankError) -> [CommittedRecord] {
    var out: [CommittedRecord] = []
    try forEachCommitted(after: after) { seq, bytes in
      let tag = bytes.first ?? 0
      out.append(CommittedRecord(sequence: seq, core: coreNames[Int(tag)], bytes: Array(bytes)))
      return out.count < limit
    }
    return out
  }
}

/// The committed records of a bank after a sequence number, in journal order: ``Bank/records(after:pollInterval:)``.
public struct CommittedRecords: AsyncSequence, Sendable {
  public typealias Element = CommittedRecord
  public typealias Failure = BankError

  let bank: Bank
  let after: UInt64
  let pollInterval: Duration

  public func makeAsyncIterator() -> Iterator {
    Iterator(bank: bank, cursor: after, pollInterval: pollInterval)
  }

  /// Reads ahead in pages of committed records, off the cooperative thread pool.
  public struct Iterator: AsyncIteratorProtocol {
    let bank: Bank
    /// The last sequence delivered.
    var cursor: UInt64
    let pollInterval: Duration
    var buffer: [CommittedRecord] = []
    var index = 0

    public mutating func next() async throws(BankError) -> CommittedRecord? {
      try await next(isolation: nil)
    }

    public mutating func next(isolation actor: isolated (any Actor)?) async throws(BankError)
      -> CommittedRecord?
    {
      while index == buffer.count {
        if Task.isCancelled || bank.watermark.isFinished { return nil }
        if bank.durableSequence > cursor {
          let (bank, from) = (self.bank, cursor)
          do throws(BankError) {
            buffer = try await BlockingWork.run { () throws(BankError) in
              try bank.committedRecords(after: from, limit: 1024)
            }
          } catch {
            // Closed while reading a page: the feed ends, as it does when closed between pages.
            if bank.watermark.isFinished { return nil }
            throw error
          }
          index = 0
          continue
        }
        // Nothing new: wait for a commit, or poll for what other processes appended.
        await bank.watermark.wait(above: cursor, timeout: pollInterval)
        if bank.durableSequence <= cursor, !bank.watermark.isFinished, !Task.isCancelled {
          let bank = self.bank
          do throws(BankError) {
            _ = try await BlockingWork.run { () throws(BankError) in try bank.refresh() }
          } catch {
            if bank.watermark.isFinished { return nil }
            throw error
          }
        }
      }
      defer { index += 1 }
      cursor = buffer[index].sequence
      return buffer[index]
    }
  }
}

extension Bank {
  /// The time a stored record carries, whichever core owns it.
  func recordTime(_ bytes: [UInt8]) throws(BankError) -> Int64 {
    let result: Result<Int64, DecodeError> = bytes.withUnsafeBytes { raw in
      do throws(DecodeError) {
        let time = try RecordEnvelope.withBody(raw) { body throws(DecodeError) -> Int64 in
          guard let tag = body.first else { throw DecodeError("empty record") }
          if LedgerState.tags.contains(tag) { return try JournalRecord.decode(body).timestamp }
          guard let core = configuration.cores.first(where: { $0.tags.contains(tag) }) else {
            throw DecodeError("unknown record tag \(tag)")
          }
          return try Self.timeOpened(core, body)
        }
        return .success(time)
      } catch {
        return .failure(error)
      }
    }
    do throws(DecodeError) { return try result.get() } catch {
      throw BankError(.storeCorrupt, "a record does not decode: \(error)")
    }
  }

  private static func timeOpened<C: StateCore>(_ type: C.Type, _ raw: UnsafeRawBufferPointer)
    throws(DecodeError) -> Int64
  {
    C.time(of: try C.decode(raw))
  }

  /// The first sequence up to `upTo` whose record is not older than `time` (less the spread a
  /// batch's records may have), by binary search over the journal's times, which never go
  /// backwards; `upTo + 1` when every record is older.
  func firstSequence(notBefore time: Int64, upTo: UInt64) throws(BankError) -> UInt64 {
    var lo: UInt64 = 1
    var hi = upTo + 1
    let bound = time &- BankState.batchTimeSpread
    while lo < hi {
      let mid = lo + (hi - lo) / 2
      let bytes: [UInt8]?
      do throws(StorageError) { bytes = try storage.record(at: mid) } catch {
        throw BankError(error)
      }
      guard let bytes else { return lo }
      if try recordTime(bytes) < bound { lo = mid + 1 } else { hi = mid }
    }
    return lo
  }
}
