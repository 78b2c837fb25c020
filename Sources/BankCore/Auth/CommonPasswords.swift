/// Lookup in the list of the 10,000 most common passwords (``commonPasswordsText``).
enum CommonPasswords {
  /// The list as a set of lowercased entries, built on first use (about 10,000 short strings).
  static let entries: Set<String> = {
    var set = Set<String>(minimumCapacity: 10_000)
    for line in commonPasswordsText.split(separator: "\n") {
      set.insert(line.lowercased())
    }
    return set
  }()

  /// The number of entries in the list.
  static var count: Int { entries.count }

  /// Whether `password` is on the list or is a listed password dressed up in the usual ways:
  /// compared case-insensitively; also with leading and trailing digits and symbols stripped
  /// (`Password123456!` is `password`), and when it is one listed password or one to three
  /// characters repeated (`monkeymonkey`, `abcabcabcabc`).
  static func contains(_ password: String) -> Bool {
    let lower = password.lowercased()
    if entries.contains(lower) { return true }
    let scalars = Array(lower.unicodeScalars)
    let isLetter: (Unicode.Scalar) -> Bool = { $0.properties.isAlphabetic }
    if let first = scalars.firstIndex(where: isLetter),
      let last = scalars.lastIndex(where: isLetter)
    {
      var core = String.UnicodeScalarView()
      core.append(contentsOf: scalars[first...last])
      let stripped = String(core)
      if stripped.unicodeScalars.count >= 4 && entries.contains(stripped) { return true }
    }
    if let unit = repeatedUnit(scalars) {
      var s = String.UnicodeScalarView()
      s.append(contentsOf: unit)
      if unit.count <= 3 || entries.contains(String(s)) { return true }
    }
    return false
  }

  /// The shortest unit that `s` repeats at least twice, if it is such a repetition.
  private static func repeatedUnit(_ s: [Unicode.Scalar]) -> ArraySlice<Unicode.Scalar>? {
    let n = s.count
    guard n >= 2 else { return nil }
    for length in 1...(n / 2) where n % length == 0 {
      var repeats = true
      for i in length..<n where s[i] != s[i % length] {
        repeats = false
        break
      }
      if repeats { return s[0..<length] }
    }
    return nil
  }
}
