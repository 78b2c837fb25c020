/// What happened at a terminal: the event types of the ATM event log (DESIGN.md 4.6).
public enum ATMEventType: UInt8, Sendable, CaseIterable, Codable, CustomStringConvertible {
  case withdrawal = 1
  case deposit = 2
  case balanceInquiry = 3
  case statement = 4
  case pinFailed = 5
  case pinChanged = 6
  case cardRetained = 7
  case dispenseFault = 8
  case cassetteLow = 9
  case cassetteEmpty = 10
  case hardwareFailure = 11
  case outOfService = 12
  case inService = 13
  case cashLoaded = 14
  case cashUnloaded = 15
  case reconciled = 16
  /// An automated response's alert: its detail starts with `replenishment`, `maintenance`,
  /// `security` or `reconciliation`.
  case alert = 17

  /// The snake_case name, as events print it: `balance_inquiry`.
  public var description: String {
    switch self {
    case .withdrawal: "withdrawal"
    case .deposit: "deposit"
    case .balanceInquiry: "balance_inquiry"
    case .statement: "statement"
    case .pinFailed: "pin_failed"
    case .pinChanged: "pin_changed"
    case .cardRetained: "card_retained"
    case .dispenseFault: "dispense_fault"
    case .cassetteLow: "cassette_low"
    case .cassetteEmpty: "cassette_empty"
    case .hardwareFailure: "hardware_failure"
    case .outOfService: "out_of_service"
    case .inService: "in_service"
    case .cashLoaded: "cash_loaded"
    case .cashUnloaded: "cash_unloaded"
    case .reconciled: "reconciled"
    case .alert: "alert"
    }
  }

  /// The type named `name`, or `nil`.
  public init?(name: String) {
    guard let t = Self.allCases.first(where: { $0.description == name }) else { return nil }
    self = t
  }

  /// Encodes as the name.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }

  /// Decodes a name.
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText { t throws(BankError) in
      guard let type = ATMEventType(name: t) else {
        throw BankError(.invalidArgument, "unknown event type '\(t.debugSanitized)'")
      }
      return type
    }
  }
}

/// A device fault a test harness or a drill scripts for a terminal (`atm fault`).
public enum DeviceFault: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// The next dispense jams: nothing is presented.
  case jam = 1
  /// A cassette fails during the next dispense (its denomination, or the first used).
  case cassetteEmpty = 2
  /// The shutter does not open: the notes are counted but not presented, then retracted.
  case shutter = 3
  /// The machine fails: it goes out of service.
  case hardware = 4

  /// `jam`, `cassette_empty`, `shutter` or `hardware`.
  public var description: String {
    switch self {
    case .jam: "jam"
    case .cassetteEmpty: "cassette_empty"
    case .shutter: "shutter"
    case .hardware: "hardware"
    }
  }

  /// The fault named `name`, or `nil`.
  public init?(name: String) {
    guard let f = Self.allCases.first(where: { $0.description == name }) else { return nil }
    self = f
  }
}

/// A number of notes of one denomination, in minor units, as records keep them.
struct NoteBundle: Sendable, Equatable, Hashable {
  var denomination: Int64
  var count: Int
}

/// The ATM core's records (tags 64–95).
enum ATMRecord: Sendable, Equatable {
  /// A terminal's first appearance, with its cash account in the ledger.
  case terminalAdded(id: String, currency: Currency, cashAccount: AccountID, time: Instant)
  /// Notes put into the cassettes; `lowThreshold` (per bundle, when set) replaces the cassette's.
  case notesLoaded(terminal: String, notes: [NoteBundle], lowThresholds: [Int?], time: Instant)
  /// Notes taken back from the cassettes and from the deposit bin.
  case notesUnloaded(terminal: String, cassettes: [NoteBundle], bin: [NoteBundle], time: Instant)
  /// Notes that left the cassettes to a customer.
  case notesDispensed(terminal: String, notes: [NoteBundle], time: Instant)
  /// Notes a customer put into the deposit bin.
  case notesDeposited(terminal: String, notes: [NoteBundle], time: Instant)
  /// A cassette failed (inoperative) or was serviced.
  case cassetteState(terminal: String, denomination: Int64, inoperative: Bool, time: Instant)
  /// The terminal went in or out of service.
  case serviceChanged(terminal: String, inService: Bool, time: Instant)
  /// A fault scripted for a coming dispense, queued after those scripted before; `nil` removes
  /// the first of the queue (a dispense met it).
  case faultScripted(terminal: String, fault: DeviceFault?, denomination: Int64, time: Instant)
  /// The terminal's event-socket key, as its SHA-256.
  case terminalRegistered(terminal: String, keyDigest: [UInt8], time: Instant)
  /// One event of the log; `cassette` is the denomination it concerns (0: none).
  case event(
    terminal: String, type: ATMEventType, detail: String, cassette: Int64, time: Instant)
  /// A withdrawal's hold placed at a terminal, with the notes it is to pay.
  case holdPlaced(
    terminal: String, hold: UInt64, card: UInt64, notes: [NoteBundle], time: Instant)
  /// A terminal's hold resolved (posted or voided); a posted one counts towards the card's
  /// daily limits.
  case holdResolved(hold: UInt64, posted: Bool, time: Instant)
  /// A new rules table for every terminal (`atm rules load`), as `name value` pairs.
  case rulesLoaded(rules: [String: String], time: Instant)
  /// A physical count of a terminal's cassettes (`atm reconcile`): each cassette now holds the
  /// counted notes (0 for a denomination not counted).
  case cassettesCounted(terminal: String, counts: [NoteBundle], time: Instant)

