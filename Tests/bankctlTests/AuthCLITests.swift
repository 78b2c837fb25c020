import BankCore
import Foundation
import TestSupport
import Testing

@testable import BankCLI

/// The Authenticator through bankctl, as DESIGN.md sections 4.2 to 4.5 and 5 fix it.
@Suite(.serialized) struct AuthCLITests {
  let dir = TempDirectory("auth-cli")
  var store: String { dir.file("auth.journal") }

  static let alicePassword = "correct horse battery staple"
  static let tellerPassword = "counter work 2026 blue"
  static let managerPassword = "approve things 2026 green"
  static let auditorPassword = "read everything 2026 red"

  func json(_ r: (code: Int32, out: String, err: String)) -> [String: Any] {
    jsonObject(r.out) ?? [:]
  }
  func errorCode(_ r: (code: Int32, out: String, err: String)) -> String? {
    (jsonObject(r.err)?["error"] as? [String: Any])?["code"] as? String
  }
  func bank(_ args: [String], input: [String] = [], session: String? = nil)
    -> (code: Int32, out: String, err: String)
  {
    cli(["--json"] + (session.map { ["--session", $0] } ?? []) + args, store: store, input: input)
  }

  func register() throws -> (String, String) {
    let r = bank(
      [
        "customer", "register", "--name", "Alice Smith", "--email", "alice@example.com",
        "--phone", "+14155550101", "--age", "34",
      ], input: [Self.alicePassword])
    #expect(r.code == 0, "\(r.err)")
    let v = json(r)
    #expect(
      Set(v.keys) == ["customer", "name", "email", "phone", "age", "gender", "accounts"])
    let id = try #require(v["customer"] as? String)
    let account = try #require((v["accounts"] as? [String])?.first)
    return (id, account)
  }

  func login(_ who: [String], _ password: String) throws -> String {
    let r = bank(["login"] + who, input: [password])
    #expect(r.code == 0, "\(r.err)")
    let v = json(r)
    #expect(Set(v.keys) == ["session", "principal", "role", "expires_at"])
    return try #require(v["session"] as? String)
  }

  @Test func registrationValidatesEveryFieldAndChangesNothingWhenRefused() throws {
    _ = try register()
    let before = fileBytes(store)
    let base = [
      "customer", "register", "--name", "Bob", "--email", "bob@example.com", "--phone",
      "+14155550102", "--age", "40",
    ]
    func with(_ option: String, _ value: String) -> [String] {
      var a = base
      if let i = a.firstIndex(of: "--" + option) { a[i + 1] = value }
      return a
    }
    for (args, password, code, exit) in [
      (with("email", "bob@"), Self.alicePassword, "invalid_email", Int32(64)),
      (with("phone", "555-0102"), Self.alicePassword, "invalid_phone", 64),
      (with("age", "17"), Self.alicePassword, "invalid_age", 64),
      (with("age", "ten"), Self.alicePassword, "invalid_age", 64),
      (with("email", "alice@example.com"), Self.alicePassword, "email_in_use", 1),
      (base, "short", "weak_password", 64),
      (base, "password1234567", "weak_password", 64),
      (base, "bob@example.com!!", "weak_password", 64),
    ] {
      let r = bank(args, input: [password])
      #expect(r.code == exit, "\(args) \(r.err)")
      #expect(errorCode(r) == code, "\(args) \(r.err)")
    }
    #expect(fileBytes(store) == before, "refused registrations leave the store unchanged")
    #expect(bank(base, input: []).code == 64, "a missing password on stdin is refused")
    // Refused input never creates a store.
    let fresh = dir.file("never-created.journal")
    let r = cli(
      ["--json"] + with("email", "nope"), store: fresh, input: [Self.alicePassword])
    #expect(r.code == 64)
    #expect(!FileManager.default.fileExists(atPath: fresh))
  }

  @Test func updatesAreValidatedAndTheirHistoryIsKept() throws {
    let (alice, _) = try register()
    let u = bank(["customer", "update", alice, "--email", "alice@new.example.com", "--age", "35"])
    #expect(u.code == 0, "\(u.err)")
    #expect(json(u)["email"] as? String == "alice@new.example.com")
    let before = fileBytes(store)
    #expect(errorCode(bank(["customer", "update", alice, "--phone", "12"])) == "invalid_phone")
    #expect(errorCode(bank(["customer", "update", alice, "--age", "200"])) == "invalid_age")
    #expect(fileBytes(store) == before)
    let shown = json(bank(["customer", "show", alice, "--history"]))
    let history = try #require(shown["history"] as? [[String: Any]])
    #expect(history.count == 2)
    #expect((history.first?["changes"] as? [String: String])?["email"] == "alice@example.com")
    let last = history.last?["changes"] as? [String: String]
    #expect(last == ["email": "alice@new.example.com", "age": "35"])
    #expect(json(bank(["customer", "show", alice]))["history"] == nil)
  }

  @Test func theRoleMatrixHoldsThroughTheCommandLine() throws {
    let (alice, account) = try register()
    let (otherID, other) = try {
      let r = bank(
        [
          "customer", "register", "--name", "Carol Jones", "--email", "carol@example.com",
          "--phone", "+14155550103", "--age", "51", "--type", "savings",
        ], input: ["another good passphrase 1"])
      let v = json(r)
      return (v["customer"] as? String ?? "", (v["accounts"] as? [String])?.first ?? "")
    }()
    #expect(!otherID.isEmpty)
    for (user, role, password) in [
      ("tom", "teller", Self.tellerPassword), ("meg", "manager", Self.managerPassword),
      ("ann", "auditor", Self.auditorPassword),
    ] {
      let r = bank(
        ["staff", "add", "--username", user, "--name", "Staff \(role)", "--role", role],
        input: [password])
      #expect(r.code == 0, "\(r.err)")
      #expect(Set(json(r).keys) == ["staff", "username", "name", "role"])
    }
    let customer = try login(["--customer", alice], Self.alicePassword)
    let teller = try login(["--staff", "tom"], Self.tellerPassword)
    let manager = try login(["--staff", "meg"], Self.managerPassword)
    let auditor = try login(["--staff", "ann"], Self.auditorPassword)
    // Each row: a command, and who may run it (c customer, t teller, m manager, a auditor).
    let rows: [([String], String)] = [
      (["balance", account], "ctma"),
      (["balance", other], "tma"),
      (["history", account], "ctma"),
      (["deposit", account, "100"], "tm"),
      (["withdraw", account, "1"], "tm"),
      (["transfer", account, other, "1"], "c"),
      (["freeze", other], "m"),
      (["unfreeze", other], "m"),
      (["verify"], "ma"),
      (["export", "--format", "csv"], "ma"),
      (["customer", "show", alice], "ctma"),
      (["customer", "show", otherID], "tma"),
      (["open", "--customer", alice, "--type", "savings"], "tm"),
      (
        [
          "staff", "add", "--username", "x\(UInt16.random(in: 1...9999))", "--name", "X", "--role",
          "teller",
        ], ""
      ),
    ]
    let sessions = [("c", customer), ("t", teller), ("m", manager), ("a", auditor)]
    for (args, allowedTo) in rows {
      for (letter, token) in sessions {
        let before = fileBytes(store)
        let r = bank(args, input: ["yet another passphrase 9"], session: token)
        if allowedTo.contains(letter) {
          #expect(r.code == 0, "\(letter) \(args): \(r.err)")
        } else {
          #expect(r.code == 1, "\(letter) \(args): \(r.err)")
          #expect(errorCode(r) == "permission_denied", "\(letter) \(args): \(r.err)")
          #expect(fileBytes(store) == before, "\(letter) \(args): a denial changed the store")
        }
      }
    }
    // A customer's account list is their own.
    let mine = json(bank(["accounts"], session: customer))["accounts"] as? [[String: Any]]
    #expect(mine?.allSatisfy { ($0["account"] as? String) != other } == true)
    // An unknown or logged-out session is authentication_failed.
    #expect(
      errorCode(bank(["balance", account], session: String(repeating: "0", count: 64)))
        == "authentication_failed")
    #expect(bank(["logout"], session: customer).code == 0)
    let after = bank(["balance", account], session: customer)
    #expect(after.code == 1 && errorCode(after) == "authentication_failed")
  }

  @Test func sessionsTimeOutAndLoginsLockOut() throws {
    let (alice, account) = try register()
    let t0 = "2030-01-01T09:00:00Z"
    let r = cli(
      ["--json", "--now", t0, "login", "--customer", alice], store: store,
      input: [Self.alicePassword])
    let token = try #require(json(r)["session"] as? String)
    // 10 minutes later it works (and records activity); 16 minutes after that it has expired.
    #expect(
      cli(
        ["--now", "2030-01-01T09:10:00Z", "--session", token, "deposit", account, "1"], store: store
      )
      .code == 1,
      "a customer may not deposit, but the session is valid")
    let expired = cli(
      ["--json", "--now", "2030-01-01T09:27:00Z", "--session", token, "balance", account],
      store: store)
    #expect(errorCode(expired) == "authentication_failed", "\(expired.err)")
    // Five wrong passwords lock logins for 15 minutes, whatever the password then.
    for minute in 0..<5 {
      let w = cli(
        ["--json", "--now", "2030-01-01T10:0\(minute):00Z", "login", "--customer", alice],
        store: store, input: ["not the right password"])
      #expect(errorCode(w) == "authentication_failed")
    }
    let locked = cli(
      ["--json", "--now", "2030-01-01T10:06:00Z", "login", "--customer", alice], store: store,
      input: [Self.alicePassword])
    #expect(errorCode(locked) == "authentication_failed")
    #expect(
      locked.err
        == cli(
          ["--json", "--now", "2030-01-01T10:06:30Z", "login", "--customer", "C999999"],
          store: store, input: [Self.alicePassword]
        ).err, "the same answer for an unknown customer")
    let later = cli(
      ["--json", "--now", "2030-01-01T10:20:00Z", "login", "--customer", alice], store: store,
      input: [Self.alicePassword])
    #expect(later.code == 0, "the lockout lapses after 15 minutes: \(later.err)")
  }

  @Test func forgotPasswordResetAndCardsNeverLeakASecret() throws {
    let (alice, account) = try register()
    var outputs: [String] = []
    func run(_ args: [String], input: [String] = [], session: String? = nil)
      -> (code: Int32, out: String, err: String)
    {
      let r = bank(args, input: input, session: session)
      outputs.append(r.out + r.err)
      return r
    }
    let session = try login(["--customer", alice], Self.alicePassword)
    // Any wrong field gets the same refusal.
    var refusals: Set<String> = []
    for (a, e, p) in [
      (account, "wrong@example.com", "+14155550101"),
      (account, "alice@example.com", "+14155550199"),
      ("1000-0009-9", "alice@example.com", "+14155550101"),
    ] {
      let r = run(["password", "forgot", "--account", a, "--email", e, "--phone", p])
      #expect(r.code == 1 || r.code == 64)
      refusals.insert(r.err)
    }
    #expect(refusals.count <= 2, "refusals: \(refusals)")
    let grant = json(
      run([
        "password", "forgot", "--account", account, "--email", "alice@example.com", "--phone",
        "+14155550101",
      ]))
    let token = try #require(grant["reset_token"] as? String)
    #expect(grant["expires_at"] != nil)
    let newPassword = "a brand new passphrase 77"
    #expect(run(["password", "reset"], input: [token, newPassword]).code == 0)
    #expect(
      errorCode(run(["password", "reset"], input: [token, "another new passphrase 88"]))
        == "authentication_failed", "single use")
    #expect(
      errorCode(run(["balance", account], session: session)) == "authentication_failed",
      "sessions ended")
    #expect(run(["login", "--customer", alice], input: [Self.alicePassword]).code == 1)
    let fresh = try login(["--customer", alice], newPassword)
    // Cards: the full PAN only from `card issue`; PINs only on stdin.
    let issued = json(run(["card", "issue", "--customer", alice, "--account", account]))
    #expect(Set(issued.keys) == ["card", "customer", "accounts", "expires", "status"])
    let pan = try #require(issued["card"] as? String)
    #expect(pan.count == 16)
    #expect(FileManager.default.fileExists(atPath: store + ".key"))
    let pin = "482193"
    let set = json(run(["card", "set-pin", pan], input: [pin]))
    #expect((set["card"] as? String)?.contains("******") == true || (set["card"] as? String) != pan)
    let shown = json(run(["customer", "show", alice], session: fresh))
    #expect((shown["cards"] as? [String])?.first != pan)
    #expect(
      run(["card", "change-pin", pan], input: ["000000", "555999"]).code == 1, "wrong old PIN")
    #expect(run(["card", "change-pin", pan], input: [pin, "739146"]).code == 0)
    #expect(json(run(["card", "block", pan], session: fresh))["status"] as? String == "blocked")
    #expect(errorCode(run(["card", "unblock", pan], session: fresh)) == "permission_denied")
    #expect(json(run(["card", "unblock", pan]))["status"] as? String == "active")
    // No secret in the journal, and none in any output but the one command that hands it out.
    let journal = String(decoding: fileBytes(store), as: UTF8.self)
    let secrets = [Self.alicePassword, newPassword, token, session, fresh, pin, "739146", "555999"]
    for (i, secret) in secrets.enumerated() {
      #expect(!journal.contains(secret), "secret #\(i) is in the journal")
    }
    let everything = outputs.joined()
    for secret in [Self.alicePassword, newPassword, pin, "739146"] {
      #expect(!everything.contains(secret), "a secret was printed")
    }
    #expect(everything.components(separatedBy: token).count == 2, "the reset token is printed once")
    #expect(everything.components(separatedBy: pan).count == 2, "the full PAN is printed once")
  }

  // MARK: Found by an adversarial tester (each failed before its fix)

  /// Paying another customer is not reading their account: the payer's output has no balance of
  /// it (`to_balance` null, no line in the text form).
  @Test func aCustomerPayingAnotherSeesOnlyTheirOwnBalance() throws {
    let (alice, account) = try register()
    let bob = bank(
      [
        "customer", "register", "--name", "Bob Jones", "--email", "bob@example.com", "--phone",
        "+14155550102", "--age", "40",
      ], input: ["enigma bombe 1943 quiet"])
    let bobAccount = try #require((json(bob)["accounts"] as? [String])?.first)
    #expect(bank(["deposit", account, "100"]).code == 0)
    #expect(bank(["deposit", bobAccount, "500"]).code == 0)
    let session = try login(["--customer", alice], Self.alicePassword)
    let r = bank(["transfer", account, bobAccount, "0.01"], session: session)
    #expect(r.code == 0, "\(r.err)")
    #expect(json(r)["to_balance"] is NSNull && json(r)["from_balance"] as? String == "99.99")
    let text = cli(
      ["--session", session, "transfer", account, bobAccount, "0.01"], store: store)
    #expect(
      text.code == 0 && !text.out.contains("500.0") && text.out.contains("99.98"), "\(text.out)")
    // The operator still sees both.
    #expect(
      json(bank(["transfer", account, bobAccount, "0.01"]))["to_balance"] as? String == "500.03")
  }

  /// `login` and the password commands act for nobody: an ended session left in
  /// `$BANKCTL_SESSION` does not stop them.
  @Test func anEndedSessionInTheEnvironmentDoesNotBlockLoggingIn() throws {
    _ = try register()
    #expect(
      bank(
        ["staff", "add", "--username", "sam", "--name", "Sam Quill", "--role", "teller"],
        input: [Self.tellerPassword]
      ).code == 0)
    let token = try login(["--staff", "sam"], Self.tellerPassword)
    #expect(bank(["logout"], session: token).code == 0)
    let again = cli(
      ["--json", "login", "--staff", "sam"], store: store, env: ["BANKCTL_SESSION": token],
      input: [Self.tellerPassword])
    #expect(again.code == 0, "\(again.err)")
    // Any other command with that session is refused, as before.
    let refused = cli(["--json", "accounts"], store: store, env: ["BANKCTL_SESSION": token])
    #expect(refused.code == 1 && errorCode(refused) == "authentication_failed")
  }

  /// Commands at one `--now` in a row: the records of the first are a nanosecond apart, and the
  /// second, at the same time, is not "earlier".
  @Test func aSecondCommandAtTheSameNowIsAccepted() throws {
    let now = ["--now", "2030-01-01T10:00:00Z"]
    let opened = bank(now + ["open", "--name", "X"])
    #expect(opened.code == 0, "\(opened.err)")
    let x = try #require(json(opened)["account"] as? String)
    #expect(bank(now + ["deposit", x, "5"]).code == 0)
    #expect(bank(now + ["balance", x]).code == 0)
    let earlier = bank(["--now", "2030-01-01T09:59:59Z", "balance", x])
    #expect(earlier.code == 64 && errorCode(earlier) == "invalid_argument")
  }

  /// The refusals the tester found leaving a store behind, or taking the wrong input.
  @Test func refusedCommandsCreateNoStoreAndBadInputIsRefusedFirst() throws {
    // A session on a store that does not exist cannot be valid: nothing is created.
    let missing = dir.file("never.journal")
    for args in [["open", "--name", "X"], ["demo"]] {
      let r = cli(["--json", "--session", "garbage"] + args, store: missing)
      #expect(r.code == 1 && errorCode(r) == "authentication_failed", "\(args): \(r.err)")
      #expect(!FileManager.default.fileExists(atPath: missing), "\(args)")
    }
    // A bad username is refused before the store is opened.
    let tom = cli(
      ["--json", "staff", "add", "--username", "Tom", "--name", "Tom B", "--role", "teller"],
      store: missing, input: ["zebra crossing 2026 red"])
    #expect(tom.code == 64 && errorCode(tom) == "invalid_argument", "\(tom.err)")
    #expect(!FileManager.default.fileExists(atPath: missing))
    // A password holding the username, from 3 characters.
    let weak = cli(
      ["--json", "staff", "add", "--username", "tom", "--name", "Tom Baker", "--role", "teller"],
      store: missing, input: ["counter tom 2026 blue"])
    #expect(weak.code == 64 && errorCode(weak) == "weak_password", "\(weak.err)")
    #expect(!FileManager.default.fileExists(atPath: missing))
    // Global options are given once; a store path is not empty.
    for args in [
      ["--store", missing, "--store", store, "accounts"],
      [
        "--now", "2030-01-01T00:00:00Z",
        "--now", "2031-01-01T00:00:00Z", "accounts",
      ], ["--store", "", "accounts"],
    ] {
      let r = cli(["--json"] + args)
      #expect(r.code == 64 && errorCode(r) == "usage", "\(args): \(r.err)")
    }
    // The group words are suggested like commands.
    #expect(
      cli(["custmer", "show", "C000001"], store: store).err.contains("did you mean 'customer'"))
  }

  /// A teller looks up customers' accounts, not the bank's own; a card names accounts by number.
  @Test func aTellerCannotReadTheVaultAndCardErrorsNameAccounts() throws {
    let (alice, account) = try register()
    #expect(bank(["deposit", account, "10"]).code == 0)
    #expect(
      bank(
        ["staff", "add", "--username", "tom", "--name", "Staff teller", "--role", "teller"],
        input: [Self.tellerPassword]
      ).code == 0)
    let teller = try login(["--staff", "tom"], Self.tellerPassword)
    let vault = try AccountNumber(base: 90_000_001).description
    for command in [["balance", vault], ["history", vault]] {
      let r = bank(command, session: teller)
      #expect(r.code == 1 && errorCode(r) == "permission_denied", "\(command): \(r.err)")
    }
    #expect(bank(["balance", account], session: teller).code == 0)
    let listed = json(bank(["accounts", "--all"], session: teller))["accounts"] as? [[String: Any]]
    let numbers = Set((listed ?? []).compactMap { $0["account"] as? String })
    #expect(numbers.contains(account) && !numbers.contains(vault), "\(numbers)")
    let bob = bank(
      [
        "customer", "register", "--name", "Bob Jones", "--email", "bob@example.com", "--phone",
        "+14155550102", "--age", "40",
      ], input: ["enigma bombe 1943 quiet"])
    let bobAccount = try #require((json(bob)["accounts"] as? [String])?.first)
    let card = bank(["card", "issue", "--customer", alice, "--account", bobAccount])
    #expect(card.code == 64 && errorCode(card) == "invalid_argument")
    #expect(card.err.contains("account \(bobAccount) does not belong"), "\(card.err)")
  }

  /// Issue 18, point 5: every record names who acted and through what; history shows it to
  /// staff and auditors (not customers), and export carries it as tags and columns.
  @Test func historyAndExportNameWhoActedAndHow() throws {
    let (alice, account) = try register()
    let r = bank(
      ["staff", "add", "--username", "tom", "--name", "Tom Teller", "--role", "teller"],
      input: [Self.tellerPassword])
    #expect(r.code == 0, "\(r.err)")
    let teller = try login(["--staff", "tom"], Self.tellerPassword)
    let customer = try login(["--customer", alice], Self.alicePassword)
    #expect(bank(["deposit", account, "50", "--memo", "counter"], session: teller).code == 0)
    #expect(bank(["deposit", account, "7"]).code == 0)
    let other = json(bank(["open", "--name", "Other"]))["account"] as? String ?? ""
    #expect(bank(["transfer", account, other, "5"], session: customer).code == 0)
    func entries(_ session: String?) -> [[String: Any]] {
      json(bank(["history", account], session: session))["entries"] as? [[String: Any]] ?? []
    }
    let staffView = entries(teller)
    #expect(staffView.map { $0["by"] as? String } == [alice, "operator", "staff.tom"])
    #expect(staffView.allSatisfy { $0["channel"] as? String == "cli" })
    let own = entries(customer)
    #expect(own.count == 3 && own.allSatisfy { $0["by"] == nil && $0["channel"] == nil })
    let text = cli(["--session", teller, "history", account], store: store).out
    #expect(text.contains("BY") && text.contains("staff.tom"), "\(text)")
    let export = cli(["export"], store: store).out
    #expect(export.contains("    ; by: staff.tom\n    ; channel: cli\n"), "\(export)")
    let csv = cli(["export", "--format", "csv"], store: store).out
    #expect(csv.contains(",counter,staff.tom,cli\n"), "\(csv)")
    let jsonl = cli(["export", "--format", "jsonl"], store: store).out
    #expect(jsonl.contains("\"by\":\"\(alice)\",\"channel\":\"cli\""), "\(jsonl)")
  }
}
