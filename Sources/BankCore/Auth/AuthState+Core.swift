/// The Authenticator as a core of the bank: section 2 of the snapshot, record tags 32–63.
extension AuthState: StateCore {
  typealias Record = AuthRecord

  static let coreID: UInt8 = 2
  static let coreName = "auth"
  static let tags: ClosedRange<UInt8> = 32...63

  static func encode(_ record: AuthRecord, into w: inout ByteWriter) { record.encode(into: &w) }

  static func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> AuthRecord {
    try RecordCodec.decodeWhole(bytes, core: "auth") { r throws(DecodeError) in
      try AuthRecord.decode(&r)
    }
  }

  mutating func applyRecord(_ record: AuthRecord) -> Bool { applyChecked(record) == nil }

  static func time(of record: AuthRecord) -> Int64 { record.time.nanoseconds }

  var lastTimestamp: Int64 { lastTime }

  static func decodeSnapshot(_ bytes: [UInt8], version: UInt8) throws(DecodeError) -> AuthState {
    guard version >= 1 && version <= snapshotVersion else {
      throw DecodeError(
        "auth section version \(version); this release reads versions 1 to \(snapshotVersion)")
    }
    return try decodeSnapshot(bytes)
  }

  /// Version 1 lacks the customers' last contact changes, which only the journal holds.
  static var oldestCompleteSnapshotVersion: UInt8 { 2 }

  func comparable(toSectionVersion version: UInt8) -> AuthState {
    guard version < 2 else { return self }
    var copy = self
    for id in copy.customers.keys { copy.customers[id]?.contactChangedAt = nil }
    return copy
  }
}
