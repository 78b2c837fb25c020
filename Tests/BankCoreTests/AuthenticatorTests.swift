import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCore

/// The Authenticator as an embedding program uses it: its public calls on a `Bank`, with the
/// permission matrix enforced by the library on every money operation that takes a principal.
@Suite struct AuthenticatorTests {
  final class TestClock: Sendable {
    let value = Atomic<Int64>(AuthFixture.t0.nanoseconds)
    var clock: BankClock { BankClock { [self] in value.load(ordering: .relaxed) } }
    func advance(_ d: Duration) {
      value.add(Int64(d.components.seconds) * 1_000_000_000, ordering: .relaxed)
    }
  }

  struct World {
    let clock = TestClock()
    let bank: Bank
    let auth: Authenticator
    let ada: Customer
    let alan: Customer
    let people: [(String, Principal)]

    init() throws {
      bank = try Bank(configuration: BankConfiguration(clock: clock.clock))
      auth = try Authenticator(
        bank: bank, configuration: AuthFixture.configuration, pepper: Array(1...32))
      ada = try auth.registerCustomer(
        CustomerRegistration(
          name: "Ada Lovelace", email: "ada@example.org", phone: "+14155550100", age: 36),
        password: "correct horse battery")
      alan = try auth.registerCustomer(
        CustomerRegistration(
          name: "Alan Turing", email: "alan@example.org", phone: "+447700900123", age: 41),
        password: "enigma-bombe-1943!")
      for (user, role) in [("tess", Role.teller), ("max", .manager), ("aud", .auditor)] {
        try auth.addStaff(
          username: user, name: "Staff \(user)", role: role, password: "quiet harbour lantern 77")
      }
      try auth.deposit(
        Amount(minorUnits: 100_00, currency: .usd), to: ada.accounts[0], as: .operator)
      people = [
        ("owner", .customer(ada.id)), ("other customer", .customer(alan.id)),
        ("teller", .staff(username: "tess", role: .teller)),
        ("manager", .staff(username: "max", role: .manager)),
        ("auditor", .staff(username: "aud", role: .auditor)), ("operator", .operator),
      ]
    }
  }

