import Foundation

/// Hashes and verifies passwords with PBKDF2-HMAC-SHA256 and a random 16-byte salt, storing the
/// result as a self-describing string: `pbkdf2-sha256$600000$<salt base64>$<hash base64>`.
///
/// The string names the algorithm and its cost, so the cost can be raised later: a login that
/// verifies against a cheaper hash reports ``Verification/needsUpgrade`` and the caller stores a
/// fresh hash. Hashing is slow by design (about a third of a second at 600,000 iterations), so
/// callers run it before taking the store's lock and pass only the resulting string in.
struct PasswordHasher: Sendable {
  /// The algorithm's name in the stored string.
  static let scheme = "pbkdf2-sha256"
  /// The salt's length in bytes.
  static let saltLength = 16
  /// The derived key's length in bytes.
  static let keyLength = 32
  /// The most iterations a stored string may claim; anything above is treated as corrupt, so a
  /// damaged or hostile record cannot make one login run for hours.
  static let maximumIterations = 100_000_000

  /// Iterations for new hashes.
  let iterations: Int

  /// A hasher for new hashes at `iterations` (at least 1).
  init(iterations: Int) {
    precondition(iterations >= 1, "PBKDF2 needs at least one iteration")
    self.iterations = iterations
  }

  /// A hasher at the configuration's cost.
  init(_ configuration: AuthConfiguration) {
    self.init(iterations: configuration.passwordIterations)
  }

  /// The outcome of checking a password against a stored hash.
  struct Verification: Sendable, Equatable {
    /// Whether the password matched.
    let matched: Bool
    /// Whether the stored hash is cheaper than the current cost (or unreadable) and should be
    /// replaced after a successful login.
    let needsUpgrade: Bool
  }

  /// Hashes `password` with a fresh salt from `generator`.
  ///
  /// - Complexity: O(iterations).
  func hash(_ password: String, using generator: inout some RandomNumberGenerator) -> String {
    let salt = RandomBytes.generate(count: Self.saltLength, using: &generator)
    return Self.format(iterations: iterations, salt: salt, key: derive(password, salt, iterations))
  }

  /// Hashes `password` with a fresh salt from the system's secure generator.
  ///
  /// - Complexity: O(iterations).
  func hash(_ password: String) -> String {
    var system = SystemRandomNumberGenerator()
    return hash(password, using: &system)
  }

  /// Checks `password` against a stored string, comparing in constant time.
  ///
  /// A stored string that does not parse is checked as the dummy hash is (same cost, never a
  /// match), so a damaged record neither crashes nor answers faster.
  ///
  /// - Complexity: O(the stored iteration count).
  func verify(_ password: String, against stored: String) -> Verification {
    guard let parsed = Self.parse(stored) else {
      _ = verifyDummy(password)
      return Verification(matched: false, needsUpgrade: true)
    }
    let key = derive(password, parsed.salt, parsed.iterations)
    let matched = ConstantTime.equals(key, parsed.key)
    return Verification(matched: matched, needsUpgrade: parsed.iterations < iterations)
  }

  /// Spends exactly the time a real verification at the current cost takes and returns `false`.
  ///
  /// Call it when the principal does not exist, so that "no such user" and "wrong password"
  /// take the same time and a stopwatch cannot enumerate users.
  ///
  /// - Complexity: O(iterations).
  /// Not optimised, so the derivation, whose result nobody needs, is never deleted as dead code.
  @inline(never) @_optimize(none)
  func verifyDummy(_ password: String) -> Bool {
    let key = derive(password, Self.dummySalt, iterations)
    // Compared like a real key; an all-zero PBKDF2 output has probability 2^-256.
    return ConstantTime.equals(key, Self.dummyKey)
  }

  /// Whether a stored string is a hash this type can read, with its iteration count.
  static func iterations(of stored: String) -> Int? { parse(stored)?.iterations }

  /// Whether `text` is a well-formed stored hash (used to validate records and snapshots).
  static func isWellFormed(_ text: String) -> Bool { parse(text) != nil }

  private func derive(_ password: String, _ salt: [UInt8], _ iterations: Int) -> [UInt8] {
    PBKDF2.deriveKey(
      password: Array(password.utf8), salt: salt, iterations: iterations, length: Self.keyLength)
  }

  private static let dummySalt: [UInt8] = Array("bankcore-dummy-s".utf8)
  private static let dummyKey = [UInt8](repeating: 0, count: keyLength)

  static func format(iterations: Int, salt: [UInt8], key: [UInt8]) -> String {
    "\(scheme)$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
  }

  static func parse(_ stored: String) -> (iterations: Int, salt: [UInt8], key: [UInt8])? {
    let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
    guard parts.count == 4, parts[0] == scheme,
      parts[1].utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), parts[1].utf8.count <= 10,
      let iterations = Int(parts[1]), iterations >= 1, iterations <= maximumIterations,
      let salt = Data(base64Encoded: String(parts[2])), salt.count >= 1, salt.count <= 64,
      let key = Data(base64Encoded: String(parts[3])), key.count == keyLength
    else { return nil }
    return (iterations, Array(salt), Array(key))
  }
}
