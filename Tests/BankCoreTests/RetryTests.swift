import Foundation
import TestSupport
import Testing

@testable import BankCore

/// Issue 19, point 5: a keyed retry's receipt, rebuilt from the records after the original
/// instead of a replay from the start, equals the replay's, whatever followed.
@Suite struct RetryTests {
  @Test func aRetrysReceiptEqualsTheReplaysWhateverFollowed() throws {
    let seed: UInt64 = 0x5EED_0019
    print("retry receipt seed: \(seed)")
    var rng = SplitMix64(seed: seed)
    let ledger = try Ledger.inMemory()
    let usd = { (m: Int64) in Amount(minorUnits: m, currency: .usd) }
    let accounts = try (0..<4).map { i in
      try ledger.open(AccountSpec(name: "A\(i)", overdraftLimit: usd(1_000_00))).number
    }
    var keyed: [(IdempotencyKey, TransferRecord)] = []
    var holds: [UInt64] = []
    for step in 0..<400 {
      let a = accounts[Int(rng.next() % 4)]
      let b = accounts[(Int(rng.next() % 3) + 1 + accounts.firstIndex(of: a)!) % 4]
      let amount = usd(Int64(rng.next() % 5_000) + 1)
      let key = try IdempotencyKey("k\(step)")
      do throws(BankError) {
        switch rng.next() % 6 {
        case 0: try ledger.deposit(amount, to: a, key: key)
        case 1: try ledger.withdraw(amount, from: a, key: key)
        case 2:
          let h = try ledger.placeHold(amount, from: a, to: b, key: key)
          holds.append(h.transfer.number)
        case 3 where !holds.isEmpty:
          let n = holds.remove(at: Int(rng.next() % UInt64(holds.count)))
          if rng.next() % 2 == 0 {
            try ledger.postHold(.number(n), amount: rng.next() % 2 == 0 ? nil : usd(1))
          } else {
            try ledger.voidHold(.number(n))
          }
          continue
        default: try ledger.transfer(amount, from: a, to: b, key: key)
        }
      } catch {
        continue
      }
      let digest = KeyIndex.digest(key.scoped(to: .operator).stored)
      let sequences = try ledger.read { s in s.keys.sequencesWithoutBuilding(matching: digest) }
      guard let first = sequences.first, let record = try ledger.readRecord(first) else {
        Issue.record("key \(key.text) has no record")
        continue
      }
      if case .transfer(let t) = try JournalRecord.decodeOrCorrupt(record, sequence: first) {
        keyed.append((key, t))
      }
    }
    #expect(keyed.count > 200)
    for (_, t) in keyed.shuffled(using: &rng).prefix(120) {
      let fast = try ledger.accounts(rightAfter: t)
      let replay = try ledger.accountsByReplay(rightAfter: t)
      #expect(fast.0 == replay.0 && fast.1 == replay.1, "transfer #\(t.number)")
    }
    // A status change since falls back to the replay, and still agrees.
    try ledger.setStatus(.frozen, of: accounts[0])
    for (_, t) in keyed.suffix(20) {
      let fast = try ledger.accounts(rightAfter: t)
      let replay = try ledger.accountsByReplay(rightAfter: t)
      #expect(fast.0 == replay.0 && fast.1 == replay.1)
    }
  }
}
