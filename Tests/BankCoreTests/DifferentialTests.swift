import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCore

/// Random operation sequences against a naive model: a dictionary of balances and holds.
@Suite struct DifferentialTests {
  struct Model {
    var balance: [AccountNumber: Int64] = [:]
    var pending: [AccountNumber: Int64] = [:]
    var overdraft: [AccountNumber: Int64] = [:]
    var frozen: Set<AccountNumber> = []
    var holds: [String: (AccountNumber, Int64)] = [:]
    var keys: [String: (String, AccountNumber, AccountNumber?, Int64)] = [:]

    func available(_ a: AccountNumber) -> Int64 {
      balance[a, default: 0] - pending[a, default: 0] + overdraft[a, default: 0]
    }
  }

  @Test(arguments: 0..<200 as Range<UInt64>)
  func randomOperationsMatchTheModel(seed: UInt64) throws {
    var rng = SplitMix64(seed: seed)
    let storage = InMemoryStorage()
    let ledger = try Ledger(
      storage: storage, configuration: .init(clock: .manual(), snapshotEvery: 0))
    var model = Model()
    var accounts: [AccountNumber] = []
    for i in 0..<4 {
      let od = i == 0 ? Int64(5_000) : 0
      let a = try ledger.open(
        AccountSpec(name: "A\(i)", overdraftLimit: Amount(minorUnits: od, currency: .usd))
      ).number
      accounts.append(a)
      model.overdraft[a] = od
    }
    func pick() -> AccountNumber { accounts[Int(rng.next() % UInt64(accounts.count))] }
    func amount() -> Int64 { Int64(rng.next() % 20_000) + (rng.next() % 10 == 0 ? 0 : 1) }
    for step in 0..<150 {
      let op = rng.next() % 9
      let a = pick()
      let b = pick()
      let m = amount()
      let key: String? = rng.next() % 3 == 0 ? "k\(rng.next() % 20)" : nil
      let ikey = key.map(idem)
      let amt = Amount(minorUnits: m, currency: .usd)
      var expectedOK: Bool
      /// A money call with a key the model has seen: the identical call replays and moves
      /// nothing; any other is an idempotency conflict. The model is unchanged either way, and
      /// the comparison after the switch still runs.
      func retried(
        _ op: String, _ b: AccountNumber?, _ call: () throws(BankError) -> TransferReceipt
      ) -> Bool {
        guard let key, let prior = model.keys[key] else { return false }
        let same = prior.0 == op && prior.1 == a && prior.2 == b && prior.3 == m
        do {
          let r = try call()
          #expect(same && r.replayed, "seed \(seed) step \(step): \(op) with key \(key) replayed")
          #expect(
            r.transfer.amount.minorUnits == prior.3, "seed \(seed) step \(step): replay amount")
        } catch {
          #expect(
            !same && error.code == .idempotencyConflict,
            "seed \(seed) step \(step): \(op) with reused key \(key): \(error)")
        }
        return true
      }
      switch op {
      case 0, 1:  // deposit
        expectedOK = m > 0
        if retried(
          "deposit", nil,
          { () throws(BankError) in
            try ledger.deposit(amt, to: a, key: ikey)
          })
        {
          break
        }
        let ok = (try? ledger.deposit(amt, to: a, key: ikey)) != nil
        #expect(ok == expectedOK, "seed \(seed) step \(step): deposit \(m)")
        if ok {
          model.balance[a, default: 0] += m
          if let key { model.keys[key] = ("deposit", a, nil, m) }
        }
      case 2, 3:  // withdraw
        if retried(
          "withdraw", nil,
          { () throws(BankError) in
            try ledger.withdraw(amt, from: a, key: ikey)
          })
        {
          break
        }
        expectedOK = m > 0 && m <= model.available(a) && !model.frozen.contains(a)
        let ok = (try? ledger.withdraw(amt, from: a, key: ikey)) != nil
        #expect(
          ok == expectedOK, "seed \(seed) step \(step): withdraw \(m) avail \(model.available(a))")
        if ok {
          model.balance[a, default: 0] -= m
          if let key { model.keys[key] = ("withdraw", a, nil, m) }
        }
      case 4, 5:  // transfer
        if retried(
          "transfer", b,
          { () throws(BankError) in
            try ledger.transfer(amt, from: a, to: b, key: ikey)
          })
        {
          break
        }
        expectedOK = m > 0 && a != b && m <= model.available(a) && !model.frozen.contains(a)
        let ok = (try? ledger.transfer(amt, from: a, to: b, key: ikey)) != nil
        #expect(ok == expectedOK, "seed \(seed) step \(step): transfer \(m)")
        if ok {
          model.balance[a, default: 0] -= m
          model.balance[b, default: 0] += m
          if let key { model.keys[key] = ("transfer", a, b, m) }
        }
      case 6:  // hold
        let hk = "h\(step)"
        expectedOK = m > 0 && m <= model.available(a) && !model.frozen.contains(a)
        let ok = (try? ledger.placeHold(amt, from: a, key: idem(hk))) != nil
        #expect(ok == expectedOK, "seed \(seed) step \(step): hold \(m)")
        if ok {
          model.pending[a, default: 0] += m
          model.holds[hk] = (a, m)
        }
      case 7:  // resolve a hold
        guard let (hk, (acct, held)) = model.holds.sorted(by: { $0.key < $1.key }).first else {
          break
        }
        if rng.next() % 2 == 0 {
          let part = max(1, held / 2)
          try ledger.postHold(.key(idem(hk)), amount: Amount(minorUnits: part, currency: .usd))
          model.balance[acct, default: 0] -= part
        } else {
          try ledger.voidHold(.key(idem(hk)))
        }
        model.pending[acct, default: 0] -= held
        model.holds.removeValue(forKey: hk)
      default:  // freeze or unfreeze
        if model.frozen.contains(a) {
          try ledger.setStatus(.active, of: a)
          model.frozen.remove(a)
        } else {
          try ledger.setStatus(.frozen, of: a)
          model.frozen.insert(a)
        }
      }
      for x in accounts {
        let acct = try ledger.account(x)
        #expect(
          acct.balance.minorUnits == model.balance[x, default: 0],
          "seed \(seed) step \(step) balance of \(x)")
        #expect(
          acct.available.minorUnits == model.available(x),
          "seed \(seed) step \(step) available of \(x)")
      }
    }
    #expect(ledger.invariantViolation() == nil, "seed \(seed)")
    let replayed = try Ledger(storage: storage, configuration: .init(clock: .manual()))
    #expect(try replayed.accounts() == ledger.accounts(), "seed \(seed): replay differs")
  }
}