  /// Every money operation that takes a principal × every kind of principal: allowed as
  /// DESIGN.md section 5 says, and a denied one refused with `permission_denied` and nothing
  /// appended.
  @Test func moneyOperationsEnforceTheMatrixAndDenialsChangeNothing() throws {
    let w = try World()
    let a = w.ada.accounts[0]
    let b = w.alan.accounts[0]
    let cent = Amount(minorUnits: 1, currency: .usd)
    let operations: [(String, [Bool], (Principal) throws(BankError) -> Void)] = [
      // owner, other customer, teller, manager, auditor, operator
      (
        "balance", [true, false, true, true, true, true],
        { p throws(BankError) in
          _ = try w.auth.account(a, as: p)
        }
      ),
      (
        "history", [true, false, true, true, true, true],
        { p throws(BankError) in
          _ = try w.auth.history(of: a, as: p)
        }
      ),
      (
        "transfer out", [true, false, false, false, false, true],
        { p throws(BankError) in
          try w.auth.transfer(cent, from: a, to: b, as: p)
        }
      ),
      (
        "deposit", [false, false, true, true, false, true],
        { p throws(BankError) in
          try w.auth.deposit(cent, to: a, as: p)
        }
      ),
      (
        "withdraw", [false, false, true, true, false, true],
        { p throws(BankError) in
          try w.auth.withdraw(cent, from: a, as: p)
        }
      ),
      (
        "freeze", [false, false, false, true, false, true],
        { p throws(BankError) in
          try w.auth.setStatus(.frozen, of: b, as: p)
          try w.auth.setStatus(.active, of: b, as: p)
        }
      ),
      (
        "overdraft", [false, false, false, true, false, true],
        { p throws(BankError) in
          try w.auth.setOverdraftLimit(Amount(minorUnits: 5_00, currency: .usd), of: a, as: p)
        }
      ),
    ]
    for (name, expected, call) in operations {
      for ((who, principal), allowed) in zip(w.people, expected) {
        let before = w.bank.lastSequence
        do throws(BankError) {
          try call(principal)
          #expect(allowed, "\(name) by \(who) should be refused")
        } catch {
          #expect(!allowed, "\(name) by \(who) refused: \(error)")
          #expect(error.code == .permissionDenied, "\(name) by \(who): \(error.code)")
          #expect(w.bank.lastSequence == before, "\(name) by \(who) appended records")
        }
      }
    }
    // A customer learns nothing about an account that does not exist.
    let unknown = try AccountNumber(base: 9_999_999)
    #expect(throws: BankError.self) { try w.auth.account(unknown, as: .customer(w.ada.id)) }
    do throws(BankError) {
      _ = try w.auth.account(unknown, as: .customer(w.ada.id))
    } catch {
      #expect(error.code == .permissionDenied)
    }
    // Nor through operations a customer may not do at all, or may do only on what they own.
    let ada = Principal.customer(w.ada.id)
    for (name, call) in [
      ("withdraw", { () throws(BankError) in try w.auth.withdraw(cent, from: unknown, as: ada) }),
      ("freeze", { () throws(BankError) in try w.auth.setStatus(.frozen, of: unknown, as: ada) }),
      (
        "transfer",
        { () throws(BankError) in try w.auth.transfer(cent, from: unknown, to: a, as: ada) }
      ),
    ] as [(String, () throws(BankError) -> Any)] {
      do throws(BankError) {
        _ = try call()
        Issue.record("\(name) on an unknown account was accepted")
      } catch {
        #expect(error.code == .permissionDenied, "\(name): \(error.code)")
      }
    }
    // A key someone else used is another operation: keys are scoped by the acting principal
    // (issue 17), so nobody learns of, or collides with, another's keys.
    try w.auth.deposit(cent, to: b, key: idem("shared-1"), as: .operator)
    let mine = try w.auth.transfer(cent, from: a, to: b, key: idem("shared-1"), as: ada)
    #expect(!mine.replayed && mine.transfer.key == idem("shared-1"))
    // A customer's own conflict names the field, as staff's do (the key is the customer's own).
    do throws(BankError) {
      try w.auth.transfer(
        Amount(minorUnits: 2, currency: .usd), from: a, to: b, key: idem("shared-1"), as: ada)
      Issue.record("a conflicting key was accepted")
    } catch {
      #expect(error.code == .idempotencyConflict)
      #expect(error.message.contains("amount"), "\(error.message)")
    }
    // The bank's own accounts are never a side of a principal's transfer.
    let vault = try #require(try w.ledgerVault(w))
    do throws(BankError) {
      try w.auth.transfer(cent, from: a, to: vault, as: .customer(w.ada.id))
      Issue.record("a transfer into the vault was accepted")
    } catch {
      #expect(error.code == .internalAccount)
    }
    // DESIGN.md 6: a customer is refused an account that does not exist as one that is not
    // theirs (403), as payee or payer; the operator learns that it does not exist. Nothing moves.
    let nowhere = try AccountNumber(parsing: "1999-9999-6")
    let before = try w.auth.ledger.balance(of: a)
    for (from, to) in [(a, nowhere), (nowhere, a)] {
      do throws(BankError) {
        try w.auth.transfer(cent, from: from, to: to, as: ada)
        Issue.record("a transfer with account \(nowhere) was accepted")
      } catch {
        #expect(error.code == .permissionDenied, "\(error)")
        #expect(to != nowhere || error.message.contains(nowhere.description), "\(error.message)")
      }
    }
    #expect(try w.auth.ledger.balance(of: a) == before)
    do throws(BankError) {
      try w.auth.transfer(cent, from: a, to: nowhere, as: .operator)
      Issue.record("the operator's transfer to no account was accepted")
    } catch {
      #expect(error.code == .accountNotFound)
    }
  }

  /// Paying another customer's account is not reading it: the payer's receipt hides the credited
  /// account's name and figures (`to_balance` null in JSON); staff and the operator see them.
  @Test func aCustomersReceiptHidesTheAccountItPays() throws {
    let w = try World()
    let (a, b) = (w.ada.accounts[0], w.alan.accounts[0])
    try w.auth.deposit(Amount(minorUnits: 77_00, currency: .usd), to: b, as: .operator)
    let cent = Amount(minorUnits: 1, currency: .usd)
    let paid = try w.auth.transfer(cent, from: a, to: b, as: .customer(w.ada.id))
    #expect(paid.creditAccountHidden && paid.creditAccount.number == b)
    #expect(paid.creditAccount.balance.minorUnits == 0 && paid.creditAccount.name.isEmpty)
    #expect(paid.debitAccount.balance.minorUnits == 99_99 && !paid.debitAccount.name.isEmpty)
    let json = String(decoding: try JSONEncoder().encode(paid), as: UTF8.self)
    #expect(json.contains("\"to_balance\":null") && !json.contains("77.01"), "\(json)")
    // Between one's own accounts, and for staff, nothing is hidden.
    let second = try w.auth.openAccount(
      for: w.ada.id, spec: AccountSpec(name: "Ada Lovelace", kind: .savings))
    let own = try w.auth.transfer(cent, from: a, to: second.number, as: .customer(w.ada.id))
    #expect(!own.creditAccountHidden && own.creditAccount.balance.minorUnits == 1)
    let tess = Principal.staff(username: "tess", role: .teller)
    try w.auth.deposit(cent, to: b, as: tess)
    let op = try w.auth.transfer(cent, from: a, to: b, as: .operator)
    #expect(!op.creditAccountHidden && op.creditAccount.balance.minorUnits == 77_03)
  }

