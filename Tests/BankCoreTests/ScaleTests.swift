import Foundation
import TestSupport
import Testing

@testable import BankCore

/// The key index, the per-account history chains and the record-by-sequence reads (issue 10,
/// points 5 and 6).
@Suite struct ScaleTests {
  let dir = TempDirectory("scale")

  func fileLedger(_ name: String, snapshotEvery: UInt64 = 0, readOnly: Bool = false) throws
    -> Ledger
  {
    try Ledger(
      storage: FileStorage(path: dir.file(name), options: .init(readOnly: readOnly)),
      configuration: .init(
        clock: .manual(), snapshotEvery: snapshotEvery, snapshotsInBackground: false))
  }

  /// An account's totals stay 48 bytes (the flags and the history head share one word), and each
  /// packed field reads back what was written without disturbing the others.
  @Test func balancesArePackedAndEveryFieldIsIndependent() {
    #expect(MemoryLayout<Balances>.stride == 48)
    var b = Balances()
    #expect(b.status == .active && !b.limited && b.creditNormal && b.lastEntry == 0)
    let big: UInt64 = (1 << 56) - 1
    for status in AccountStatus.allCases {
      for limited in [false, true] {
        for creditNormal in [false, true] {
          for entry in [0, 1, 123_456_789, big] as [UInt64] {
            b.status = status
            b.limited = limited
            b.creditNormal = creditNormal
            b.lastEntry = entry
            #expect(
              b.status == status && b.limited == limited && b.creditNormal == creditNormal
                && b.lastEntry == entry)
          }
        }
      }
    }
  }

  /// The account index answers as a dictionary does through inserts, duplicate inserts, removals
  /// (which shift the rest of a run back) and growth, with numbers crowded into few slots.
  @Test func theAccountIndexAgreesWithADictionary() throws {
    let seed: UInt64 = 20_261_129
    print("theAccountIndexAgreesWithADictionary seed \(seed)")
    var rng = SplitMix64(seed: seed)
    // Seeded, so the layout (and every run that wraps past the table's end) repeats.
    var index = AccountIndex(seed: seed)
    var model: [UInt64: AccountID] = [:]
    var nextID: UInt32 = 1
    for step in 0..<40_000 {
      // Numbers from a small range, so runs collide and removals have entries to shift, and a
      // few too wide for a slot (only a damaged store could hold one; they must still work).
      let number =
        rng.next() % 16 == 0 ? (1 << 32) + rng.next() % 50 : 100_000_000 + rng.next() % 3_000
      switch rng.next() % 4 {
      case 0, 1:
        let id = AccountID(nextID)
        let before = index.insert(number, id)
        #expect(before == model[number], "step \(step): insert \(number)")
        if model[number] == nil {
          model[number] = id
          nextID += 1
        }
      case 2:
        index.remove(number)
        model[number] = nil
      default:
        #expect(index[number] == model[number], "step \(step): lookup \(number)")
      }
      #expect(index.count == model.count)
    }
    for (number, id) in model { #expect(index[number] == id) }
    let tried =
      Array(100_000_000..<100_003_000 as Range<UInt64>) + Array((1 << 32)..<(1 << 32) + 50)
    for number in tried where model[number] == nil {
      #expect(index[number] == nil)
    }
    // A copy is a value: changing one leaves the other as it was (the state is copied for
    // snapshots and kept for rollback).
    let copy = index
    let (some, _) = try #require(model.first)
    index.remove(some)
    index.insert(1, AccountID(nextID))
    #expect(copy[some] == model[some] && copy[1] == nil && copy.count == model.count)
    #expect(index[some] == nil && index[1] == AccountID(nextID))
    index.reserveCapacity(100_000)
    for (number, id) in model where number != some { #expect(index[number] == id) }
  }

  /// A receipt stays small (a batch builds and moves one per transfer) and carries every field of
  /// its record, in the record's currency.
  @Test func aReceiptIsSmallAndCarriesEveryField() throws {
    #expect(MemoryLayout<Transfer>.size <= 88)
    let l = try Ledger(storage: InMemoryStorage(), configuration: .init(clock: .manual()))
    let a = try l.open(AccountSpec(name: "A", currency: .kwd)).number
    let b = try l.open(AccountSpec(name: "B", currency: .kwd)).number
    let kwd = { (s: String) throws in try Amount(parsing: s, currency: .kwd) }
    try l.deposit(kwd("10"), to: a)
    let expiry = Instant(nanoseconds: 9_000_000_000_000_000_000)
    let h = try l.placeHold(
      kwd("1.234"), from: a, to: b, expiresAt: expiry, key: idem("h-1"), memo: "rent"
    ).transfer
    #expect(h.amount == (try kwd("1.234")) && h.debit == a && h.credit == b && h.isHold)
    #expect(h.key == idem("h-1") && h.id == "h-1" && h.memo == "rent" && h.expiresAt == expiry)
    #expect(h.kind == .transfer && h.time.nanoseconds > 0)
    let t = try l.transfer(kwd("0.001"), from: a, to: b).transfer
    #expect(t.number == h.number + 1 && t.key == nil && t.id == "#\(t.number)" && !t.isHold)
    #expect(t.expiresAt == nil && t.amount.currency == .kwd && t.debit == a && t.credit == b)
  }

  @Test func keyedRetriesAndConflictsSurviveReopensSnapshotsAndDistance() throws {
    defer { dir.remove() }
    var l = try fileLedger("k.journal")
    let a = try l.open(AccountSpec(name: "A")).number
    let b = try l.open(AccountSpec(name: "B")).number
    try l.deposit(usd("1000000"), to: a, key: idem("first-deposit"))
    let first = try l.transfer(usd("1.00"), from: a, to: b, key: idem("far-back"))
    let hold = try l.placeHold(usd("5"), from: a, key: idem("hold-1"))
    try l.postHold(.key(idem("hold-1")), amount: usd("2"))
    // Push the keyed records far back in the journal.
    for i in 0..<3_000 {
      try l.submit(
        (0..<5).map { j in
          .transfer(amount: usd("0.01"), from: a, to: b, key: idem("bulk-\(i)-\(j)"))
        })
    }
    func check(_ l: Ledger) throws {
      let again = try l.transfer(usd("1.00"), from: a, to: b, key: idem("far-back"))
      #expect(again.replayed && again.transfer.number == first.transfer.number)
      expectCode(.idempotencyConflict) {
        try l.transfer(usd("1.01"), from: a, to: b, key: idem("far-back"))
      }
      expectCode(.idempotencyConflict) { try l.deposit(usd("1.00"), to: b, key: idem("far-back")) }
      let h = try l.placeHold(usd("5"), from: a, key: idem("hold-1"))
      #expect(h.replayed && h.transfer.number == hold.transfer.number)
      expectCode(.holdNotPending) { try l.postHold(.key(idem("hold-1"))) }
      #expect(try l.hold(.key(idem("hold-1"))).outcome == .posted)
      #expect(try l.transfer(usd("0.01"), from: a, to: b, key: idem("bulk-17-3")).replayed)
      // A key used twice within one batch is one transfer.
      let twice = try l.submit([
        .transfer(amount: usd("0.02"), from: a, to: b, key: idem("same-batch")),
        .transfer(amount: usd("0.02"), from: a, to: b, key: idem("same-batch")),
      ])
      guard case .transferred(let t1, _) = twice[0], case .transferred(let t2, true) = twice[1]
      else {
        Issue.record("expected one transfer and one replay: \(twice)")
        return
      }
      #expect(t1.number == t2.number)
    }
    try check(l)
    let balance = try l.balance(of: b)
    l.close()
    // After a reopen (full replay), after a snapshot, and for a reader.
    l = try fileLedger("k.journal")
    #expect(l.openReport.snapshotSequence == nil)
    try check(l)
    try l.takeSnapshot()
    l.close()
    l = try fileLedger("k.journal")
    #expect(l.openReport.snapshotSequence != nil && l.openReport.replayedRecords == 0)
    try check(l)
    #expect(try l.balance(of: b) == balance)
    _ = try l.verify()
    l.close()
    let r = try fileLedger("k.journal", readOnly: true)
    #expect(try r.hold(.key(idem("hold-1"))).outcome == .posted)
    _ = try r.verify()
    r.close()
  }

  @Test func aRefusedBatchLeavesNoKeyBehind() throws {
    let l = try Ledger(configuration: .init(clock: .manual(), snapshotEvery: 0))
    let a = try l.open(AccountSpec(name: "A")).number
    let b = try l.open(AccountSpec(name: "B")).number
    try l.deposit(usd("10"), to: a)
    expectCode(.insufficientFunds) {
      try l.submit([
        .transfer(amount: usd("1"), from: a, to: b, key: idem("rolled-back")),
        .transfer(amount: usd("100"), from: a, to: b),
      ])
    }
    #expect(try !l.transfer(usd("2"), from: a, to: b, key: idem("rolled-back")).replayed)
    #expect(try l.balance(of: b) == usd("2"))
  }

  @Test(arguments: 0..<6 as Range<UInt64>)
  func theKeyIndexMatchesADictionaryThroughInsertsAndRollbacks(seed: UInt64) {
    print("ScaleTests key index seed \(seed)")
    var rng = SplitMix64(seed: seed)
    var index = KeyIndex()
    var model: [(UInt64, UInt64)] = []
    var seq: UInt64 = 0
    for step in 0..<20_000 {
      if rng.next() % 5 == 0, !model.isEmpty {
        index.removeLast()
        model.removeLast()
      } else {
        seq += 1 + rng.next() % 3
        // Few distinct digests in the low bits, so probe chains collide and wrap.
        let digest = (rng.next() % 4 == 0) ? UInt64(1 + rng.next() % 64) : (rng.next() | 1)
        index.insert(digest: digest, sequence: seq)
        model.append((digest, seq))
      }
      if step % 997 == 0 || step == 19_999 {
        for probe in model.suffix(50) + model.prefix(50) {
          let expected = model.filter { $0.0 == probe.0 }.map(\.1)
          #expect(index.sequences(matching: probe.0) == expected, "seed \(seed) step \(step)")
        }
        if step % 3 == 0 { index.dropTable() }
      }
    }
    for external in [false, true] {
      var w = ByteWriter()
      index.encode(into: &w, external: external)
      let decoded = w.bytes.withUnsafeBytes { b -> KeyIndex? in
        var r = ByteReader(b)
        return try? KeyIndex.decode(&r, form: true, chunk: { index.chunkBytes($0) })
      }
      #expect(decoded?.count == model.count)
    }
  }

  /// A full chunk's checksum is taken when it fills and dropped when a rollback un-fills it.
  @Test func fullChunkChecksumsFollowInsertsAndRollbacks() {
    var index = KeyIndex()
    for i in 0..<KeyIndex.chunkEntries {
      index.insert(digest: UInt64(i) &+ 7, sequence: UInt64(i + 1))
    }
    #expect(index.fullChunks == 1 && index.fullChunkCRCs == [CRC32C.checksum(index.chunkBytes(0))])
    index.removeLast()
    #expect(index.fullChunks == 0 && index.fullChunkCRCs.isEmpty)
    index.insert(digest: 99, sequence: UInt64(KeyIndex.chunkEntries + 5))
    #expect(index.fullChunkCRCs == [CRC32C.checksum(index.chunkBytes(0))])
    // A snapshot names the chunk; decoding without the chunk file fails by name, never misreads.
    var w = ByteWriter()
    index.encode(into: &w, external: true)
    let failure = w.bytes.withUnsafeBytes { b -> String? in
      var r = ByteReader(b)
      do throws(DecodeError) {
        _ = try KeyIndex.decode(&r, form: true, chunk: nil)
        return nil
      } catch {
        return error.reason
      }
    }
    #expect(failure?.contains("chunk 0") == true)
  }

  /// The history a full scan of the journal gives, newest first (the first release's algorithm).
  func scannedHistory(_ l: Ledger, _ number: AccountNumber) throws -> [(String, Int64, Int64)] {
    let id = try l.account(number).id
    let creditNormal = try l.account(number).kind.isCreditNormal
    var holds: [UInt64: TransferRecord] = [:]
    var out: [(String, Int64, Int64)] = []
    var balance: Int64 = 0
    func add(_ t: TransferRecord, _ amount: Int64) {
      let signed = (t.debit == id) == creditNormal ? -amount : amount
      balance += signed
      out.append((t.transferID, signed, balance))
    }
    try l.forEachRecord { _, record in
      switch record {
      case .transfer(let t) where t.debit == id || t.credit == id:
        if t.isHold { holds[t.number] = t } else { add(t, t.amount) }
      case .holdResolved(let r):
        if r.outcome == .posted, let t = holds[r.hold] { add(t, r.amount) }
      default: break
      }
    }
    return out.reversed()
  }

  @Test(arguments: 0..<8 as Range<UInt64>)
  func historyPagesWalkEveryEntryOnceNewestFirstAndMatchAScan(seed: UInt64) throws {
    print("ScaleTests history seed \(seed)")
    defer { dir.remove() }
    var rng = SplitMix64(seed: seed)
    let onFile = seed % 2 == 0
    let name = "h\(seed).journal"
    var l =
      onFile
      ? try fileLedger(name, snapshotEvery: 40)
      : try Ledger(configuration: .init(clock: .manual(), snapshotEvery: 0))
    var accounts: [AccountNumber] = []
    for i in 0..<5 {
      let n = try l.open(AccountSpec(name: "acct \(i)")).number
      accounts.append(n)
      try l.deposit(usd("1000"), to: n)
    }
    var pending: [UInt64] = []
    for step in 0..<400 {
      let a = accounts[Int(rng.next() % 5)]
      let b = accounts[Int(rng.next() % 5)]
      let amount = Amount(minorUnits: Int64(1 + rng.next() % 500), currency: .usd)
      switch rng.next() % 6 {
      case 0: pending.append(try l.placeHold(amount, from: a, to: a == b ? nil : b).transfer.number)
      case 1 where !pending.isEmpty:
        let n = pending.removeFirst()
        if rng.next() % 2 == 0 { try l.postHold(.number(n)) } else { try l.voidHold(.number(n)) }
      case 2: try l.withdraw(amount, from: a, key: rng.next() % 2 == 0 ? idem("w\(step)") : nil)
      default:
        if a != b { try l.transfer(amount, from: a, to: b, memo: step % 7 == 0 ? "m\(step)" : "") }
      }
      if onFile && step == 200 {
        l.close()
        l = try fileLedger(name, snapshotEvery: 40)
      }
    }
    for n in accounts {
      let expected = try scannedHistory(l, n)
      let all = try l.history(of: n)
      #expect(
        all.map { "\($0.transfer) \($0.amount.minorUnits) \($0.balance.minorUnits)" }
          == expected.map { "\($0.0) \($0.1) \($0.2)" }, "seed \(seed)")
      let page = Int(1 + rng.next() % 7)
      var walked: [HistoryEntry] = []
      var cursor: HistoryCursor?
      while true {
        let p = try l.history(of: n, limit: page, before: cursor)
        walked += p
        guard p.count == page, let last = p.last else { break }
        cursor = HistoryCursor(last.cursor.description)
      }
      #expect(walked == all, "seed \(seed): paging by \(page)")
      #expect(Set(walked.map(\.cursor)).count == walked.count)
    }
    expectCode(.invalidArgument) {
      try l.history(of: accounts[0], before: HistoryCursor(sequence: 1, balanceBefore: 0))
    }
    // A real cursor with its balance edited, or used for another account, is refused: it would
    // print wrong running balances.
    if let real = try l.history(of: accounts[0], limit: 1).first?.cursor {
      let parts = real.description.split(separator: ".")
      let edited = try #require(HistoryCursor("\(parts[0]).\(real.balanceBefore + 1).\(parts[2])"))
      expectCode(.invalidArgument) { try l.history(of: accounts[0], before: edited) }
      expectCode(.invalidArgument) { try l.history(of: accounts[1], before: real) }
      #expect(try l.history(of: accounts[0], before: real).count >= 0)
    }
    if onFile {
      l.close()
      // A reader, with the saved offset table, without it, and with a damaged one.
      let path = dir.file(name)
      for damage in [nil, "remove", "garble"] as [String?] {
        if damage == "remove" { try? FileManager.default.removeItem(atPath: path + ".offsets") }
        if damage == "garble" { writeFileBytes(path + ".offsets", Array(repeating: 7, count: 200)) }
        let r = try fileLedger(name, readOnly: true)
        for n in accounts {
          #expect(
            try r.history(of: n, limit: 5).map(\.transfer)
              == scannedHistory(r, n).prefix(5).map(\.0))
        }
        r.close()
      }
    } else {
      l.close()
    }
  }

  @Test func expiringHoldsTakesOnlyTheDueOnes() throws {
    let clock = BankClock.manual(start: 1_000, step: 10)
    let l = try Ledger(configuration: LedgerConfiguration(clock: clock, snapshotEvery: 0))
    let a = try l.open(AccountSpec(name: "A")).number
    try l.deposit(usd("100"), to: a)
    var early: [UInt64] = []
    for i in 0..<20 {
      let h = try l.placeHold(
        usd("1"), from: a, expiresAt: Instant(nanoseconds: i % 2 == 0 ? 5_000 : 1_000_000_000))
      if i % 2 == 0 { early.append(h.transfer.number) }
    }
    try l.voidHold(.number(early[0]))
    let later = try Ledger(
      storage: l.storage, configuration: LedgerConfiguration(clock: .manual(start: 10_000)))
    #expect(try later.expireHolds() == 9)
    #expect(try later.expireHolds() == 0)
    #expect(try later.account(a).available == usd("90"))
    #expect(later.invariantViolation() == nil)
    #expect(try later.hold(.number(early[1])).outcome == .expired)
    #expect(try later.hold(.number(early[0])).outcome == .voided)
  }
}
