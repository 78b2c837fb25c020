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
    // A damaged stamp is a decode error, never a crash (the flag is cleared before the core
    // sees the record).
    for bytes: [UInt8] in [[0x02, 0x80], [0x02, 0x82, 0xFF], [0x01, 0x81, 0, 0, 0, 250]] {
      #expect(throws: DecodeError.self) {
        try bytes.withUnsafeBytes { b in _ = try JournalRecord.decode(b) }
      }
      #expect(throws: DecodeError.self) {
        try bytes.withUnsafeBytes { b in _ = try JournalRecord.decodeTransfer(b) }
      }
    }
    // A long name is cut between characters, and still decodes.
    let long = Origin(
      principal: .staff(username: String(repeating: "日", count: 100), role: .manager),
      channel: .service)
    let stamp = try #require(RecordEnvelope.stamp(for: long))
    var bytes: [UInt8] = [2, 2, 0, 1]
    RecordEnvelope.apply(stamp, to: &bytes, recordAt: 0)
    let decoded = try bytes.withUnsafeBytes { b in try RecordEnvelope.origin(of: b) }
    #expect(decoded.channel == .service)
    if case .staff(let name, .manager) = decoded.principal {
      #expect(name == String(repeating: "日", count: 66))
    } else {
      Issue.record("not a manager: \(decoded)")
    }
  }
}
