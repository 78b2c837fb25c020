import Synchronization

/// The durability waits a closure run by ``BlockingWork/run(_:)`` would have made, noted instead
/// of made: which bank, up to which sequence, and whether a failed sync poisons the bank (it does
/// after a commit, as ``Bank/commit(_:)`` does when it waits itself). The async caller awaits
/// them (``complete()``) before it sees the closure's result, so nothing a crash could take back
/// is ever shown, exactly as when the closure waits.
final class DeferredDurability: @unchecked Sendable {
  // Touched by the one thread that runs the closure, then (after the continuation hands it
  // over) by the awaiting task alone.
  private var waits: [(bank: Bank, sequence: UInt64, poisons: Bool)] = []

  /// The scope of the closure being run on this thread, if it defers.
  @TaskLocal private static var current: DeferredDurability?
  /// How many scopes are open in the process: while none is, a commit pays one atomic load.
  private static let open = Atomic<Int>(0)

  var isEmpty: Bool { waits.isEmpty }

  /// Runs `body` with its durability waits deferred into `waits` (when it is not `nil`).
  static func scope<R>(_ waits: DeferredDurability?, _ body: () -> R) -> R {
    guard let waits else { return body() }
    open.add(1, ordering: .relaxed)
    defer { open.subtract(1, ordering: .relaxed) }
    return $current.withValue(waits, operation: body)
  }

  /// Notes that `bank` must be durable through `sequence` before the result is shown; `false`
  /// when no deferring scope is open on this thread (the caller then waits itself).
  static func note(_ bank: Bank, through sequence: UInt64, poisons: Bool) -> Bool {
    guard open.load(ordering: .relaxed) > 0, let d = current else { return false }
    if let i = d.waits.firstIndex(where: { $0.bank === bank }) {
      d.waits[i].sequence = max(d.waits[i].sequence, sequence)
      d.waits[i].poisons = d.waits[i].poisons || poisons
    } else {
      d.waits.append((bank, sequence, poisons))
    }
    return true
  }

  /// Awaits every noted wait.
  ///
  /// - Throws: the first failed sync, as a `BankError`.
  func complete() async throws(BankError) {
    for w in waits {
      try await w.bank.awaitDurable(w.sequence, poisons: w.poisons)
    }
  }
}

extension Bank {
  /// Returns once the store is durable through `sequence`, holding no thread while a sync in
  /// flight covers it; then moves the watermark. A failed sync poisons the bank when `poisons`
  /// (the wait of a commit), as the synchronous wait does.
  func awaitDurable(_ sequence: UInt64, poisons: Bool) async throws(BankError) {
    do throws(StorageError) {
      try await storage.waitUntilDurableAsync(sequence)
    } catch {
      if poisons { poison(because: "\(error)") }
      throw BankError(error)
    }
    watermark.advance(to: sequence)
  }
}
