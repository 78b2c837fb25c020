import BankCore
import Foundation
import TestSupport
import Testing

@testable import BankCLI

/// Issue 20, point 6: every ATM command obeys the permission matrix, each role tried.
@Suite(.serialized) struct ATMPermissionTests {
  let dir = TempDirectory("atm-perm")
  var store: String { dir.file("perm.journal") }

  func bank(_ args: [String], input: [String] = [], session: String? = nil)
    -> (code: Int32, out: String, err: String)
  {
    cli(["--json"] + (session.map { ["--session", $0] } ?? []) + args, store: store, input: input)
  }

  func code(_ r: (code: Int32, out: String, err: String)) -> String? {
    (jsonObject(r.err)?["error"] as? [String: Any])?["code"] as? String
  }

  @Test func everyRoleMeetsTheMatrix() throws {
    let c = bank(
      [
        "customer", "register", "--name", "Asha Rao", "--email", "asha@example.org",
        "--phone", "+919812345678", "--age", "40", "--currency", "INR",
      ], input: ["quiet harbour lantern 77"])
    #expect(c.code == 0, "\(c.err)")
    #expect(bank(["atm", "load", "--notes", "2000x50,500x200", "--currency", "INR"]).code == 0)
    var sessions: [String: String] = [:]
    for (user, role, password) in [
      ("tina", "teller", "counter work 2026 blue"),
      ("mark", "manager", "approve things 2026 green"),
      ("aude", "auditor", "read everything 2026 red"),
    ] {
      #expect(
        bank(
          ["staff", "add", "--username", user, "--name", user, "--role", role], input: [password]
        )
        .code == 0)
      let l = bank(["login", "--staff", user], input: [password])
      sessions[role] = try #require(jsonObject(l.out)?["session"] as? String)
    }
    let l = bank(["login", "--customer", "C000001"], input: ["quiet harbour lantern 77"])
    sessions["customer"] = try #require(jsonObject(l.out)?["session"] as? String)
    let rules = dir.file("rules.txt")
    try "daily_count_limit = 9\n".write(toFile: rules, atomically: true, encoding: .utf8)
    // Who may: teller, manager, auditor, customer (the operator may do everything).
    let matrix: [([String], [Bool])] = [
      (["atm", "status"], [true, true, true, false]),
      (["atm", "mix", "2500"], [true, true, true, false]),
      (["events"], [false, true, true, false]),
      (["atm", "load", "--notes", "500x1"], [false, true, false, false]),
      (["atm", "unload", "--notes", "500x1"], [false, true, false, false]),
      (["atm", "service", "--terminal", "ATM-01", "--in"], [false, true, false, false]),
      (["atm", "fault", "--terminal", "ATM-01", "--kind", "jam"], [false, true, false, false]),
      (["atm", "register", "--terminal", "ATM-01"], [false, true, false, false]),
      (["atm", "rules", "load", rules], [false, true, false, false]),
      (
        ["atm", "reconcile", "--terminal", "ATM-01", "--counted", "2000x50,500x200"],
        [false, true, false, false]
      ),
    ]
    for (args, allowed) in matrix {
      for (role, may) in zip(["teller", "manager", "auditor", "customer"], allowed) {
        let r = bank(args, session: sessions[role])
        if may {
          #expect(r.code == 0, "\(role) \(args): \(r.err)")
        } else {
          #expect(r.code == 1 && code(r) == "permission_denied", "\(role) \(args): \(r.err)")
        }
      }
      #expect(bank(args).code == 0, "operator \(args)")
    }
  }
}
