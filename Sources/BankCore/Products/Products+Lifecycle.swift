/// What closing an account did.
public struct ClosedAccount: Sendable, Hashable, Encodable {
  /// The account, closed.
  public let account: Account
  /// Interest posted at the close (paid to savings, charged to an overdrawn checking account);
  /// zero when none was owed.
  public let interest: Amount
  /// What was moved to (positive) or taken from (negative) the settlement account.
  public let settled: Amount
  /// The settlement account, when one was named.
  public let settledWith: AccountNumber?

  /// What closing an account did.
  public init(account: Account, interest: Amount, settled: Amount, settledWith: AccountNumber?) {
    self.account = account
    self.interest = interest
    self.settled = settled
    self.settledWith = settledWith
  }

  private enum Keys: String, CodingKey {
    case interest, settled
    case settledWith = "settled_with"
  }

  /// Encodes as the account's JSON plus `"interest"`, `"settled"` and `"settled_with"`.
  public func encode(to encoder: any Encoder) throws {
    try account.encode(to: encoder)
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(interest.description, forKey: .interest)
    try c.encode(settled.description, forKey: .settled)
    if let settledWith {
      try c.encode(settledWith, forKey: .settledWith)
    } else {
      try c.encodeNil(forKey: .settledWith)
    }
  }
}

/// A reversal: the opposite transfer and the one it reverses.
public struct Reversal: Sendable, Hashable, Encodable {
  /// The transfer reversed.
  public let original: Transfer
  /// The opposite transfer, linked to it.
  public let reversal: Transfer
  /// Why.
  public let reason: String

  private enum Keys: String, CodingKey { case transfer, reverses, reason, amount, from, to, time }
  /// Encodes as `{"transfer","reverses","amount","from","to","reason","time"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(reversal.id, forKey: .transfer)
    try c.encode(original.id, forKey: .reverses)
    try c.encode(reversal.amount.description, forKey: .amount)
    try c.encode(reversal.debit, forKey: .from)
    try c.encode(reversal.credit, forKey: .to)
    try c.encode(reason, forKey: .reason)
    try c.encode(reversal.time, forKey: .time)
  }
}

