/// Comparisons whose running time does not depend on the bytes compared.
///
/// Comparing a secret-derived value (a MAC, a password hash, a token hash) with `==` stops at the
/// first difference, and the time it took tells an attacker how many leading bytes were right.
enum ConstantTime {
  /// Whether `a` and `b` hold the same bytes, in time that depends only on their lengths.
  ///
  /// Every byte of `a` is examined, with no early exit. When the lengths differ the answer is
  /// `false`, but `a` is still walked in full (against `b`'s bytes cycled, or against zeros when
  /// `b` is empty), so the time still reveals nothing about the contents. The lengths themselves
  /// are not hidden: pass the expected value as `b` and fixed-length values where that matters.
  ///
  /// - Complexity: O(a.count).
  static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
    withContiguousBytes(a) { x in
      withContiguousBytes(b) { y in
        // Differences are OR-ed into one accumulator and tested once, at the end. The branches
        // in the loop depend on the lengths and the index only, never on the bytes.
        var difference: UInt8 = x.count == y.count ? 0 : 1
        let n = y.count
        var j = 0
        for i in 0..<x.count {
          difference |= x[i] ^ (n > 0 ? y[j] : 0)
          j += 1
          if j == n { j = 0 }
        }
        return difference == 0
      }
    }
  }

  private static func withContiguousBytes<R>(
    _ bytes: some Collection<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> R
  ) -> R {
    if let r = bytes.withContiguousStorageIfAvailable(body) { return r }
    return Array(bytes).withUnsafeBufferPointer(body)
  }
}
