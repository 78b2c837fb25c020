/// A pure core of the bank: one domain's state and rules (the ledger, the authenticator, the ATM
/// fleet, the banking products).
///
/// A core never reads a clock or a random source while applying: time and randomness come in
/// through the command and are written into its records, so replay rebuilds the same state. Its
/// records carry tags from its own range and a version per record type; its snapshot is one
/// section of the bank's snapshot. `Docs/Architecture.md` ("Adding a core") has the rules.
///
/// The ledger is a core with a hand-tuned undo log (``LedgerState``); other cores are undone by
/// restoring the copy taken before a transaction first touched them (O(1) to take thanks to
/// copy-on-write; the first change then copies the core's storage once per transaction).
protocol StateCore: Sendable {
  /// The core's typed records.
  associatedtype Record: Sendable

  /// The core's section number in the snapshot (ledger 1, auth 2, ATM 3, products 4).
  static var coreID: UInt8 { get }
  /// A short name for messages.
  static var coreName: String { get }
  /// The record tags this core owns (ledger 1–31, auth 32–63, ATM 64–95, products 96–127).
  static var tags: ClosedRange<UInt8> { get }
  /// The version of the snapshot section this release writes.
  static var snapshotVersion: UInt8 { get }

  /// The empty state.
  init()

  /// Appends a record's bytes: its tag, its type's version, then its fields.
  static func encode(_ record: Record, into w: inout ByteWriter)
  /// Decodes one record, naming an unknown tag or version in the error.
  static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Record
  /// Applies a validated record. Returns `false` only for a record that refers to something that
  /// does not exist, which only a damaged or foreign journal can contain.
  mutating func applyRecord(_ record: Record) -> Bool
  /// The time a record carries, in nanoseconds since 1970 (`verify` checks that record times
  /// never decrease along the journal).
  static func time(of record: Record) -> Int64

  /// The newest time recorded by this core, in nanoseconds since 1970.
  var lastTimestamp: Int64 { get }

  /// The core's snapshot section, deterministic for equal states.
  func encodeSnapshot() -> [UInt8]
  /// Rebuilds a core from its section, written by this or an older release.
  static func decodeSnapshot(_ bytes: [UInt8], version: UInt8) throws(DecodeError) -> Self
  /// The first broken invariant, or `nil`.
  func invariantViolation() -> String?

  /// The first broken invariant that spans cores and that this core owns (each terminal's cash
  /// account equals the value of its notes; each loan's account equals its outstanding
  /// principal), or `nil`. It sees every core's state, and runs where the per-core invariants
  /// run. The default has none.
  static func invariantViolation(across state: borrowing BankState) -> String?

  /// The oldest section version that holds the whole state; an older section lacks something
  /// only the journal holds, so a bank opening such a snapshot replays the journal instead.
  static var oldestCompleteSnapshotVersion: UInt8 { get }
  /// This state without what a section of `version` cannot hold, so that `verify` can compare
  /// an older snapshot with a replay.
  func comparable(toSectionVersion version: UInt8) -> Self
}

extension StateCore {
  static func invariantViolation(across state: borrowing BankState) -> String? { nil }
  static var oldestCompleteSnapshotVersion: UInt8 { 1 }
  func comparable(toSectionVersion version: UInt8) -> Self { self }

  /// Decodes and applies one record of this core (for replay through a type-erased slot).
  mutating func applyEncoded(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> (
    applied: Bool, time: Int64
  ) {
    let record = try Self.decodeStored(bytes)
    return (applyRecord(record), Self.time(of: record))
  }

  /// Decodes a record as stored: its origin stamp, if any, is not the core's.
  static func decodeStored(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> Record {
    try RecordEnvelope.withBody(bytes) { b throws(DecodeError) in try Self.decode(b) }
  }

  /// This core's section header and bytes, for the sectioned snapshot.
  func snapshotSection() -> (UInt8, UInt8, [UInt8]) {
    (Self.coreID, Self.snapshotVersion, encodeSnapshot())
  }
}
