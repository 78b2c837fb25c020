extension LedgerState {
  /// Validates one command against the current state, appends its records to `batch` and applies
  /// them, noting what changed in `stage` so the caller can roll the whole batch back.
  mutating func stage(
    _ command: LedgerCommand, now: Int64, stage: inout Stage?, batch: inout RecordBatch
  ) throws(BankError) -> StagedOutcome {
    switch command {
    case .open(let spec):
      return .opened(try stageOpen(spec, now: now, stage: &stage, batch: &batch))
    case .transfer(let amount, let from, let to, let key, let memo, let kind):
      let (debit, credit) = (try id(of: from), try id(of: to))
      // Between a customer and the bank, the bank's side must be an account this kind of
      // movement passes through (cash through a vault or a terminal, a loan through its loan
      // account, interest and fees through income and expense); bookkeeping between two of the
      // bank's own accounts (capital, reclassification) is the bank's business.
      // (A keyed retry of a movement already committed replays it, whatever rule has changed.)
      var retry = false
      if let key { retry = try keyed(key, stage: &stage, batch: batch) != nil }
      if !retry { try requireBankSide(debit: debit, credit: credit, kind: kind) }
      return try stageTransfer(
        amount: amount, debit: debit, credit: credit, key: key, memo: memo,
        kind: kind, hold: false, expiresAt: 0, now: now, stage: &stage, batch: &batch)
    case .deposit(let amount, let to, let key, let memo):
      let credit = try id(of: to)
      try requireCustomerAccount(credit, for: "credited by a deposit")
      let vault = try vaultFor(credit, now: now, stage: &stage, batch: &batch)
      return try stageTransfer(
        amount: amount, debit: vault, credit: credit, key: key, memo: memo, kind: .deposit,
        hold: false, expiresAt: 0, now: now, stage: &stage, batch: &batch)
    case .withdraw(let amount, let from, let key, let memo):
      let debit = try id(of: from)
      try requireCustomerAccount(debit, for: "debited by a withdrawal")
      let vault = try vaultFor(debit, now: now, stage: &stage, batch: &batch)
      return try stageTransfer(
        amount: amount, debit: debit, credit: vault, key: key, memo: memo, kind: .withdrawal,
        hold: false, expiresAt: 0, now: now, stage: &stage, batch: &batch)
    case .placeHold(let amount, let from, let to, let expiry, let key, let memo):
      let expiresAt = expiry?.nanoseconds ?? 0
      if let expiry, expiresAt <= 0 {
        throw BankError(.invalidArgument, "hold expiry \(expiry) is not after 1970")
      }
      let debit = try id(of: from)
      try requireCustomerAccount(debit, for: "debited by a hold")
      let credit: AccountID
      var holdKind = TransferKind.withdrawal
      if let to {
        credit = try id(of: to)
        // To another customer (a transfer), or to cash the bank pays out (a vault, a
        // terminal's cash: a withdrawal).
        if !isCustomerDeposit(credit) {
          try requireBankSide(debit: debit, credit: credit, kind: .withdrawal)
        } else {
          holdKind = .transfer
        }
      } else {
        credit = try vaultFor(debit, now: now, stage: &stage, batch: &batch)
      }
      if expiresAt != 0 && expiresAt <= nextTimestamp(now),
        try key.flatMap({ k throws(BankError) in try keyed(k, stage: &stage, batch: batch) })
          == nil
      {
        throw BankError(
          .invalidArgument,
          "hold expiry \(Instant(nanoseconds: expiresAt)) is not after the command's time \(Instant(nanoseconds: nextTimestamp(now)))"
        )
      }
      return try stageTransfer(
        amount: amount, debit: debit, credit: credit, key: key, memo: memo,
        kind: holdKind, hold: true, expiresAt: expiresAt, now: now,
        stage: &stage, batch: &batch)
    case .postHold(let ref, let amount):
      return try stageResolve(
        ref, outcome: .posted, amount: amount, now: now, stage: &stage, batch: &batch)
    case .voidHold(let ref):
      return try stageResolve(
        ref, outcome: .voided, amount: nil, now: now, stage: &stage, batch: &batch)
    case .expireHolds:
      let ts = nextTimestamp(now)
      var due: Set<UInt64> = []
      while let e = expiry.popDue(at: ts) {
        stage?.expiryTaken.append(e)
        // Entries of holds resolved since (or rolled back) are stale: skip them.
        if holds[e.hold]?.record.expiresAt == e.expiresAt { due.insert(e.hold) }
      }
      for n in due.sorted() {
        let r = resolution(
          of: n, outcome: .expired, amount: 0, timestamp: nextTimestamp(now), stage: stage,
          batch: batch)
        emit(.holdResolved(r), stage: &stage, batch: &batch)
      }
      return .expired(due.count)
    case .setStatus(let number, let status):
      let id = try id(of: number)
      if !info[id.index].kind.isCustomer {
        try requireCustomerAccount(
          id, for: "\(status == .active ? "unfrozen" : status.description)")
      }
      let b = bal[id.index]
      if b.status == .closed {
        throw BankError(.accountClosed, "account \(number) is closed; its status cannot change")
      }
      if status == .closed {
        if b.postedDebits != b.postedCredits {
          throw BankError(
            .accountNotEmpty,
            "account \(number) has a balance of \(Amount(minorUnits: b.balance, currency: info[id.index].currency).formatted); it must be zero to close"
          )
        }
        if b.pendingDebits != 0 || b.pendingCredits != 0 {
          throw BankError(
            .accountNotEmpty, "account \(number) has pending holds; resolve them before closing")
        }
      }
      emit(
        .accountChanged(
          AccountChanged(
            id: id, status: status, overdraftLimit: b.overdraftLimit, timestamp: nextTimestamp(now))
        ),
        stage: &stage, batch: &batch)
      return .changed(id)
    case .setOverdraft(let number, let limit):
      let id = try id(of: number)
      let i = info[id.index]
      let b = bal[id.index]
      guard limit.currency == i.currency else {
        throw BankError(
          .currencyMismatch,
          "account \(number) is in \(i.currency.code), not \(limit.currency.code)")
      }
      guard limit.minorUnits >= 0 else {
        throw BankError(.invalidAmount, "an overdraft limit must not be negative")
      }
      guard i.kind == .checking else {
        throw BankError(
          .invalidArgument, "only checking accounts have overdrafts; \(number) is \(i.kind)")
      }
      try limit.currency.requireWithinMaximum(limit, "an overdraft limit")
      if b.status == .closed { throw BankError(.accountClosed, "account \(number) is closed") }
      // As if every hold into the account had posted (see `stageTransfer`).
      guard Self.fits(Self.net(b) + Int128(b.pendingCredits) + Int128(limit.minorUnits)) else {
        throw BankError(
          .overflow,
          "an overdraft limit of \(limit.formatted) on account \(number) would make its available funds unrepresentable"
        )
      }
      var after = b
      after.overdraftLimit = limit.minorUnits
      if after.available < 0 {
        throw BankError(
          .limitExceeded,
          "account \(number) already uses \(Amount(minorUnits: -(b.available &- b.overdraftLimit), currency: i.currency).formatted) of credit; the limit cannot drop to \(limit.formatted)"
        )
      }
      emit(
        .accountChanged(
          AccountChanged(
            id: id, status: b.status, overdraftLimit: limit.minorUnits,
            timestamp: nextTimestamp(now))),
        stage: &stage, batch: &batch)
      return .changed(id)
    }
  }

  /// Refuses a customer operation on one of the bank's own accounts (a vault, equity, interest or
  /// fee account): those move only through the operations that exist for them.
  private func requireCustomerAccount(_ id: AccountID, for what: String) throws(BankError) {
    let i = info[id.index]
    guard isCustomerDeposit(id) else {
      throw BankError(
        .internalAccount,
        "account \(i.number) is the bank's \(i.kind) account (\(i.name)); it cannot be \(what)")
    }
  }

  /// Refuses a movement between a customer's deposit account and one of the bank's own accounts
  /// unless `kind` passes through that kind of bank account in that direction
  /// (``TransferKind/allows(bankAccount:toCustomer:)``).
  @inline(__always)
  private func requireBankSide(debit: AccountID, credit: AccountID, kind: TransferKind)
    throws(BankError)
  {
    // The common case, two customers (or two of the bank's accounts), is two flag reads.
    let (d, c) = (isCustomerDeposit(debit), isCustomerDeposit(credit))
    guard d != c else { return }
    try requireBankSide(bank: d ? credit : debit, toCustomer: c, kind: kind)
  }

  /// ``requireBankSide(debit:credit:kind:)`` once one side is the bank's.
  private func requireBankSide(bank: AccountID, toCustomer c: Bool, kind: TransferKind)
    throws(BankError)
  {
    guard !kind.allows(bankAccount: info[bank.index].kind, toCustomer: c) else { return }
    try requireCustomerAccount(bank, for: "\(c ? "debited" : "credited") by a \(kind)")
  }

  /// Whether an account is a customer's checking or savings account.
  func isCustomerDeposit(_ id: AccountID) -> Bool {
    // `limited` is set exactly for checking and savings (customer kinds that are credit-normal),
    // and the totals are read by the transfer anyway: the account details are not touched.
    bal[id.index].limited
  }

  private mutating func emit(_ record: JournalRecord, stage: inout Stage?, batch: inout RecordBatch)
  {
    batch.append(record)
    let applied = apply(record, sequence: Self.sequence(ofLast: batch, stage), stage: &stage)
    // Validation guarantees every record applies; a refusal here is a bug in a rule above.
    precondition(applied, "validated record did not apply: \(record)")
  }

  private mutating func stageOpen(
    _ spec: AccountSpec, now: Int64, stage: inout Stage?, batch: inout RecordBatch
  ) throws(BankError) -> AccountID {
    try spec.validate()
    if let chosen = spec.number, spec.kind.isCustomer,
      chosen.base >= LedgerState.Counters.internalNumberBase
    {
      throw BankError(
        .invalidArgument,
        "account number \(chosen) is in the 9000- range, which is kept for the bank's own accounts; choose a number below 9000-0000-0"
      )
    }
    if info.count >= Int(UInt32.max) - 1 {
      throw BankError(.limitExceeded, "the ledger holds the maximum number of accounts")
    }
    if let chosen = spec.number, byNumber[chosen.rawValue] != nil {
      throw BankError(.accountExists, "account \(chosen) already exists")
    }
    // The vault is opened first so that the number assigned below is not handed out twice.
    if spec.kind != .vault && vaults[spec.currency.letters] == nil {
      try openVault(spec.currency, now: now, stage: &stage, batch: &batch)
    }
    if let chosen = spec.number, byNumber[chosen.rawValue] != nil {
      throw BankError(
        .accountExists, "account \(chosen) is reserved for the \(spec.currency.code) vault")
    }
    let number: AccountNumber
    if let chosen = spec.number {
      number = chosen
    } else {
      number = try assignNumber(internal: !spec.kind.isCustomer)
    }
    let id = AccountID(UInt32(info.count + 1))
    emit(
      .accountOpened(
        AccountOpened(
          id: id, number: number, name: spec.name, kind: spec.kind, currency: spec.currency,
          overdraftLimit: spec.overdraftLimit?.minorUnits ?? 0, timestamp: nextTimestamp(now))),
      stage: &stage, batch: &batch)
    return id
  }

  private func assignNumber(internal isInternal: Bool) throws(BankError) -> AccountNumber {
    var base = isInternal ? counters.nextInternalBase : counters.nextCustomerBase
    // Customers' numbers stay below the bank's own range (9000-…), which they never enter.
    let last: UInt64 = isInternal ? 99_999_999 : LedgerState.Counters.internalNumberBase - 1
    while base <= last {
      let n = try AccountNumber(base: base)
      if byNumber[n.rawValue] == nil { return n }
      base += 1
    }
    throw BankError(.limitExceeded, "no account numbers are left to assign")
  }

  private mutating func openVault(
    _ currency: Currency, now: Int64, stage: inout Stage?, batch: inout RecordBatch
  ) throws(BankError) {
    let id = AccountID(UInt32(info.count + 1))
    emit(
      .accountOpened(
        AccountOpened(
          id: id, number: try assignNumber(internal: true), name: "Vault \(currency.code)",
          kind: .vault, currency: currency, overdraftLimit: 0, timestamp: nextTimestamp(now))),
      stage: &stage, batch: &batch)
  }

  private mutating func vaultFor(
    _ account: AccountID, now: Int64, stage: inout Stage?, batch: inout RecordBatch
  ) throws(BankError) -> AccountID {
    try vault(for: info[account.index].currency, now: now, stage: &stage, batch: &batch)
  }

  /// The vault of `currency`, opened in this batch when it has none yet (a terminal loaded in a
  /// currency no counter has seen).
  mutating func vault(
    for currency: Currency, now: Int64, stage: inout Stage?, batch: inout RecordBatch
  ) throws(BankError) -> AccountID {
    if let v = vaults[currency.letters] { return v }
    try openVault(currency, now: now, stage: &stage, batch: &batch)
    guard let v = vaults[currency.letters] else {
      throw BankError(.invalidArgument, "no vault for \(currency.code)")
    }
    return v
  }

  /// The hot path: validates a transfer or hold and stages it.
  mutating func stageTransfer(
    amount: Amount, debit: AccountID, credit: AccountID, key: IdempotencyKey?, memo: String,
    kind: TransferKind, hold: Bool, expiresAt: Int64, now: Int64, stage: inout Stage?,
    batch: inout RecordBatch
  ) throws(BankError) -> StagedOutcome {
    // A key arrives as an `IdempotencyKey`, validated when it was made. The lookup comes before
    // the memo's rules: a retry of a transfer an earlier release accepted replays, even if its
    // memo breaks a rule added since (the comparison below still checks it is the same memo).
    if let key, let existing = try keyed(key, stage: &stage, batch: batch) {
      let differing: String? =
        existing.isHold != hold
        ? "type"
        : existing.kind != kind
          ? "kind"
          : existing.debit != debit
            ? "debit account"
            : existing.credit != credit
              ? "credit account"
              : existing.amount != amount.minorUnits
                ? "amount"
                : info[existing.debit.index].currency != amount.currency
                  ? "currency"
                  : existing.memo != memo
                    ? "memo"
                    : existing.expiresAt != expiresAt ? "expiry" : nil
      if let differing {
        throw BankError(
          .idempotencyConflict,
          "key '\(key.text)' was already used by transfer #\(existing.number) with a different \(differing)"
        )
      }
      return .transferred(existing, replayed: true)
    }
    if !memo.isEmpty { try Validate.text(memo, field: "memo", max: 200, allowEmpty: true) }
    guard amount.minorUnits > 0 else {
      throw BankError(.invalidAmount, "amount must be positive, got \(amount.formatted)")
    }
    guard debit != credit else {
      throw BankError(
        .sameAccount, "cannot move money from account \(info[debit.index].number) to itself")
    }
    guard info[debit.index].currency == amount.currency,
      info[credit.index].currency == amount.currency
    else {
      let other =
        info[debit.index].currency != amount.currency ? info[debit.index] : info[credit.index]
      throw BankError(
        .currencyMismatch,
        "account \(other.number) is in \(other.currency.code); the amount is \(amount.formatted)")
    }
    let db = bal[debit.index]
    let cb = bal[credit.index]
    // Interest and fees the bank charges may take an account past its limit, and reach a frozen
    // one; the account then refuses the customer's debits until it is back inside (DESIGN.md 2).
    let bankCharge =
      (kind == .interest && info[credit.index].kind == .interestIncome)
      || (kind == .fee && info[credit.index].kind == .fees)
    if (db.status != .active && !(bankCharge && db.status == .frozen)) || cb.status == .closed {
      let di = info[debit.index]
      let ci = info[credit.index]
      if db.status == .closed { throw BankError(.accountClosed, "account \(di.number) is closed") }
      if cb.status == .closed { throw BankError(.accountClosed, "account \(ci.number) is closed") }
      throw BankError(.accountFrozen, "account \(di.number) is frozen; it cannot be debited")
    }
    try amount.currency.requireWithinMaximum(amount, "an amount")
    let a = amount.minorUnits
    let wide = Int128(a)
    // The gross posted totals cannot overflow (they are 128-bit; see `post`). What must stay in
    // 64 bits is each account's balance, its available funds (credits plus the limit less
    // debits and pending debits) and its pending totals, after the movement, in exact
    // arithmetic; then apply's wrapping arithmetic never wraps.
    let withLimit: Int64
    // Every word involved is non-negative; when all are below 2^60 (every account but one with
    // quintillions of minor units), no sum of four of them can leave 64 bits, so the exact
    // 128-bit checks below cannot fail and the plain sum is exact.
    let small =
      UInt64(
        bitPattern: db.postedDebits | db.postedCredits | db.pendingDebits | db.overdraftLimit
          | cb.postedDebits | cb.postedCredits | cb.pendingCredits | cb.overdraftLimit | a) >> 60
      == 0
    if small {
      withLimit =
        db.postedCredits - db.postedDebits - (hold ? 0 : a) - db.pendingDebits - (hold ? a : 0)
        + db.overdraftLimit
    } else {
      let debitNet = Self.net(db) - (hold ? 0 : wide)
      let debitPending = Int128(db.pendingDebits) + (hold ? wide : 0)
      let withLimitWide = debitNet - debitPending + Int128(db.overdraftLimit)
      // The credited account is judged as if every hold into it (this one included) had
      // posted, so that no hold accepted now can fail to post later, whatever moves in between.
      let creditPotential = Self.net(cb) + Int128(cb.pendingCredits) + wide
      guard Self.fits(debitNet), Self.fits(debitPending), Self.fits(debitNet - debitPending),
        Self.fits(withLimitWide), Self.fits(debitNet + Int128(db.overdraftLimit)),
        Self.fits(Int128(cb.pendingCredits) + (hold ? wide : 0)),
        Self.fits(creditPotential), Self.fits(creditPotential + Int128(cb.overdraftLimit))
      else {
        throw BankError(
          .overflow,
          "moving \(amount.formatted) would take the balance of \(info[debit.index].number) or \(info[credit.index].number) past what 64 bits hold"
        )
      }
      withLimit = Int64(truncatingIfNeeded: withLimitWide)
    }
    if db.limited && withLimit < 0 && !bankCharge {
      let have = Amount(minorUnits: max(0, db.available), currency: amount.currency)
      throw BankError(
        .insufficientFunds,
        "account \(info[debit.index].number) has \(have.formatted) available; \(amount.formatted) requested"
      )
    }
    let sequence = Self.sequence(ofLast: batch, stage) &+ 1
    let record = TransferRecord(
      number: counters.nextTransfer, key: key?.stored, kind: kind, debit: debit, credit: credit,
      amount: a,
      timestamp: nextTimestamp(now), memo: memo, isHold: hold, expiresAt: expiresAt,
      links: hold ? EntryLinks() : links(debit.index, credit.index, at: sequence))
    batch.appendTransfer(record)
    _ = applyTransfer(record, sequence: sequence, stage: &stage)
    return .transferred(record, replayed: false)
  }

  private mutating func stageResolve(
    _ ref: HoldReference, outcome: HoldOutcome, amount: Amount?, now: Int64, stage: inout Stage?,
    batch: inout RecordBatch
  ) throws(BankError) -> StagedOutcome {
    let number: UInt64?
    switch ref {
    case .key(let k):
      let t = try keyed(k, stage: &stage, batch: batch)
      number = t.flatMap { $0.isHold ? $0.number : nil }
      if let number, holds[number] == nil {
        throw BankError(.holdNotPending, "hold \(ref) is no longer pending: it was resolved")
      }
    case .number(let n): number = n
    }
    guard let number, let hold = holds[number] else {
      if case .number(let n) = ref, n < counters.nextTransfer {
        throw BankError(
          .holdNotPending, "hold \(ref) is not pending: it was resolved, or is not a hold")
      }
      throw BankError(.holdNotFound, "hold \(ref) does not exist")
    }
    let ts = nextTimestamp(now)
    let currency = info[hold.record.debit.index].currency
    if outcome == .posted, hold.record.expiresAt != 0, ts >= hold.record.expiresAt {
      throw BankError(.holdExpired, "hold \(ref) expired; it can no longer be posted")
    }
    var posted: Int64 = 0
    if outcome == .posted {
      posted = amount?.minorUnits ?? hold.record.amount
      if let amount, amount.currency != currency {
        throw BankError(
          .currencyMismatch, "hold \(ref) is in \(currency.code), not \(amount.currency.code)")
      }
      guard posted > 0, posted <= hold.record.amount else {
        throw BankError(
          .invalidAmount,
          "can post between 0.01 and \(Amount(minorUnits: hold.record.amount, currency: currency).formatted) of hold \(ref)"
        )
      }
      // Judged when the hold was placed (as if posted, with every other hold into the account):
      // this check only guards a state that breaks that rule.
      let cb = bal[hold.record.credit.index]
      let db = bal[hold.record.debit.index]
      let creditNet = Self.net(cb) + Int128(posted)
      guard Self.fits(creditNet), Self.fits(Self.net(db) - Int128(posted)),
        Self.fits(creditNet + Int128(cb.overdraftLimit))
      else {
        throw BankError(
          .overflow,
          "posting hold \(ref) would take a balance past what 64 bits hold")
      }
    }
    let r = resolution(
      of: number, outcome: outcome, amount: posted, timestamp: ts, stage: stage, batch: batch)
    emit(.holdResolved(r), stage: &stage, batch: &batch)
    return .holdResolved(r, currency: currency)
  }

  /// The resolution record of a pending hold, with its links: back to the hold's record and, when
  /// it posts, to both accounts' previous entries.
  private func resolution(
    of number: UInt64, outcome: HoldOutcome, amount: Int64, timestamp: Int64, stage: Stage?,
    batch: RecordBatch
  ) -> HoldResolved {
    let sequence = Self.sequence(ofLast: batch, stage) &+ 1
    var links = ResolutionLinks()
    if let hold = holds[number] {
      links.holdBack = sequence &- hold.sequence
      if outcome == .posted {
        links.entry = self.links(hold.record.debit.index, hold.record.credit.index, at: sequence)
      }
    }
    return HoldResolved(
      number: counters.nextTransfer, hold: number, outcome: outcome, amount: amount,
      timestamp: timestamp, links: links)
  }

  /// The links of an entry at `sequence` to its two accounts' previous entries.
  private func links(_ d: Int, _ c: Int, at sequence: UInt64) -> EntryLinks {
    let pd = bal[d].lastEntry
    let pc = bal[c].lastEntry
    return EntryLinks(
      debitBack: pd == 0 ? 0 : sequence &- pd, creditBack: pc == 0 ? 0 : sequence &- pc)
  }

  /// The sequence number of the batch's last record (the base when it is empty).
  static func sequence(ofLast batch: RecordBatch, _ stage: Stage?) -> UInt64 {
    (stage?.baseSequence ?? 0) &+ UInt64(batch.count)
  }

  /// The transfer or hold that used an idempotency key, if any: the key index gives the
  /// sequences whose digest matches, and each record is read back (from this batch, or from the
  /// journal) to compare the full key.
  /// The transfer made with `key` in its principal's namespace, or else with the same key
  /// written before keys were scoped (shared by every principal, so that a retry after the
  /// upgrade replays instead of moving money twice).
  mutating func keyed(_ key: IdempotencyKey, stage: inout Stage?, batch: RecordBatch)
    throws(BankError) -> TransferRecord?
  {
    if let t = try keyed(stored: key.stored, stage: &stage, batch: batch) { return t }
    return try keyed(stored: key.text, stage: &stage, batch: batch)
  }

  mutating func keyed(stored key: String, stage: inout Stage?, batch: RecordBatch)
    throws(BankError) -> TransferRecord?
  {
    let sequences = keys.sequences(matching: KeyIndex.digest(key))
    if sequences.isEmpty { return nil }
    let base = stage?.baseSequence ?? 0
    for seq in sequences {
      let record: JournalRecord
      if seq > base {
        let i = Int(seq - base) - 1
        guard i < batch.count else { continue }
        record = try JournalRecord.decodeOrCorrupt(batch.record(i), sequence: seq)
      } else {
        guard let read = stage?.read else {
          throw BankError(.ioError, "no journal reader to check key '\(key)'")
        }
        let bytes = try read(seq)
        record = try JournalRecord.decodeOrCorrupt(bytes, sequence: seq)
      }
      if case .transfer(let t) = record, t.key == key { return t }
    }
    return nil
  }
}

extension RecordBatch {
  mutating func appendTransfer(_ r: TransferRecord) {
    if r.key == nil && r.memo.isEmpty && !r.isHold {
      appendEncoded { TransferCodec.appendPlain(r, to: &$0) }
    } else {
      append(.transfer(r))
    }
  }
}

extension LedgerState {
  /// Whether an exact figure fits in the 64 bits balances and derived figures are kept in, with
  /// its negation: a balance is credits less debits or its opposite (debit-normal accounts), so
  /// the range is symmetric (`Int64.min` itself is out: its negation does not fit).
  @inline(__always)
  static func fits(_ v: Int128) -> Bool { v >= -Int128(Int64.max) && v <= Int128(Int64.max) }
}
