/// How a ledger behaves: its clock, when it takes snapshots, and (as a bank) its cores. A ledger
/// is a view of a ``Bank`` and is configured as one: this is ``BankConfiguration`` under the
/// ledger's name, no longer a copy of it.
public typealias LedgerConfiguration = BankConfiguration

/// A double-entry ledger persisted through a ``Storage``: the ledger-only view of a ``Bank``,
/// for embedders who need nothing else.
///
/// Each call validates its command against the current state, appends the resulting records to the
/// storage, waits until they are durable and only then returns. Calls from many threads are safe:
/// the bank's one lock orders validation, appends and apply, so journal order equals apply order
/// and a replay rebuilds exactly the state callers observed. Durability waits happen outside the
/// lock, so concurrent callers share syncs (group commit).
///
/// Do not call back into a ledger from inside a callback it is running; the lock is not reentrant.
///
/// **Which calls block.** Every call that writes blocks its thread until its records are durable
/// (an `fdatasync`); reads wait only for what they show to be durable, and `history` and exports
/// read the journal. From Swift concurrency, use ``Bank``'s async forms or ``perform(_:)``,
/// which do the blocking work off the cooperative thread pool.
public final class Ledger: Sendable {
  /// The bank this ledger is a view of.
  public let bank: Bank
  /// The behaviour this ledger was opened with.
  public let configuration: LedgerConfiguration

  var storage: any Storage { bank.storage }
  /// What opening found.
  public var openReport: OpenReport { bank.openReport }

  /// Opens a ledger on a storage, loading its snapshot and replaying the records after it.
  ///
  /// The store may also hold other cores' records (customers, cards, …): they are loaded too,
  /// as ``bank`` shows them.
  ///
  /// - Throws: `store_corrupt` when a record does not decode or refers to something that does not
  ///   exist; storage errors as reported.
  /// - Complexity: O(records after the snapshot).
  ///
  /// - Note: Blocks while it opens the store: it reads the newest snapshot and replays the journal
  ///   after it.
  public init(
    storage: any Storage = InMemoryStorage(), configuration: LedgerConfiguration = .init()
  )
    throws(BankError)
  {
    self.configuration = configuration
    self.bank = try Bank(storage: storage, configuration: configuration)
  }

  /// The ledger view of a bank.
  public init(_ bank: Bank) {
    self.bank = bank
    self.configuration = bank.configuration
  }

  // MARK: Commit path

  /// Commits a linked batch of commands: all of them, or none.
  ///
  /// - Returns: one outcome per command, in order.
  /// - Throws: the first rule a command breaks (nothing is committed), or a storage error (nothing
  ///   is acknowledged; after a failed sync the ledger refuses further work until reopened).
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func submit(_ commands: [LedgerCommand]) throws(BankError) -> [LedgerOutcome] {
    try commit(keys: commands.lazy.compactMap(\.idempotencyKey)) {
      state, stage, batch, now throws(BankError) in
      var outcomes: [LedgerOutcome] = []
      outcomes.reserveCapacity(commands.count)
      stage?.balanceUndo.reserveCapacity(commands.count * 2)
      batch.reserve(records: commands.count, bytesEach: TransferCodec.fixedSize)
      for c in commands {
        // Staged first, then read: `state.publicOutcome(try state.stage(…))` would hold a copy
        // of the state across the mutation and copy every table it touches.
        let staged = try state.stage(c, now: now, stage: &stage, batch: &batch)
        outcomes.append(state.publicOutcome(staged))
      }
      return outcomes
    }
  }

