import Foundation
import TestSupport
import Testing

@testable import BankCore

/// Issue 17, through the library.
@Suite struct Hardening2LibraryTests {
  /// The error `body` throws, or `nil`.
  static func refusal(_ body: () throws(BankError) -> Void) -> BankError? {
    do throws(BankError) {
      try body()
      return nil
    } catch {
      return error
    }
  }

  // MARK: 4. Time never wraps

  @Test func timesPastTheLatestAcceptedAreRefused() throws {
    #expect(Instant.latest.description == "2200-01-01T00:00:00.000000Z")
    #expect(try Instant(rfc3339: "2200-01-01T00:00:00Z") == Instant.latest)
    for text in [
      "2200-01-01T00:00:00.000000001Z", "2262-04-11T23:47:16.854775807Z", "2262-04-11T23:47:17Z",
      "2199-12-31T23:00:00-01:00:00", "2199-12-31T23:00:00-01:01",
    ] {
      #expect(throws: BankError.self, "\(text)") { try Instant(rfc3339: text) }
    }
    // A clock past the latest time is refused too, with nothing stored.
    let storage = InMemoryStorage()
    let ledger = try Ledger(
      storage: storage,
      configuration: .init(clock: BankClock { Instant.latest.nanoseconds + 1 }))
    #expect(throws: BankError.self) { try ledger.open(AccountSpec(name: "A")) }
    #expect(storage.lastSequence == 0)
  }

  /// A command at the latest time, then one from a clock that reads earlier: the second would
  /// need a time past the latest, and is refused instead of wrapping to 1677.
  @Test func journalTimeNeverWraps() throws {
    let storage = InMemoryStorage()
    let at = Lock(Instant.latest.nanoseconds)
    let ledger = try Ledger(
      storage: storage, configuration: .init(clock: BankClock { at.withLock { $0 } }))
    _ = try ledger.open(AccountSpec(name: "A"))
    let stored = storage.lastSequence
    at.withLock { $0 = 1_700_000_000_000_000_000 }
    do {
      _ = try ledger.open(AccountSpec(name: "B"))
      Issue.record("a time past the latest was accepted")
    } catch {
      #expect(error.code == .invalidArgument)
      #expect(error.message.contains("2200-01-01T00:00:00"))
    }
    #expect(storage.lastSequence == stored)
    #expect(try ledger.verify().records == stored)
  }

  /// `verify` refuses a journal whose record times go backwards.
  @Test func verifyRefusesTimeGoingBackwards() throws {
    let storage = InMemoryStorage()
    let ledger = try Ledger(
      storage: storage, configuration: .init(clock: .manual(start: 1_800_000_000_000_000_000)))
    let a = try ledger.open(AccountSpec(name: "A"))
    #expect(try ledger.verify().records == storage.lastSequence)
    var batch = RecordBatch()
    batch.append(
      JournalRecord.accountChanged(
        AccountChanged(id: a.id, status: .frozen, overdraftLimit: 0, timestamp: 5)))
    let seq = try storage.append(batch)
    try storage.waitUntilDurable(seq)
    let again = try Ledger(storage: storage, configuration: .init(snapshotEvery: 0))
    do {
      _ = try again.verify()
      Issue.record("verify passed a journal whose time goes backwards")
    } catch {
      #expect(error.code == .storeCorrupt)
      #expect(error.message.contains("record \(seq)"), "\(error.message)")
    }
  }

  // MARK: 9. Messages that say what happened

