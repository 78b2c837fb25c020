/// Everything the bank knows: every core's state and the journal head they reflect.
///
/// The ledger is held directly (its commit path is the hot one); the other cores sit in
/// type-erased slots, one per core the bank was configured with.
struct BankState: Sendable {
  var ledger = LedgerState()
  var cores: [any StateCore]
  /// The sequence number of the last record applied: the journal head the state reflects.
  var sequence: UInt64 = 0
  /// Set when the ledger came from a snapshot section of an older release, which lacks the
  /// history chains and the key index: such a state is only good for comparisons.
  var ledgerFromOlderRelease = false
  /// The version of the ledger section this state was decoded from (the current one otherwise).
  var ledgerSectionVersion = LedgerState.snapshotVersion
  /// The section version each core (by ID) was decoded from, when this state came from a
  /// snapshot; and whether one of them is too old to hold the core's whole state.
  var coreSectionVersions: [UInt8: UInt8] = [:]
  var incompleteSections = false
  /// The time of the last record replay applied, and the first record whose time was earlier
  /// than the one before it (only a damaged or forged journal has one; `verify` reports it).
  /// Neither is part of the snapshot.
  var replayClock: Int64 = 0
  /// How much earlier than its predecessor a record of the same transaction may be: one
  /// millisecond, far more than the nanosecond steps of the largest batch.
  static let batchTimeSpread: Int64 = 1_000_000
  var timeRegression: (sequence: UInt64, time: Int64, previous: Int64)?

  init(cores: [any StateCore.Type]) {
    if let problem = Self.registrationProblem(cores) { preconditionFailure(problem) }
    self.cores = cores.map { $0.init() }
  }

  /// Why a set of cores cannot share one journal and one snapshot, or `nil`: every core needs its
  /// own ID (the ledger's is 1) and a tag range that overlaps no other core's (the ledger's is
  /// 1–31). A programmer error, found when a bank is built, never as `store_corrupt` later.
  static func registrationProblem(_ cores: [any StateCore.Type]) -> String? {
    var ids: [UInt8: String] = [LedgerState.coreID: "ledger"]
    var ranges: [(ClosedRange<UInt8>, String)] = [(LedgerState.tags, "ledger")]
    for c in cores {
      if let other = ids[c.coreID] {
        return "the \(c.coreName) core's ID \(c.coreID) is the \(other) core's"
      }
      ids[c.coreID] = c.coreName
      if let (_, other) = ranges.first(where: { $0.0.overlaps(c.tags) }) {
        return "the \(c.coreName) core's tags \(c.tags) overlap the \(other) core's"
      }
      ranges.append((c.tags, c.coreName))
    }
    return nil
  }

  /// The newest time any core recorded; a new transaction's time is never earlier.
  var lastTimestamp: Int64 {
    cores.reduce(ledger.counters.lastTimestamp) { max($0, $1.lastTimestamp) }
  }

  /// The slot of the core that owns a record tag, or `nil` for the ledger's tags.
  func slot(forTag tag: UInt8) throws(DecodeError) -> Int? {
    if LedgerState.tags.contains(tag) { return nil }
    guard let i = cores.firstIndex(where: { type(of: $0).tags.contains(tag) }) else {
      throw DecodeError(
        "unknown record tag \(tag): no core of this release owns it (written by a newer release?)"
      )
    }
    return i
  }

  /// The slot holding a core type.
  func slot<C: StateCore>(of type: C.Type) -> Int? {
    cores.firstIndex { Swift.type(of: $0).coreID == C.coreID }
  }

  /// A core's current state (an O(1) copy-on-write copy).
  func core<C: StateCore>(_ type: C.Type) -> C? {
    slot(of: type).flatMap { cores[$0] as? C }
  }

