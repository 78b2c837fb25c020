/// The banking products of one bank: rates and interest, closing with interest, reversals, loans,
/// statements and reports (DESIGN.md 4.7, `Docs/Products.md`).
///
/// Every change commits through the bank's one commit path: the products core's records and the
/// ledger's transfers of one command are one atomic batch.
public final class Products: Sendable {
  /// The bank.
  public let bank: Bank
  /// The Authenticator that checks permissions and owns customers.
  public let authenticator: Authenticator
  let ledger: Ledger

  /// The products of `authenticator`'s bank.
  public init(authenticator: Authenticator) {
    self.bank = authenticator.bank
    self.authenticator = authenticator
    self.ledger = Ledger(authenticator.bank)
  }

  /// Runs `body` with these products on a thread of its own, off the cooperative pool.
  public func perform<R: Sendable, E: Error>(
    _ body: @escaping @Sendable (Products) throws(E) -> R
  ) async throws(E) -> R {
    try await BlockingWork.run(for: bank) { () throws(E) in try body(self) }
  }

  // MARK: Plumbing

  func commit<V: Sendable>(
    as principal: Principal,
    _ build: (ProductState, inout BankState, inout Transaction) throws(BankError) -> (
      [ProductRecord], V
    )
  ) throws(BankError) -> V {
    try Origin.acting(as: principal, channel: bank.configuration.channel) {
      () throws(BankError) -> V in
      try bank.commitRecords(ProductState.self, build)
    }
  }

  func read<R>(_ body: (ProductState, borrowing BankState) throws(BankError) -> R)
    throws(BankError) -> R
  {
    try bank.read(current: true) { s throws(BankError) in
      try body(try s.requireCore(ProductState.self), s)
    }
  }

  static func require(_ op: BankOperation, _ principal: Principal) throws(BankError) {
    try requirePermission(op, for: principal, ownsTarget: false)
  }

  /// The bank's own account of `kind` in `currency`, opened in this transaction if it is the
  /// first (interest expense, interest income).
  static func bankAccount(
    _ kind: AccountKind, _ currency: Currency, _ state: inout BankState, _ tx: inout Transaction
  ) throws(BankError) -> AccountNumber {
    if let i = state.ledger.info.first(where: { $0.kind == kind && $0.currency == currency }) {
      return i.number
    }
    let name =
      switch kind {
      case .interest: "Interest expense \(currency.code)"
      case .interestIncome: "Interest income \(currency.code)"
      default: "\(kind) \(currency.code)"
      }
    guard
      case .opened(let id) = try state.ledger.stage(
        .open(AccountSpec(name: name, kind: kind, currency: currency)), now: tx.now,
        stage: &tx.ledgerStage, batch: &tx.batch)
    else { throw BankError(.invalidArgument, "the \(kind) account did not open") }
    return state.ledger.info[id.index].number
  }

  /// Stages a ledger transfer in the transaction.
  @discardableResult
  static func move(
    _ minor: Int64, _ currency: Currency, from: AccountNumber, to: AccountNumber,
    kind: TransferKind, memo: String, _ state: inout BankState, _ tx: inout Transaction
  ) throws(BankError) -> Transfer? {
    guard minor > 0 else { return nil }
    let outcome = try state.ledger.stage(
      .transfer(
        amount: Amount(minorUnits: minor, currency: currency), from: from, to: to, key: nil,
        memo: memo, kind: kind),
      now: tx.now, stage: &tx.ledgerStage, batch: &tx.batch)
    guard case .transferred(let t, _) = outcome else { return nil }
    return state.ledger.publicTransfer(t)
  }

  // MARK: Rates

  /// Sets the annual rate of a product from a day on (default: today), keeping the history.
  ///
  /// - Throws: `permission_denied` (managers and the operator); `invalid_argument` for a day
  ///   interest has already been accrued for (a past rate cannot change past interest).
  ///
  /// - Note: Blocks the calling thread until its records are durable.
  @discardableResult
  public func setRate(
    _ type: RateType, annual rate: AnnualRate, from: Day? = nil, as principal: Principal
  ) throws(BankError) -> RatePeriod {
    try Self.require(.setRates, principal)
    return try commit(as: principal) { p, state, tx throws(BankError) in
      let today = Day(Instant(nanoseconds: tx.now))
      let day = from ?? today
      if let accrued = p.pots.values.compactMap(\.through).max(), day <= accrued {
        throw BankError(
          .invalidArgument,
          "interest is already accrued through \(accrued); a rate can change from \(accrued.adding(days: 1)) on"
        )
      }
      return (
        [.rateSet(type: type, from: day, rate: rate, time: Instant(nanoseconds: tx.now))],
        RatePeriod(type: type, from: day, annual: rate)
      )
    }
  }

  /// Every rate ever set, oldest first per type.
  public func rates() throws(BankError) -> [RatePeriod] {
    try read { p, _ in
      RateType.allCases.flatMap { t in
        (p.rates[t] ?? []).map { RatePeriod(type: t, from: $0.from, annual: $0.rate) }
      }
    }
  }

  /// The rate of a type in force on a day.
  public func rate(_ type: RateType, on day: Day) throws(BankError) -> AnnualRate {
    try read { p, _ in p.rate(type, on: day) }
  }
}

/// A rate in force from a day on.
public struct RatePeriod: Sendable, Hashable, Encodable {
  /// `savings` or `overdraft`.
  public let type: RateType
  /// The first day it applies to.
  public let from: Day
  /// The annual rate in percent.
  public let annual: AnnualRate

  private enum Keys: String, CodingKey { case type, from, annual }
  /// Encodes as `{"type","from","annual"}`.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    try c.encode(type, forKey: .type)
    try c.encode(from.description, forKey: .from)
    try c.encode(annual, forKey: .annual)
  }
}
