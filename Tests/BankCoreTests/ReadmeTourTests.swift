import BankCore
import Foundation
import TestSupport
import Testing

/// The README's library tour, kept compiling and true.
@Suite struct ReadmeTourTests {
  /// The README's snippet, with its `print`s turned into expectations.
  func tour(in directory: URL) throws {
    let path = directory.appendingPathComponent("library-tour.journal").path
    for file in [path, path + ".snapshot"] { try? FileManager.default.removeItem(atPath: file) }

    let ledger = try Ledger(path: path)
    let alice = try ledger.open(
      AccountSpec(name: "Alice", overdraftLimit: Amount(parsing: "50", currency: .usd)))
    let bob = try ledger.open(AccountSpec(name: "Bob", kind: .savings))

    try ledger.deposit(Amount(parsing: "100.00", currency: .usd), to: alice.number)
    let r = try ledger.transfer(
      Amount(parsing: "12.34", currency: .usd), from: alice.number, to: bob.number,
      key: try IdempotencyKey("invoice-17"), memo: "rent")
    #expect(r.debitAccount.balance.formatted == "87.66 USD")

    try ledger.placeHold(
      Amount(parsing: "40", currency: .usd), from: alice.number,
      key: try IdempotencyKey("atm-1"))
    try ledger.postHold(.key(try IdempotencyKey("atm-1")))

    try ledger.submit([
      .transfer(amount: Amount(parsing: "1", currency: .usd), from: alice.number, to: bob.number),
      .withdraw(amount: Amount(parsing: "2", currency: .usd), from: bob.number),
    ])
    let history = try ledger.history(of: alice.number)
    #expect(history.count == 4)
    #expect(history.first?.balance == Amount(minorUnits: 46_66, currency: .usd))
    // The design's names.
    let t: Transfer = r.transfer
    #expect(t.id == "invoice-17" && t.key?.text == "invoice-17" && t.amount.minorUnits == 12_34)
    ledger.close()
  }

  /// The README's facade snippet, with its `print` turned into an expectation.
  @Test func theFacadeSnippetWorksAsWritten() async throws {
    let bank = try Bank.inMemory()
    let people = try Authenticator(bank: bank)
    _ = try people.addStaff(
      username: "tess", name: "Tess Rowe", role: .teller, password: "teller password 1",
      as: .operator)
    let tess = try people.authenticate(
      token: people.login(staff: "tess", password: "teller password 1").token)

    let ada = try people.registerCustomer(
      CustomerRegistration(
        name: "Ada Lovelace", email: "ada@example.org", phone: "+442071234567", age: 36),
      password: "correct horse battery", as: tess)
    try people.deposit(Amount(parsing: "250", currency: .usd), to: ada.accounts[0], as: tess)

    let cash = try await bank.withdraw(Amount(parsing: "40", currency: .usd), from: ada.accounts[0])
    #expect(cash.debitAccount.balance.formatted == "210.00 USD")
    bank.close()

    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")
    let text = try String(contentsOf: readme, encoding: .utf8)
    for line in [
      "let bank = try Bank.inMemory()",
      "let ledger = try Ledger(path: path)",
      "let people = try Authenticator(bank: bank)",
      "let cash = try await bank.withdraw(Amount(parsing: \"40\", currency: .usd), from: ada.accounts[0])",
    ] {
      #expect(text.contains(line), "README.md no longer has: \(line)")
    }
  }

  @Test func theTourWorksAsWrittenTwiceInARow() throws {
    let dir = TempDirectory("tour")
    defer { dir.remove() }
    // The second run meets the first run's journal (same path), as a reader rerunning it would.
    try tour(in: URL(fileURLWithPath: dir.path))
    try tour(in: URL(fileURLWithPath: dir.path))
    // And the README says what this test does.
    let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("README.md")
    let text = try String(contentsOf: readme, encoding: .utf8)
    for line in [
      "for file in [path, path + \".snapshot\"] { try? FileManager.default.removeItem(atPath: file) }",
      "let ledger = try Ledger(path: path)",
    ] {
      #expect(text.contains(line), "README.md no longer has: \(line)")
    }
  }
}
