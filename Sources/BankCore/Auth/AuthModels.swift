/// A customer's details as the Authenticator's core holds them (ledger accounts by internal ID);
/// the public view is ``Customer``.
struct StoredCustomer: Sendable, Equatable {
  /// The customer's ID, for example `C000001`.
  let id: CustomerID
  /// Full name, 1 to 100 characters.
  var name: String
  /// Email address as entered (compared case-insensitively).
  var email: String
  /// Phone number in E.164 form.
  var phone: String
  /// Age in years at the last update, 18 to 130.
  var age: Int
  /// Gender as the customer gave it, or `nil` when not given.
  var gender: String?
  /// The ledger accounts the customer owns, in the order they were linked.
  var accounts: [AccountID]
  /// When the customer registered.
  let registeredAt: Instant
  /// When the email address or the phone number last changed (`nil`: never since
  /// registration). `password forgot` is refused for a cooling-off period after it
  /// (``AuthConfiguration/contactChangeCoolingOff``).
  var contactChangedAt: Instant? = nil
}

/// A member of staff, for display.
public struct StaffMember: Sendable, Equatable {
  /// Login name: 3 to 32 characters from `a-z 0-9 . _ -`.
  public let username: String
  /// Full name.
  public let name: String
  /// The job that decides their permissions.
  public let role: Role
  /// When they were added.
  public let addedAt: Instant
}

/// Whether a card can be used.
public enum CardStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// Usable.
  case active = 1
  /// Blocked (lost, stolen, or too many wrong PINs); a manager or the operator can unblock it.
  case blocked = 2
  /// Kept by a terminal after too many wrong PINs; a manager or the operator can unblock it.
  case retained = 3

  /// `active`, `blocked` or `retained`.
  public var description: String {
    switch self {
    case .active: "active"
    case .blocked: "blocked"
    case .retained: "retained"
    }
  }
}

/// A payment card as the Authenticator's core holds it (ledger accounts by internal ID); the
/// public view is ``Card``.
struct StoredCard: Sendable, Equatable {
  /// The card number; prints masked, ``PAN/digits`` gives it in full.
  let pan: PAN
  /// The cardholder.
  let customer: CustomerID
  /// The linked accounts; the first is the default at a terminal.
  let accounts: [AccountID]
  /// The last month in which the card is valid.
  let expiry: YearMonth
  /// Whether it can be used.
  var status: CardStatus
  /// Whether a PIN has been set.
  var hasPIN: Bool
  /// Consecutive wrong PINs since the last correct one (or unblock).
  var failedPINAttempts: Int
  /// When it was issued.
  let issuedAt: Instant
}

/// A customer as shown to whoever may see them: details, account numbers, masked card numbers.
///
/// `Codable` as `customer show` prints it: `{"customer","name","email","phone","age","gender",
/// "accounts","cards"}` (`gender` is `""` when not given).
public struct Customer: Sendable, Hashable {
  /// The customer's ID, such as `C000001`.
  public let id: CustomerID
  /// Full name, 1 to 100 characters.
  public let name: String
  /// Email address as entered (compared case-insensitively).
  public let email: String
  /// Phone number in E.164 form.
  public let phone: String
  /// Age in years at the last update, 18 to 130.
  public let age: Int
  /// Gender as the customer gave it, or `nil` when not given.
  public let gender: String?
  /// The accounts the customer owns, in opening order.
  public let accounts: [AccountNumber]
  /// The customer's cards, masked (first six and last four digits), in issue order.
  public let cards: [String]

  /// A customer's details as a service returned them (the library's own calls build these).
  public init(
    id: CustomerID, name: String, email: String, phone: String, age: Int, gender: String?,
    accounts: [AccountNumber], cards: [String]
  ) {
    self.id = id
    self.name = name
    self.email = email
    self.phone = phone
    self.age = age
    self.gender = gender
    self.accounts = accounts
    self.cards = cards
  }
}

/// A customer as shown to whoever may see them; see ``Customer``.
@available(*, deprecated, renamed: "Customer")
public typealias CustomerProfile = Customer

/// A payment card, for display; its number prints masked.
///
/// `Encodable` as `{"card","customer","accounts","expires","status","has_pin",
/// "failed_pin_attempts","issued_at"}` with the number masked. It is not `Decodable`: no JSON
/// carries the full number but the one printed once at issue (``IssuedCard``).
public struct Card: Sendable, Hashable {
  /// The card number; prints masked, ``PAN/digits`` gives it in full.
  public let pan: PAN
  /// The cardholder.
  public let customer: CustomerID
  /// The linked accounts; the first is the default at a terminal.
  public let accounts: [AccountNumber]
  /// The last month in which the card is valid.
  public let expiry: YearMonth
  /// Whether it can be used.
  public let status: CardStatus
  /// Whether a PIN has been set.
  public let hasPIN: Bool
  /// Consecutive wrong PINs since the last correct one (or unblock).
  public let failedPINAttempts: Int
  /// When it was issued.
  public let issuedAt: Instant

  init(
    pan: PAN, customer: CustomerID, accounts: [AccountNumber], expiry: YearMonth,
    status: CardStatus, hasPIN: Bool, failedPINAttempts: Int, issuedAt: Instant
  ) {
    self.pan = pan
    self.customer = customer
    self.accounts = accounts
    self.expiry = expiry
    self.status = status
    self.hasPIN = hasPIN
    self.failedPINAttempts = failedPINAttempts
    self.issuedAt = issuedAt
  }

  init(_ stored: StoredCard, ledger: LedgerState) {
    self.init(
      pan: stored.pan, customer: stored.customer,
      accounts: stored.accounts.map { ledger.info[$0.index].number }, expiry: stored.expiry,
      status: stored.status, hasPIN: stored.hasPIN,
      failedPINAttempts: stored.failedPINAttempts, issuedAt: stored.issuedAt)
  }
}
