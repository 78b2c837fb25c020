import TestSupport
import Testing

@testable import BankCore

@Suite struct MoneyTests {
  @Test(
    arguments: [
      ("0.01", 1), ("12", 1200), ("12.3", 1230), ("12.34", 1234), ("0", 0), ("007.5", 750),
    ] as [(String, Int64)])
  func acceptsStrictDecimals(text: String, minor: Int64) throws {
    #expect(try Amount(parsing: text, currency: .usd).minorUnits == minor)
  }

  @Test(arguments: [
    "", "-5", "+5", "1e3", "12.345", "1,000", " 12", "12 ", "١٢", "NaN", "inf", ".5", "5.", "1.2.3",
    "92233720368547758.08", "99999999999999999999", "12\u{0}", "0x10", "１２",
  ])
  func rejectsEverythingElse(text: String) {
    #expect(throws: BankError.self) { try Amount(parsing: text, currency: .usd) }
    do {
      _ = try Amount(parsing: text, currency: .usd)
    } catch {
      #expect(error.code == .invalidAmount)
      #expect(error.message.contains("invalid amount"))
    }
  }

  @Test func largestAmountParses() throws {
    #expect(try Amount(parsing: "92233720368547758.07", currency: .usd).minorUnits == Int64.max)
  }

  @Test func currencyExponentsDriveParsing() throws {
    #expect(try Amount(parsing: "12", currency: .jpy).minorUnits == 12)
    #expect(throws: BankError.self) { try Amount(parsing: "12.5", currency: .jpy) }
    #expect(try Amount(parsing: "1.234", currency: .kwd).minorUnits == 1234)
    #expect(throws: BankError.self) { try Amount(parsing: "1.2345", currency: .kwd) }
  }

  @Test func formatting() throws {
    #expect(Amount(minorUnits: 1230, currency: .usd).description == "12.30")
    #expect(Amount(minorUnits: 5, currency: .usd).description == "0.05")
    #expect(Amount(minorUnits: -5, currency: .usd).description == "-0.05")
    #expect(Amount(minorUnits: 12, currency: .jpy).description == "12")
    #expect(Amount(minorUnits: 1, currency: .kwd).formatted == "0.001 KWD")
    #expect(Amount(minorUnits: Int64.min, currency: .usd).description == "-92233720368547758.08")
  }

  @Test func arithmeticThrowsInsteadOfTrapping() throws {
    let max = Amount(minorUnits: .max, currency: .usd)
    let one = Amount(minorUnits: 1, currency: .usd)
    #expect(throws: BankError(.overflow, "92233720368547758.07 USD + 0.01 USD overflows")) {
      try max.adding(one)
    }
    #expect(throws: BankError.self) {
      try Amount(minorUnits: .min, currency: .usd).subtracting(one)
    }
    #expect(throws: BankError.self) { try max.multiplied(by: 2) }
    #expect(try one.adding(one).minorUnits == 2)
    #expect(try one.subtracting(one).minorUnits == 0)
    let eur = Amount(minorUnits: 1, currency: .eur)
    #expect(throws: BankError.self) { try one.adding(eur) }
  }

  @Test func currencies() throws {
    for code in ["USD", "EUR", "GBP", "INR", "JPY", "CHF", "KWD"] {
      #expect(try Currency.named(code).code == code)
    }
    #expect(try Currency.named("KWD").minorDigits == 3)
    #expect(Currency.kwd.scale == 1000 && Currency.jpy.scale == 1 && Currency.usd.scale == 100)
    #expect(try Currency.named("JPY").minorDigits == 0)
    #expect(throws: BankError.self) { try Currency.named("XXX") }
    let custom = try Currency(code: "ZZT", minorDigits: 4)
    #expect(try Amount(parsing: "1.2345", currency: custom).minorUnits == 12345)
    #expect(throws: BankError.self) { try Currency(code: "usd", minorDigits: 2) }
    #expect(throws: BankError.self) { try Currency(code: "USDX", minorDigits: 2) }
    #expect(throws: BankError.self) { try Currency(code: "ABC", minorDigits: 10) }
  }

  /// A currency is one word (the letters and the digits packed), and packing loses nothing: every
  /// letter, every exponent and the difference between two currencies read back.
  @Test func aCurrencyIsOneWordAndPackingLosesNothing() throws {
    #expect(MemoryLayout<Currency>.size == 4)
    for c in Currency.builtIn {
      let again = try Currency(code: c.code, minorDigits: c.minorDigits)
      #expect(again == c && again.hashValue == c.hashValue && c.description == c.code)
    }
    for code in ["AAA", "ZZZ", "AZA", "ZAZ"] {
      for digits in 0...9 {
        let c = try Currency(code: code, minorDigits: digits)
        #expect(c.code == code && c.minorDigits == digits)
      }
    }
    #expect(try Currency(code: "USD", minorDigits: 3) != .usd)
    #expect(try Currency(code: "USE", minorDigits: 2) != .usd)
    #expect(try Currency(code: "USD", minorDigits: 2) == .usd)
  }
}

@Suite struct AccountNumberTests {
  @Test func luhnCheckDigits() throws {
    // Known Luhn example: 7992739871 has check digit 3.
    #expect(AccountNumber.checkDigit(for: 799_273_987_1) == 3)
    let n = try AccountNumber(base: 10_000_001)
    #expect(n.description == "1000-0001-7")
    #expect(try AccountNumber(parsing: "1000-0001-7") == n)
    #expect(try AccountNumber(parsing: "100000017") == n)
  }

  @Test(arguments: [
    "1000-0001-8", "1000-0001", "", "abcd-efgh-i", "1000000017x", "0000-0000-0", "1000_0001_7",
    "10000-001-7",
  ])
  func rejectsBadNumbers(text: String) {
    #expect(throws: BankError.self) { try AccountNumber(parsing: text) }
  }

  @Test func everySingleDigitTypoIsCaught() throws {
    let n = try AccountNumber(base: 12_345_678)
    let digits = Array(String(n.rawValue))
    for i in digits.indices {
      for d in "0123456789" where d != digits[i] {
        var t = digits
        t[i] = d
        #expect(throws: BankError.self) { try AccountNumber(parsing: String(t)) }
      }
    }
  }
}
