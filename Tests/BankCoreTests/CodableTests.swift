import BankCore
import Foundation
import Testing

/// Issue 19, point 6: every public value is `Hashable` and encodes as DESIGN.md's JSON; those
/// whose JSON carries them decode back equal (no `@testable`: what a client of `bankd` sees).
@Suite struct CodableTests {
  let encoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = .sortedKeys
    return e
  }()

  func json(_ v: some Encodable) throws -> String {
    String(decoding: try encoder.encode(v), as: UTF8.self)
  }

  func decode<T: Decodable>(
    _ type: T.Type, _ text: String, currency: Currency? = nil
  ) throws -> T {
    let d = JSONDecoder()
    if let currency { d.userInfo[.bankCoreCurrency] = currency }
    return try d.decode(T.self, from: Data(text.utf8))
  }

  func roundTrip<T: Codable & Equatable>(_ v: T, currency: Currency? = nil) throws -> T {
    let text = try json(v)
    let back = try decode(T.self, text, currency: currency)
    #expect(back == v, "\(T.self) round trip: \(text)")
    return back
  }

  @Test func simpleValuesRoundTripAndRefuseWhatTheirParsersRefuse() throws {
    let usd = Amount(minorUnits: 12_30, currency: .usd)
    #expect(try json([usd]) == #"["12.30"]"#)
    #expect(try decode(Amount.self, #""12.30 USD""#) == usd)
    #expect(try decode(Amount.self, #""12.30""#, currency: .usd) == usd)
    #expect(try decode(Amount.self, #""-0.500 BHD""#) == Amount(minorUnits: -500, currency: .bhd))
    _ = try roundTrip(usd, currency: .usd)
    for bad in [#""12.30""#, #""12.345 USD""#, #""1e3 USD""#, #""12.30 XXX""#, "12.3", #""""#] {
      #expect(throws: DecodingError.self, "\(bad)") { try decode(Amount.self, bad) }
    }
    _ = try roundTrip(Currency.kwd)
    #expect(throws: DecodingError.self) { try decode(Currency.self, #""usd""#) }
    let number = try AccountNumber(parsing: "1000-0001-7")
    #expect(try json([number]) == #"["1000-0001-7"]"#)
    _ = try roundTrip(number)
    #expect(throws: DecodingError.self) { try decode(AccountNumber.self, #""1000-0001-8""#) }
    let t = try Instant(rfc3339: "2026-03-31T17:00:00.003Z")
    _ = try roundTrip(t)
    #expect(throws: DecodingError.self) { try decode(Instant.self, #""31/03/2026""#) }
    _ = try roundTrip(try CustomerID(parsing: "C000042"))
    _ = try roundTrip(YearMonth(year: 2030, month: 3))
    #expect(throws: DecodingError.self) { try decode(YearMonth.self, #""2030-13""#) }
    _ = try roundTrip(try IdempotencyKey("pay-1"))
    let values: Set<AnyHashable> = [usd, Currency.usd, number, t, try IdempotencyKey("k")]
    #expect(values.count == 5)
  }

  @Test func ledgerValuesEncodeAsDesignSaysAndDecodeWhatTheJSONCarries() throws {
    let ledger = try Ledger(configuration: .init(clock: .manual(start: 1_774_976_400_000_000_000)))
    let usd = { (m: Int64) in Amount(minorUnits: m, currency: .usd) }
    let a = try ledger.open(AccountSpec(name: "Ada", overdraftLimit: usd(50_00))).number
    let b = try ledger.open(AccountSpec(name: "Bo")).number
    try ledger.deposit(usd(100_00), to: a)
    let r = try ledger.transfer(usd(12_30), from: a, to: b, key: try IdempotencyKey("k1"))
    let hold = try ledger.placeHold(
      usd(20_00), from: a, to: b,
      expiresAt: Instant(nanoseconds: 1_774_976_400_000_000_000 + 3_600_000_000_000))
    let account = try ledger.account(a)
    #expect(account.pending == usd(-20_00) && account.available == usd(117_70))
    // The account: every figure the JSON shows comes back; re-encoding gives the same bytes.
    let text = try json(account)
    #expect(
      text
        == #"{"account":"1000-0001-7","available":"117.70","balance":"87.70","currency":"USD","name":"Ada","overdraft_limit":"50.00","pending":"-20.00","status":"active","type":"checking"}"#
    )
    let back = try decode(Account.self, text)
    #expect(try json(back) == text)
    #expect(back.number == a && back.balance == account.balance)
    #expect(back.available == account.available && back.pending == account.pending)
    #expect(back.overdraftLimit == account.overdraftLimit && back.kind == .checking)
    // Bank accounts (debit-normal) too.
    for acct in try ledger.accounts() {
      #expect(try json(try decode(Account.self, try json(acct))) == (try json(acct)))
    }
    // Figures that contradict each other are refused.
    #expect(throws: DecodingError.self) {
      try decode(
        Account.self,
        text.replacingOccurrences(of: #""available":"117.70""#, with: #""available":"500.00""#))
    }
    #expect(throws: DecodingError.self) {
      try decode(
        Account.self, text.replacingOccurrences(of: #""type":"checking""#, with: #""type":"gold""#))
    }
    // Transfers and hold resolutions carry everything: they decode equal, key or no key.
    _ = try roundTrip(r.transfer)
    let holdTransfer = try roundTrip(hold.transfer)
    #expect(holdTransfer.isHold && holdTransfer.expiresAt != nil && holdTransfer.key == nil)
    #expect(try roundTrip(r.transfer).key == (try IdempotencyKey("k1")))
    let voided = try ledger.voidHold(.number(hold.transfer.number))
    _ = try roundTrip(voided)
    // A receipt encodes as bankctl's transfer shape.
    #expect(try json(r).hasPrefix(#"{"amount":"12.30","currency":"USD","from":"1000-0001-7""#))
    // History entries: in the account's currency, given by the decoder; no cursor in the JSON.
    let entries = try ledger.history(of: a)
    for e in entries {
      let d = try decode(HistoryEntry.self, try json(e), currency: .usd)
      #expect(d.transfer == e.transfer && d.amount == e.amount && d.balance == e.balance)
      #expect(d.time == e.time && d.kind == e.kind && d.counterparty == e.counterparty)
      #expect(try json(d) == (try json(e)))
    }
    #expect(throws: DecodingError.self) {
      try decode(HistoryEntry.self, try json(entries[0]))
    }
    let set: Set<AnyHashable> = [
      account, r.transfer, r, entries[0], voided, hold.transfer,
    ]
    #expect(set.count == 6)
  }

  @Test func customersAndCardsShowAccountNumbers() throws {
    let bank = try Bank.inMemory()
    let auth = try Authenticator(
      bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000),
      pepper: Array(repeating: 7, count: 32))
    let c = try auth.registerCustomer(
      CustomerRegistration(
        name: "Ada Lovelace", email: "ada@example.org", phone: "+14155550100", age: 36),
      password: "quiet harbour lantern 77", as: .operator)
    let second = try auth.openAccount(
      for: c.id, spec: AccountSpec(name: "Ada savings", kind: .savings), as: .operator)
    let issued = try auth.issueCard(
      customer: c.id, accounts: [second.number, c.accounts[0]], as: .operator)
    // Public models name accounts by number, in the order given.
    #expect(issued.card.accounts == [second.number, c.accounts[0]])
    #expect(try auth.card(issued.pan, as: .operator).accounts == issued.card.accounts)
    let shown = try auth.customer(c.id, as: .operator)
    #expect(shown.accounts == [c.accounts[0], second.number])
    #expect(shown.cards == [issued.card.pan.masked])
    // The customer decodes back equal; what `customer register` prints (no cards) decodes too.
    _ = try roundTrip(shown)
    #expect(
      try json(shown)
        == #"{"accounts":["\#(c.accounts[0])","\#(second.number)"],"age":36,"cards":["\#(issued.card.pan.masked)"],"customer":"C000001","email":"ada@example.org","gender":"","name":"Ada Lovelace","phone":"+14155550100"}"#
    )
    let registered = try decode(
      Customer.self,
      #"{"customer":"C000001","name":"Ada","email":"a@b.org","phone":"+14155550100","age":36,"gender":"","accounts":[]}"#
    )
    #expect(registered.cards.isEmpty && registered.gender == nil)
    // The full number only in what the issue returns; a card prints masked.
    #expect(try json(issued).contains(#""card":"\#(issued.pan)""#))
    let card = try json(issued.card)
    #expect(!card.contains(issued.pan) && card.contains(issued.card.pan.masked))
    #expect(card.contains(#""accounts":["\#(second.number)","\#(c.accounts[0])"]"#))
    let set: Set<AnyHashable> = [shown, issued.card, issued]
    #expect(set.count == 3)
  }
}