  /// Tags, with names for messages and the version this release writes (all 1).
  enum Tag: UInt8, CaseIterable {
    case terminalAdded = 64
    case notesLoaded = 65
    case notesUnloaded = 66
    case notesDispensed = 67
    case notesDeposited = 68
    case cassetteState = 69
    case serviceChanged = 70
    case faultScripted = 71
    case terminalRegistered = 72
    case event = 73
    case holdPlaced = 74
    case holdResolved = 75
    case rulesLoaded = 76
    case cassettesCounted = 77

    var name: String {
      switch self {
      case .terminalAdded: "terminal_added"
      case .notesLoaded: "notes_loaded"
      case .notesUnloaded: "notes_unloaded"
      case .notesDispensed: "notes_dispensed"
      case .notesDeposited: "notes_deposited"
      case .cassetteState: "cassette_state"
      case .serviceChanged: "service_changed"
      case .faultScripted: "fault_scripted"
      case .terminalRegistered: "terminal_registered"
      case .event: "event"
      case .holdPlaced: "hold_placed"
      case .holdResolved: "hold_resolved"
      case .rulesLoaded: "rules_loaded"
      case .cassettesCounted: "cassettes_counted"
      }
    }
  }

  var tag: Tag {
    switch self {
    case .terminalAdded: .terminalAdded
    case .notesLoaded: .notesLoaded
    case .notesUnloaded: .notesUnloaded
    case .notesDispensed: .notesDispensed
    case .notesDeposited: .notesDeposited
    case .cassetteState: .cassetteState
    case .serviceChanged: .serviceChanged
    case .faultScripted: .faultScripted
    case .terminalRegistered: .terminalRegistered
    case .event: .event
    case .holdPlaced: .holdPlaced
    case .holdResolved: .holdResolved
    case .rulesLoaded: .rulesLoaded
    case .cassettesCounted: .cassettesCounted
    }
  }

  var time: Instant {
    switch self {
    case .terminalAdded(_, _, _, let t), .notesLoaded(_, _, _, let t),
      .notesUnloaded(_, _, _, let t), .notesDispensed(_, _, let t), .notesDeposited(_, _, let t),
      .cassetteState(_, _, _, let t), .serviceChanged(_, _, let t),
      .faultScripted(_, _, _, let t), .terminalRegistered(_, _, let t), .event(_, _, _, _, let t),
      .holdPlaced(_, _, _, _, let t), .holdResolved(_, _, let t), .rulesLoaded(_, let t),
      .cassettesCounted(_, _, let t):
      t
    }
  }

  func encode(into w: inout ByteWriter) {
    w.u8(tag.rawValue)
    w.u8(1)
    switch self {
    case .terminalAdded(let id, let currency, let account, let time):
      w.string(id)
      w.currency(currency)
      w.u32(account.rawValue)
      w.instant(time)
    case .notesLoaded(let terminal, let notes, let thresholds, let time):
      w.string(terminal)
      w.bundles(notes)
      for t in thresholds {
        w.u8(t == nil ? 0 : 1)
        if let t { w.u32(UInt32(clamping: t)) }
      }
      w.instant(time)
    case .notesUnloaded(let terminal, let cassettes, let bin, let time):
      w.string(terminal)
      w.bundles(cassettes)
      w.bundles(bin)
      w.instant(time)
    case .notesDispensed(let terminal, let notes, let time),
      .notesDeposited(let terminal, let notes, let time):
      w.string(terminal)
      w.bundles(notes)
      w.instant(time)
    case .cassetteState(let terminal, let denomination, let inoperative, let time):
      w.string(terminal)
      w.i64(denomination)
      w.u8(inoperative ? 1 : 0)
      w.instant(time)
    case .serviceChanged(let terminal, let inService, let time):
      w.string(terminal)
      w.u8(inService ? 1 : 0)
      w.instant(time)
    case .faultScripted(let terminal, let fault, let denomination, let time):
      w.string(terminal)
      w.u8(fault?.rawValue ?? 0)
      w.i64(denomination)
      w.instant(time)
    case .terminalRegistered(let terminal, let digest, let time):
      w.string(terminal)
      w.raw(digest)
      w.instant(time)
    case .event(let terminal, let type, let detail, let cassette, let time):
      w.string(terminal)
      w.u8(type.rawValue)
      w.string(detail)
      w.i64(cassette)
      w.instant(time)
    case .holdPlaced(let terminal, let hold, let card, let notes, let time):
      w.string(terminal)
      w.u64(hold)
      w.u64(card)
      w.bundles(notes)
      w.instant(time)
    case .holdResolved(let hold, let posted, let time):
      w.u64(hold)
      w.u8(posted ? 1 : 0)
      w.instant(time)
    case .rulesLoaded(let rules, let time):
      let sorted = rules.sorted { $0.key < $1.key }
      w.u16(UInt16(clamping: sorted.count))
      for (k, v) in sorted.prefix(Int(UInt16.max)) {
        w.string(k)
        w.string(v)
      }
      w.instant(time)
    case .cassettesCounted(let terminal, let counts, let time):
      w.string(terminal)
      w.bundles(counts)
      w.instant(time)
    }
  }

