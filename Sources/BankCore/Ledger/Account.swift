/// The ledger's internal, dense identifier of an account. Stable for the life of a store.
public struct AccountID: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// The identifier's value; the first account opened is 1.
  public let rawValue: UInt32
  /// Wraps a raw identifier.
  public init(_ rawValue: UInt32) { self.rawValue = rawValue }
  var index: Int { Int(rawValue) - 1 }
  public var description: String { String(rawValue) }
  public static func < (a: AccountID, b: AccountID) -> Bool { a.rawValue < b.rawValue }
}

/// What an account is for. Customer kinds carry deposits; internal kinds are the bank's own side
/// of every double entry.
public enum AccountKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// A customer's current account; may have an overdraft limit.
  case checking = 1
  /// A customer's savings account.
  case savings = 2
  /// A loan the bank made: money the customer owes (debit-normal).
  case loan = 3
  /// The bank's cash on hand for one currency; the other side of deposits and withdrawals.
  case vault = 10
  /// The owners' equity.
  case equity = 11
  /// Interest expense: interest the bank pays customers (debit-normal).
  case interest = 12
  /// Fees earned from customers.
  case fees = 13
  /// The cash in one terminal (an ATM's cassettes): an asset, as the vault is, one per terminal.
  case terminalCash = 14
  /// Interest income: interest customers pay the bank (overdrafts, loans).
  case interestIncome = 15
  /// Cash over and short: the differences ATM reconciliations find between a physical count
  /// and the books (debit-normal: a shortage is a loss), one per currency.
  case cashOverShort = 16

  public var description: String {
    switch self {
    case .checking: "checking"
    case .savings: "savings"
    case .loan: "loan"
    case .vault: "vault"
    case .equity: "equity"
    case .interest: "interest"
    case .fees: "fees"
    case .terminalCash: "terminal_cash"
    case .interestIncome: "interest_income"
    case .cashOverShort: "cash_over_short"
    }
  }

  /// Parses the lower-case name of a kind.
  public init?(name: String) {
    guard let k = AccountKind.allCases.first(where: { $0.description == name }) else { return nil }
    self = k
  }

  /// Whether the balance is credits minus debits (deposits, equity, income) rather than the reverse.
  public var isCreditNormal: Bool {
    switch self {
    case .checking, .savings, .equity, .fees, .interestIncome: true
    case .loan, .vault, .interest, .terminalCash, .cashOverShort: false
    }
  }

  /// Whether customers own accounts of this kind; only these are limited by their funds.
  public var isCustomer: Bool { self == .checking || self == .savings || self == .loan }
}

/// Whether an account may move money.
public enum AccountStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// Debits and credits are allowed.
  case active = 1
  /// Credits are allowed; debits are refused with `account_frozen`.
  case frozen = 2
  /// No movements at all; refused with `account_closed`. Permanent.
  case closed = 3

  public var description: String {
    switch self {
    case .active: "active"
    case .frozen: "frozen"
    case .closed: "closed"
    }
  }
}

/// The running totals of one account, in minor units. A plain value so the hot path copies no
/// references.
struct Balances: Sendable, Equatable {
  var postedDebits: Int64 = 0
  var postedCredits: Int64 = 0
  var pendingDebits: Int64 = 0
  var pendingCredits: Int64 = 0
  var overdraftLimit: Int64 = 0
  /// ``lastEntry`` in the low 56 bits, then the status (2 bits), `limited` and `creditNormal`:
  /// 48 bytes an account instead of 56. Every transfer copies two of these into the undo log and
  /// touches two in random order, so their size is felt: at 56 bytes, in-memory batches ran at
  /// about 0.9 of the rate at 48, and at 64 at 0.7 (`bankbench memory.transfers`).
  private var packed: UInt64 =
    Balances.creditNormalBit | (UInt64(AccountStatus.active.rawValue) << 56)

  private static let entryMask: UInt64 = (1 << 56) - 1
  private static let limitedBit: UInt64 = 1 << 58
  private static let creditNormalBit: UInt64 = 1 << 59