extension Products {
  /// Closes an account: first posts the interest it has accrued through yesterday (rounded,
  /// nothing carried), then, with `settleWith`, moves what is left to that account (or takes an
  /// overdrawn balance from it), then closes it. One atomic batch: refused, nothing changes.
  ///
  /// - Throws: `permission_denied` (managers and the operator); `account_not_empty` when a
  ///   balance is left and no settlement account is named, or a hold is pending;
  ///   `account_closed`; the transfer refusals of the settlement.
  ///
  /// - Note: Blocks the calling thread until its records are durable.
  @discardableResult
  public func close(
    _ number: AccountNumber, settleWith: AccountNumber? = nil, key: IdempotencyKey? = nil,
    as principal: Principal
  ) throws(BankError) -> ClosedAccount {
    try authenticator.authorize(.close, as: principal, account: number)
    return try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> ClosedAccount in
      var arguments = [("account", number.description)]
      if let settleWith { arguments.append(("settle", settleWith.description)) }
      guard
        let op = OperationKey(key, principal: principal, command: "close", arguments: arguments)
      else {
        return try bank.commit { state, tx throws(BankError) in
          try Self.closeStaged(number, settleWith: settleWith, self, &state, &tx)
        }
      }
      let done = try authenticator.commitKeyed(op) { state, tx throws(BankError) -> String in
        let c = try Self.closeStaged(number, settleWith: settleWith, self, &state, &tx)
        return "\(c.interest.minorUnits) \(c.settled.minorUnits)"
      }
      let account = try ledger.account(number)
      // A key of a close made before the products (six figures of the account) replays as a
      // close that posted and settled nothing.
      var figures = (done ?? "0 0").split(separator: " ").compactMap { Int64($0) }
      if figures.count != 2 { figures = [0, 0] }
      return ClosedAccount(
        account: account,
        interest: Amount(minorUnits: figures.first ?? 0, currency: account.currency),
        settled: Amount(minorUnits: figures.dropFirst().first ?? 0, currency: account.currency),
        settledWith: settleWith)
    }
  }

  /// Stages a close in a transaction: interest, settlement, status (see ``close(_:settleWith:key:as:)``).
  static func closeStaged(
    _ number: AccountNumber, settleWith: AccountNumber?, _ products: Products,
    _ state: inout BankState, _ tx: inout Transaction
  ) throws(BankError) -> ClosedAccount {
    let p = try state.requireCore(ProductState.self)
    let id = try state.ledger.id(of: number)
    let info = state.ledger.info[id.index]
    guard info.kind.isCustomer else {
      throw BankError(.internalAccount, "account \(number) is one of the bank's own")
    }
    guard state.ledger.bal[id.index].status != .closed else {
      throw BankError(.accountClosed, "account \(number) is closed")
    }
    var interest: Int64 = 0
    if info.kind == .savings || info.kind == .checking {
      let yesterday = Day(Instant(nanoseconds: tx.now)).adding(days: -1)
      var accounts: [String: AccountNumber] = [:]
      let a = try products.accrue(
        id, pot: p.pots[id] ?? InterestPot(), through: yesterday, close: true, p, &state, &tx,
        &accounts)
      for r in a.records { state.emit(r, of: ProductState.self, in: &tx) }
      interest = info.kind == .savings ? a.posted : -a.posted
    }
    let left = state.ledger.bal[id.index].balance
    var settled: Int64 = 0
    if left != 0 {
      guard let settleWith else {
        let shown = Amount(minorUnits: left, currency: info.currency)
        throw BankError(
          .accountNotEmpty,
          interest != 0
            ? "account \(number) would hold \(shown.formatted) after its interest of \(Amount(minorUnits: interest, currency: info.currency).formatted) is posted; name an account to settle with (--settle ACCOUNT)"
            : "account \(number) holds \(shown.formatted); pay it out first, or name an account to settle with (--settle ACCOUNT)"
        )
      }
      try move(
        abs(left), info.currency, from: left > 0 ? number : settleWith,
        to: left > 0 ? settleWith : number, kind: .transfer, memo: "closing \(number)", &state,
        &tx)
      settled = left
    }
    // A closed account offers no credit: its overdraft limit goes with it.
    if state.ledger.bal[id.index].overdraftLimit != 0 {
      _ = try state.ledger.stage(
        .setOverdraft(number, .zero(info.currency)), now: tx.now, stage: &tx.ledgerStage,
        batch: &tx.batch)
    }
    _ = try state.ledger.stage(
      .setStatus(number, .closed), now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
    return ClosedAccount(
      account: state.ledger.account(id),
      interest: Amount(minorUnits: interest, currency: info.currency),
      settled: Amount(minorUnits: settled, currency: info.currency), settledWith: settleWith)
  }

  /// Reverses a posted transfer: an opposite transfer of the same amount from its credit account
  /// to its debit account, linked to it, at most once. A posted hold is reversed by the amount
  /// posted.
  ///
  /// - Parameter transfer: `#12`, `12`, or the transfer's idempotency key.
  /// - Throws: `permission_denied` (managers and the operator); `transfer_not_found`;
  ///   `already_reversed` (also for a reversal itself); `insufficient_funds` and the other
  ///   refusals of a transfer, so that a reversal never breaks a limit.
  ///
  /// - Note: Blocks the calling thread while it looks the transfer up in the journal (a scan by
  ///   number) and until its records are durable.
  @discardableResult
  public func reverse(_ transfer: String, reason: String, as principal: Principal)
    throws(BankError) -> Reversal
  {
    try Self.require(.reverse, principal)
    try Validate.text(reason, field: "reason", max: 200, allowEmpty: false)
    let (record, posted) = try findPosted(transfer)
    return try commit(as: principal) {
      p, state, tx throws(BankError) -> ([ProductRecord], Reversal) in
      if let r = p.reversals[record.number] {
        throw BankError(
          .alreadyReversed, "transfer \(record.transferID) was reversed already, by #\(r)")
      }
      if p.reversalOf[record.number] != nil || record.kind == .reversal {
        throw BankError(
          .alreadyReversed,
          "transfer \(record.transferID) is a reversal; transfer the money again instead")
      }
      // A loan's account and a terminal's cash mirror another core's state (the outstanding
      // principal, the notes in the cassettes): their movements are undone by that core's own
      // operations (a repayment, an unload), never by a reversal.
      for side in [record.debit, record.credit] {
        let info = state.ledger.info[side.index]
        if info.kind == .loan || info.kind == .terminalCash {
          throw BankError(
            .invalidArgument,
            "transfer \(record.transferID) moves \(info.kind == .loan ? "a loan's principal" : "a terminal's cash") (account \(info.number)); it cannot be reversed: use the \(info.kind == .loan ? "loan's repayments" : "terminal's unload or reconciliation") instead"
          )
        }
      }
      let original = state.ledger.publicTransfer(record)
      let memo = "reversal of \(original.id): \(reason)"
      let t = try state.ledger.stage(
        .transfer(
          amount: Amount(minorUnits: posted, currency: original.amount.currency),
          from: original.credit, to: original.debit, key: nil,
          memo: String(memo.prefix(200)), kind: .reversal),
        now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
      guard case .transferred(let rec, _) = t else {
        throw BankError(.invalidArgument, "the reversal did not stage")
      }
      let reversal = state.ledger.publicTransfer(rec)
      return (
        [
          .reversed(
            original: record.number, reversal: rec.number, reason: reason, time: reversal.time)
        ],
        Reversal(original: original, reversal: reversal, reason: reason)
      )
    }
  }

  /// A posted transfer's record and the amount it posted (a hold's posted part).
  func findPosted(_ text: String) throws(BankError) -> (TransferRecord, Int64) {
    var number: UInt64?
    let digits = text.hasPrefix("#") ? String(text.dropFirst()) : text
    if !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let n = UInt64(digits) {
      number = n
    }
    let key: IdempotencyKey? = number == nil ? try IdempotencyKey(text) : nil
    var found: TransferRecord?
    var posted: Int64?
    var ambiguous = false
    try ledger.scan(after: 0, upTo: ledger.lastSequence) { _, record in
      switch record {
      case .transfer(let t):
        let matches =
          number.map { t.number == $0 }
          ?? (t.key.map { IdempotencyKey.display($0) == (key?.text ?? "")[...] } ?? false)
        if matches, let f = found, f.number != t.number, number == nil {
          ambiguous = true
          return false
        }
        if found == nil, matches {
          found = t
          if !t.isHold {
            posted = t.amount
            // By key, read on: another principal's transfer with the same key makes it ambiguous.
            if number != nil { return false }
          }
        }
      case .holdResolved(let r):
        if let f = found, r.hold == f.number {
          posted = r.outcome == .posted ? r.amount : 0
          if number != nil { return false }
        }
      default: break
      }
      return true
    }
    if ambiguous {
      throw BankError(
        .invalidArgument,
        "key '\(text.debugSanitized)' names more than one transfer (keys are per principal); reverse it by its number, #N"
      )
    }
    guard let found else {
      throw BankError(.transferNotFound, "no transfer \(text.debugSanitized)")
    }
    guard let posted, posted > 0 else {
      throw BankError(
        .transferNotFound,
        "transfer \(found.transferID) is a hold that was not posted; void it instead of reversing it"
      )
    }
    return (found, posted)
  }
}