  static func decode(_ r: inout ByteReader) throws(DecodeError) -> ATMRecord {
    let (rawTag, _) = try RecordCodec.header(
      &r, core: "atm", tags: ATMState.tags, name: { Tag(rawValue: $0)?.name },
      newest: { Tag(rawValue: $0) == nil ? 0 : 1 })
    guard let tag = Tag(rawValue: rawTag) else { throw DecodeError("unknown atm record tag") }
    switch tag {
    case .terminalAdded:
      let id = try r.string()
      let currency = try r.currency()
      return .terminalAdded(
        id: id, currency: currency, cashAccount: AccountID(try r.u32()), time: try r.instant())
    case .notesLoaded:
      let terminal = try r.string()
      let notes = try r.bundles()
      var thresholds: [Int?] = []
      for _ in notes { thresholds.append(try r.flag() ? Int(try r.u32()) : nil) }
      return .notesLoaded(
        terminal: terminal, notes: notes, lowThresholds: thresholds, time: try r.instant())
    case .notesUnloaded:
      return .notesUnloaded(
        terminal: try r.string(), cassettes: try r.bundles(), bin: try r.bundles(),
        time: try r.instant())
    case .notesDispensed:
      return .notesDispensed(
        terminal: try r.string(), notes: try r.bundles(), time: try r.instant())
    case .notesDeposited:
      return .notesDeposited(
        terminal: try r.string(), notes: try r.bundles(), time: try r.instant())
    case .cassetteState:
      return .cassetteState(
        terminal: try r.string(), denomination: try r.i64(), inoperative: try r.flag(),
        time: try r.instant())
    case .serviceChanged:
      return .serviceChanged(
        terminal: try r.string(), inService: try r.flag(), time: try r.instant())
    case .faultScripted:
      let terminal = try r.string()
      let raw = try r.u8()
      guard raw == 0 || DeviceFault(rawValue: raw) != nil else {
        throw DecodeError("unknown device fault \(raw)")
      }
      return .faultScripted(
        terminal: terminal, fault: DeviceFault(rawValue: raw), denomination: try r.i64(),
        time: try r.instant())
    case .terminalRegistered:
      return .terminalRegistered(
        terminal: try r.string(), keyDigest: try r.bytes(32), time: try r.instant())
    case .event:
      let terminal = try r.string()
      let raw = try r.u8()
      guard let type = ATMEventType(rawValue: raw) else {
        throw DecodeError("unknown atm event type \(raw)")
      }
      return .event(
        terminal: terminal, type: type, detail: try r.string(), cassette: try r.i64(),
        time: try r.instant())
    case .holdPlaced:
      return .holdPlaced(
        terminal: try r.string(), hold: try r.u64(), card: try r.u64(), notes: try r.bundles(),
        time: try r.instant())
    case .holdResolved:
      return .holdResolved(hold: try r.u64(), posted: try r.flag(), time: try r.instant())
    case .rulesLoaded:
      var rules: [String: String] = [:]
      for _ in 0..<Int(try r.u16()) { rules[try r.string()] = try r.string() }
      return .rulesLoaded(rules: rules, time: try r.instant())
    case .cassettesCounted:
      return .cassettesCounted(
        terminal: try r.string(), counts: try r.bundles(), time: try r.instant())
    }
  }
}

extension ByteWriter {
  mutating func bundles(_ notes: [NoteBundle]) {
    u16(UInt16(clamping: notes.count))
    for n in notes.prefix(Int(UInt16.max)) {
      i64(n.denomination)
      u32(UInt32(clamping: n.count))
    }
  }
}

extension ByteWriter {
  mutating func currency(_ c: Currency) {
    string(c.code)
    u8(UInt8(c.minorDigits))
  }
}

extension ByteReader {
  mutating func currency() throws(DecodeError) -> Currency {
    let code = try string()
    let digits = Int(try u8())
    do throws(BankError) { return try Currency(code: code, minorDigits: digits) } catch {
      throw DecodeError(error.message)
    }
  }

  mutating func bundles() throws(DecodeError) -> [NoteBundle] {
    let n = Int(try u16())
    try need(n * 12)
    var out: [NoteBundle] = []
    out.reserveCapacity(n)
    for _ in 0..<n {
      let d = try i64()
      guard d > 0 else { throw DecodeError("a denomination of \(d)") }
      out.append(NoteBundle(denomination: d, count: Int(try u32())))
    }
    return out
  }
}
