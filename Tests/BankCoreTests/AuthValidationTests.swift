import TestSupport
import Testing

@testable import BankCore

@Suite struct AuthValidationTests {
  @Test(arguments: [
    "a@b.co", "first.last@example.org", "x+tag@sub.example.com", "o'brien@example.ie",
    "ADA@EXAMPLE.ORG", "a@b-c.de",
  ])
  func validEmails(_ email: String) throws { try ContactValidation.email(email) }

  @Test(arguments: [
    "", "plain", "@example.org", "a@", "a@b", "a@.org", "a@b..org", ".a@b.org", "a.@b.org",
    "a..b@c.org", "a b@c.org", "a@-b.org", "a@b-.org", "a@b.123", "a@b_c.org", "é@b.org",
    String(repeating: "a", count: 65) + "@b.org", "a@" + String(repeating: "b", count: 64) + ".org",
    "a@" + String(repeating: "b.", count: 126) + "org",
  ])
  func invalidEmails(_ email: String) {
    #expect(throws: BankError.self) { try ContactValidation.email(email) }
    do { try ContactValidation.email(email) } catch { #expect(error.code == .invalidEmail) }
  }

  @Test func phones() throws {
    for good in ["+14155550123", "+4930123456", "+12345678", "+123456789012345"] {
      try ContactValidation.phone(good)
    }
    for bad in [
      "14155550123", "+1234567", "+1234567890123456", "+0123456789", "+1 415 555", "", "+",
    ] {
      do {
        try ContactValidation.phone(bad)
        Issue.record("accepted \(bad)")
      } catch { #expect(error.code == .invalidPhone) }
    }
  }

  @Test func ages() throws {
    try ContactValidation.age(18)
    try ContactValidation.age(130)
    for bad in [-1, 0, 17, 131, 1000] {
      #expect(throws: BankError.self) { try ContactValidation.age(bad) }
      do { try ContactValidation.age(bad) } catch { #expect(error.code == .invalidAge) }
    }
  }

  @Test func genderNameAndUsername() throws {
    try ContactValidation.gender("")
    try ContactValidation.gender("female")
    #expect(throws: BankError.self) {
      try ContactValidation.gender(String(repeating: "x", count: 33))
    }
    #expect(throws: BankError.self) { try ContactValidation.gender("a\u{0}") }
    try ContactValidation.name("Ada Lovelace")
    #expect(throws: BankError.self) { try ContactValidation.name("   ") }
    #expect(throws: BankError.self) {
      try ContactValidation.name(String(repeating: "n", count: 101))
    }
    try ContactValidation.username("max.power-1")
    for bad in ["ab", "Max", "1max", "max power", String(repeating: "m", count: 33)] {
      #expect(throws: BankError.self) { try ContactValidation.username(bad) }
    }
  }

  @Test func pansAndPINs() throws {
    let pan = try PAN(parsing: "4111 1111 1111 1111")
    #expect(pan.masked == "411111******1111" && "\(pan)" == "411111******1111")
    #expect(pan.digits == "4111111111111111")
    for bad in ["4111111111111112", "411111111111111", "41111111111111111", "4111-x111", ""] {
      #expect(throws: BankError.self) { try PAN(parsing: bad) }
    }
    // Every made PAN passes its own check.
    for account in [0, 1, 999_999_999, 123_456_789] as [UInt64] {
      let made = PAN.make(iin: 999_000, account: account)
      #expect(try PAN(parsing: made.digits) == made)
    }
    for good in ["0000", "1234", "123456789012"] { try PINHasher.validate(good) }
    for bad in ["123", "1234567890123", "12a4", "", "１２３４"] {
      #expect(throws: BankError(.invalidArgument, "a PIN must be 4 to 12 digits")) {
        try PINHasher.validate(bad)
      }
    }
  }

