import Foundation
import TestSupport
import Testing

@testable import BankCore

/// Who did it, through what: the origin stamped on every record a commit writes.
@Suite struct OriginTests {
  let usd = Currency.usd

  @Test func everyRecordNamesItsPrincipalAndChannelAndReplaysUnchanged() async throws {
    let dir = TempDirectory("origin")
    defer { dir.remove() }
    let path = dir.file("origin.journal")
    var bank = try Bank(storage: FileStorage(path: path))
    var auth = try Authenticator(
      bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000))
    let tom = try auth.addStaff(
      username: "tom", name: "Tom Teller", role: .teller, password: "counter work 2026 blue")
    let teller = Principal.staff(username: tom.username, role: .teller)
    let customer = try auth.registerCustomer(
      CustomerRegistration(
        name: "Ada Lovelace", email: "ada@example.com", phone: "+14155550101", age: 36),
      password: "a long enough passphrase 1", as: teller)
    let account = try Ledger(bank).account(try #require(customer.accounts.first))
    try auth.deposit(
      Amount(minorUnits: 100_00, currency: usd), to: account.number, as: teller)
    let other = try Ledger(bank).open(AccountSpec(name: "Other")).number
    // A customer through the service.
    try Origin.withOrigin(Origin(principal: .operator, channel: .service)) {
      () throws(BankError) in
      try auth.transfer(
        Amount(minorUnits: 25_00, currency: usd), from: account.number, to: other,
        as: .customer(customer.id))
    }
    let staffView = try auth.history(of: account.number, as: .operator)
    #expect(
      staffView.map(\.origin) == [
        Origin(principal: .customer(customer.id), channel: .service),
        Origin(principal: teller, channel: .cli),
      ])
    // Customers do not see who did it.
    let own = try auth.history(of: account.number, as: .customer(customer.id))
    #expect(own.allSatisfy { $0.origin == nil } && own.count == 2)
    // The feed carries the stamps: the registration records name the teller.
    var origins: [UInt64: Origin] = [:]
    try bank.forEachCommitted(after: 0) { seq, bytes in
      origins[seq] = try? RecordEnvelope.origin(of: bytes)
      return true
    }
    #expect(origins.values.contains(Origin(principal: teller, channel: .cli)))
    #expect(origins.values.contains(.operatorOnCLI))
    // Replay reads through the stamps: the same state, and verify passes.
    let before = try Ledger(bank).accounts()
    bank.close()
    bank = try Bank(storage: FileStorage(path: path), configuration: .init(snapshotEvery: 0))
    auth = try Authenticator(bank: bank)
    #expect(try Ledger(bank).accounts() == before)
    #expect(try auth.history(of: account.number, as: .operator) == staffView)
    _ = try bank.verify()
    bank.close()
  }

  @Test func stampsRoundTripAndDamageIsRefused() throws {
    let origins = [
      Origin(principal: .customer(CustomerID(1)), channel: .cli),
      Origin(principal: .customer(CustomerID(UInt32.max)), channel: .terminal),
      Origin(principal: .staff(username: "a.b-c_d", role: .auditor), channel: .service),
      Origin(principal: .operator, channel: .service),
    ]
    for o in origins {
      let stamp = try #require(RecordEnvelope.stamp(for: o))
      var bytes: [UInt8] = [2, 2, 0, 1]
      RecordEnvelope.apply(stamp, to: &bytes, recordAt: 0)
      #expect(try bytes.withUnsafeBytes { b in try RecordEnvelope.origin(of: b) } == o)
      let body = bytes.withUnsafeBytes { b in RecordEnvelope.withBody(b) { Array($0) } }
      #expect(body == [2, 2, 0, 1])
      // A stamp whose length byte lies is damage, never a silent misreading.
      var bad = bytes
      bad[bad.count - 1] = 200
      #expect(throws: DecodeError.self) {
        try bad.withUnsafeBytes { b in try RecordEnvelope.origin(of: b) }
      }
    }
    #expect(RecordEnvelope.stamp(for: .operatorOnCLI) == nil)
  }
}
