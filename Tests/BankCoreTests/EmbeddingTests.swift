import BankCore
import Foundation
import TestSupport
import Testing

/// Issue 19: the library as embedders meet it (no `@testable`: only what an embedder sees).
@Suite struct EmbeddingTests {
  let dir = TempDirectory("embedding")

  @Test func oneErrorTypeAtTheFrontDoor() throws(BankError) {
    let path = dir.file("front.journal")
    let bank = try Bank(path: path)
    let a = try bank.ledger.open(AccountSpec(name: "Ada")).number
    try bank.ledger.deposit(Amount(minorUnits: 5_00, currency: .usd), to: a)
    bank.close()
    let ledger = try Ledger(path: path, options: .init(readOnly: true))
    #expect(try ledger.balance(of: a) == Amount(minorUnits: 5_00, currency: .usd))
    ledger.close()
    do {
      _ = try Ledger(path: dir.file("missing.journal"), options: .init(createIfMissing: false))
      Issue.record("a missing store opened")
    } catch {
      #expect(error.code == .storeNotFound)
    }
    let memory = try Ledger.inMemory()
    #expect(try memory.accounts().isEmpty)
    #expect(try Bank.inMemory().ledger.accounts().isEmpty)
  }

  @Test func errorsDescribeThemselvesAndDecodeFromTheirJSON() throws {
    let e = BankError(.insufficientFunds, "account 1000-0001-7 has 3.00 USD available")
    #expect(e.localizedDescription == "account 1000-0001-7 has 3.00 USD available")
    #expect((e as any Error).localizedDescription == e.message)
    let json = try JSONEncoder().encode(e)
    #expect(
      String(decoding: json, as: UTF8.self).contains("\"code\":\"insufficient_funds\""))
    #expect(try JSONDecoder().decode(BankError.self, from: json) == e)
    #expect(throws: DecodingError.self) {
      try JSONDecoder().decode(
        BankError.self, from: Data(#"{"error":{"code":"no_such_code","message":"x"}}"#.utf8))
    }
  }

  @Test func amountsCompareAndAddWithinACurrency() throws {
    let usd = { (m: Int64) in Amount(minorUnits: m, currency: .usd) }
    #expect(usd(1) < usd(2) && [usd(3), usd(1), usd(2)].sorted() == [usd(1), usd(2), usd(3)])
    #expect(try usd(1_50) + usd(25) == usd(1_75))
    #expect(try usd(1_50) - usd(2_00) == usd(-50))
    #expect(try -usd(5) == usd(-5))
    #expect(try usd(1).isLess(than: usd(2)))
    let eur = Amount(minorUnits: 1, currency: .eur)
    #expect(throws: BankError.self) { try usd(1) + eur }
    #expect(throws: BankError.self) { try usd(1).isLess(than: eur) }
    #expect(throws: BankError.self) { try usd(Int64.max) + usd(1) }
    #expect(throws: BankError.self) { try -usd(Int64.min) }
  }

  @Test func closuresInferTheirErrorType() async throws {
    let bank = try Bank.inMemory()
    let ledger = bank.ledger
    let a = try await bank.open(AccountSpec(name: "Ada")).number
    // The documented spellings compile: an untyped closure throws `any Error`...
    let balance = try await ledger.perform { try $0.balance(of: a) }
    #expect(balance == Amount(minorUnits: 0, currency: .usd))
    // ...and a typed one keeps BankError.
    do {
      _ = try await ledger.perform { l throws(BankError) in try l.balance(of: a) }
      let auth = try Authenticator(bank: bank)
      _ = try await auth.perform { try $0.visibleAccounts(as: .operator) }
    } catch {
      Issue.record("\(error)")
    }
    // The async surface covers holds, batches and paged history.
    let b = try await bank.open(AccountSpec(name: "Bob")).number
    try await bank.submit([.deposit(amount: Amount(minorUnits: 10_00, currency: .usd), to: a)])
    let hold = try await bank.placeHold(Amount(minorUnits: 4_00, currency: .usd), from: a, to: b)
    try await bank.postHold(.number(hold.transfer.number))
    let page = try await bank.history(of: a, limit: 1)
    let older = try await bank.history(of: a, limit: 1, before: page.last?.cursor)
    #expect(page.count == 1 && older.count == 1 && page[0].cursor != older[0].cursor)
    #expect(try await bank.balance(of: b) == Amount(minorUnits: 4_00, currency: .usd))
  }

  @Test func aSecondWriterInTheSameProcessIsToldAtOnce() throws {
    let path = dir.file("twice.journal")
    let first = try Bank(path: path, options: .init(lockTimeout: .seconds(30)))
    let started = ContinuousClock.now
    do {
      _ = try Bank(path: path, options: .init(lockTimeout: .seconds(30)))
      Issue.record("a second writer opened")
    } catch {
      #expect(error.code == .storeLocked)
      #expect(error.message.contains("already open for writing in this process"), "\(error)")
    }
    #expect(ContinuousClock.now - started < .seconds(5), "it did not wait for its own lock")
    // Readers are not writers; and once closed, the store opens again.
    let reader = try Bank(path: path, options: .init(readOnly: true))
    reader.close()
    first.close()
    do {
      _ = try first.ledger.accounts()
      Issue.record("a closed bank answered")
    } catch {
      #expect(error.message == "the bank is closed; open the store again to use it")
    }
    try Bank(path: path).close()
  }
}
