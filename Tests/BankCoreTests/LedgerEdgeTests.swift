import TestSupport
import Testing

@testable import BankCore

/// Regression tests for money at the edges and the bank's own accounts (outside testers' finds).
@Suite struct LedgerEdgeTests {
  @Test func derivedFiguresNeverWrap() throws {
    let ledger = try Ledger()
    // A currency whose largest amount (10^18 minor units) lets a few movements reach 2^63.
    let xts = try Currency(code: "XTS", minorDigits: 6)
    let top = xts.maximumAmount
    let a = try ledger.open(AccountSpec(name: "Edge", currency: xts, overdraftLimit: top)).number
    // Eight deposits of the largest amount fit; a ninth would make the available funds
    // (balance plus limit) 10^19, past 2^63.
    for _ in 0..<8 { try ledger.deposit(top, to: a) }
    expectCode(.overflow) { try ledger.deposit(top, to: a) }
    #expect(try ledger.account(a).available.minorUnits == 9 * top.minorUnits)
    #expect(try ledger.account(a).balance.minorUnits == 8 * top.minorUnits)
    // A limit that would make the available funds unrepresentable is refused where it is set.
    // (In another currency: the vault of each currency holds every deposit made in it.)
    let xtu = try Currency(code: "XTU", minorDigits: 6)
    let b = try ledger.open(AccountSpec(name: "Rich", currency: xtu)).number
    for _ in 0..<9 { try ledger.deposit(xtu.maximumAmount, to: b) }
    expectCode(.overflow) { try ledger.setOverdraftLimit(xtu.maximumAmount, of: b) }
    #expect(try ledger.account(b).overdraftLimit.minorUnits == 0)
    // A hold that could never post into it is refused when placed.
    let c = try ledger.open(AccountSpec(name: "C", currency: xts)).number
    try ledger.deposit(top, to: c)
    expectCode(.overflow) { try ledger.placeHold(top, from: c, to: a, key: idem("h")) }
    #expect(try ledger.account(c).available == top)
    #expect(ledger.invariantViolation() == nil)
  }

  @Test func anOverdraftInAnotherCurrencyIsRefused() throws {
    let ledger = try Ledger()
    expectCode(.currencyMismatch) {
      try ledger.open(AccountSpec(name: "Yen", currency: .jpy, overdraftLimit: usd("50")))
    }
    #expect(try ledger.accounts().isEmpty)
    let y = try ledger.open(
      AccountSpec(
        name: "Yen", currency: .jpy, overdraftLimit: Amount(minorUnits: 50, currency: .jpy))
    ).number
    expectCode(.currencyMismatch) { try ledger.setOverdraftLimit(usd("50"), of: y) }
    #expect(try ledger.account(y).overdraftLimit == Amount(minorUnits: 50, currency: .jpy))
  }

  @Test func aReplayedReceiptShowsTheBalancesOfTheOriginalTransfer() throws {
    let ledger = try Ledger()
    let a = try ledger.open(AccountSpec(name: "A")).number
    let b = try ledger.open(AccountSpec(name: "B")).number
    try ledger.deposit(usd("100"), to: a)
    let first = try ledger.transfer(usd("10"), from: a, to: b, key: idem("t1"))
    try ledger.deposit(usd("5"), to: b)
    try ledger.transfer(usd("1"), from: a, to: b)
    let again = try ledger.transfer(usd("10"), from: a, to: b, key: idem("t1"))
    #expect(again.replayed)
    #expect(again.debitAccount == first.debitAccount)
    #expect(again.creditAccount == first.creditAccount)
    #expect(again.creditAccount.balance == usd("10"))
    #expect(try ledger.balance(of: b) == usd("16"))
  }

  @Test func theBanksOwnAccountsRefuseCustomerCommands() throws {
    let ledger = try Ledger()
    let a = try ledger.open(AccountSpec(name: "A")).number
    try ledger.deposit(usd("50"), to: a)
    let vault = try #require(try ledger.vault(for: .usd)).number
    let before = try ledger.accounts()
    expectCode(.internalAccount) { try ledger.deposit(usd("1"), to: vault) }
    expectCode(.internalAccount) { try ledger.withdraw(usd("1"), from: vault) }
    expectCode(.internalAccount) { try ledger.transfer(usd("1"), from: vault, to: a) }
    expectCode(.internalAccount) { try ledger.transfer(usd("1"), from: a, to: vault) }
    expectCode(.internalAccount) { try ledger.placeHold(usd("1"), from: vault, key: idem("v")) }
    expectCode(.internalAccount) { try ledger.setStatus(.frozen, of: vault) }
    expectCode(.internalAccount) { try ledger.setStatus(.closed, of: vault) }
    #expect(try ledger.accounts() == before)
    // Deposits in the currency keep working: the vault was never frozen or closed.
    try ledger.deposit(usd("1"), to: a)
    #expect(try ledger.balance(of: a) == usd("51"))
  }
}
