/// HMAC-SHA256 (RFC 2104, FIPS 198-1): a message authentication code keyed by a secret.
///
/// Making one of these hashes the key's two padded blocks once (`K ⊕ ipad` and `K ⊕ opad`) and
/// keeps only the two resulting chaining states, so each code afterwards costs the message's
/// blocks plus two compressions, and a digest-sized message (PBKDF2's iterations) costs exactly
/// two. The value holds key-derived secrets: keep it no longer than the key.
struct HMACSHA256: Sendable {
  /// The state after compressing `K ⊕ ipad` (0x36 repeated).
  let innerState: SHA256.State
  /// The state after compressing `K ⊕ opad` (0x5c repeated).
  let outerState: SHA256.State

  /// Precomputes the padded-key states for `key`.
  ///
  /// A key longer than the 64-byte block is replaced by its SHA-256 digest, as RFC 2104 says.
  ///
  /// - Complexity: O(key length).
  init(key: some Collection<UInt8>) {
    var block = [UInt8](repeating: 0, count: 64)
    if key.count > 64 {
      block.replaceSubrange(0..<32, with: SHA256.hash(key))
    } else {
      block.replaceSubrange(0..<key.count, with: key)
    }
    var inner = SHA256.State.initial
    var outer = SHA256.State.initial
    for i in 0..<64 { block[i] ^= 0x36 }
    block.withUnsafeBytes { SHA256.compress(&inner, blocks: $0) }
    for i in 0..<64 { block[i] ^= 0x36 ^ 0x5c }
    block.withUnsafeBytes { SHA256.compress(&outer, blocks: $0) }
    innerState = inner
    outerState = outer
  }

  /// The 32-byte authentication code of `message` under `key`.
  ///
  /// - Complexity: O(key length + message length).
  static func authenticationCode(
    for message: some Collection<UInt8>, key: some Collection<UInt8>
  ) -> [UInt8] {
    HMACSHA256(key: key).authenticationCode(for: message)
  }

  /// The 32-byte authentication code of `message` under this value's key.
  ///
  /// - Complexity: O(message length).
  func authenticationCode(for message: some Collection<UInt8>) -> [UInt8] {
    var inner = innerHasher()
    inner.update(message)
    return outerCode(ofInnerDigest: inner.finalizeState()).bytes
  }

  /// A hasher already past `K ⊕ ipad`: feed it the message, then pass its digest to
  /// ``outerCode(ofInnerDigest:)``. For messages that arrive in pieces.
  func innerHasher() -> SHA256 { SHA256(state: innerState, length: 64) }

  /// The code, given the inner hash `SHA-256((K ⊕ ipad) || message)`: one compression.
  func outerCode(ofInnerDigest inner: SHA256.State) -> SHA256.State {
    SHA256.compress(outerState, paddedDigest: inner)
  }
}
