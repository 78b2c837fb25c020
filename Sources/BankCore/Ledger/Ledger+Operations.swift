/// The result of a money movement: the transfer and both accounts after it.
public struct TransferReceipt: Sendable, Hashable {
  /// The transfer (for a replay, the original one).
  public let transfer: Transfer
  /// Whether an identical earlier transfer with the same key was found and nothing moved.
  public let replayed: Bool
  /// The debited account after the transfer.
  public let debitAccount: Account
  /// The credited account after the transfer. In a receipt from
  /// ``Authenticator/transfer(_:from:to:key:memo:as:)`` for someone who may not read that account
  /// (a customer paying another customer), only its number, kind and currency are real: its name
  /// is empty and its figures are zero, and ``creditAccountHidden`` is true.
  public let creditAccount: Account
  /// Whether ``creditAccount`` is hidden from the principal the transfer was made for; its JSON
  /// form then has `"to_balance": null`.
  public let creditAccountHidden: Bool

  /// The amount moved.
  public var amount: Amount { transfer.amount }

  init(
    transfer: Transfer, replayed: Bool, debitAccount: Account, creditAccount: Account,
    creditAccountHidden: Bool = false
  ) {
    self.transfer = transfer
    self.replayed = replayed
    self.debitAccount = debitAccount
    self.creditAccount = creditAccount
    self.creditAccountHidden = creditAccountHidden
  }

  /// This receipt with the credited account reduced to what its number already says.
  func hidingCreditAccount() -> TransferReceipt {
    let c = creditAccount
    return TransferReceipt(
      transfer: transfer, replayed: replayed, debitAccount: debitAccount,
      creditAccount: Account(
        id: c.id, number: c.number, name: "", kind: c.kind, currency: c.currency,
        status: .active, overdraftLimitMinor: 0, postedDebits: 0, postedCredits: 0,
        pendingDebits: 0, pendingCredits: 0, opened: Instant(nanoseconds: 0)),
      creditAccountHidden: true)
  }
}

