/// The JSON forms of the values a service returns, with bankctl's field names (snake_case keys,
/// amounts as strings at full precision, times in RFC 3339), so that `bankd` and `bankctl --json`
/// print the same shapes.

extension BankError: Codable {
  private enum Keys: String, CodingKey { case error }
  private enum Inner: String, CodingKey { case code, message }

  /// Decodes `{"error":{"code","message"}}`, the body `bankd` answers a failed call with, so a
  /// client holds the same error the library throws.
  ///
  /// - Throws: `DecodingError` for another shape or a code this release does not know.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Keys.self)
    let inner = try c.nestedContainer(keyedBy: Inner.self, forKey: .error)
    let raw = try inner.decode(String.self, forKey: .code)
    guard let code = Code(rawValue: raw) else {
      throw DecodingError.dataCorruptedError(
        forKey: .code, in: inner, debugDescription: "unknown error code '\(raw)'")
    }
    self.init(code, try inner.decode(String.self, forKey: .message))
  }

  /// Encodes as `{"error":{"code","message"}}`, the body of every failed call.
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    var inner = c.nestedContainer(keyedBy: Inner.self, forKey: .error)
    try inner.encode(code.rawValue, forKey: .code)
    try inner.encode(message, forKey: .message)
  }
}