  @Test func yearMonthOfInstants() {
    #expect(Instant(nanoseconds: 0).yearMonth == YearMonth(year: 1970, month: 1))
    #expect(Instant(nanoseconds: -1).yearMonth == YearMonth(year: 1969, month: 12))
    // 2024-02-29T23:59:59Z and a second later.
    #expect(
      Instant(nanoseconds: 1_709_251_199_000_000_000).yearMonth == YearMonth(year: 2024, month: 2))
    #expect(
      Instant(nanoseconds: 1_709_251_200_000_000_000).yearMonth == YearMonth(year: 2024, month: 3))
    #expect(YearMonth(year: 2026, month: 11).adding(months: 47).description == "2030-10")
  }

  // MARK: Passwords

  @Test func theCommonListHasTenThousandEntries() {
    #expect(CommonPasswords.count == 10_000)
    #expect(CommonPasswords.entries.contains("password"))
    #expect(CommonPasswords.entries.contains("eyphed"))
  }

  @Test func passwordPolicy() throws {
    let policy = PasswordPolicy(minimumLength: 12)
    func code(_ password: String, _ personal: [String] = []) -> String? {
      do {
        try policy.check(password, personal: personal)
        return nil
      } catch {
        #expect(error.code == .weakPassword)
        #expect(!error.message.contains(password))
        return error.message
      }
    }
    #expect(code("tiny1") != nil)
    #expect(code("elevenchars") != nil)
    #expect(code("correct horse battery") == nil)
    // On the list, or a listed word dressed up.
    #expect(code("masturbation") != nil)
    #expect(code("Password123456!") != nil)
    #expect(code("2024Dragon2024") != nil)
    #expect(code("monkeymonkey") != nil)
    #expect(code("abcabcabcabc") != nil)
    #expect(code("zzzzzzzzzzzz") != nil)
    // Personal data, case-insensitively and as substrings.
    let ada = ["Ada Lovelace", "ada.l@example.org", "+14155550123"]
    #expect(code("my ADA.L@EXAMPLE.ORG pw", ada) != nil)
    #expect(code("lovelace-is-great", ada) != nil)
    #expect(code("call 4155550123 now", ada) != nil)
    #expect(code("call 5550123 now!!", ada) != nil)
    #expect(code("analytical engine", ada) == nil)
    #expect(code("line\nbreak inside it") != nil)
  }

  @Test func passwordHashFormatVerifyAndUpgrade() throws {
    var rng = SplitMix64(seed: 1)
    let hasher = PasswordHasher(iterations: 3)
    let stored = hasher.hash("correct horse battery", using: &rng)
    let parts = stored.split(separator: "$")
    #expect(parts.count == 4 && parts[0] == "pbkdf2-sha256" && parts[1] == "3")
    #expect(PasswordHasher.parse(stored)?.salt.count == 16)
    #expect(
      hasher.verify("correct horse battery", against: stored)
        == .init(matched: true, needsUpgrade: false))
    #expect(hasher.verify("correct horse batterz", against: stored).matched == false)
    #expect(
      PasswordHasher(iterations: 4).verify("correct horse battery", against: stored).needsUpgrade)
    // Salts differ, so equal passwords hash differently.
    #expect(hasher.hash("correct horse battery", using: &rng) != stored)
    // Known answer: RFC 7914's PBKDF2-HMAC-SHA256 vector, in the stored format.
    let vector = PasswordHasher.format(
      iterations: 1, salt: Array("salt".utf8),
      key: [
        0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44, 0xb6,
        0x05, 0xf9, 0x41, 0x85, 0x21, 0x6d, 0xde, 0x04, 0x65, 0xe6, 0x8b, 0x9d, 0x57, 0xc2, 0x0d,
        0xac, 0xbc,
      ])
    #expect(PasswordHasher(iterations: 1).verify("passwd", against: vector).matched)
    // Damaged or hostile strings never match and never trap.
    for bad in [
      "", "pbkdf2-sha256$3$AAAA$AAAA", "md5$1$AAAAAAAAAAAA$" + parts[3],
      "pbkdf2-sha256$999999999999$\(parts[2])$\(parts[3])",
      "pbkdf2-sha256$0$\(parts[2])$\(parts[3])",
    ] {
      #expect(!hasher.verify("correct horse battery", against: bad).matched)
    }
    #expect(!hasher.verifyDummy("anything"))
  }

  @Test func pinCodesDependOnPepperPANAndPIN() throws {
    let a = PINHasher(pepper: try Pepper(bytes: Array(repeating: 1, count: 32)))
    let b = PINHasher(pepper: try Pepper(bytes: Array(repeating: 2, count: 32)))
    let pan = PAN.make(iin: 999_000, account: 1)
    let other = PAN.make(iin: 999_000, account: 2)
    let code = a.code(pin: "1234", pan: pan)
    #expect(code.count == 32)
    #expect(
      code
        == HMACSHA256.authenticationCode(
          for: Array((pan.digits + "1234").utf8), key: Array(repeating: 1, count: 32)))
    #expect(code != b.code(pin: "1234", pan: pan))
    #expect(code != a.code(pin: "1234", pan: other))
    #expect(code != a.code(pin: "1235", pan: pan))
    #expect(throws: BankError.self) { try Pepper(bytes: [1, 2, 3]) }
  }
}
