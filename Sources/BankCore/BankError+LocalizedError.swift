import Foundation

extension BankError: LocalizedError {
  /// The message, so that `localizedDescription` (and anything that prints an `Error` through
  /// Foundation) says what went wrong instead of "The operation could not be completed".
  public var errorDescription: String? { message }
}
