import Foundation
import TestSupport
import Testing

@testable import BankCore

/// Issue 17, through the library.
@Suite struct Hardening2LibraryTests {
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
      configuration: .init(clock: LedgerClock { Instant.latest.nanoseconds + 1 }))
    #expect(throws: BankError.self) { try ledger.open(AccountSpec(name: "A")) }
    #expect(storage.lastSequence == 0)
  }

  /// A command at the latest time, then one from a clock that reads earlier: the second would
  /// need a time past the latest, and is refused instead of wrapping to 1677.
  @Test func journalTimeNeverWraps() throws {
    let storage = InMemoryStorage()
    let at = Lock(Instant.latest.nanoseconds)
    let ledger = try Ledger(
      storage: storage, configuration: .init(clock: LedgerClock { at.withLock { $0 } }))
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
    for op in Operation.allCases {
      for p in principals {
        for owns in [true, false] {
          guard !allowed(op, for: p, ownsTarget: owns) else { continue }
          let m = permissionDenied(op, for: p, ownsTarget: owns).message
          checked += 1
          #expect(!m.contains("a a") && !m.contains("a auditor") && !m.contains("a operator"), "\(m)")
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
}