  /// Every refusal in the matrix names the role with the right article and the operation's own
  /// action, and says nothing untrue (a customer depositing to their own account is told that
  /// customers may not deposit, not that the account is someone else's).
  @Test func everyPermissionMessageIsGrammaticalAndTrue() {
    let principals: [Principal] = [
      .customer(CustomerID(1)), .staff(username: "t", role: .teller),
      .staff(username: "m", role: .manager), .staff(username: "a", role: .auditor), .operator,
    ]
    var checked = 0
    for op in BankOperation.allCases {
      for p in principals {
        for owns in [true, false] {
          guard !op.isAllowed(for: p, ownsTarget: owns) else { continue }
          let m = permissionDenied(op, for: p, ownsTarget: owns).message
          checked += 1
          #expect(
            !m.contains("a a") && !m.contains("a auditor") && !m.contains("a operator"), "\(m)")
          #expect(!m.contains(",") && !m.contains("_"), "\(m)")
          switch p {
          case .customer where op.rights.contains(.customer):
            #expect(!owns && m == "a customer may only \(op.ownAction)", "\(m)")
            #expect(m.contains("their own"))
          case .customer: #expect(m == "a customer may not \(op.action)", "\(m)")
          case .staff(_, .auditor): #expect(m == "an auditor may not \(op.action)", "\(m)")
          case .staff(_, let role): #expect(m == "a \(role) may not \(op.action)", "\(m)")
          case .operator: Issue.record("the operator was refused \(op)")
          }
        }
      }
    }
    #expect(checked > 60)
    #expect(
      permissionDenied(.deposit, for: .customer(CustomerID(1)), ownsTarget: true).message
        == "a customer may not deposit cash")
    #expect(
      permissionDenied(
        .issueCard, for: .staff(username: "a", role: .auditor), ownsTarget: false,
        action: "block cards"
      ).message == "an auditor may not block cards")
  }

  // MARK: 2. Amounts at the bounds

  @Test func amountsAndLimitsAreBoundedPerCurrency() throws {
    #expect(Currency.usd.maximumAmount.formatted.hasPrefix("1000000000000.00"))
    #expect(Currency.jpy.maximumMinorUnits == 1_000_000_000_000)
    #expect(Currency.bhd.maximumMinorUnits == 1_000_000_000_000_000)
    let ledger = try Ledger()
    let a = try ledger.open(AccountSpec(name: "A")).number
    let over = Amount(minorUnits: Currency.usd.maximumMinorUnits + 1, currency: .usd)
    let refusals = [
      Self.refusal { () throws(BankError) in _ = try ledger.deposit(over, to: a) },
      Self.refusal { () throws(BankError) in try ledger.setOverdraftLimit(over, of: a) },
      Self.refusal { () throws(BankError) in
        _ = try ledger.open(AccountSpec(name: "B", overdraftLimit: over))
      },
    ]
    for error in refusals {
      #expect(error?.code == .invalidArgument, "\(String(describing: error))")
      #expect(error?.message.contains("1000000000000.00") == true)
    }
    #expect(try ledger.deposit(Currency.usd.maximumAmount, to: a).transfer.amount.minorUnits > 0)
  }

  /// Random operations at the bounds, in a currency whose largest amount is 10^18 minor units (so
  /// that the vault's gross totals pass 2^63 within a few withdrawals): an operation is refused
  /// with `overflow` only when its own result would not fit, never because of what came before;
  /// the gross totals keep counting past 64 bits and replay gives the same state.
  @Test func noSequenceOfAllowedOperationsMakesALaterOneOverflow() throws {
    let seed: UInt64 = 0x17_0B0D
    print("bounds: seed \(seed)")
    var rng = SplitMix64(seed: seed)
    let xts = try Currency(code: "XTS", minorDigits: 6)
    let max = xts.maximumMinorUnits
    #expect(max == 1_000_000_000_000_000_000)
    let storage = InMemoryStorage()
    let ledger = try Ledger(storage: storage, configuration: .init(snapshotEvery: 0))
    let accounts = try (0..<3).map { i throws(BankError) in
      try ledger.open(
        AccountSpec(
          name: "A\(i)", currency: xts,
          overdraftLimit: Amount(minorUnits: i == 0 ? max : 0, currency: xts))
      ).number
    }
    // The model: each account's posted net (credits less debits) and pending debits, exact.
    var net = [Int128](repeating: 0, count: 3)
    var overflows = 0
    var moved = 0
    func fits(_ v: Int128) -> Bool { v >= -Int128(Int64.max) && v <= Int128(Int64.max) }
    for step in 0..<4_000 {
      let amount = Amount(
        minorUnits: rng.next() % 4 == 0 ? max : Int64(rng.next() % UInt64(max)) + 1, currency: xts)
      let i = Int(rng.next() % 3)
      let j = (i + 1 + Int(rng.next() % 2)) % 3
      let w = Int128(amount.minorUnits)
      let limit: Int128 = i == 0 ? Int128(max) : 0
      let kind = rng.next() % 3
      let error = Self.refusal { () throws(BankError) in
        switch kind {
        case 0: _ = try ledger.deposit(amount, to: accounts[i])
        case 1: _ = try ledger.withdraw(amount, from: accounts[i])
        default: _ = try ledger.transfer(amount, from: accounts[i], to: accounts[j])
        }
      }
      if let error {
        if error.code == .overflow {
          overflows += 1
          // Only a result that does not fit may be refused so.
          // The vault's balance is every customer balance together: a deposit may be refused
          // because it would not fit either.
          let vault = net[0] + net[1] + net[2]
          let after = [net[i] + w, net[i] - w, net[j] + w, vault + w, vault - w]
          var someDoesNotFit = false
          for v in after where !fits(v) || !fits(v + limit) { someDoesNotFit = true }
          #expect(
            someDoesNotFit,
            "step \(step): overflow refused a movement whose results fit (seed \(seed))")
        } else {
          #expect(error.code == .insufficientFunds, "step \(step): \(error) (seed \(seed))")
          #expect(net[i] - w + limit < 0, "step \(step): funds were there (seed \(seed))")
        }
      } else {
        moved += 1
        switch kind {
        case 0: net[i] += w
        case 1: net[i] -= w
        default:
          net[i] -= w
          net[j] += w
        }
      }
    }
    #expect(moved > 3_000)
    let vault = try #require(try ledger.vault(for: xts))
    #expect(vault.postedCredits > Int128(Int64.max), "the vault's credits passed 2^63")
    #expect(vault.postedDebits - vault.postedCredits == net[0] + net[1] + net[2])
    for (k, n) in accounts.enumerated() {
      let acct = try ledger.account(n)
      #expect(Int128(acct.balance.minorUnits) == net[k])
      #expect(acct.postedCredits - acct.postedDebits == net[k])
    }
    #expect(ledger.invariantViolation() == nil)
    _ = try ledger.verify()
    // A new ledger replays the same journal to the same totals.
    let again = try Ledger(storage: storage, configuration: .init(snapshotEvery: 0))
    #expect(try again.vault(for: xts) == vault)
    try ledger.takeSnapshot()
    _ = try ledger.verify()
    print("bounds: \(moved) movements, \(overflows) refused as overflow")
  }

  /// A balance of exactly -2^63 does not fit: its negation (a debit-normal balance, such as a
  /// vault's) would wrap. The deposit that would take the vault there is refused.
  @Test func aBalanceOfMinusTwoToThe63IsRefused() throws {
    let xts = try Currency(code: "XTS", minorDigits: 6)
    let ledger = try Ledger()
    let a = try ledger.open(AccountSpec(name: "A", currency: xts)).number
    let b = try ledger.open(AccountSpec(name: "B", currency: xts)).number
    for _ in 0..<9 { try ledger.deposit(xts.maximumAmount, to: a) }
    try ledger.deposit(Amount(minorUnits: 223_372_036_854_775_807, currency: xts), to: b)
    let vault = try #require(try ledger.vault(for: xts))
    #expect(vault.balance.minorUnits == Int64.max)
    expectCode(.overflow) { try ledger.deposit(Amount(minorUnits: 1, currency: xts), to: b) }
    #expect(try ledger.vault(for: xts)?.balance.minorUnits == Int64.max)
    #expect(ledger.invariantViolation() == nil)
  }

  /// A hold into an account is judged as if posted, with every other hold into it: movements in
  /// between may not take away the room it needs, so it always posts.
  @Test func aHoldAcceptedAlwaysPosts() throws {
    let xts = try Currency(code: "XTS", minorDigits: 6)
    let top = xts.maximumAmount
    let ledger = try Ledger()
    let payer = try ledger.open(AccountSpec(name: "Payer", currency: xts)).number
    let payee = try ledger.open(AccountSpec(name: "Payee", currency: xts)).number
    // The payer's money comes from an overdraft, not the vault, so that the vault (every
    // customer's money together) is not what runs out of room first.
    let credit = try ledger.open(AccountSpec(name: "Credit", currency: xts, overdraftLimit: top))
      .number
    try ledger.transfer(top, from: credit, to: payer)
    let hold = try ledger.placeHold(top, from: payer, to: payee, key: idem("h"))
    // Eight deposits into the payee fit with the hold counted (9 × 10^18); a ninth does not,
    // although the payee's posted balance and the vault (8 × 10^18) would.
    for _ in 0..<8 { try ledger.deposit(top, to: payee) }
    expectCode(.overflow) { try ledger.deposit(top, to: payee) }
    #expect(try ledger.vault(for: xts)?.balance.minorUnits == 8 * top.minorUnits)
    try ledger.postHold(.number(hold.transfer.number))
    #expect(try ledger.account(payee).balance.minorUnits == 9 * top.minorUnits)
    #expect(ledger.invariantViolation() == nil)
  }
}
