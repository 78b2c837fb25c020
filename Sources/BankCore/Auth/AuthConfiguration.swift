/// The Authenticator's tunable rules: password cost, lockout, timeouts, card numbering.
///
/// Every default follows the contract of `Docs/CLI.md` and `Docs/Security.md` and the issue that introduced it
/// (OWASP's password-storage figure, PCI's three PIN tries). Tests lower
/// ``passwordIterations`` to keep hashing fast; production code should not.
public struct AuthConfiguration: Sendable, Equatable {
  /// PBKDF2-HMAC-SHA256 iterations for new password hashes; default 600,000 (OWASP 2023).
  /// A stored hash with fewer iterations is upgraded at its owner's next successful login.
  public var passwordIterations: Int
  /// The shortest password accepted; default 12 characters.
  public var minimumPasswordLength: Int
  /// Consecutive failed logins that lock a principal's logins; default 5.
  public var maxFailedLogins: Int
  /// How long a lockout lasts; default 15 minutes.
  public var lockoutDuration: Duration
  /// A session ends after this long without recorded activity; default 15 minutes.
  public var sessionIdleTimeout: Duration
  /// A session ends this long after login, active or not; default 12 hours.
  public var sessionAbsoluteTimeout: Duration
  /// Activity is recorded (a journal record) at most this often per session; default 60 seconds.
  /// The idle timeout counts from the last recorded activity, so a session may end up to this
  /// much earlier than the idle timeout after its last use; zero records every use.
  public var sessionActivityInterval: Duration
  /// How long a password-reset token stays valid; default 15 minutes.
  public var resetTokenLifetime: Duration
  /// How long after a change of a customer's email or phone `password forgot` is refused for
  /// them (with the same answer as a wrong field), whoever made the change; default 72 hours. A
  /// teller, or a stolen session, that changes the contact details cannot then take the account
  /// over with a reset sent to the new ones before the customer notices.
  public var contactChangeCoolingOff: Duration
  /// Consecutive wrong PINs that block (or, at a terminal, retain) a card; default 3.
  public var maxPINTries: Int
  /// The issuer identification number that starts every PAN: six digits, default `999000`
  /// (the national-use range 9, so issued numbers never collide with a real card network's).
  public var issuerIdentificationNumber: String
  /// How many months a new card is valid, counting the month of issue; default 48.
  public var cardValidityMonths: Int

  /// Creates a configuration; every parameter defaults to the documented value.
  public init(
    passwordIterations: Int = 600_000,
    minimumPasswordLength: Int = 12,
    maxFailedLogins: Int = 5,
    lockoutDuration: Duration = .seconds(15 * 60),
    sessionIdleTimeout: Duration = .seconds(15 * 60),
    sessionAbsoluteTimeout: Duration = .seconds(12 * 3600),
    sessionActivityInterval: Duration = .seconds(60),
    resetTokenLifetime: Duration = .seconds(15 * 60),
    maxPINTries: Int = 3,
    issuerIdentificationNumber: String = "999000",
    cardValidityMonths: Int = 48,
    contactChangeCoolingOff: Duration = .seconds(72 * 3600)
  ) {
    self.contactChangeCoolingOff = contactChangeCoolingOff
    self.passwordIterations = passwordIterations
    self.minimumPasswordLength = minimumPasswordLength
    self.maxFailedLogins = maxFailedLogins
    self.lockoutDuration = lockoutDuration
    self.sessionIdleTimeout = sessionIdleTimeout
    self.sessionAbsoluteTimeout = sessionAbsoluteTimeout
    self.sessionActivityInterval = sessionActivityInterval
    self.resetTokenLifetime = resetTokenLifetime
    self.maxPINTries = maxPINTries
    self.issuerIdentificationNumber = issuerIdentificationNumber
    self.cardValidityMonths = cardValidityMonths
  }
}

extension Duration {
  /// Whole nanoseconds, saturating at `Int64`'s bounds.
  var nanosecondsClamped: Int64 {
    let (seconds, attoseconds) = components
    let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
    if overflow { return seconds < 0 ? .min : .max }
    let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
    if overflow2 { return seconds < 0 ? .min : .max }
    return sum
  }
}

extension Instant {
  /// This instant moved by `duration`, saturating rather than overflowing.
  func adding(_ duration: Duration) -> Instant {
    let (sum, overflow) = nanoseconds.addingReportingOverflow(duration.nanosecondsClamped)
    if overflow { return Instant(nanoseconds: duration < .zero ? .min : .max) }
    return Instant(nanoseconds: sum)
  }

  /// The UTC calendar month holding this instant.
  var yearMonth: YearMonth {
    // Days since 1970-01-01, floored, then Howard Hinnant's civil-from-days.
    var days = nanoseconds / 86_400_000_000_000
    if nanoseconds % 86_400_000_000_000 < 0 { days -= 1 }
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let month = mp < 10 ? mp + 3 : mp - 9
    let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    return YearMonth(year: Int(year), month: Int(month))
  }
}

/// A calendar month, as a card's expiry prints it: `2030-03` (valid through its last day).
public struct YearMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
  /// The year, for example 2030.
  public let year: Int
  /// The month, 1 to 12.
  public let month: Int

  /// Makes a month; `month` must be 1 to 12.
  public init(year: Int, month: Int) {
    precondition((1...12).contains(month), "month must be 1...12")
    self.year = year
    self.month = month
  }

  /// Parses `YYYY-MM` (four digits, a hyphen, two digits, month 01 to 12).
  ///
  /// - Throws: `invalid_argument` naming the text.
  public init(parsing text: String) throws(BankError) {
    let b = Array(text.utf8)
    guard b.count == 7, b[4] == UInt8(ascii: "-"),
      b[0..<4].allSatisfy({ $0 >= 48 && $0 <= 57 }), b[5...].allSatisfy({ $0 >= 48 && $0 <= 57 }),
      let year = Int(text.prefix(4)), let month = Int(text.suffix(2)), (1...12).contains(month)
    else {
      throw BankError(
        .invalidArgument,
        "invalid month '\(text.debugSanitized)': expected YYYY-MM, such as 2030-03")
    }
    self.init(year: year, month: month)
  }

  /// The month `count` months after this one.
  func adding(months count: Int) -> YearMonth {
    let index = year * 12 + (month - 1) + count
    return YearMonth(year: index / 12, month: index % 12 + 1)
  }

  /// `YYYY-MM`.
  public var description: String {
    let y = String(year)
    let m = String(month)
    return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count < 2 ? "0" : "")
      + m
  }

  public static func < (a: YearMonth, b: YearMonth) -> Bool {
    (a.year, a.month) < (b.year, b.month)
  }
}
