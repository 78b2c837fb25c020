/// Field checks for customer and staff details, each failing with its own code and a message
/// that says what is expected.
enum ContactValidation {
  /// The youngest and oldest age a customer holding an account alone may have.
  static let ages = 18...130

  /// An email address in RFC 5321's practical subset: `local@domain`, at most 254 characters; a
  /// local part of 1 to 64 characters from letters, digits and ``!#$%&'*+/=?^_`{|}~.-`` without a
  /// leading, trailing or doubled dot; a domain of at least two dot-separated labels of 1 to 63
  /// letters, digits and hyphens (no hyphen at either end of a label), the last not all digits.
  ///
  /// - Throws: `invalid_email` with the reason.
  static func email(_ text: String) throws(BankError) {
    func fail(_ why: String) -> BankError {
      BankError(.invalidEmail, "invalid email '\(text.debugSanitized)': \(why)")
    }
    let bytes = Array(text.utf8)
    guard !bytes.isEmpty else { throw BankError(.invalidEmail, "email must not be empty") }
    guard bytes.count <= 254 else { throw fail("longer than 254 characters") }
    guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else {
      throw fail("expected local@domain")
    }
    let local = bytes[..<at]
    let domain = bytes[(at + 1)...]
    guard (1...64).contains(local.count) else {
      throw fail("the part before @ must be 1 to 64 characters")
    }
    let localSpecials = Set("!#$%&'*+/=?^_`{|}~.-".utf8)
    guard local.allSatisfy({ isAlphanumeric($0) || localSpecials.contains($0) }) else {
      throw fail(
        "the part before @ has a character outside letters, digits and !#$%&'*+/=?^_`{|}~.-")
    }
    let dot = UInt8(ascii: ".")
    guard local.first != dot, local.last != dot, !containsDoubleDot(local) else {
      throw fail("the part before @ must not start or end with a dot or hold two dots in a row")
    }
    let labels = domain.split(separator: dot, omittingEmptySubsequences: false)
    guard labels.count >= 2 else { throw fail("the domain needs at least one dot") }
    for label in labels {
      guard (1...63).contains(label.count),
        label.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }),
        label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-")
      else {
        throw fail(
          "each part of the domain must be 1 to 63 letters, digits or inner hyphens")
      }
    }
    if let top = labels.last, top.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
      throw fail("the domain must end in a name, not a number")
    }
  }

  /// A phone number in E.164 form: `+` then 8 to 15 digits, the first not zero.
  ///
  /// - Throws: `invalid_phone` with the expected form.
  static func phone(_ text: String) throws(BankError) {
    let bytes = Array(text.utf8)
    let digits = bytes.dropFirst()
    guard bytes.first == UInt8(ascii: "+"), (8...15).contains(digits.count),
      digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), digits.first != 48
    else {
      throw BankError(
        .invalidPhone,
        "invalid phone '\(text.debugSanitized)': expected E.164, + and 8 to 15 digits such as +14155550123"
      )
    }
  }

  /// An age from 18 to 130.
  ///
  /// - Throws: `invalid_age`.
  static func age(_ age: Int) throws(BankError) {
    guard ages.contains(age) else {
      throw BankError(
        .invalidAge,
        "age \(age) is outside 18...130: a customer who holds an account alone must be an adult")
    }
  }

  /// An optional gender: free text of at most 32 characters without control characters; empty
  /// means not given.
  ///
  /// - Throws: `invalid_argument`.
  static func gender(_ text: String) throws(BankError) {
    try Validate.text(text, field: "gender", max: 32, allowEmpty: true)
  }

  /// A person's name: 1 to 100 characters, as account names are.
  ///
  /// - Throws: `invalid_argument`.
  static func name(_ text: String) throws(BankError) {
    try Validate.text(text, field: "name", max: 100, allowEmpty: false)
  }

  /// A staff username: 3 to 32 characters from `a-z 0-9 . _ -`, starting with a letter.
  ///
  /// - Throws: `invalid_argument`.
  static func username(_ text: String) throws(BankError) {
    let bytes = Array(text.utf8)
    let ok =
      (3...32).contains(bytes.count) && bytes[0] >= 97 && bytes[0] <= 122
      && bytes.allSatisfy { b in
        (b >= 97 && b <= 122) || (b >= 48 && b <= 57) || b == 46 || b == 95 || b == 45
      }
    guard ok else {
      throw BankError(
        .invalidArgument,
        "invalid username '\(text.debugSanitized)': expected 3 to 32 characters from a-z 0-9 . _ -, starting with a letter"
      )
    }
  }

  /// The form emails are compared in: ASCII-lowercased, so `Ann@X.org` and `ann@x.org` are one
  /// address for uniqueness and for the forgot-password check.
  static func normalizedEmail(_ text: String) -> String {
    String(decoding: text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
  }

  private static func isAlphanumeric(_ b: UInt8) -> Bool {
    (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122)
  }

  private static func containsDoubleDot(_ s: ArraySlice<UInt8>) -> Bool {
    var previousDot = false
    for b in s {
      let isDot = b == UInt8(ascii: ".")
      if isDot && previousDot { return true }
      previousDot = isDot
    }
    return false
  }
}
