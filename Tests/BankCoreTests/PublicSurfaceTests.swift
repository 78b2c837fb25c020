import Foundation
import TestSupport
import Testing

@testable import BankCore

@Suite struct PublicSurfaceTests {
  @Test func theAsyncAPIServesManyTasksWithoutBlockingThePool() async throws {
    let dir = TempDirectory("async")
    defer { dir.remove() }
    let ledger = try Ledger(storage: FileStorage(path: dir.file("a.journal")))
    let a = try ledger.open(AccountSpec(name: "A")).number
    let b = try ledger.open(AccountSpec(name: "B")).number
    let bank = ledger.bank
    _ = try await bank.deposit(usd("100"), to: a)
    // More concurrent callers than cooperative threads: if a call blocked its thread while
    // waiting for the sync, this would serialise or stall.
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<64 {
        group.addTask {
          _ = try await bank.transfer(usd("1"), from: a, to: b, key: idem("t\(i)"))
        }
      }
      try await group.waitForAll()
    }
    #expect(try await bank.account(b).balance == usd("64"))
    #expect(try await ledger.perform { l throws(BankError) in try l.balance(of: a) } == usd("36"))
    do {
      _ = try await bank.withdraw(usd("1000"), from: a)
      Issue.record("an overdrawn withdrawal succeeded")
    } catch {
      #expect(error.code == .insufficientFunds)
    }
    ledger.close()
  }

  @Test func publicValuesEncodeAsBankctlsJSON() throws {
    let ledger = try Ledger(configuration: .init(clock: .manual(start: 1_774_976_400_000_000_000)))
    let a = try ledger.open(AccountSpec(name: "A", overdraftLimit: usd("50"))).number
    let b = try ledger.open(AccountSpec(name: "B")).number
    try ledger.deposit(usd("10"), to: a)
    let r = try ledger.transfer(usd("12.30"), from: a, to: b, key: idem("k1"), memo: "rent")
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    func text(_ v: some Encodable) throws -> String {
      String(decoding: try encoder.encode(v), as: UTF8.self)
    }
    #expect(
      try text(ledger.account(a))
        == #"{"account":"1000-0001-7","available":"47.70","balance":"-2.30","currency":"USD","name":"A","overdraft_limit":"50.00","pending":"0.00","status":"active","type":"checking"}"#
    )
    #expect(
      try text(r)
        == #"{"amount":"12.30","currency":"USD","from":"1000-0001-7","from_balance":"-2.30","replayed":false,"to":"1000-0002-5","to_balance":"12.30","transfer":"k1"}"#
    )
    let entry = try #require(try ledger.history(of: b).first)
    #expect(try text(entry).contains(#""time":"2026-03-31T17:00:00"#))
    #expect(
      try text(r.transfer)
        == #"{"amount":"12.30","currency":"USD","from":"1000-0001-7","hold":false,"kind":"transfer","memo":"rent","number":2,"time":"2026-03-31T17:00:00.003000Z","to":"1000-0002-5","transfer":"k1"}"#
    )
    // A hold's expiry is an Instant; its resolution carries an Amount in the hold's currency.
    let expiry = Instant(nanoseconds: 1_774_980_000_000_000_000)
    let h = try ledger.placeHold(usd("5"), from: b, expiresAt: expiry, key: idem("atm-1"))
    #expect(h.transfer.isHold && h.transfer.expiresAt == expiry && h.transfer.kind == .withdrawal)
    let posted = try ledger.postHold(.key(idem("atm-1")), amount: usd("2"))
    #expect(
      posted.amount == usd("2") && posted.hold == h.transfer.number && posted.outcome == .posted)
    #expect(try ledger.hold(.key(idem("atm-1"))).hold == h.transfer)
    #expect(try ledger.hold(.key(idem("atm-1"))).outcome == .posted)
    // Keys are validated once, where they are made.
    for bad in ["", "has space", String(repeating: "k", count: 65), "naïve"] {
      #expect(throws: BankError.self) { try IdempotencyKey(bad) }
    }
    #expect(try IdempotencyKey("req-1:a_b.c").text == "req-1:a_b.c")
    #expect(
      try text(BankError(.insufficientFunds, "no"))
        == #"{"error":{"code":"insufficient_funds","message":"no"}}"#)
    // Every code states its category; the CLI's exit codes and bankd's statuses follow it.
    for code in BankError.Code.allCases {
      #expect(BankError(code, "").isRuleViolation == (code.category == .refused))
    }
  }

  /// Code written against the previous surface still compiles (with deprecation warnings) and
  /// behaves as before: keys as text are validated, `0` still means "never" for an expiry.
  @available(*, deprecated, message: "exercises the deprecated overloads on purpose")
  @Test func theDeprecatedOverloadsStillWorkAndValidate() async throws {
    let bank = try Bank()
    let ledger = bank.ledger
    let a = try ledger.open(AccountSpec(name: "A")).number
    let b = try ledger.open(AccountSpec(name: "B")).number
    let usd = { (m: Int64) in Amount(minorUnits: m, currency: .usd) }
    let r = try ledger.deposit(usd(500), to: a, key: "old-1")
    #expect(r.transfer.transferID == "old-1" && r.transfer.timestamp == r.transfer.time.nanoseconds)
    #expect(try ledger.deposit(usd(500), to: a, key: "old-1").replayed)
    #expect(throws: BankError.self) { try ledger.deposit(usd(1), to: a, key: "bad key") }
    let h = try ledger.placeHold(usd(100), from: a, expiresAt: 0, key: "hold-1")
    #expect(h.transfer.expiresAt == nil && h.transfer.key?.text == "hold-1")
    let t = try await bank.transfer(usd(50), from: a, to: b, key: "async-1")
    #expect(t.transfer.id == "async-1")
    await #expect(throws: BankError.self) {
      try await bank.withdraw(usd(1), from: a, key: "no way")
    }
    #expect(try ledger.history(of: b).first?.timestamp == t.transfer.time.nanoseconds)
  }
}
