import BankCore
import Foundation

// A teller's day with BankCore's public API and no boilerplate: open a store with one error
// type, accounts in two currencies, keyed retries, a linked batch, holds, the Authenticator with
// explicit principals, 64 concurrent async tasks, errors as values, and a reopen. Each check
// prints a line; any failure exits 1.

nonisolated(unsafe) var failures = 0
func check(_ ok: Bool, _ what: String) {
  print((ok ? "ok   " : "FAIL ") + what)
  if !ok { failures += 1 }
}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
  "teller-\(ProcessInfo.processInfo.processIdentifier)")
try? FileManager.default.removeItem(at: dir)
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: dir) }
let path = dir.appendingPathComponent("teller.journal").path

func usd(_ text: String) throws(BankError) -> Amount { try Amount(parsing: text, currency: .usd) }
func eur(_ text: String) throws(BankError) -> Amount { try Amount(parsing: text, currency: .eur) }

do {
  // One error type at the front door.
  let bank = try Bank(path: path)
  let people = try Authenticator(
    bank: bank, configuration: AuthConfiguration(passwordIterations: 10_000))
  _ = try people.addStaff(
    username: "tess", name: "Tess Rowe", role: .teller, password: "teller password 1",
    as: .operator)
  let grant = try await people.perform {
    try $0.login(staff: "tess", password: "teller password 1")
  }
  let tess = try people.authenticate(token: grant.token)
  check(
    tess == .staff(username: "tess", role: .teller), "a teller logs in off the cooperative pool")

  let ada = try people.registerCustomer(
    CustomerRegistration(
      name: "Ada Lovelace", email: "ada@example.org", phone: "+442071234567", age: 36),
    password: "correct horse battery", as: tess)
  let euro = try people.openAccount(
    for: ada.id, spec: AccountSpec(name: "Ada (EUR)", currency: .eur), as: tess)
  let checking = ada.accounts[0]
  try people.deposit(try usd("250"), to: checking, as: tess)
  try people.deposit(try eur("80.50"), to: euro.number, as: tess)

  // Amounts add and compare within a currency, and refuse to mix.
  check(try usd("1.50") + usd("0.25") == usd("1.75"), "checked + within a currency")
  do throws(BankError) {
    _ = try usd("1") + eur("1")
    check(false, "USD + EUR refused")
  } catch {
    check(error.code == .currencyMismatch, "USD + EUR refused: \(error.localizedDescription)")
  }

  // Keyed retries replay, with the original figures.
  let bob = try bank.ledger.open(AccountSpec(name: "Bob")).number
  let key = try IdempotencyKey("invoice-17")
  let first = try people.transfer(
    try usd("12.34"), from: checking, to: bob, key: key, as: .operator)
  let again = try people.transfer(
    try usd("12.34"), from: checking, to: bob, key: key, as: .operator)
  check(
    again.replayed && again.debitAccount.balance == first.debitAccount.balance, "a retry replays")

  // A linked batch: all or nothing.
  do throws(BankError) {
    try await bank.submit([
      .transfer(amount: try usd("1"), from: checking, to: bob),
      .withdraw(amount: try usd("1000000"), from: bob),
    ])
    check(false, "a batch with an impossible withdrawal is refused")
  } catch {
    check(error.code == .insufficientFunds, "a linked batch is refused whole: \(error.message)")
  }

  // Holds, async.
  let hold = try await bank.placeHold(
    try usd("40"), from: checking, key: try IdempotencyKey("atm-1"))
  try await bank.postHold(.number(hold.transfer.number))
  check(try await bank.balance(of: checking) == usd("197.66"), "a posted hold moved 40.00")

  // 64 concurrent tasks.
  try await withThrowingTaskGroup(of: Void.self) { group in
    for i in 0..<64 {
      group.addTask {
        _ = try await bank.deposit(
          Amount(minorUnits: 1, currency: .usd), to: bob, key: try IdempotencyKey("t-\(i)"))
      }
    }
    try await group.waitForAll()
  }
  check(try await bank.balance(of: bob) == usd("12.98"), "64 concurrent deposits, each once")

  // Errors are values with stable codes, and JSON bodies decode into the same type.
  let body = try JSONEncoder().encode(BankError(.accountFrozen, "account 1000-0002-5 is frozen"))
  check(
    (try? JSONDecoder().decode(BankError.self, from: body))?.code == .accountFrozen,
    "a service's error body decodes as BankError")

  // Values travel as the service's JSON and decode into the library's own types.
  let shown = try people.customer(ada.id, as: tess)
  let customerJSON = try JSONEncoder().encode(shown)
  check(
    try JSONDecoder().decode(Customer.self, from: customerJSON) == shown
      && shown.accounts == [checking, euro.number],
    "a customer's JSON decodes back, accounts by number")
  let account = try await bank.account(checking)
  let decoded = try JSONDecoder().decode(Account.self, from: try JSONEncoder().encode(account))
  check(
    decoded.number == checking && decoded.available == account.available,
    "an account's JSON decodes with its figures")

  // Paged history, and a reopen that sees the same state.
  let page = try await bank.history(of: checking, limit: 2)
  let older = try await bank.history(of: checking, limit: 2, before: page.last?.cursor)
  check(page.count == 2 && !older.isEmpty, "history pages")
  bank.close()
  let reopened = try Ledger(path: path, options: .init(readOnly: true))
  check(try reopened.balance(of: checking) == usd("197.66"), "a reopen sees every commit")
  check(try reopened.balance(of: euro.number) == eur("80.50"), "and the euro account")
  reopened.close()
} catch let error as BankError {
  print("FAIL unexpected error: \(error.code.rawValue): \(error.localizedDescription)")
  failures += 1
} catch {
  print("FAIL unexpected error: \(error.localizedDescription)")
  failures += 1
}
exit(failures == 0 ? 0 : 1)
