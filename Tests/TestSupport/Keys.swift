import BankCore

/// An idempotency key from text a test knows to be valid (a test fails loudly otherwise).
public func idem(_ text: String) -> IdempotencyKey {
  do { return try IdempotencyKey(text) } catch {
    fatalError("invalid test key '\(text)': \(error)")
  }
}
