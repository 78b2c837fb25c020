extension LedgerState {
  static let snapshotMagic: UInt32 = 0x4C42_4353  // "SCBL"
  /// The ledger section's version: 5 adds, after the key index, what was taken off both posted
  /// totals of the accounts whose gross totals passed 64 bits (``rebased``); 4 keeps the key
  /// index in chunks; 3 adds each account's newest history entry, each pending
  /// hold's sequence and the compact key index, and keeps only pending holds; 2 moved the journal
  /// head to the bank; version 1 (the whole snapshot payload of the first release) also held the
  /// last sequence number. Versions 1 and 2 are still read, but lack what only the journal can
  /// give (entry chains, key sequences): the bank replays the journal instead of using them.
  static let snapshotVersion: UInt8 = 5

  /// The whole state as bytes, for a snapshot.
  ///
  /// - Parameter comparable: leave out what a snapshot of an older release cannot hold (history
  ///   heads, hold sequences, the key index), to compare states across releases.
  /// - Complexity: O(accounts + pending holds + keys); the keys are copied as flat bytes.
  func encodeSnapshot(comparable: Bool = false, externalKeys: Bool = false) -> [UInt8] {
    var w = ByteWriter(capacity: snapshotSizeEstimate)
    encodeSnapshot(into: &w, comparable: comparable, externalKeys: externalKeys)
    return w.bytes
  }

  /// About how many bytes ``encodeSnapshot(comparable:)`` writes, to reserve them once.
  var snapshotSizeEstimate: Int { 64 + info.count * 104 + holds.count * 96 + keys.count * 16 }

  /// Appends the snapshot encoding to `w` (the bank's container writes it in place, so the
  /// largest section is never copied).
  ///
  /// - Parameter externalKeys: name the key index's full chunks by checksum instead of carrying
  ///   them (the store keeps them in its key chunk file).
  func encodeSnapshot(
    into w: inout ByteWriter, comparable: Bool = false, externalKeys: Bool = false
  ) {
    w.u32(Self.snapshotMagic)
    w.u8(Self.snapshotVersion)
    w.u64(counters.nextTransfer)
    w.i64(counters.lastTimestamp)
    w.u64(counters.nextCustomerBase)
    w.u64(counters.nextInternalBase)
    w.u32(UInt32(info.count))
    for (i, a) in info.enumerated() {
      let b = bal[i]
      w.u64(a.number.rawValue)
      w.u8(a.kind.rawValue)
      w.raw(a.currency.code.utf8)
      w.u8(UInt8(a.currency.minorDigits))
      w.i64(a.openedAt)
      w.string(a.name)
      w.i64(b.postedDebits)
      w.i64(b.postedCredits)
      w.i64(b.pendingDebits)
      w.i64(b.pendingCredits)
      w.i64(b.overdraftLimit)
      w.u8(b.status.rawValue)
      w.u64(comparable ? 0 : b.lastEntry)
    }
    w.u32(UInt32(holds.count))
    for n in holds.keys.sorted() {
      guard let h = holds[n] else { continue }
      var r = h.record
      if comparable { r.links = nil }
      JournalRecord.transfer(r).encode(into: &w)
      w.u64(comparable ? 0 : h.sequence)
    }
    if comparable {
      KeyIndex().encode(into: &w, external: false)
    } else {
      keys.encode(into: &w, external: externalKeys)
    }
    w.u32(UInt32(rebased.count))
    for i in rebased.keys.sorted() {
      let v = rebased[i] ?? 0
      w.u32(UInt32(i))
      w.u64(UInt64(truncatingIfNeeded: v >> 64))
      w.u64(UInt64(truncatingIfNeeded: v))
    }
  }

  /// Rebuilds a state from ``encodeSnapshot()`` output of this or an older release, checking
  /// everything it reads.
  ///
  /// - Returns: the state, and the journal sequence a version-1 payload recorded (0 otherwise).
  static func decodeSnapshot(
    _ bytes: [UInt8], version: UInt8, keyChunk: ((Int) -> [UInt8]?)? = nil
  ) throws(DecodeError)
    -> (LedgerState, UInt64)
  {
    let result: Result<(LedgerState, UInt64), DecodeError> = bytes.withUnsafeBytes { buf in
      do throws(DecodeError) { return .success(try decodeSnapshot(buf, keyChunk: keyChunk)) } catch
      {
        return .failure(error)
      }
    }
    return try result.get()
  }

  private static func decodeSnapshot(
    _ buf: UnsafeRawBufferPointer, keyChunk: ((Int) -> [UInt8]?)?
  ) throws(DecodeError)
    -> (LedgerState, UInt64)
  {
    var r = ByteReader(buf)
    guard try r.u32() == snapshotMagic else { throw DecodeError("not a ledger snapshot") }
    let version = try r.u8()
    guard version >= 1 && version <= snapshotVersion else {
      throw DecodeError("unsupported ledger snapshot version \(version)")
    }
    var s = LedgerState()
    s.counters.nextTransfer = try r.u64()
    s.counters.lastTimestamp = try r.i64()
    s.counters.nextCustomerBase = try r.u64()
    s.counters.nextInternalBase = try r.u64()
    let sequence = version == 1 ? try r.u64() : 0
    let count = Int(try r.u32())
    try r.need(count &* 40)
    s.info.reserveCapacity(count)
    s.bal.reserveCapacity(count)
    s.byNumber.reserveCapacity(count)
    var lastCurrency: (code: String, digits: Int, currency: Currency)?
    for i in 0..<count {
      let raw = try r.u64()
      guard raw >= 10, raw <= 999_999_999,
        AccountNumber.checkDigit(for: raw / 10) == UInt8(raw % 10),
        let kind = AccountKind(rawValue: try r.u8())
      else { throw DecodeError("bad account in snapshot") }
      let code = String(decoding: try r.bytes(3), as: UTF8.self)
      let digits = Int(try r.u8())
      let currency: Currency
      if let last = lastCurrency, last.code == code, last.digits == digits {
        currency = last.currency
      } else {
        do { currency = try Currency(code: code, minorDigits: digits) } catch {
          throw DecodeError("bad currency in snapshot")
        }
        lastCurrency = (code, digits, currency)
      }
      let opened = try r.i64()
      let name = try r.string()
      var b = Balances()
      b.postedDebits = try r.i64()
      b.postedCredits = try r.i64()
      b.pendingDebits = try r.i64()
      b.pendingCredits = try r.i64()
      b.overdraftLimit = try r.i64()
      guard let status = AccountStatus(rawValue: try r.u8()) else {
        throw DecodeError("bad status")
      }
      b.status = status
      if version >= 3 { b.lastEntry = try r.u64() }
      b.limited = kind.isCustomer && kind.isCreditNormal
      b.creditNormal = kind.isCreditNormal
      let number = AccountNumber(uncheckedRaw: raw)
      let id = AccountID(UInt32(i + 1))
      guard s.byNumber.insert(raw, id) == nil else {
        throw DecodeError("duplicate account number in snapshot")
      }
      s.info.append(
        AccountInfo(number: number, name: name, kind: kind, currency: currency, openedAt: opened))
      s.bal.append(b)
      if kind == .vault && s.vaults[currency.letters] == nil { s.vaults[currency.letters] = id }
    }
    let holdCount = Int(try r.u32())
    for _ in 0..<holdCount {
      guard try r.u8() == JournalRecord.Tag.transfer.rawValue else {
        throw DecodeError("bad hold in snapshot")
      }
      let recordVersion = try r.u8()
      guard recordVersion == 1 || recordVersion == 2 else {
        throw DecodeError("bad hold in snapshot")
      }
      var rec = try TransferCodec.decodeBody(&r, version: recordVersion)
      guard rec.isHold, rec.debit.index < count, rec.credit.index < count,
        rec.debit.rawValue > 0, rec.credit.rawValue > 0
      else { throw DecodeError("bad hold in snapshot") }
      if version >= 3 {
        let sequence = try r.u64()
        guard sequence > 0,
          s.holds.updateValue(Hold(record: rec, sequence: sequence), forKey: rec.number) == nil
        else {
          throw DecodeError("bad hold in snapshot")
        }
        if rec.expiresAt != 0 { s.expiry.insert(.init(expiresAt: rec.expiresAt, hold: rec.number)) }
        continue
      }
      // Older sections kept resolved holds too; only the pending ones are state now.
      let outcomeByte = try r.u8()
      guard outcomeByte == 0 || HoldOutcome(rawValue: outcomeByte) != nil else {
        throw DecodeError("bad hold in snapshot")
      }
      _ = try r.i64()
      if outcomeByte == 0 {
        rec.links = nil
        s.holds[rec.number] = Hold(record: rec, sequence: 0)
      }
    }
    if version >= 3 {
      s.keys = try KeyIndex.decode(&r, form: version >= 4, chunk: keyChunk)
    } else {
      // Keys of an older section: checked and skipped (their records' sequences are not there).
      let keyCount = Int(try r.u32())
      for _ in 0..<keyCount {
        if try r.u8() == 1 {
          _ = try r.u64()
        } else {
          let len = Int(try r.u32())
          try r.need(len)
          _ = try r.bytes(len)
        }
      }
    }
    if version >= 5 {
      let count = Int(try r.u32())
      guard count <= s.bal.count else { throw DecodeError("more rebased totals than accounts") }
      for _ in 0..<count {
        let i = Int(try r.u32())
        let v = Int128(Int64(bitPattern: try r.u64())) << 64 | Int128(try r.u64())
        guard i < s.bal.count, v > 0, s.rebased[i] == nil else {
          throw DecodeError("a rebased total for account index \(i) that cannot be")
        }
        s.rebased[i] = v
      }
    }
    guard r.isAtEnd else { throw DecodeError("trailing bytes in snapshot") }
    return (s, sequence)
  }
}
