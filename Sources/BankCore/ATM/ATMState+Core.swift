/// The ATM fleet as a core of the bank: section 3 of the snapshot, record tags 64–95.
extension ATMState: StateCore {
  typealias Record = ATMRecord

  static let coreID: UInt8 = 3
  static let coreName = "atm"
  static let tags: ClosedRange<UInt8> = 64...95
  /// Version 2 keeps every scripted fault (a queue); version 1 kept one and is still read.
  static let snapshotVersion: UInt8 = 2

  static func encode(_ record: ATMRecord, into w: inout ByteWriter) { record.encode(into: &w) }

  static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> ATMRecord {
    try RecordCodec.decodeWhole(bytes, core: "atm") { r throws(DecodeError) in
      try ATMRecord.decode(&r)
    }
  }

  mutating func applyRecord(_ record: ATMRecord) -> Bool { applyChecked(record) == nil }

  static func time(of record: ATMRecord) -> Int64 { record.time.nanoseconds }

  var lastTimestamp: Int64 { lastTime }

  /// The whole state, identical for equal states: terminals by ID, holds by number, cards by
  /// number, bins by denomination.
  func encodeSnapshot() -> [UInt8] {
    var w = ByteWriter(capacity: 256)
    w.i64(lastTime)
    let list = terminals.values.sorted { $0.id < $1.id }
    w.u32(UInt32(list.count))
    for t in list {
      w.string(t.id)
      w.currency(t.currency)
      w.u32(t.cashAccount.rawValue)
      w.u16(UInt16(clamping: t.cassettes.count))
      for c in t.cassettes {
        w.i64(c.denomination)
        w.u32(UInt32(clamping: c.count))
        w.u32(UInt32(clamping: c.lowThreshold))
        w.u8(
          (c.inoperative ? 1 : 0) | (c.lowAlerted ? 2 : 0) | (c.emptyAlerted ? 4 : 0)
            | (c.forecastAlerted ? 8 : 0))
      }
      w.bundles(
        t.bin.sorted { $0.key > $1.key }.map { NoteBundle(denomination: $0.key, count: $0.value) })
      w.u8(t.inService ? 1 : 0)
      w.u32(UInt32(clamping: t.faultsInARow))
      w.u16(UInt16(clamping: t.faults.count))
      for f in t.faults.prefix(Int(UInt16.max)) {
        w.u8(f.fault.rawValue)
        w.i64(f.denomination)
      }
      w.u8(t.keyDigest == nil ? 0 : 1)
      if let k = t.keyDigest { w.raw(k) }
      let logs = t.dispensed.filter { !$0.value.isEmpty || $0.value.droppedTotal != 0 }
        .sorted { $0.key > $1.key }
      w.u32(UInt32(clamping: logs.count))
      for (d, log) in logs {
        let (dropped, items) = log.entries
        w.i64(d)
        w.i64(dropped)
        w.u32(UInt32(clamping: items.count))
        for (time, count) in items {
          w.i64(time)
          w.i64(count)
        }
      }
    }
    let holdList = holds.sorted { $0.key < $1.key }
    w.u32(UInt32(holdList.count))
    for (n, h) in holdList {
      w.u64(n)
      w.string(h.terminal)
      w.u64(h.card)
      w.bundles(h.notes)
      w.i64(h.time)
    }
    let uses = dailyUse.sorted { $0.key < $1.key }
    w.u32(UInt32(uses.count))
    for (card, byCurrency) in uses {
      w.u64(card)
      let list = byCurrency.sorted { $0.key < $1.key }
      w.u16(UInt16(clamping: list.count))
      for (letters, u) in list {
        w.u32(letters)
        w.i64(u.day)
        w.i64(u.amount)
        w.u32(UInt32(clamping: u.count))
      }
    }
    let ruleList = rules.sorted { $0.key < $1.key }
    w.u16(UInt16(clamping: ruleList.count))
    for (k, v) in ruleList {
      w.string(k)
      w.string(v)
    }
    return w.bytes
  }

  static func decodeSnapshot(_ bytes: [UInt8], version: UInt8) throws(DecodeError) -> ATMState {
    guard version == 1 || version == 2 else {
      throw DecodeError("atm section version \(version); this release reads versions 1 and 2")
    }
    return try RecordCodec.decodeWhole(bytes, core: "atm") { r throws(DecodeError) in
      var s = ATMState()
      s.lastTime = try r.i64()
      for _ in 0..<Int(try r.u32()) {
        let id = try r.string()
        let currency = try r.currency()
        var t = Terminal(id: id, currency: currency, cashAccount: AccountID(try r.u32()))
        for _ in 0..<Int(try r.u16()) {
          let d = try r.i64()
          let count = Int(try r.u32())
          let threshold = Int(try r.u32())
          let flags = try r.u8()
          t.cassettes.append(
            CassetteState(
              denomination: d, count: count, lowThreshold: threshold, inoperative: flags & 1 != 0,
              lowAlerted: flags & 2 != 0, emptyAlerted: flags & 4 != 0,
              forecastAlerted: flags & 8 != 0))
        }
        for b in try r.bundles() { t.bin[b.denomination] = b.count }
        t.inService = try r.flag()
        t.faultsInARow = Int(try r.u32())
        if version == 1 {
          let fault = DeviceFault(rawValue: try r.u8())
          let denomination = try r.i64()
          if let fault { t.faults = [ScriptedFault(fault: fault, denomination: denomination)] }
        } else {
          for _ in 0..<Int(try r.u16()) {
            let raw = try r.u8()
            guard let fault = DeviceFault(rawValue: raw) else {
              throw DecodeError("unknown device fault \(raw)")
            }
            t.faults.append(ScriptedFault(fault: fault, denomination: try r.i64()))
          }
        }
        if try r.flag() { t.keyDigest = try r.bytes(32) }
        for _ in 0..<Int(try r.u32()) {
          let d = try r.i64()
          let dropped = try r.i64()
          let n = Int(try r.u32())
          try r.need(n * 16)
          var items: [(Int64, Int64)] = []
          items.reserveCapacity(n)
          for _ in 0..<n { items.append((try r.i64(), try r.i64())) }
          t.dispensed[d] = CountLog(droppedTotal: dropped, items: items)
        }
        s.terminals[id] = t
      }
      for _ in 0..<Int(try r.u32()) {
        let n = try r.u64()
        s.holds[n] = PendingHold(
          terminal: try r.string(), card: try r.u64(), notes: try r.bundles(), time: try r.i64())
      }
      for _ in 0..<Int(try r.u32()) {
        let card = try r.u64()
        for _ in 0..<Int(try r.u16()) {
          let letters = try r.u32()
          s.dailyUse[card, default: [:]][letters] = DailyUse(
            day: try r.i64(), amount: try r.i64(), count: Int(try r.u32()))
        }
      }
      for _ in 0..<Int(try r.u16()) { s.rules[try r.string()] = try r.string() }
      return s
    }
  }
}