  var status: AccountStatus {
    get { AccountStatus(rawValue: UInt8((packed >> 56) & 3)) ?? .active }
    set { packed = (packed & ~(3 << 56)) | (UInt64(newValue.rawValue & 3) << 56) }
  }
  /// Set for customer deposit accounts: debits may not exceed credits plus the overdraft limit.
  var limited: Bool {
    get { packed & Self.limitedBit != 0 }
    set { packed = newValue ? packed | Self.limitedBit : packed & ~Self.limitedBit }
  }
  var creditNormal: Bool {
    get { packed & Self.creditNormalBit != 0 }
    set { packed = newValue ? packed | Self.creditNormalBit : packed & ~Self.creditNormalBit }
  }
  /// The journal sequence of the account's newest history entry (a posted transfer or a posted
  /// hold), 0 for none: the head of its chain of entries. Kept here so the undo log restores it.
  /// Below 2^56 (72 quadrillion records: more than two centuries at ten million a second).
  var lastEntry: UInt64 {
    get { packed & Self.entryMask }
    set {
      assert(newValue <= Self.entryMask, "sequence \(newValue) beyond 2^56")
      packed = (packed & ~Self.entryMask) | (newValue & Self.entryMask)
    }
  }

  /// Posted balance on the account's normal side. Wrapping arithmetic: totals are kept in range by
  /// the ledger's overflow checks, so these never actually wrap.
  var balance: Int64 {
    creditNormal ? postedCredits &- postedDebits : postedDebits &- postedCredits
  }

  /// Funds a debit may use: the balance less pending debits, plus the overdraft limit.
  var available: Int64 {
    postedCredits &- postedDebits &- pendingDebits &+ overdraftLimit
  }
}

/// A snapshot of one account as the ledger sees it: identity, ownership and derived balances.
public struct Account: Sendable, Hashable, Identifiable {
  /// The ledger's internal identifier.
  public let id: AccountID
  /// The customer-facing number with its check digit.
  public let number: AccountNumber
  /// The owner's name or the account's title.
  public let name: String
  /// What the account is for.
  public let kind: AccountKind
  /// The currency all of its movements use.
  public let currency: Currency
  /// Whether it may move money.
  public let status: AccountStatus
  /// How far below zero a debit may take the balance, in minor units (0 for none).
  public let overdraftLimitMinor: Int64
  /// Sum of posted debits since the account was opened, in minor units. 128 bits wide: over an
  /// account's life its gross totals may pass what 64 bits hold (a vault's credits are every
  /// withdrawal ever paid), while its balance never does.
  public let postedDebits: Int128
  /// Sum of posted credits since the account was opened, in minor units (128 bits, as
  /// ``postedDebits``).
  public let postedCredits: Int128
  /// Sum of debits held by pending transfers, in minor units.
  public let pendingDebits: Int64
  /// Sum of credits held by pending transfers, in minor units.
  public let pendingCredits: Int64
  /// When the account was opened.
  public let opened: Instant

  /// When the account was opened, in nanoseconds since 1970; see ``opened``.
  @available(*, deprecated, renamed: "opened", message: "use opened, an Instant")
  public var openedAt: Int64 { opened.nanoseconds }

  /// The posted balance on the account's normal side (credits minus debits for deposits).
  public var balance: Amount {
    let net = kind.isCreditNormal ? postedCredits - postedDebits : postedDebits - postedCredits
    return Amount(minorUnits: Int64(truncatingIfNeeded: net), currency: currency)
  }

  /// What a debit may use now: balance less pending debits plus the overdraft limit.
  /// For internal accounts, which have no limit, this equals the balance.
  public var available: Amount {
    kind.isCustomer && kind.isCreditNormal
      ? Amount(
        minorUnits: Int64(
          truncatingIfNeeded: postedCredits - postedDebits - Int128(pendingDebits)
            + Int128(overdraftLimitMinor)),
        currency: currency)
      : balance
  }

  /// The net amount held by pending transfers from this account's view (credits minus debits for
  /// deposit accounts).
  public var pending: Amount {
    let net =
      kind.isCreditNormal ? pendingCredits &- pendingDebits : pendingDebits &- pendingCredits
    return Amount(minorUnits: net, currency: currency)
  }

  /// The overdraft limit as an amount.
  public var overdraftLimit: Amount { Amount(minorUnits: overdraftLimitMinor, currency: currency) }

  /// Whether the posted balance is below the overdraft limit: only interest and fees the bank
  /// charges can put it there, and the account then refuses debits until it is back inside.
  public var isOverLimit: Bool {
    kind.isCustomer && kind.isCreditNormal
      && postedCredits - postedDebits + Int128(overdraftLimitMinor) < 0
  }
}