extension Ledger {
  /// Opens an account.
  ///
  /// - Throws: `invalid_argument` for a bad name or an overdraft on a non-checking account,
  ///   `account_exists` for a number in use.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func open(_ spec: AccountSpec) throws(BankError) -> Account {
    guard case .opened(let id) = try submit(.open(spec)) else {
      throw BankError(.invalidArgument, "open produced no account")
    }
    return try account(id: id)
  }

  /// Deposits cash into an account (vault to account).
  ///
  /// - Parameters:
  ///   - key: an idempotency key; a retry with the same key and fields moves nothing.
  /// - Throws: `account_not_found`, `account_closed`, `currency_mismatch`, `invalid_amount`,
  ///   `idempotency_conflict`, `invalid_key`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func deposit(
    _ amount: Amount, to account: AccountNumber, key: IdempotencyKey? = nil, memo: String = ""
  )
    throws(BankError) -> TransferReceipt
  {
    try receipt(.deposit(amount: amount, to: account, key: key, memo: memo))
  }

  /// ``deposit(_:to:key:memo:)-(_,_,IdempotencyKey?,_)`` with the key as text, validated here (`invalid_key`).
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @available(*, deprecated, message: "pass an IdempotencyKey")
  @_disfavoredOverload @discardableResult
  public func deposit(_ amount: Amount, to account: AccountNumber, key: String?, memo: String = "")
    throws(BankError) -> TransferReceipt
  {
    try deposit(
      amount, to: account, key: key.map { k throws(BankError) in try IdempotencyKey(k) }, memo: memo
    )
  }

  /// Withdraws cash from an account (account to vault).
  ///
  /// - Throws: as ``deposit(_:to:key:memo:)-(_,_,IdempotencyKey?,_)``, plus `insufficient_funds` and `account_frozen`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func withdraw(
    _ amount: Amount, from account: AccountNumber, key: IdempotencyKey? = nil, memo: String = ""
  )
    throws(BankError) -> TransferReceipt
  {
    try receipt(.withdraw(amount: amount, from: account, key: key, memo: memo))
  }

  /// ``withdraw(_:from:key:memo:)-(_,_,IdempotencyKey?,_)`` with the key as text, validated here (`invalid_key`).
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @available(*, deprecated, message: "pass an IdempotencyKey")
  @_disfavoredOverload @discardableResult
  public func withdraw(
    _ amount: Amount, from account: AccountNumber, key: String?, memo: String = ""
  ) throws(BankError) -> TransferReceipt {
    try withdraw(
      amount, from: account, key: key.map { k throws(BankError) in try IdempotencyKey(k) },
      memo: memo)
  }

  /// Moves money between two accounts of one currency.
  ///
  /// - Throws: as ``withdraw(_:from:key:memo:)-(_,_,IdempotencyKey?,_)``, plus `same_account`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func transfer(
    _ amount: Amount, from: AccountNumber, to: AccountNumber, key: IdempotencyKey? = nil,
    memo: String = ""
  ) throws(BankError) -> TransferReceipt {
    try receipt(.transfer(amount: amount, from: from, to: to, key: key, memo: memo))
  }

  /// ``transfer(_:from:to:key:memo:)-(_,_,_,IdempotencyKey?,_)`` with the key as text, validated here (`invalid_key`).
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @available(*, deprecated, message: "pass an IdempotencyKey")
  @_disfavoredOverload @discardableResult
  public func transfer(
    _ amount: Amount, from: AccountNumber, to: AccountNumber, key: String?, memo: String = ""
  ) throws(BankError) -> TransferReceipt {
    try transfer(
      amount, from: from, to: to, key: key.map { k throws(BankError) in try IdempotencyKey(k) },
      memo: memo)
  }

  /// Places a pending hold that reserves funds until posted, voided or expired.
  ///
  /// - Parameters:
  ///   - to: the account credited when it posts; the vault when `nil` (an ATM withdrawal).
  ///   - expiresAt: when it lapses (it must be later than now); `nil` for never.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func placeHold(
    _ amount: Amount, from: AccountNumber, to: AccountNumber? = nil, expiresAt: Instant? = nil,
    key: IdempotencyKey? = nil, memo: String = ""
  ) throws(BankError) -> TransferReceipt {
    try receipt(
      .placeHold(amount: amount, from: from, to: to, expiresAt: expiresAt, key: key, memo: memo))
  }

  /// ``placeHold(_:from:to:expiresAt:key:memo:)-(_,_,_,Instant?,_,_)`` with the expiry in nanoseconds since 1970 (0 for
  /// never) and the key as text, validated here.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @available(
    *, deprecated, message: "pass expiresAt as an Instant (nil for never) and an IdempotencyKey"
  )
  @_disfavoredOverload @discardableResult
  public func placeHold(
    _ amount: Amount, from: AccountNumber, to: AccountNumber? = nil, expiresAt: Int64 = 0,
    key: String? = nil, memo: String = ""
  ) throws(BankError) -> TransferReceipt {
    try placeHold(
      amount, from: from, to: to,
      expiresAt: expiresAt == 0 ? nil : Instant(nanoseconds: expiresAt),
      key: key.map { k throws(BankError) in try IdempotencyKey(k) }, memo: memo)
  }

  /// Posts a pending hold in full, or in part when `amount` is given.
  ///
  /// - Throws: `hold_not_found`, `hold_not_pending`, `hold_expired`, `invalid_amount`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func postHold(_ hold: HoldReference, amount: Amount? = nil) throws(BankError)
    -> HoldResolution
  {
    guard case .holdResolved(let r) = try submit(.postHold(hold, amount: amount)) else {
      throw BankError(.invalidArgument, "post produced no resolution")
    }
    return r
  }

  /// Voids a pending hold, releasing its funds.
  ///
  /// - Throws: `hold_not_found`, `hold_not_pending`.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func voidHold(_ hold: HoldReference) throws(BankError) -> HoldResolution {
    guard case .holdResolved(let r) = try submit(.voidHold(hold)) else {
      throw BankError(.invalidArgument, "void produced no resolution")
    }
    return r
  }

  /// Expires every pending hold whose expiry time has passed by the clock's current reading.
  ///
  /// - Returns: how many expired.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func expireHolds() throws(BankError) -> Int {
    guard case .expired(let n) = try submit(.expireHolds) else { return 0 }
    return n
  }

  /// When the soonest pending hold with an expiry lapses, or `nil` when none will: what a
  /// long-running process sleeps until (``expireHoldsOnTheClock(checkingAtLeastEvery:)``). It may
  /// name a hold resolved since, which expiring then finds nothing to do for.
  ///
  /// - Complexity: O(1).
  public var nextHoldExpiry: Instant? {
    get throws(BankError) {
      try read { s in s.expiry.heap.first.map { Instant(nanoseconds: $0.expiresAt) } }
    }
  }

  /// Freezes (no debits), reactivates or closes an account.
  ///
  /// - Throws: `account_not_empty` when closing an account with a balance or holds,
  ///   `account_closed` when it is already closed.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func setStatus(_ status: AccountStatus, of number: AccountNumber) throws(BankError)
    -> Account
  {
    try submit(.setStatus(number, status))
    return try account(number)
  }

  /// Changes a checking account's overdraft limit.
  ///
  /// - Throws: `limit_exceeded` when the account already uses more credit than the new limit.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform` or the bank's `async` form.
  @discardableResult
  public func setOverdraftLimit(_ limit: Amount, of number: AccountNumber) throws(BankError)
    -> Account
  {
    try submit(.setOverdraft(number, limit))
    return try account(number)
  }

  /// Commits one money command and builds its receipt from the state right after it applied, so
  /// the accounts shown reflect only records that are durable when the call returns.
  ///
  /// A replay's receipt shows the accounts as they stood right after the original transfer, as
  /// the first call's receipt did, so a retry prints the same figures whenever it comes.
  private func receipt(_ command: LedgerCommand) throws(BankError) -> TransferReceipt {
    let (r, record) = try commit(keys: command.idempotencyKey.map { [$0] } ?? []) {
      state, stage, batch, now throws(BankError) in
      guard
        case .transferred(let t, let replayed) = try state.stage(
          command, now: now, stage: &stage, batch: &batch)
      else { throw BankError(.invalidArgument, "command produced no transfer") }
      return (
        TransferReceipt(
          transfer: state.publicTransfer(t), replayed: replayed,
          debitAccount: state.account(t.debit), creditAccount: state.account(t.credit)), t
      )
    }
    guard r.replayed else { return r }
    let (debit, credit) = try accounts(rightAfter: record)
    return TransferReceipt(
      transfer: r.transfer, replayed: true, debitAccount: debit, creditAccount: credit)
  }

  /// The two accounts of a keyed transfer as they stood right after it applied: the accounts as
  /// they are now, with the effect of every ledger record committed since taken back out
  /// (movements, holds placed and resolved). A retry of a recent key reads only the few records
  /// that followed it; a status or limit change since (which records only the new value) falls
  /// back to rebuilding from the start.
  ///
  /// - Complexity: O(records after the transfer).
  func accounts(rightAfter t: TransferRecord) throws(BankError) -> (Account, Account) {
    guard let key = t.key else { return try accountsByReplay(rightAfter: t) }
    let ((now, candidates), upTo) = try readWithSequence { s in
      (
        (s.account(t.debit), s.account(t.credit)),
        s.keys.sequencesWithoutBuilding(matching: KeyIndex.digest(key))
      )
    }
    var at: UInt64?
    for c in candidates where c <= upTo {
      guard let bytes = try readRecord(c),
        case .transfer(let x) = try decode(bytes, c), x.number == t.number
      else { continue }
      at = c
    }
    guard let at else { return try accountsByReplay(rightAfter: t) }
    var (debit, credit) = (AccountDelta(now.0), AccountDelta(now.1))
    var exact = true
    try bank.forEachCommitted(after: at, upTo: upTo, tags: LedgerState.tags) {
      seq, bytes throws(BankError) in
      switch try JournalRecord.decodeOrCorrupt(bytes, sequence: seq) {
      case .transfer(let x):
        debit.undo(x)
        credit.undo(x)
      case .holdResolved(let r):
        guard let back = r.links?.holdBack, back > 0, back < seq,
          let holdBytes = try readRecord(seq - back),
          case .transfer(let h) = try decode(holdBytes, seq - back), h.number == r.hold
        else {
          exact = false
          return false
        }
        debit.undo(r, of: h)
        credit.undo(r, of: h)
      case .accountChanged(let c) where c.id == t.debit || c.id == t.credit:
        exact = false
        return false
      default: break
      }
      return true
    }
    guard exact else { return try accountsByReplay(rightAfter: t) }
    return (debit.account, credit.account)
  }

  /// ``accounts(rightAfter:)`` by replaying the journal up to the transfer (outside the lock).
  ///
  /// - Complexity: O(records up to the transfer).
  func accountsByReplay(rightAfter t: TransferRecord) throws(BankError) -> (Account, Account) {
    var state = LedgerState()
    var found = false
    try bank.forEachCommitted(after: 0, upTo: lastSequence, tags: LedgerState.tags) {
      seq, bytes throws(BankError) in
      var none: Stage? = nil
      let record = try JournalRecord.decodeOrCorrupt(bytes, sequence: seq)
      guard state.apply(record, sequence: seq, stage: &none) else {
        throw BankError(.storeCorrupt, "record \(seq) does not apply")
      }
      if case .transfer(let x) = record, x.number == t.number { found = true }
      return !found
    }
    guard found else {
      throw BankError(.storeCorrupt, "transfer #\(t.number) is not in the journal")
    }
    return (state.account(t.debit), state.account(t.credit))
  }

  /// Every committed ledger record in journal order, decoded, with the origin stamped on it
  /// (other cores' records are skipped). For exports and audits.
  ///
  /// - Complexity: O(records in the store).
  package func forEachRecordWithOrigin(_ body: (UInt64, JournalRecord, Origin) -> Void)
    throws(BankError)
  {
    try bank.scanRecords(tags: LedgerState.tags) { seq, bytes throws(DecodeError) in
      body(seq, try JournalRecord.decode(bytes), try RecordEnvelope.origin(of: bytes))
    }
  }

  /// Every committed ledger record in journal order, decoded (other cores' records are
  /// skipped). For exports and audits.
  ///
  /// - Complexity: O(records in the store).
  package func forEachRecord(_ body: (UInt64, JournalRecord) -> Void) throws(BankError) {
    try forEachRecordWithOrigin { seq, record, _ in body(seq, record) }
  }

}

