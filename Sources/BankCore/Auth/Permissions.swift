/// Every operation the product offers that an acting principal may or may not perform; the
/// permission matrix (`Docs/Security.md`) is ``rights``, one table in this one file.
///
/// The facade calls ``BankOperation/isAllowed(for:ownsTarget:)`` before every operation that takes an acting
/// principal, and refuses with `permission_denied` when it says no.
public enum BankOperation: String, Sendable, CaseIterable, CustomStringConvertible {
  // Own accounts (customers, on what they own).
  /// Read an account's balance.
  case balance
  /// Read an account's history.
  case history
  /// Read or export an account's statement.
  case statement
  /// Move money out of an account (transfer, ATM withdrawal).
  case transferOut = "transfer_out"
  /// Read or update one's own personal details.
  case ownDetails = "own_details"
  /// Block one's own card (lost or stolen).
  case blockOwnCard = "block_own_card"
  /// Request a loan into one's own account.
  case requestLoan = "request_loan"
  // Counter work (tellers and above).
  /// Register a new customer.
  case registerCustomer = "register_customer"
  /// Update a customer's personal details.
  case updateCustomer = "update_customer"
  /// Open an account for a customer.
  case openAccount = "open_account"
  /// Deposit cash for a customer.
  case deposit
  /// Pay out cash to a customer.
  case withdraw
  /// Issue a card to a customer.
  case issueCard = "issue_card"
  /// Look up any customer account (balance and details at the counter).
  case lookUpAccount = "look_up_account"
  // Branch management (managers).
  /// Freeze an account.
  case freeze
  /// Unfreeze an account.
  case unfreeze
  /// Close an account.
  case close
  /// Change a checking account's overdraft limit.
  case overdraft
  /// Unblock a blocked or retained card.
  case unblockCard = "unblock_card"
  /// Lift a principal's login lockout (the issue's "a manager can lift it").
  case liftLockout = "lift_lockout"
  /// End another principal's sessions (a stolen device).
  case revokeSessions = "revoke_sessions"
  /// Approve a loan request (and disburse it).
  case approveLoan = "approve_loan"
  /// Reject a loan request.
  case rejectLoan = "reject_loan"
  /// Set savings or overdraft rates.
  case setRates = "set_rates"
  /// Run interest accrual and posting.
  case runInterest = "run_interest"
  /// Reverse a posted transfer with an opposite one.
  case reverse
  /// Load, unload, reconcile and register ATMs, and set their rules.
  case loadATM = "load_atm"
  /// Put an ATM in or out of service, and script its device faults.
  case serviceATM = "service_atm"
  /// See ATMs' cassettes, cash and forecasts, and what they would pay (every member of staff).
  case viewATMs = "view_atms"
  // Oversight (managers and auditors).
  /// Produce reports: the trial balance, deposits, loans, volume and customers.
  case reports
  /// Export the journal or accounts.
  case export
  /// Verify the store's integrity.
  case verify
  /// Read the ATM event log.
  case events
  /// Read any account, including the bank's own.
  case readAnyAccount = "read_any_account"
  // Administration (operator only).
  /// Add a staff member.
  case addStaff = "add_staff"
  /// Replace a lost PIN key, clearing every card's PIN.
  case resetPINKey = "reset_pin_key"

  /// The operation's snake_case name, as `Docs/Security.md` lists it.
  public var description: String { rawValue }

  /// Who may perform an operation: one column of the matrix per kind of principal.
  public struct Rights: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    /// Creates a set from its bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// A customer, on accounts, details and cards they own.
    public static let customer = Rights(rawValue: 1 << 0)
    /// A teller.
    public static let teller = Rights(rawValue: 1 << 1)
    /// A manager.
    public static let manager = Rights(rawValue: 1 << 2)
    /// An auditor.
    public static let auditor = Rights(rawValue: 1 << 3)
    /// The operator (no session: whoever owns the store file).
    public static let `operator` = Rights(rawValue: 1 << 4)
  }

  /// The permission matrix (`Docs/Security.md`), one row per group of operations. The switch
  /// is exhaustive, so a new operation does not compile until it has a row.
  public var rights: Rights {
    switch self {
    case .balance, .history, .statement, .transferOut, .ownDetails, .blockOwnCard, .requestLoan:
      [.customer, .operator]
    case .registerCustomer, .updateCustomer, .openAccount, .deposit, .withdraw, .issueCard,
      .lookUpAccount:
      [.teller, .manager, .operator]
    case .freeze, .unfreeze, .close, .overdraft, .unblockCard, .liftLockout, .revokeSessions,
      .approveLoan,
      .rejectLoan, .setRates, .runInterest, .reverse, .loadATM, .serviceATM:
      [.manager, .operator]
    case .reports, .export, .verify, .events, .readAnyAccount:
      [.manager, .auditor, .operator]
    case .addStaff, .resetPINKey:
      [.operator]
    case .viewATMs:
      [.teller, .manager, .auditor, .operator]
    }
  }
}

/// Whether `principal` may perform `operation`.
///
/// - Parameters:
///   - operation: What is to be done.
///   - principal: Who is acting.
///   - ownsTarget: Whether the account, card or details acted on belong to `principal` (only a
///     customer's rights depend on it: a customer may act only on what they own).
/// - Returns: `true` when the matrix allows it.
@available(*, deprecated, message: "use BankOperation.isAllowed(for:ownsTarget:)")
public func allowed(_ operation: BankOperation, for principal: Principal, ownsTarget: Bool) -> Bool
{
  operation.isAllowed(for: principal, ownsTarget: ownsTarget)
}

