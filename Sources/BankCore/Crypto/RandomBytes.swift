/// Random bytes for salts, session tokens and keys, drawn from an injected generator.
///
/// Production code passes nothing and gets `SystemRandomNumberGenerator`, which on Linux reads the
/// kernel's CSPRNG (`getrandom`) and on Apple platforms `arc4random_buf`. Tests pass a seeded
/// generator so that a failure reproduces; never pass a seeded one outside tests.
enum RandomBytes {
  /// `count` bytes from the system's cryptographically secure generator.
  ///
  /// - Complexity: O(count).
  static func generate(count: Int) -> [UInt8] {
    var system = SystemRandomNumberGenerator()
    return generate(count: count, using: &system)
  }

  /// `count` bytes from `generator`, eight per call of `next()`, least significant byte first.
  ///
  /// - Complexity: O(count).
  static func generate(count: Int, using generator: inout some RandomNumberGenerator) -> [UInt8] {
    precondition(count >= 0, "a byte count cannot be negative")
    // No capacity would be the shared empty array, whose count the initializer writes.
    guard count > 0 else { return [] }
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      var i = 0
      while i < count {
        var word = generator.next()
        for _ in 0..<min(8, count - i) {
          buffer[i] = UInt8(truncatingIfNeeded: word)
          word >>= 8
          i += 1
        }
      }
      initialized = count
    }
  }
}
