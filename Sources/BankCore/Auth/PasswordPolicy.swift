/// The rules a new password must meet: long enough, not a common password, and not made of the
/// customer's own email, phone or name.
///
/// Checked before hashing, on the plain password, which never leaves this call: the error names
/// the rule broken, never the password.
struct PasswordPolicy: Sendable {
  /// The shortest password accepted, in characters.
  let minimumLength: Int

  /// A policy with the configuration's minimum length.
  init(_ configuration: AuthConfiguration) {
    minimumLength = configuration.minimumPasswordLength
  }

  /// A policy with an explicit minimum length.
  init(minimumLength: Int) { self.minimumLength = minimumLength }

  /// Throws `weak_password` unless `password` has at least ``minimumLength`` characters, is at
  /// most 1,024 bytes, is not among the 10,000 most common passwords (see
  /// ``CommonPasswords/contains(_:)``), and does not contain, case-insensitively, the email
  /// address, its local part (when 4 characters or longer), the phone number's digits, or the
  /// name or any word of it of 4 characters or more.
  ///
  /// - Parameters:
  ///   - password: The candidate, in the clear; it is not kept and never appears in an error.
  ///   - personal: The words the password must not contain: the customer's email, phone and
  ///     name, or a staff member's username and name. Empty strings are ignored.
  func check(_ password: String, personal: [String] = [], username: String? = nil)
    throws(BankError)
  {
    if password.count < minimumLength {
      throw BankError(
        .weakPassword,
        "password is too short: at least \(minimumLength) characters are required")
    }
    if password.utf8.count > 1024 {
      throw BankError(.weakPassword, "password is too long: at most 1024 bytes are allowed")
    }
    if password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
      throw BankError(.weakPassword, "password must not contain control characters")
    }
    if CommonPasswords.contains(password) {
      throw BankError(
        .weakPassword,
        "password is too common: it is, or is built from, one of the 10,000 most used passwords")
    }
    let lower = password.lowercased()
    // A username is checked whole from 3 characters (every username has at least 3); other
    // personal data from 4, where shorter pieces would refuse too many good passwords.
    let name = username.map { $0.lowercased() }.flatMap { $0.count >= 3 ? [$0] : nil } ?? []
    for fragment in Self.fragments(of: personal) + name where lower.contains(fragment) {
      throw BankError(
        .weakPassword,
        "password must not contain your name, email address, phone number or username")
    }
  }

  /// The lowercased pieces of personal data a password may not contain.
  static func fragments(of personal: [String]) -> [String] {
    var out: [String] = []
    for item in personal where !item.isEmpty {
      let lower = item.lowercased()
      if lower.hasPrefix("+"), lower.dropFirst().allSatisfy(\.isNumber) {
        let digits = String(lower.dropFirst())
        out.append(digits)
        // The national part (without a one- to three-digit country code) is just as guessable.
        if digits.count > 7 { out.append(String(digits.suffix(7))) }
        continue
      }
      if lower.count >= 4 { out.append(lower) }
      if let at = lower.firstIndex(of: "@") {
        let local = String(lower[..<at])
        if local.count >= 4 { out.append(local) }
      }
      for word in lower.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
      where word.count >= 4 {
        out.append(String(word))
      }
    }
    return out
  }
}
