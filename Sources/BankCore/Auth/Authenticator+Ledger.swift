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
    if allowed(.readAnyAccount, for: principal, ownsTarget: false) { return }
    // Looking accounts up at the counter covers customers' accounts, not the bank's own (an
    // account that does not exist is left to the read, which says so).
    let ownedByBank = (try? ledger.account(account)).map { !$0.kind.isCustomer }
    guard allowed(.lookUpAccount, for: principal, ownsTarget: false), ownedByBank != true else {
      throw BankError(.permissionDenied, "\(principal.withArticle) may not read account \(account)")
    }
  }

  /// An account, if `principal` may read it (see ``authorizeRead(_:of:as:)``).
  ///
  /// - Throws: `permission_denied`, `account_not_found`.
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
  public func history(
    of number: AccountNumber, limit: Int? = nil, before: HistoryCursor? = nil,
    as principal: Principal
  ) throws(BankError) -> [HistoryEntry] {
    try authorizeRead(.history, of: number, as: principal)
    return try ledger.history(of: number, limit: limit, before: before)
  }

  /// Cash in at the counter: tellers, managers and the operator.
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/deposit(_:to:key:memo:)``.
  @discardableResult
  public func deposit(
    _ amount: Amount, to account: AccountNumber, key: IdempotencyKey? = nil, memo: String = "",
    as principal: Principal
  ) throws(BankError) -> TransferReceipt {
    try authorize(.deposit, as: principal, account: account)
    return try ledger.deposit(
      amount, to: account, key: key?.scoped(to: principal), memo: memo)
  }

  /// Cash out at the counter: tellers, managers and the operator.
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/withdraw(_:from:key:memo:)``.
  @discardableResult
  public func withdraw(
    _ amount: Amount, from account: AccountNumber, key: IdempotencyKey? = nil, memo: String = "",
    as principal: Principal
  ) throws(BankError) -> TransferReceipt {
    try authorize(.withdraw, as: principal, account: account)
    return try ledger.withdraw(
      amount, from: account, key: key?.scoped(to: principal), memo: memo)
  }

  /// Moves money out of an account the principal may spend from (a customer's own; the
  /// operator's any) to another customer account. The bank's own accounts are never a side.
  ///
  /// - Throws: `permission_denied`, `internal_account`, then as
  ///   ``Ledger/transfer(_:from:to:key:memo:)``.
  @discardableResult
  public func transfer(
    _ amount: Amount, from: AccountNumber, to: AccountNumber, key: IdempotencyKey? = nil,
    memo: String = "", as principal: Principal
  ) throws(BankError) -> TransferReceipt {
    try authorize(.transferOut, as: principal, account: from)
    let l = ledger
    for number in [from, to] {
      let a = try l.account(number)
      guard a.kind == .checking || a.kind == .savings else {
        throw BankError(
          .internalAccount,
          "account \(number) is not a customer's checking or savings account; a transfer moves money between customer accounts only"
        )
      }
    }
    let receipt = try Self.scopedConflicts(principal) { () throws(BankError) in
      try l.transfer(amount, from: from, to: to, key: key?.scoped(to: principal), memo: memo)
    }
    // Paying an account is not reading it: whoever may not read the credited account learns
    // nothing of it from the receipt.
    do throws(BankError) {
      try authorizeRead(.balance, of: to, as: principal)
      return receipt
    } catch  where error.code == .permissionDenied {
      return receipt.hidingCreditAccount()
    }
  }

  /// Runs a keyed operation for `principal`; for a customer, an idempotency conflict is reported
  /// without naming the other transfer or the field that differs (the key may be someone else's).
  static func scopedConflicts<R>(
    _ principal: Principal, _ body: () throws(BankError) -> R
  ) throws(BankError) -> R {
    do throws(BankError) {
      return try body()
    } catch  where error.code == .idempotencyConflict {
      guard case .customer = principal else { throw error }
      throw BankError(
        .idempotencyConflict,
        "this idempotency key was already used for a different request; use a new key for a new request"
      )
    }
  }

  /// Freezes, unfreezes or closes an account: managers and the operator.
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/setStatus(_:of:)``.
  ///
  /// With `key`, a retry after the change committed replays it (a second `close` of the same
  /// account would otherwise be `account_closed`).
  @discardableResult
  public func setStatus(
    _ status: AccountStatus, of number: AccountNumber, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> Account {
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
    try commitKeyed(op) { state, tx throws(BankError) in
      _ = try state.ledger.stage(
        .setStatus(number, status), now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
    }
    return try ledger.account(number)
  }

  /// Changes a checking account's overdraft limit: managers and the operator.
  ///
  /// - Throws: `permission_denied`, then as ``Ledger/setOverdraftLimit(_:of:)``.
  @discardableResult
  public func setOverdraftLimit(
    _ limit: Amount, of number: AccountNumber, as principal: Principal
  ) throws(BankError) -> Account {
    try authorize(.overdraft, as: principal, account: number)
    return try ledger.setOverdraftLimit(limit, of: number)
  }

  /// Runs blocking authenticator calls (a login's PBKDF2, a commit's sync) without blocking a
  /// cooperative thread, for callers in Swift concurrency such as an HTTP server's handlers:
  /// `try await auth.perform { try $0.transfer(x, from: a, to: b, as: who) }`.
  public func perform<R: Sendable>(
    _ body: @escaping @Sendable (Authenticator) throws(BankError) -> R
  ) async throws(BankError) -> R {
    try await BlockingWork.run { () throws(BankError) in try body(self) }
  }
}
