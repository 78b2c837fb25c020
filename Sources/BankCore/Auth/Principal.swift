/// A staff member's job, which decides what the permission matrix lets them do.
public enum Role: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// Serves customers: registration, accounts, deposits and withdrawals, cards.
  case teller = 1
  /// Runs the branch: everything a teller does, plus freezes, limits, unblocks, loans, rates.
  case manager = 2
  /// Reads everything and changes nothing: reports, exports, verification, events.
  case auditor = 3

  /// The role's name as the CLI and JSON spell it: `teller`, `manager` or `auditor`.
  public var description: String {
    switch self {
    case .teller: "teller"
    case .manager: "manager"
    case .auditor: "auditor"
    }
  }

  /// Parses `teller`, `manager` or `auditor` (exactly as printed); `nil` for anything else.
  public init?(name: String) {
    guard let role = Role.allCases.first(where: { $0.description == name }) else { return nil }
    self = role
  }
}

/// A customer's identifier: `C` followed by at least six digits, `C000001` for the first.
///
/// IDs are assigned in registration order and never reused.
public struct CustomerID: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The customer's number; the first customer registered is 1.
  public let rawValue: UInt32

  /// Wraps a customer number.
  public init(_ rawValue: UInt32) { self.rawValue = rawValue }

  /// Parses a customer ID as ``description`` prints it: a capital or small `c`, then exactly six
  /// digits for numbers below a million (`C000001`), or the number without leading zeros from
  /// a million on (`C1000000`). Any other spelling (`C0000001`, `C01000000`, `C000000`) is
  /// refused, so that one customer has one ID.
  ///
  /// - Throws: `invalid_argument` naming the expected form.
  public init(parsing text: String) throws(BankError) {
    let bytes = Array(text.utf8)
    let digits = bytes.dropFirst()
    guard bytes.count >= 7, bytes.count <= 11, bytes[0] == UInt8(ascii: "C") || bytes[0] == 99,
      digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
      let value = UInt32(String(decoding: digits, as: UTF8.self)), value >= 1,
      digits.count == 6 ? value < 1_000_000 : digits.first != 48
    else {
      throw BankError(
        .invalidArgument,
        "invalid customer ID '\(text.debugSanitized)': expected C and six digits, such as C000001 (C and the number without leading zeros from C1000000 on)"
      )
    }
    rawValue = value
  }

  /// `C` and the number padded to six digits: `C000042`.
  public var description: String {
    let digits = String(rawValue)
    return "C" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
  }

  public static func < (a: CustomerID, b: CustomerID) -> Bool { a.rawValue < b.rawValue }
}

/// Who is acting: a logged-in customer, a logged-in staff member, or the operator who owns the
/// store file.
///
/// The permission matrix (``BankOperation``) decides what each may do. The operator is whoever opens
/// the store without a session: as with any embedded database, access to the file is the
/// credential.
public enum Principal: Hashable, Sendable, CustomStringConvertible {
  /// A customer acting on their own accounts, details and cards.
  case customer(CustomerID)
  /// A staff member, with the role they hold.
  case staff(username: String, role: Role)
  /// The store's owner, acting without a session; allowed everything.
  case `operator`

  /// `customer C000001`, `teller alice` or `operator`.
  public var description: String {
    switch self {
    case .customer(let id): "customer \(id)"
    case .staff(let username, let role): "\(role) \(username)"
    case .operator: "operator"
    }
  }
}

extension Principal {
  /// The namespace of the principal's idempotency keys: a customer's ID, `staff.` and a staff
  /// member's username, or `operator`. The same key from two principals names two operations.
  var keyScope: String {
    switch self {
    case .customer(let id): id.description
    case .staff(let username, _): "staff." + username
    case .operator: IdempotencyKey.operatorScope
    }
  }
}

/// Whose credentials a login, lockout, session or reset token belongs to: a customer or a staff
/// member (the operator has no password).
enum Subject: Hashable, Comparable, Sendable, CustomStringConvertible {
  case customer(CustomerID)
  case staff(String)

  var description: String {
    switch self {
    case .customer(let id): "customer \(id)"
    case .staff(let username): "staff \(username)"
    }
  }

  static func < (a: Subject, b: Subject) -> Bool {
    switch (a, b) {
    case (.customer(let x), .customer(let y)): x < y
    case (.customer, .staff): true
    case (.staff, .customer): false
    case (.staff(let x), .staff(let y)): Array(x.utf8).lexicographicallyPrecedes(y.utf8)
    }
  }
}