  /// Applies one stored record during replay, whichever core owns it.
  mutating func apply(encoded bytes: UnsafeRawBufferPointer, sequence: UInt64)
    throws(DecodeError) -> Bool
  {
    guard let tag = bytes.first else { throw DecodeError("empty record") }
    let applied: Bool
    let time: Int64
    if tag == JournalRecord.Tag.transfer.rawValue {
      var none: Stage? = nil
      let record = try JournalRecord.decodeTransfer(bytes)
      time = record.timestamp
      applied = ledger.applyTransfer(record, sequence: sequence, stage: &none)
    } else if let i = try slot(forTag: tag) {
      (applied, time) = try Self.applyOpened(&cores[i], bytes)
    } else {
      var none: Stage? = nil
      let record = try JournalRecord.decode(bytes)
      time = record.timestamp
      applied = ledger.apply(record, sequence: sequence, stage: &none)
    }
    // Within one transaction the ledger's records are a nanosecond apart and the other cores'
    // carry the transaction's time, so a record may be a few nanoseconds earlier than the one
    // before it (at most one per record of the batch, and batches are bounded); anything
    // further back is time going backwards.
    if time < replayClock - Self.batchTimeSpread, timeRegression == nil {
      timeRegression = (sequence, time, replayClock)
    }
    if time > replayClock { replayClock = time }
    return applied
  }

  /// This state without what the older core sections of `stored` cannot hold (see
  /// ``StateCore/comparable(toSectionVersion:)``), for comparing it with such a snapshot.
  func comparable(to stored: BankState) -> BankState {
    var copy = self
    for (i, core) in copy.cores.enumerated() {
      let t = type(of: core)
      if let v = stored.coreSectionVersions[t.coreID], v < t.snapshotVersion {
        copy.cores[i] = Self.comparableOpened(core, v)
      }
    }
    return copy
  }

  /// Whether `stored` has a core section older than this release writes, or none at all for a
  /// configured core (a snapshot written before that core existed: its state there is empty).
  static func hasOlderCoreSections(_ stored: BankState?) -> Bool {
    guard let stored, !stored.ledgerFromOlderRelease else { return false }
    return stored.cores.contains { core in
      let t = type(of: core)
      return (stored.coreSectionVersions[t.coreID] ?? 0) < t.snapshotVersion
    }
  }

  static func comparableOpened<C: StateCore>(_ core: C, _ version: UInt8) -> any StateCore {
    core.comparable(toSectionVersion: version)
  }

  /// Applies encoded bytes to a type-erased core in place (the existential is opened, not
  /// copied).
  static func applyOpened<C: StateCore>(_ core: inout C, _ bytes: UnsafeRawBufferPointer)
    throws(DecodeError) -> (applied: Bool, time: Int64)
  {
    try core.applyEncoded(bytes)
  }

  /// The first broken invariant of any core, or across cores, or `nil`. Run after every
  /// random operation sequence in the tests, by `verify` on the replayed state, and by
  /// ``Bank/invariantViolation()``.
  func invariantViolation() -> String? {
    if let v = ledger.invariantViolation() { return v }
    for c in cores {
      if let v = c.invariantViolation() { return "\(type(of: c).coreName): \(v)" }
    }
    for c in cores {
      let t = type(of: c)
      if let v = t.invariantViolation(across: self) { return "\(t.coreName) (across cores): \(v)" }
    }
    return nil
  }

  // MARK: Sectioned snapshot

  static let snapshotMagic: [UInt8] = Array("BCSECT01".utf8)

