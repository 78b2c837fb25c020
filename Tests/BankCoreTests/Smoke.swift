import Testing
@testable import BankCore
@Test func smoke() { #expect(true) }