  /// Commits one command.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func submit(_ command: LedgerCommand) throws(BankError) -> LedgerOutcome {
    try commit(keys: command.idempotencyKey.map { [$0] } ?? []) {
      state, stage, batch, now throws(BankError) in
      let staged = try state.stage(command, now: now, stage: &stage, batch: &batch)
      return state.publicOutcome(staged)
    }
  }

  /// One transaction on the ledger core alone, through the bank's commit path. `keys` are the
  /// idempotency keys its commands carry: the other keyed commands (registration, opening,
  /// cards…) share their namespace, so a key one of those used is a conflict here.
  func commit<R>(
    keys: some Sequence<IdempotencyKey> = [IdempotencyKey](),
    _ build: (inout LedgerState, inout Stage?, inout RecordBatch, Int64) throws(BankError) -> R
  ) throws(BankError) -> R {
    try bank.commit { state, tx throws(BankError) in
      var operations: [String: AuthState.OperationEntry]?
      for key in keys {
        if operations == nil { operations = state.core(AuthState.self)?.operations ?? [:] }
        if let done = operations?[key.stored] {
          throw BankError(
            .idempotencyConflict,
            "key '\(key.text)' was already used for \(done.command), not for a transfer")
        }
      }
      return try build(&state.ledger, &tx.ledgerStage, &tx.batch, tx.now)
    }
  }

  /// Saves a snapshot of the current state, so the next open replays only what follows.
  ///
  /// - Throws: storage errors.
  /// - Complexity: O(accounts + holds + keys), off the lock.
  ///
  /// - Note: Blocks while it writes the snapshot file and syncs it.
  public func takeSnapshot() throws(BankError) { try bank.takeSnapshot() }

  /// Re-checks the whole store; see ``Bank/verify()``.
  ///
  /// - Throws: `store_corrupt` naming what differs; storage errors.
  /// - Complexity: O(records).
  ///
  /// - Note: Blocks while it reads and checks the whole journal.
  public func verify() throws(BankError) -> VerifyReport { try bank.verify() }

  // MARK: Reads

  /// Runs `body` on the ledger state once everything it reflects is durable, so no caller ever
  /// sees money that a crash could take back. The second value is the journal sequence it reflects.
  func read<R>(_ body: (borrowing LedgerState) throws(BankError) -> R) throws(BankError) -> R {
    try bank.read { s throws(BankError) in try body(s.ledger) }
  }

  /// The journal sequence the state reflects, read together with a value of the state.
  func readWithSequence<R>(_ body: (borrowing LedgerState) throws(BankError) -> R)
    throws(BankError) -> (R, UInt64)
  {
    try bank.read { s throws(BankError) in (try body(s.ledger), s.sequence) }
  }

  /// The account with a number.
  ///
  /// - Throws: `account_not_found`.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func account(_ number: AccountNumber) throws(BankError) -> Account {
    try read { s throws(BankError) in s.account(try s.id(of: number)) }
  }

  /// The account with an internal ID.
  ///
  /// - Throws: `account_not_found`.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func account(id: AccountID) throws(BankError) -> Account {
    try read { s throws(BankError) in
      guard id.rawValue > 0, id.index < s.info.count else {
        throw BankError(.accountNotFound, "no account has internal id \(id)")
      }
      return s.account(id)
    }
  }

  /// Every account, in the order they were opened.
  ///
  /// - Complexity: O(accounts).
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func accounts() throws(BankError) -> [Account] {
    try read { s in (0..<s.info.count).map { s.account(AccountID(UInt32($0 + 1))) } }
  }

  /// The vault (cash) account of a currency, if one exists.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func vault(for currency: Currency) throws(BankError) -> Account? {
    try read { s in s.vaults[currency.letters].map { s.account($0) } }
  }

  /// The posted balance of an account.
  ///
  /// - Throws: `account_not_found`.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func balance(of number: AccountNumber) throws(BankError) -> Amount {
    try account(number).balance
  }

  /// A hold and its outcome (`nil` while pending).
  ///
  /// A pending hold is in memory. A resolved one is not kept there: its record is found through
  /// its key (or, for a number, a scan of the journal) and its outcome by a scan of the journal
  /// after it, outside the lock.
  ///
  /// - Throws: `hold_not_found`.
  /// - Complexity: O(1) for a pending hold; O(records after the hold) for a resolved one reached
  ///   by key, O(records) by number.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func hold(_ ref: HoldReference) throws(BankError) -> (
    hold: Transfer, outcome: HoldOutcome?
  ) {
    let (record, outcome) = try holdRecord(ref)
    return (try read { s in s.publicTransfer(record) }, outcome)
  }

  /// A hold's journal record and outcome; see ``hold(_:)``.
  func holdRecord(_ ref: HoldReference) throws(BankError) -> (
    record: TransferRecord, outcome: HoldOutcome?
  ) {
    let ((pendingHold, keySequences), upTo) = try readWithSequence {
      s throws(BankError) -> (Hold?, [UInt64]) in
      switch ref {
      case .key(let k):
        return (
          nil,
          s.keys.sequencesWithoutBuilding(matching: KeyIndex.digest(k.stored))
            + s.keys.sequencesWithoutBuilding(matching: KeyIndex.digest(k.text))
        )
      case .number(let n): return (s.holds[n], [])
      }
    }
    if let pendingHold { return (pendingHold.record, nil) }
    // The hold's record and sequence.
    var hold: (TransferRecord, UInt64)?
    if case .key(let k) = ref {
      for seq in keySequences {
        guard let bytes = try readRecord(seq) else { continue }
        if case .transfer(let t) = try decode(bytes, seq), t.key == k.stored || t.key == k.text,
          t.isHold
        {
          hold = (t, seq)
        }
      }
    } else if case .number(let n) = ref {
      try scan(after: 0, upTo: upTo) { seq, record in
        if case .transfer(let t) = record, t.number == n {
          if t.isHold { hold = (t, seq) }
          return false
        }
        return true
      }
    }
    guard let (record, at) = hold else {
      throw BankError(.holdNotFound, "hold \(ref) does not exist")
    }
    let pending = try read { s in s.holds[record.number] != nil }
    if pending { return (record, nil) }
    var outcome: HoldOutcome?
    try scan(after: at, upTo: lastSequence) { _, rec in
      if case .holdResolved(let r) = rec, r.hold == record.number {
        outcome = r.outcome
        return false
      }
      return true
    }
    return (record, outcome)
  }

  /// The bytes of a stored record.
  func readRecord(_ seq: UInt64) throws(BankError) -> [UInt8]? {
    // Inside a combined commit, an earlier transaction's records of the same group.
    if let bytes = InFlightRecords.record(at: seq) { return bytes }
    do throws(StorageError) { return try storage.record(at: seq) } catch {
      throw BankError(error)
    }
  }

  /// Decodes a stored record or fails with `store_corrupt`.
  func decode(_ bytes: [UInt8], _ seq: UInt64) throws(BankError) -> JournalRecord {
    try JournalRecord.decodeOrCorrupt(bytes, sequence: seq)
  }

  /// Calls `body` with each ledger record after `after` up to `upTo`, until it returns `false`.
  func scan(
    after: UInt64, upTo: UInt64, _ body: (UInt64, JournalRecord) throws(BankError) -> Bool
  ) throws(BankError) {
    try bank.forEachCommitted(after: after, upTo: upTo, tags: LedgerState.tags) {
      seq, bytes throws(BankError) in
      try body(seq, try JournalRecord.decodeOrCorrupt(bytes, sequence: seq))
    }
  }

  /// The sequence number of the last record the state reflects.
  public var lastSequence: UInt64 { bank.lastSequence }

  /// Checks the ledger's invariants: debits equal credits per currency (posted and pending), no
  /// limited account is below its limit, and pending totals match the open holds.
  ///
  /// - Returns: a description of the first violation, or `nil`.
  /// - Complexity: O(accounts + holds).
  public func invariantViolation() -> String? { bank.invariantViolation() }

  /// Closes the storage. The ledger refuses further work.
  public func close() { bank.close() }
}
