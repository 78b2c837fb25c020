/// A customer's details as the bank holds them, for display (`customer show`).
public struct Customer: Sendable, Equatable {
  /// The customer's ID, for example `C000001`.
  public let id: CustomerID
  /// Full name, 1 to 100 characters.
  public internal(set) var name: String
  /// Email address as entered (compared case-insensitively).
  public internal(set) var email: String
  /// Phone number in E.164 form.
  public internal(set) var phone: String
  /// Age in years at the last update, 18 to 130.
  public internal(set) var age: Int
  /// Gender as the customer gave it, or `nil` when not given.
  public internal(set) var gender: String?
  /// The ledger accounts the customer owns, in the order they were linked.
  public internal(set) var accounts: [AccountID]
  /// When the customer registered.
  public let registeredAt: Instant
  /// When the email address or the phone number last changed (`nil`: never since
  /// registration). `password forgot` is refused for a cooling-off period after it
  /// (``AuthConfiguration/contactChangeCoolingOff``).
  public internal(set) var contactChangedAt: Instant? = nil
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

/// A payment card, for display; its number prints masked.
public struct Card: Sendable, Equatable {
  /// The card number; prints masked, ``PAN/digits`` gives it in full.
  public let pan: PAN
  /// The cardholder.
  public let customer: CustomerID
  /// The linked accounts; the first is the default at a terminal.
  public let accounts: [AccountID]
  /// The last month in which the card is valid.
  public let expiry: YearMonth
  /// Whether it can be used.
  public internal(set) var status: CardStatus
  /// Whether a PIN has been set.
  public internal(set) var hasPIN: Bool
  /// Consecutive wrong PINs since the last correct one (or unblock).
  public internal(set) var failedPINAttempts: Int
  /// When it was issued.
  public let issuedAt: Instant
}