  /// Using a session journals nothing until its activity is due: it is judged on a read and
  /// never queues as a commit (on a shared database it would wait for a turn to append); once
  /// the activity is due, it commits it, and an expired session is ended by a commit.
  @Test func usingASessionCommitsOnlyWhenItHasSomethingToJournal() throws {
    let clock = TestClock()
    let storage = RoundTripStorage(delayMicroseconds: 0)
    let bank = try Bank(storage: storage, configuration: BankConfiguration(clock: clock.clock))
    let auth = try Authenticator(
      bank: bank, configuration: AuthFixture.configuration, pepper: Array(1...32))
    let ada = try auth.registerCustomer(
      CustomerRegistration(
        name: "Ada Lovelace", email: "ada@example.org", phone: "+14155550100", age: 36),
      password: "correct horse battery")
    let grant = try auth.login(customer: ada.id, password: "correct horse battery")
    let (appends, turns, head) = (
      storage.appends.load(ordering: .relaxed), storage.turns.load(ordering: .relaxed),
      storage.lastSequence
    )
    #expect(turns > 0 && turns == storage.turnsEnded.load(ordering: .relaxed))
    for _ in 0..<5 {
      clock.advance(.seconds(5))
      #expect(try auth.authenticate(token: grant.token) == .customer(ada.id))
    }
    #expect(storage.appends.load(ordering: .relaxed) == appends)
    #expect(storage.turns.load(ordering: .relaxed) == turns)
    #expect(storage.lastSequence == head)
    // A minute on, the activity is due: one commit journals it.
    clock.advance(AuthConfiguration().sessionActivityInterval)
    #expect(try auth.authenticate(token: grant.token) == .customer(ada.id))
    #expect(storage.turns.load(ordering: .relaxed) == turns + 1)
    #expect(storage.lastSequence == head + 1)
    // Idle past its timeout, the session is ended by a commit and refused.
    clock.advance(AuthFixture.configuration.sessionIdleTimeout + .seconds(1))
    #expect(throws: BankError.self) { try auth.authenticate(token: grant.token) }
    #expect(storage.lastSequence == head + 2)
    #expect(throws: BankError.self) { try auth.authenticate(token: grant.token) }
    #expect(storage.lastSequence == head + 2)
  }

  @Test func aSessionTokenActsAsItsPrincipalAsynchronously() async throws {
    let w = try World()
    let grant = try w.auth.login(customer: w.ada.id, password: "correct horse battery")
    #expect(grant.token.utf8.count >= 22)
    let who = try w.auth.authenticate(token: grant.token)
    #expect(who == .customer(w.ada.id))
    let (a, b) = (w.ada.accounts[0], w.alan.accounts[0])
    let receipt = try await w.auth.perform { auth throws(BankError) in
      try auth.transfer(
        Amount(minorUnits: 25_00, currency: .usd), from: a, to: b,
        key: try IdempotencyKey("rent-1"), as: who)
    }
    #expect(receipt.transfer.amount == Amount(minorUnits: 25_00, currency: .usd))
    #expect(receipt.transfer.debit == a && receipt.transfer.credit == b)
    // A principal's key is theirs alone: the transfer is named by its number, never by the key.
    #expect(
      receipt.transfer.key?.text == "rent-1"
        && receipt.transfer.id == "#\(receipt.transfer.number)")
    #expect(receipt.debitAccount.balance == Amount(minorUnits: 75_00, currency: .usd))
    // Alan's session may not spend Ada's money.
    let alanSession = try w.auth.login(customer: w.alan.id, password: "enigma-bombe-1943!")
    let alan = try w.auth.authenticate(token: alanSession.token)
    do throws(BankError) {
      _ = try await w.auth.perform { auth throws(BankError) in
        try auth.transfer(Amount(minorUnits: 1, currency: .usd), from: a, to: b, as: alan)
      }
      Issue.record("Alan spent Ada's money")
    } catch {
      #expect(error.code == .permissionDenied)
    }
  }

  @Test func loginsEndSessionsPastTheirTimeouts() throws {
    let w = try World()
    for _ in 0..<5 {
      _ = try w.auth.login(customer: w.ada.id, password: "correct horse battery")
    }
    let live = { () throws -> Int in
      try w.bank.read { s throws(BankError) in try Authenticator.auth(s).sessions.count }
    }
    // The first login of the run swept (nothing); the others are within one idle timeout.
    #expect(try live() == 5)
    w.clock.advance(.seconds(16 * 60))
    _ = try w.auth.login(customer: w.alan.id, password: "enigma-bombe-1943!")
    // Ada's five sessions idled out and were ended; Alan's new one is the only one left.
    #expect(try live() == 1)
  }
}

extension AuthenticatorTests.World {
  func ledgerVault(_ w: Self) throws -> AccountNumber? {
    try w.auth.ledger.vault(for: .usd)?.number
  }
}
