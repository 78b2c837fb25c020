import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCore

/// Several banks writing one store (what nodes on one database will do): an append is
/// conditional on the head the bank last applied, the loser catches up and validates again, so
/// nothing is lost, doubled or judged against a stale state.
@Suite struct SharedStoreTests {
  /// Two banks on one in-memory store, each with an account to move money between.
  func twoBanks() throws -> (Bank, Bank, AccountNumber, AccountNumber) {
    let storage = InMemoryStorage()
    let a = try Bank(storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    let x = try a.ledger.open(AccountSpec(name: "X")).number
    let y = try a.ledger.open(AccountSpec(name: "Y")).number
    try a.ledger.deposit(usd("100"), to: x)
    let b = try Bank(storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    return (a, b, x, y)
  }

  @Test func aBankThatLosesTheAppendCatchesUpAndValidatesAgain() throws {
    let (a, b, x, y) = try twoBanks()
    try a.ledger.deposit(usd("50"), to: x)
    // B has not seen A's deposit: its first try is valid against what it knows, but loses the
    // append; it applies the deposit and stages the transfer again after it.
    let r = try b.ledger.transfer(usd("20"), from: x, to: y)
    #expect(r.debitAccount.balance == usd("130") && !r.replayed)
    try a.ledger.deposit(usd("50"), to: x)
    // Here B's first try is refused (100.00 + nothing it knows of); against the store's 180.00
    // it is not.
    let s = try b.ledger.transfer(usd("170"), from: x, to: y)
    #expect(s.debitAccount.balance == usd("10"))
    try a.refresh()
    #expect(
      try a.ledger.balance(of: x) == usd("10") && a.ledger.lastSequence == b.ledger.lastSequence)
    #expect(a.encodedState() == b.encodedState())
  }

  @Test func aKeyUsedThroughOneBankIsAReplayThroughTheOther() throws {
    let (a, b, x, y) = try twoBanks()
    let key = try IdempotencyKey("pay-1")
    let first = try a.ledger.transfer(usd("10"), from: x, to: y, key: key)
    let again = try b.ledger.transfer(usd("10"), from: x, to: y, key: key)
    #expect(again.replayed && again.transfer.number == first.transfer.number)
    #expect(throws: BankError.self) { try b.ledger.transfer(usd("11"), from: x, to: y, key: key) }
    #expect(try b.ledger.balance(of: x) == usd("90"))
  }

  @Test func aRefusalAgainstAStaleStateIsJudgedAgain() throws {
    let (a, b, x, y) = try twoBanks()
    let z = try a.ledger.open(AccountSpec(name: "Z")).number
    try a.ledger.deposit(usd("500"), to: x)
    // B knows neither Z nor the 500.00: against its state this is account_not_found, and then
    // insufficient_funds; against the store's it succeeds.
    let r = try b.ledger.transfer(usd("550"), from: x, to: z)
    #expect(r.creditAccount.balance == usd("550"))
    // A refusal that stands is still refused, and stores nothing.
    let before = b.ledger.lastSequence
    #expect(throws: BankError.self) { try b.ledger.transfer(usd("1000"), from: y, to: x) }
    #expect(b.ledger.lastSequence == before)
  }

  /// People through two banks on one store: what one bank records (a registration, a logout)
  /// holds in the other, even for a command that writes nothing; verify and history cursors work
  /// on a bank that is behind.
  @Test func sessionsRegistrationsVerifyAndCursorsHoldAcrossBanks() throws {
    let (a, b, x, y) = try twoBanks()
    let config = AuthConfiguration(passwordIterations: 1_000)
    let (authA, authB) = (
      try Authenticator(bank: a, configuration: config),
      try Authenticator(bank: b, configuration: config)
    )
    let ada = try authA.registerCustomer(
      CustomerRegistration(
        name: "Ada Lovelace", email: "ada@example.org", phone: "+14155550100", age: 36),
      password: "correct horse battery")
    // B has not seen the registration: the login reads the store as it is.
    let grant = try authB.login(customer: ada.id, password: "correct horse battery")
    #expect(try authA.authenticate(token: grant.token) == .customer(ada.id))
    try authA.logout(token: grant.token)
    // B's check of the session writes nothing, yet it is judged against the logout.
    #expect(throws: BankError.self) { try authB.authenticate(token: grant.token) }
    // A bank behind the store verifies what the store holds, not what it last saw.
    try a.ledger.transfer(usd("1"), from: x, to: y)
    #expect(try b.verify().records == a.ledger.lastSequence)
    // A cursor from one bank pages on the other (once it has caught up: reads show a bank's
    // state as of its last commit or refresh).
    for _ in 0..<3 { try a.ledger.deposit(usd("1"), to: y) }
    let page = try a.ledger.history(of: y, limit: 2)
    #expect(try b.refresh() > 0)
    let rest = try b.ledger.history(of: y, before: try #require(page.last).cursor)
    #expect(rest.count == 2 && rest.first?.balance == usd("2"))
  }

  /// Threads on two banks race keyed transfers over one store, half of the keys shared. Every
  /// key moves money once, both banks end on the same state, and the totals balance.
  @Test func racingBanksLoseNothingAndDoubleNothing() throws {
    let seed: UInt64 = 20_261_129
    print("racingBanksLoseNothingAndDoubleNothing seed \(seed)")
    let storage = InMemoryStorage()
    let a = try Bank(storage: storage, configuration: .init(snapshotEvery: 0))
    let accounts = try (0..<8).map { i in
      try a.ledger.open(AccountSpec(name: "A\(i)")).number
    }
    for n in accounts { try a.ledger.deposit(usd("1000"), to: n) }
    let b = try Bank(storage: storage, configuration: .init(snapshotEvery: 0))
    let banks = [a, b]
    let failures = Mutex<[String]>([])
    let perThread = 300
    DispatchQueue.concurrentPerform(iterations: 4) { t in
      var rng = SplitMix64(seed: seed &+ UInt64(t))
      let bank = banks[t % 2]
      for i in 0..<perThread {
        // Threads 0 and 1 (one per bank) use the same keys; 2 and 3 their own.
        let key = t < 2 ? "shared-\(i)" : "own-\(t)-\(i)"
        let from = accounts[Int(rng.next() % 8)]
        let to = accounts[(accounts.firstIndex(of: from)! + 1 + Int(rng.next() % 7)) % 8]
        do {
          let k = try IdempotencyKey(key)
          // The shared keys carry the same fields from both threads, so one of them replays.
          let (f, d) = t < 2 ? (accounts[i % 8], accounts[(i + 1) % 8]) : (from, to)
          try bank.ledger.transfer(usd("0.01"), from: f, to: d, key: k)
        } catch {
          failures.withLock { $0.append("thread \(t) transfer \(i): \(error)") }
        }
      }
    }
    #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")
    try a.refresh()
    try b.refresh()
    #expect(a.encodedState() == b.encodedState())
    #expect(a.invariantViolation() == nil)
    // Deposits, then one record per distinct key: 300 shared + 2 × 300 own.
    let history = try accounts.map { n in try a.ledger.history(of: n) }
    let keyed = Set(history.joined().compactMap { $0.transfer.hasPrefix("#") ? nil : $0.transfer })
    #expect(keyed.count == perThread * 3)
    let total = try accounts.map { n in try a.ledger.balance(of: n).minorUnits }.reduce(0, +)
    #expect(total == 8 * 1000_00)
    // A fresh bank replaying the store agrees with both.
    let c = try Bank(storage: storage, configuration: .init(snapshotEvery: 0))
    #expect(c.encodedState() == a.encodedState())
  }
}

extension Bank {
  /// Every core's state as snapshot bytes: equal bytes, equal states.
  func encodedState() -> [UInt8] { guarded.withLock { $0.state.encodeSnapshot() } }
}
