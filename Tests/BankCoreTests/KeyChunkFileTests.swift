import Foundation
import TestSupport
import Testing

@testable import BankCore

/// The key index's full chunks live in `PATH.keys`, written once each; snapshots name them by
/// checksum, so they stay small however many keys the store has, and a damaged chunk file only
/// costs a full replay.
@Suite struct KeyChunkFileTests {
  static let cent = Amount(minorUnits: 1, currency: .usd)

  func open(_ path: String) throws -> Ledger {
    try Ledger(
      storage: FileStorage(path: path), configuration: LedgerConfiguration(snapshotEvery: 0))
  }

  @Test func snapshotsNameFullKeyChunksAndADamagedChunkFileOnlyCostsAReplay() throws {
    let dir = TempDirectory("keychunks")
    defer { dir.remove() }
    let path = dir.path + "/k.journal"
    let keys = KeyIndex.chunkEntries * 2 + 100
    let (a, b): (AccountNumber, AccountNumber)
    do {
      let l = try open(path)
      a = try l.open(AccountSpec(name: "A")).number
      b = try l.open(AccountSpec(name: "B")).number
      try l.deposit(Amount(minorUnits: 1_000_000, currency: .usd), to: a)
      var i = 0
      while i < keys {
        let n = min(8190, keys - i)
        try l.submit(
          (i..<(i + n)).map {
            .transfer(amount: Self.cent, from: a, to: b, key: idem("k-\($0)"))
          })
        i += n
      }
      try l.takeSnapshot()
      l.close()
    }
    let fm = FileManager.default
    let chunkFile = try #require(fm.attributesOfItem(atPath: path + ".keys")[.size] as? Int)
    #expect(chunkFile == KeyChunkFile.headerSize + 2 * KeyIndex.chunkBytes)
    // The snapshot names two chunks and carries the last 100 entries: far less than 16 bytes a key.
    let snapshot = try #require(fm.attributesOfItem(atPath: path + ".snapshot")[.size] as? Int)
    #expect(snapshot < keys * 16 / 4, "snapshot of \(snapshot) bytes")

    do {
      let l = try open(path)
      #expect(l.openReport.snapshotSequence != nil && l.openReport.replayedRecords == 0)
      #expect(try l.transfer(Self.cent, from: a, to: b, key: idem("k-5")).replayed)
      #expect(try l.transfer(Self.cent, from: a, to: b, key: idem("k-65000")).replayed)
      #expect(try l.verify().warnings.isEmpty)
      l.close()
    }

    // Damage the second chunk: the snapshot is refused by name, the journal replayed, no key lost.
    let fd = Glibc.open(path + ".keys", O_RDWR)
    var byte: UInt8 = 0xFF
    _ = pwrite(fd, &byte, 1, off_t(KeyChunkFile.headerSize + KeyIndex.chunkBytes + 100))
    Glibc.close(fd)
    do {
      let l = try open(path)
      #expect(l.openReport.snapshotSequence == nil)
      #expect(l.openReport.snapshotProblem?.contains("key index chunk 1") == true)
      #expect(try l.verify().warnings.contains { $0.contains("cannot be used") })
      #expect(try l.transfer(Self.cent, from: a, to: b, key: idem("k-40000")).replayed)
      #expect(try l.balance(of: b) == Amount(minorUnits: Int64(keys), currency: .usd))
      // The next snapshot writes the chunks again.
      try l.takeSnapshot()
      l.close()
    }
    do {
      let l = try open(path)
      #expect(l.openReport.snapshotSequence != nil && l.openReport.replayedRecords == 0)
      #expect(try l.transfer(Self.cent, from: a, to: b, key: idem("k-40000")).replayed)
      #expect(try l.verify().warnings.isEmpty)
      l.close()
    }
    // A reader uses the chunk file too, and never writes it.
    let before = try Data(contentsOf: URL(fileURLWithPath: path + ".keys"))
    let reader = try Ledger(
      storage: FileStorage(path: path, options: .init(readOnly: true)),
      configuration: LedgerConfiguration(snapshotEvery: 0))
    #expect(reader.openReport.snapshotSequence != nil)
    #expect(try reader.balance(of: b) == Amount(minorUnits: Int64(keys), currency: .usd))
    reader.close()
    #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".keys")) == before)
  }
}