extension BankOperation {
  /// Whether the permission matrix lets `principal` do this operation.
  ///
  /// - Parameters:
  ///   - principal: Who is acting.
  ///   - ownsTarget: Whether the account, card or details acted on belong to `principal` (only a
  ///     customer's rights depend on it: a customer may act only on what they own).
  public func isAllowed(for principal: Principal, ownsTarget: Bool) -> Bool {
    matrixAllows(self, for: principal, ownsTarget: ownsTarget)
  }
}

/// The matrix itself, for ``BankOperation/isAllowed(for:ownsTarget:)``.
func matrixAllows(_ operation: BankOperation, for principal: Principal, ownsTarget: Bool) -> Bool {
  let rights = operation.rights
  switch principal {
  case .operator:
    return rights.contains(.operator)
  case .customer:
    return ownsTarget && rights.contains(.customer)
  case .staff(_, let role):
    switch role {
    case .teller: return rights.contains(.teller)
    case .manager: return rights.contains(.manager)
    case .auditor: return rights.contains(.auditor)
    }
  }
}

extension BankOperation {
  /// What the operation does, as a sentence names it after "may not": "deposit cash", "block
  /// cards". Permission messages are built from it and the role, so that every message says the
  /// operation that was refused.
  public var action: String {
    switch self {
    case .balance: "read account balances"
    case .history: "read account history"
    case .statement: "read account statements"
    case .transferOut: "transfer money out of accounts"
    case .ownDetails: "read or change customers' details"
    case .blockOwnCard: "block cards"
    case .requestLoan: "request loans"
    case .registerCustomer: "register customers"
    case .updateCustomer: "update customers' details"
    case .openAccount: "open accounts"
    case .deposit: "deposit cash"
    case .withdraw: "withdraw cash"
    case .issueCard: "issue cards"
    case .lookUpAccount: "look up accounts"
    case .freeze: "freeze accounts"
    case .unfreeze: "unfreeze accounts"
    case .close: "close accounts"
    case .overdraft: "set overdraft limits"
    case .unblockCard: "unblock cards"
    case .liftLockout: "lift login lockouts"
    case .revokeSessions: "revoke sessions (logout --all ends one's own)"
    case .approveLoan: "approve loans"
    case .rejectLoan: "reject loans"
    case .setRates: "set rates"
    case .runInterest: "run interest"
    case .reverse: "reverse transfers"
    case .loadATM: "load ATMs"
    case .serviceATM: "put ATMs in or out of service"
    case .viewATMs: "see ATMs' cash and cassettes"
    case .reports: "produce reports"
    case .export: "export the journal"
    case .verify: "verify the store"
    case .events: "read the event log"
    case .readAnyAccount: "read the bank's own accounts"
    case .addStaff: "add staff"
    case .resetPINKey: "reset the PIN key"
    }
  }

  /// What a customer may do with this operation, on what they own: "block their own cards".
  var ownAction: String {
    switch self {
    case .balance: "read the balances of their own accounts"
    case .history: "read the history of their own accounts"
    case .statement: "read the statements of their own accounts"
    case .transferOut: "transfer money out of their own accounts"
    case .ownDetails: "read or change their own details"
    case .blockOwnCard: "block their own cards"
    case .requestLoan: "request loans into their own accounts"
    default: action
    }
  }
}

extension Principal {
  /// The principal's kind with its article, for messages: "a customer", "an auditor", "the
  /// operator".
  var withArticle: String {
    switch self {
    case .operator: "the operator"
    case .customer: "a customer"
    case .staff(_, let role): role == .auditor ? "an auditor" : "a \(role)"
    }
  }
}

/// The refusal of `operation` to `principal`: the role's article, the operation's own name
/// (``BankOperation/action``, or `action` when a command is checked against an operation of another
/// name, such as `card block` by staff), and, for a customer acting on something that is not
/// theirs, the same words whether that thing exists or not.
func permissionDenied(
  _ operation: BankOperation, for principal: Principal, ownsTarget: Bool, action: String? = nil
) -> BankError {
  if case .customer = principal, operation.rights.contains(.customer), !ownsTarget {
    return BankError(.permissionDenied, "a customer may only \(operation.ownAction)")
  }
  return BankError(
    .permissionDenied, "\(principal.withArticle) may not \(action ?? operation.action)")
}

/// Throws `permission_denied` unless ``BankOperation/isAllowed(for:ownsTarget:)`` allows the operation.
///
/// - Throws: `permission_denied` naming the operation and the principal's kind (see
///   ``permissionDenied(_:for:ownsTarget:action:)``).
func requirePermission(
  _ operation: BankOperation, for principal: Principal, ownsTarget: Bool, action: String? = nil
) throws(BankError) {
  guard matrixAllows(operation, for: principal, ownsTarget: ownsTarget) else {
    throw permissionDenied(operation, for: principal, ownsTarget: ownsTarget, action: action)
  }
}

/// The permission matrix's operations under their earlier name, which collided with Foundation's
/// `Operation` in files importing both.
@available(*, deprecated, renamed: "BankOperation")
public typealias Operation = BankOperation
