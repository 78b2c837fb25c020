/// The JSON forms of the values a service returns, with bankctl's field names (snake_case keys,
/// amounts as strings at full precision, times in RFC 3339), so that `bankd` and `bankctl --json`
/// print the same shapes.

extension BankError: Encodable {
  private enum Keys: String, CodingKey { case error }
  private enum Inner: String, CodingKey { case code, message }

  /// Encodes as `{"error":{"code","message"}}`, the body of every failed call.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    var inner = c.nestedContainer(keyedBy: Inner.self, forKey: .error)
    try inner.encode(code.rawValue, forKey: .code)
    try inner.encode(message, forKey: .message)
  }
}
