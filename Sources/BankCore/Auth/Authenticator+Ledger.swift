/// Money operations on behalf of an acting principal: the permission matrix checked by the
/// library, so that every front end (bankctl, bankd, an embedding application) enforces the same
/// rules. ``Ledger`` itself takes no principal: it is the operator's view, for embedders who do
/// their own access control.
extension Authenticator {
  /// The ledger view of this authenticator's bank.
  public var ledger: Ledger { bank.ledger }

  /// Checks that `principal` may read `account`: a customer only their own (`operation`, such as
  /// `balance` or `history`); staff who may look up or read any account; the operator.
  ///
  /// - Throws: `permission_denied`; `account_not_found` (only once reading is allowed, so a
  ///   customer learns nothing about accounts that are not theirs).
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func authorizeRead(
    _ operation: BankOperation, of account: AccountNumber, as principal: Principal
  ) throws(BankError) {
    if case .customer = principal {
      do throws(BankError) {
        try authorize(operation, as: principal, account: account)
      } catch  where error.code == .accountNotFound {
        throw BankError(.permissionDenied, "a customer may not read account \(account)")
      }
      return
    }
    if matrixAllows(.readAnyAccount, for: principal, ownsTarget: false) { return }
    // Looking accounts up at the counter covers customers' accounts, not the bank's own (an
    // account that does not exist is left to the read, which says so).
    let ownedByBank = (try? ledger.account(account)).map { !$0.kind.isCustomer }
    guard matrixAllows(.lookUpAccount, for: principal, ownsTarget: false), ownedByBank != true
    else {
      throw BankError(.permissionDenied, "\(principal.withArticle) may not read account \(account)")
    }
  }

  /// An account, if `principal` may read it (see ``authorizeRead(_:of:as:)``).
  ///
  /// - Throws: `permission_denied`, `account_not_found`.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func account(_ number: AccountNumber, as principal: Principal) throws(BankError)
    -> Account
  {
    try authorizeRead(.balance, of: number, as: principal)
    return try ledger.account(number)
  }

  /// An account's history, newest first, if `principal` may read it; see
  /// ``Ledger/history(of:limit:before:)``.
  ///
  /// - Throws: `permission_denied`, `account_not_found`.
  ///
  /// - Note: Reads memory; it blocks only to wait for a sync already under way that covers what it
  ///   shows, or to read what other processes sharing the store appended.
  public func history(
    of number: AccountNumber, limit: Int? = nil, before: HistoryCursor? = nil,
    as principal: Principal
  ) throws(BankError) -> [HistoryEntry] {
    try authorizeRead(.history, of: number, as: principal)
    var entries = try ledger.history(of: number, limit: limit, before: before)
    // Who made each movement, and through what, is for staff and the operator (auditing).
    if case .customer = principal {
      for i in entries.indices { entries[i].origin = nil }
    }
    return entries
  }

