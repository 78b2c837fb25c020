/// The SHA-256 of a session or reset token: what the journal and the state keep instead of the
/// token itself, so that reading the store never yields a usable token.
struct TokenDigest: Hashable, Comparable, Sendable {
  /// The 32 digest bytes.
  let bytes: [UInt8]

  /// Wraps 32 bytes already computed.
  init(bytes: [UInt8]) {
    precondition(bytes.count == 32, "a token digest is 32 bytes")
    self.bytes = bytes
  }

  /// The digest of a token as its holder presents it (the token's UTF-8 bytes).
  init(token: String) { bytes = SHA256.hash(Array(token.utf8)) }

  static func < (a: TokenDigest, b: TokenDigest) -> Bool {
    a.bytes.lexicographicallyPrecedes(b.bytes)
  }
}

/// Opaque random tokens for sessions and password resets.
enum Token {
  /// Bytes of randomness in a token: 256 bits, twice the 128 the contract requires.
  static let byteCount = 32

  /// A new token, `byteCount` random bytes as lowercase hex, and its digest. Make it outside the
  /// store's lock and pass only the digest into a command.
  static func make(using generator: inout some RandomNumberGenerator) -> (
    token: String, digest: TokenDigest
  ) {
    let raw = RandomBytes.generate(count: byteCount, using: &generator)
    let hex = "0123456789abcdef".utf8.map { $0 }
    var chars: [UInt8] = []
    chars.reserveCapacity(byteCount * 2)
    for b in raw {
      chars.append(hex[Int(b >> 4)])
      chars.append(hex[Int(b & 0x0F)])
    }
    let token = String(decoding: chars, as: UTF8.self)
    return (token, TokenDigest(token: token))
  }

  /// A new token from the system's secure generator.
  static func make() -> (token: String, digest: TokenDigest) {
    var system = SystemRandomNumberGenerator()
    return make(using: &system)
  }
}
