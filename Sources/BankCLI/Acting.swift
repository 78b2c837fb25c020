import BankCore
import Foundation

/// Whether a command needs the store's PIN key (`STORE.key`).
enum PINKey {
  /// Load it if it exists (PIN operations fail clearly without it).
  case ifPresent
  /// Load it, creating it (32 random bytes, mode 0600) if it does not exist.
  case create
}

/// The store opened for one command, and who is acting.
struct Acting {
  let ledger: Ledger
  let auth: Authenticator
  let principal: Principal

  /// Throws `permission_denied` unless the principal may do `operation` (on `account`).
  func require(_ operation: BankOperation, account: AccountNumber? = nil) throws {
    try auth.authorize(operation, as: principal, account: account)
  }
}

extension CommandContext {
  // MARK: Parsing

  func customerID(_ text: String) throws -> CustomerID { try CustomerID(parsing: text) }

  func requiredOption(_ name: String, _ command: String) throws -> String {
    guard let v = parsed.options[name] else {
      throw UsageError(message: "missing option '--\(name)'", command: command)
    }
    return v
  }

}
