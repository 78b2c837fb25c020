/// PBKDF2 with HMAC-SHA256 as its pseudorandom function (RFC 8018, section 5.2).
///
/// The slow part is the chain `U_j = HMAC(P, U_{j-1})`: each link hashes a 32-byte message, so
/// with the key's padded blocks precomputed (``HMACSHA256``) a link is exactly two compressions
/// of a fixed-shape block, done on eight words held in registers, with no allocation per
/// iteration.
///
/// `package`, not `internal`, only so that `bankbench` (same package) can time it; it is not part
/// of BankCore's public API.
package enum PBKDF2 {
  /// Derives `length` bytes from `password` and `salt` with `iterations` rounds of HMAC-SHA256.
  ///
  /// - Parameters:
  ///   - password: The secret, as bytes (callers choose the encoding, normally UTF-8).
  ///   - salt: A per-secret random value, at least 16 bytes in new uses.
  ///   - iterations: The work factor `c`, at least 1 (OWASP asks 600,000 for password storage).
  ///   - length: The derived key length `dkLen` in bytes, at least 1 and at most
  ///     (2^32 - 1) × 32.
  /// - Precondition: `iterations` and `length` are in range; anything else is a programmer error.
  /// - Complexity: O(iterations × ⌈length / 32⌉) compressions.
  package static func deriveKey(
    password: some Collection<UInt8>, salt: some Collection<UInt8>, iterations: Int, length: Int
  ) -> [UInt8] {
    precondition(iterations >= 1, "PBKDF2 needs at least one iteration")
    precondition(
      length >= 1 && UInt64(length) <= UInt64(UInt32.max) * 32, "PBKDF2 key length out of range")
    let prf = HMACSHA256(key: password)
    let saltBytes = Array(salt)
    var key: [UInt8] = []
    key.reserveCapacity(length + 31)
    var blockIndex: UInt32 = 1
    while key.count < length {
      key.append(contentsOf: block(blockIndex, prf: prf, salt: saltBytes, iterations: iterations))
      blockIndex += 1
    }
    key.removeLast(key.count - length)
    return key
  }

  /// `T_i = U_1 ⊕ U_2 ⊕ … ⊕ U_c`, with `U_1 = PRF(P, S || INT(i))` and `U_j = PRF(P, U_{j-1})`.
  ///
  /// Optimised even in debug builds: a debug bankctl would otherwise take seconds per login.
  @_optimize(speed)
  private static func block(_ index: UInt32, prf: HMACSHA256, salt: [UInt8], iterations: Int)
    -> [UInt8]
  {
    var first = prf.innerHasher()
    first.update(salt)
    withUnsafeBytes(of: index.bigEndian) { first.update($0) }
    var u = prf.outerCode(ofInnerDigest: first.finalizeState())
    var t = u
    let inner = prf.innerState
    let outer = prf.outerState
    for _ in 1..<iterations {
      u = SHA256.compress(outer, paddedDigest: SHA256.compress(inner, paddedDigest: u))
      t.h0 ^= u.h0
      t.h1 ^= u.h1
      t.h2 ^= u.h2
      t.h3 ^= u.h3
      t.h4 ^= u.h4
      t.h5 ^= u.h5
      t.h6 ^= u.h6
      t.h7 ^= u.h7
    }
    return t.bytes
  }
}