  /// Cash in at the counter: tellers, managers and the operator.
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/deposit(_:to:key:memo:)-(_,_,IdempotencyKey?,_)``.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func deposit(
    _ amount: Amount, to account: AccountNumber, key: IdempotencyKey? = nil, memo: String = "",
    as principal: Principal
  ) throws(BankError) -> TransferReceipt {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> TransferReceipt in
      try authorize(.deposit, as: principal, account: account)
      return try ledger.deposit(
        amount, to: account, key: key?.scoped(to: principal), memo: memo)

    }
  }

  /// Cash out at the counter: tellers, managers and the operator.
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/withdraw(_:from:key:memo:)-(_,_,IdempotencyKey?,_)``.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func withdraw(
    _ amount: Amount, from account: AccountNumber, key: IdempotencyKey? = nil, memo: String = "",
    as principal: Principal
  ) throws(BankError) -> TransferReceipt {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> TransferReceipt in
      try authorize(.withdraw, as: principal, account: account)
      return try ledger.withdraw(
        amount, from: account, key: key?.scoped(to: principal), memo: memo)

    }
  }

  /// Moves money out of an account the principal may spend from (a customer's own; the
  /// operator's any) to another customer account. The bank's own accounts are never a side.
  ///
  /// - Throws: `permission_denied` (for a customer, also when either account does not exist),
  ///   `account_not_found` (staff), `internal_account`, then as
  ///   ``Ledger/transfer(_:from:to:key:memo:)-(_,_,_,IdempotencyKey?,_)``.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func transfer(
    _ amount: Amount, from: AccountNumber, to: AccountNumber, key: IdempotencyKey? = nil,
    memo: String = "", as principal: Principal
  ) throws(BankError) -> TransferReceipt {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> TransferReceipt in
      try authorize(.transferOut, as: principal, account: from)
      let l = ledger
      for number in [from, to] {
        let a: Account
        do throws(BankError) {
          a = try l.account(number)
        } catch  where error.code == .accountNotFound {
          // DESIGN.md 6: a customer is refused the same way for an account that does not exist.
          guard case .customer = principal else { throw error }
          throw BankError(
            .permissionDenied,
            "a customer may not transfer to account \(number): it is not an account that can be paid"
          )
        }
        guard a.kind == .checking || a.kind == .savings else {
          throw BankError(
            .internalAccount,
            "account \(number) is not a customer's checking or savings account; a transfer moves money between customer accounts only"
          )
        }
      }
      // Keys are the principal's own (issue 17), so a conflict names the field that differs, as
      // it does for staff: it tells nothing of anyone else's requests.
      let receipt = try l.transfer(
        amount, from: from, to: to, key: key?.scoped(to: principal), memo: memo)
      // Paying an account is not reading it: whoever may not read the credited account learns
      // nothing of it from the receipt.
      do throws(BankError) {
        try authorizeRead(.balance, of: to, as: principal)
        return receipt
      } catch  where error.code == .permissionDenied {
        return receipt.hidingCreditAccount()
      }

    }
  }

  /// Freezes, unfreezes or closes an account: managers and the operator. Closing first posts
  /// the interest the account has accrued, as ``Products/close(_:settleWith:key:as:)`` does
  /// (``Ledger/setStatus(_:of:)``, the operator's raw ledger, does not).
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/setStatus(_:of:)``.
  ///
  /// With `key`, a retry after the change committed replays it (a second `close` of the same
  /// account would otherwise be `account_closed`).
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func setStatus(
    _ status: AccountStatus, of number: AccountNumber, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> Account {
    // A close posts the interest the account has accrued first (``Products/close(_:settleWith:key:as:)``).
    if status == .closed {
      return try Products(authenticator: self).close(number, key: key, as: principal).account
    }
    return try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Account in
      let operation: BankOperation =
        switch status {
        case .closed: .close
        case .frozen: .freeze
        case .active: .unfreeze
        }
      try authorize(operation, as: principal, account: number)
      guard
        let op = OperationKey(
          key, principal: principal, command: operation.rawValue,
          arguments: [("account", number.description)])
      else { return try ledger.setStatus(status, of: number) }
      let done = try commitKeyed(op) { state, tx throws(BankError) -> String in
        guard
          case .changed(let id) = try state.ledger.stage(
            .setStatus(number, status), now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
        else { return "" }
        // The account as this change left it, so that a retry prints what it printed.
        let a = state.ledger.account(id)
        return [
          String(a.status.rawValue), String(a.postedDebits), String(a.postedCredits),
          String(a.pendingDebits), String(a.pendingCredits), String(a.overdraftLimitMinor),
        ].joined(separator: " ")
      }
      let now = try ledger.account(number)
      guard let f = done?.split(separator: " ").map(String.init), f.count == 6,
        let raw = UInt8(f[0]), let s = AccountStatus(rawValue: raw), let d = Int128(f[1]),
        let c = Int128(f[2]), let pd = Int64(f[3]), let pc = Int64(f[4]), let limit = Int64(f[5])
      else { return now }
      return Account(
        id: now.id, number: now.number, name: now.name, kind: now.kind, currency: now.currency,
        status: s, overdraftLimitMinor: limit, postedDebits: d, postedCredits: c, pendingDebits: pd,
        pendingCredits: pc, opened: now.opened)

    }
  }

  /// Changes a checking account's overdraft limit: managers and the operator.
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/setOverdraftLimit(_:of:)``.
  ///
  /// - Note: Blocks the calling thread until its records are durable (a sync, milliseconds on a
  ///   disk); from Swift concurrency, use `perform`.
  @discardableResult
  public func setOverdraftLimit(
    _ limit: Amount, of number: AccountNumber, as principal: Principal
  ) throws(BankError) -> Account {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> Account in
      try authorize(.overdraft, as: principal, account: number)
      return try ledger.setOverdraftLimit(limit, of: number)

    }
  }

  /// Runs blocking authenticator calls (a login's PBKDF2, a commit's sync) without blocking a
  /// cooperative thread, for callers in Swift concurrency such as an HTTP server's handlers:
  /// `try await auth.perform { try $0.transfer(x, from: a, to: b, as: who) }`.
  ///
  /// The closure's error type is inferred, as in ``Ledger/perform(_:)``.
  public func perform<R: Sendable, E: Error>(
    _ body: @escaping @Sendable (Authenticator) throws(E) -> R
  ) async throws(E) -> R {
    try await BlockingWork.run(for: bank) { () throws(E) in try body(self) }
  }
}