  /// The snapshot payload: a container of sections, one per core (core ID, section version,
  /// length, bytes), after the journal sequence it covers. The file backend stamps the file
  /// with the rest of the head (the end frame's offset and CRC and the chain hash).
  func encodeSnapshot(comparable: Bool = false, externalKeys: Bool = false) -> [UInt8] {
    let sections = cores.map { $0.snapshotSection() }
    var w = ByteWriter(
      capacity: 64 + ledger.snapshotSizeEstimate + sections.reduce(0) { $0 + $1.2.count + 10 })
    w.raw(Self.snapshotMagic)
    w.u64(sequence)
    w.u32(UInt32(sections.count + 1))
    // The ledger's section, by far the largest, is written in place and its length patched.
    w.u8(LedgerState.coreID)
    w.u8(LedgerState.snapshotVersion)
    let lengthAt = w.bytes.count
    w.u64(0)
    ledger.encodeSnapshot(into: &w, comparable: comparable, externalKeys: externalKeys)
    let length = UInt64(w.bytes.count - lengthAt - 8)
    withUnsafeBytes(of: length.littleEndian) { le in
      for i in 0..<8 { w.bytes[lengthAt + i] = le[i] }
    }
    for (id, version, bytes) in sections {
      w.u8(id)
      w.u8(version)
      w.u64(UInt64(bytes.count))
      w.raw(bytes)
    }
    return w.bytes
  }

  /// Rebuilds a state from a snapshot payload: the sectioned container, or the ledger-only
  /// payload of the first release. A missing section is that core's empty state; an unknown core
  /// or a section newer than this release reads makes the snapshot unusable (the caller replays
  /// the whole journal instead), never misread.
  static func decodeSnapshot(
    _ payload: [UInt8], cores types: [any StateCore.Type], keyChunk: ((Int) -> [UInt8]?)? = nil
  ) throws(DecodeError) -> BankState {
    var state = BankState(cores: types)
    guard payload.starts(with: snapshotMagic) else {
      // Release 1: the ledger's state alone, with the sequence inside it.
      let (ledger, sequence) = try LedgerState.decodeSnapshot(payload, version: 1)
      state.ledger = ledger
      state.sequence = sequence
      state.ledgerFromOlderRelease = true
      return state
    }
    let sections: Result<(UInt64, [(UInt8, UInt8, [UInt8])]), DecodeError> =
      payload.withUnsafeBytes { buf in
        var r = ByteReader(buf)
        do throws(DecodeError) {
          _ = try r.bytes(snapshotMagic.count)
          let sequence = try r.u64()
          let count = try r.u32()
          var out: [(UInt8, UInt8, [UInt8])] = []
          for _ in 0..<count {
            let id = try r.u8()
            let version = try r.u8()
            let length = try r.u64()
            guard length <= UInt64(r.remaining) else {
              throw DecodeError("section runs past the end")
            }
            out.append((id, version, try r.bytes(Int(length))))
          }
          guard r.isAtEnd else { throw DecodeError("trailing bytes after the last section") }
          return .success((sequence, out))
        } catch {
          return .failure(error)
        }
      }
    let (sequence, list) = try sections.get()
    state.sequence = sequence
    var seen: Set<UInt8> = []
    for (id, version, bytes) in list {
      guard seen.insert(id).inserted else { throw DecodeError("core \(id) has two sections") }
      if id == LedgerState.coreID {
        guard version <= LedgerState.snapshotVersion else {
          throw DecodeError(
            "the ledger section has version \(version), newer than this release reads")
        }
        state.ledger = try LedgerState.decodeSnapshot(bytes, version: version, keyChunk: keyChunk).0
        // Version 3 holds everything version 4 does, with the key index inline.
        state.ledgerFromOlderRelease = version < 3
        state.ledgerSectionVersion = version
        continue
      }
      guard let i = state.cores.firstIndex(where: { type(of: $0).coreID == id }) else {
        throw DecodeError("section of unknown core \(id) (written by a newer release?)")
      }
      let t = type(of: state.cores[i])
      guard version <= t.snapshotVersion else {
        throw DecodeError(
          "the \(t.coreName) section has version \(version), newer than this release reads")
      }
      state.cores[i] = try t.decodeSnapshot(bytes, version: version)
      state.coreSectionVersions[id] = version
      if version < t.oldestCompleteSnapshotVersion { state.incompleteSections = true }
    }
    return state
  }
}
