/// An error raised by BankCore, carrying a stable machine-readable code and a message a person can act on.
///
/// Codes never change once published; scripts and other programs match on `Code.rawValue`.
/// Messages name the accounts and amounts involved and never contain a secret.
public struct BankError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The stable, snake_case identifier of a failure.
  public enum Code: String, Sendable, CaseIterable {
    // Refused by a banking rule (bankctl exit 1).
    case insufficientFunds = "insufficient_funds"
    case accountNotFound = "account_not_found"
    case accountFrozen = "account_frozen"
    case accountClosed = "account_closed"
    case accountNotEmpty = "account_not_empty"
    case accountExists = "account_exists"
    case currencyMismatch = "currency_mismatch"
    case sameAccount = "same_account"
    case idempotencyConflict = "idempotency_conflict"
    case limitExceeded = "limit_exceeded"
    case holdNotFound = "hold_not_found"
    case holdNotPending = "hold_not_pending"
    case holdExpired = "hold_expired"
    case overflow = "overflow"
    case authenticationFailed = "authentication_failed"
    /// A customer operation named one of the bank's own accounts (vault, equity, interest, fees).
    case internalAccount = "internal_account"
    // Usage or invalid input (bankctl exit 64).
    case invalidAmount = "invalid_amount"
    case invalidAccountNumber = "invalid_account_number"
    case invalidCurrency = "invalid_currency"
    case invalidKey = "invalid_key"
    case invalidArgument = "invalid_argument"
    case usage = "usage"
    // Storage (bankctl exits 65, 74 and 75).
    case storeCorrupt = "store_corrupt"
    case ioError = "io_error"
    case storeNotFound = "store_not_found"
    case storeLocked = "store_locked"
    // Authentication, customers, staff and cards (the Authenticator core).
    /// The acting principal's role may not perform the operation (permission matrix).
    case permissionDenied = "permission_denied"
    /// A new password breaks the password policy (length, common password, personal data).
    case weakPassword = "weak_password"
    /// An email address is not a valid `local@domain` address.
    case invalidEmail = "invalid_email"
    /// A phone number is not in E.164 form (`+` and 8 to 15 digits).
    case invalidPhone = "invalid_phone"
    /// An age is outside the range a customer may have (18 to 130).
    case invalidAge = "invalid_age"
    /// Another customer already uses that email address.
    case emailInUse = "email_in_use"
    /// No customer has that customer ID.
    case customerNotFound = "customer_not_found"
    /// A staff member with that username already exists.
    case staffExists = "staff_exists"
    /// No staff member has that username.
    case staffNotFound = "staff_not_found"
    /// No card has that PAN.
    case cardNotFound = "card_not_found"
    /// The card is blocked (lost, stolen, or too many wrong PINs) until a manager unblocks it.
    case cardBlocked = "card_blocked"
    /// The card was retained by a terminal after too many wrong PINs.
    case cardRetained = "card_retained"
    /// The card's expiry month has passed.
    case cardExpired = "card_expired"
    /// A terminal cannot pay the amount in the notes it holds (the message says what it can pay).
    case cannotDispense = "cannot_dispense"
    /// A card's withdrawals today would pass its daily amount or count limit.
    case dailyLimitExceeded = "daily_limit_exceeded"
    /// The terminal is out of service.
    case outOfService = "out_of_service"
    /// No terminal has that ID.
    case terminalNotFound = "terminal_not_found"
    // Banking products.
    /// No loan has that number.
    case loanNotFound = "loan_not_found"
    /// The loan is not in a state that allows the operation (approving a rejected loan,
    /// repaying one that is repaid).
    case loanNotActive = "loan_not_active"
    /// A repayment is more than the loan owes (the message says what it owes).
    case overpayment = "overpayment"
    /// No transfer has that number or key.
    case transferNotFound = "transfer_not_found"
    /// The transfer was reversed already (a transfer is reversed at most once), or is itself a
    /// reversal.
    case alreadyReversed = "already_reversed"
  }

  /// The stable code of this failure.
  public let code: Code
  /// A human-readable explanation that names the accounts and amounts involved.
  public let message: String

  /// Creates an error with a code and a message.
  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code.rawValue): \(message)" }

  /// What kind of failure a code is: it decides bankctl's exit code and bankd's HTTP status.
  public enum Category: String, Sendable {
    /// Refused by a banking rule (bankctl exit 1; HTTP 422, or 401/403/404/409 where apt).
    case refused
    /// Bad input (bankctl exit 64; HTTP 400).
    case invalidInput = "invalid_input"
    /// The store is damaged (bankctl exit 65).
    case corrupt
    /// An I/O failure or a missing store (bankctl exit 74; HTTP 503).
    case io
    /// Another process holds the store (bankctl exit 75; HTTP 503).
    case locked
  }

  /// The category of this failure.
  public var category: Category { code.category }

  /// Whether the failure was a refusal by a banking rule rather than bad input or a storage fault.
  public var isRuleViolation: Bool { category == .refused }
}

extension BankError.Code {
  /// The category of each code, stated for every code: a new code must be filed here.
  public var category: BankError.Category {
    switch self {
    case .insufficientFunds, .accountNotFound, .accountFrozen, .accountClosed, .accountNotEmpty,
      .accountExists, .currencyMismatch, .sameAccount, .idempotencyConflict, .limitExceeded,
      .holdNotFound, .holdNotPending, .holdExpired, .overflow, .authenticationFailed,
      .internalAccount, .permissionDenied, .emailInUse, .customerNotFound, .staffExists,
      .staffNotFound, .cardNotFound, .cardBlocked, .cardRetained, .cardExpired, .cannotDispense,
      .dailyLimitExceeded, .outOfService, .terminalNotFound, .loanNotFound, .loanNotActive,
      .overpayment, .transferNotFound, .alreadyReversed:
      .refused
    case .invalidAmount, .invalidAccountNumber, .invalidCurrency, .invalidKey, .invalidArgument,
      .usage, .weakPassword, .invalidEmail, .invalidPhone, .invalidAge:
      .invalidInput
    case .storeCorrupt: .corrupt
    case .ioError, .storeNotFound: .io
    case .storeLocked: .locked
    }
  }
}

extension BankError {
  /// Wraps a storage failure so that callers of the ledger see one error type: `store_corrupt`,
  /// `io_error`, `store_locked` or `store_not_found`.
  public init(_ error: StorageError) {
    switch error {
    case .corrupt(let offset, let sequence, let reason):
      self.init(
        .storeCorrupt,
        "store is corrupt at byte offset \(offset) (sequence \(sequence)): \(reason)")
    case .io(let operation, let errno, let detail):
      self.init(.ioError, "\(operation) failed (errno \(errno)): \(detail)")
    case .poisoned(let reason):
      self.init(
        .ioError,
        "store refused the write; it must be reopened after an earlier I/O failure: \(reason)")
    case .locked(let path, let timeout):
      self.init(
        .storeLocked, "store \(path) is locked by another process; gave up after \(timeout)")
    case .openInThisProcess(let path):
      self.init(
        .storeLocked,
        "store \(path) is already open for writing in this process; use the bank (or ledger) that has it open, or close that one first"
      )
    case .notFound(let path):
      self.init(.storeNotFound, "store \(path) does not exist")
    case .closed:
      self.init(.ioError, "store is closed")
    case .invalidArgument(let detail):
      self.init(.invalidArgument, detail)
    }
  }
}