@Suite struct ConcurrencyTests {
  @Test func manyTasksConserveMoneyAndRespectLimits() async throws {
    let seed: UInt64 = 2026
    print("concurrency test seed: \(seed)")
    let ledger = try Ledger(configuration: .init(snapshotEvery: 0))
    let accounts = try (0..<32).map { i in
      try ledger.open(AccountSpec(name: "C\(i)", overdraftLimit: i % 4 == 0 ? usd("50") : nil))
        .number
    }
    for a in accounts { try ledger.deposit(usd("1000"), to: a) }
    let refused = await withTaskGroup(of: Int.self) { group in
      for t in 0..<8 {
        group.addTask {
          var rng = SplitMix64(seed: seed &+ UInt64(t))
          var refused = 0
          for _ in 0..<10_000 {
            let a = accounts[Int(rng.next() % 32)]
            let b = accounts[Int(rng.next() % 32)]
            let amt = Amount(minorUnits: Int64(rng.next() % 30_000) + 1, currency: .usd)
            do throws(BankError) {
              switch rng.next() % 3 {
              case 0: try ledger.deposit(amt, to: a)
              case 1: try ledger.withdraw(amt, from: a)
              default: try ledger.transfer(amt, from: a, to: b)
              }
            } catch {
              #expect(error.code == .insufficientFunds || error.code == .sameAccount)
              refused += 1
            }
          }
          return refused
        }
      }
      return await group.reduce(0, +)
    }
    #expect(ledger.invariantViolation() == nil)
    #expect(refused > 0)
    let all = try ledger.accounts()
    for a in all where a.kind.isCustomer { #expect(a.available.minorUnits >= 0) }
    let customers = all.filter { $0.kind.isCustomer }.reduce(Int64(0)) {
      $0 + $1.balance.minorUnits
    }
    let vault = try #require(try ledger.vault(for: .usd)).balance.minorUnits
    #expect(customers == vault, "money is conserved: customer deposits equal cash in the vault")
    #expect(ledger.lastSequence == ledger.storage.lastSequence)
  }
}