/// An account with the effects of later records taken back out (``Ledger/accounts(rightAfter:)``).
private struct AccountDelta {
  let base: Account
  var postedDebits: Int128
  var postedCredits: Int128
  var pendingDebits: Int64
  var pendingCredits: Int64

  init(_ a: Account) {
    base = a
    postedDebits = a.postedDebits
    postedCredits = a.postedCredits
    pendingDebits = a.pendingDebits
    pendingCredits = a.pendingCredits
  }

  /// Takes back a movement, or a hold's placing.
  mutating func undo(_ x: TransferRecord) {
    let amount = Int128(x.amount)
    if x.isHold {
      if x.debit == base.id { pendingDebits &-= x.amount }
      if x.credit == base.id { pendingCredits &-= x.amount }
    } else {
      if x.debit == base.id { postedDebits -= amount }
      if x.credit == base.id { postedCredits -= amount }
    }
  }

  /// Takes back a hold's resolution: its amount held again, what it posted unposted.
  mutating func undo(_ r: HoldResolved, of hold: TransferRecord) {
    let posted = r.outcome == .posted ? Int128(r.amount) : 0
    if hold.debit == base.id {
      pendingDebits &+= hold.amount
      postedDebits -= posted
    }
    if hold.credit == base.id {
      pendingCredits &+= hold.amount
      postedCredits -= posted
    }
  }

  var account: Account {
    Account(
      id: base.id, number: base.number, name: base.name, kind: base.kind,
      currency: base.currency, status: base.status, overdraftLimitMinor: base.overdraftLimitMinor,
      postedDebits: postedDebits, postedCredits: postedCredits, pendingDebits: pendingDebits,
      pendingCredits: pendingCredits, opened: base.opened)
  }
}
