/// What a core's command produced: the records to append, kept even when the command is refused
/// (a wrong PIN's try counter, a failed login towards a lockout), and its answer.
struct CoreOutcome<Record: Sendable, Value: Sendable>: Sendable {
  /// What to append, possibly nothing.
  var records: [Record]
  /// The command's answer, given once the records are durable.
  var result: Result<Value, BankError>

  /// An outcome; a refusal that records nothing is simply a thrown error.
  init(records: [Record], result: Result<Value, BankError>) {
    self.records = records
    self.result = result
  }
}

extension BankState {
  /// The state of core `C`, or `invalid_argument` when this bank was opened without it.
  func requireCore<C: StateCore>(_ type: C.Type) throws(BankError) -> C {
    guard let c = core(type) else {
      throw BankError(.invalidArgument, "this bank has no \(C.coreName) core")
    }
    return c
  }
}

extension Bank {
  /// The commit path of a core's command: one transaction in which `build` judges the command
  /// against core `C` (and, through the state and the transaction, stages anything on the
  /// ledger or other cores), and whose outcome's records are emitted into core `C` and appended
  /// even when the outcome is a refusal. The refusal is thrown once they are durable.
  ///
  /// Every core's facade (the Authenticator, the ATM fleet, the products) commits through this,
  /// so none of them keeps a commit path of its own.
  func commit<C: StateCore, V: Sendable>(
    _ core: C.Type,
    _ build: (C, inout BankState, inout Transaction) throws(BankError) -> CoreOutcome<C.Record, V>
  ) throws(BankError) -> V {
    let outcome = try commit { state, tx throws(BankError) -> CoreOutcome<C.Record, V> in
      let current = try state.requireCore(C.self)
      let outcome = try build(current, &state, &tx)
      for r in outcome.records { state.emit(r, of: C.self, in: &tx) }
      return outcome
    }
    return try outcome.result.get()
  }

  /// ``commit(_:_:)-(C.Type,_)`` for a command that is never refused after judging: its records
  /// and its value.
  func commitRecords<C: StateCore, V: Sendable>(
    _ core: C.Type,
    _ build: (C, inout BankState, inout Transaction) throws(BankError) -> ([C.Record], V)
  ) throws(BankError) -> V {
    try commit(core) { current, state, tx throws(BankError) in
      let (records, value) = try build(current, &state, &tx)
      return CoreOutcome(records: records, result: .success(value))
    }
  }
}

/// The checks every core's record decoder repeats: the tag and version header, and exactly one
/// record in a buffer.
enum RecordCodec {
  /// Reads a record's tag and version byte and checks them: the tag must be one of `core`'s
  /// (`name(tag)` non-nil, within `tags`), and `newest(tag)` the newest version this release
  /// reads of it (every version from 1 is read).
  ///
  /// - Throws: ``DecodeError`` naming what is wrong: a tag outside the core's range, an unknown
  ///   tag within it (a newer release's record), a version this release cannot read.
  static func header(
    _ r: inout ByteReader, core: String, tags: ClosedRange<UInt8>,
    name: (UInt8) -> String?, newest: (UInt8) -> UInt8
  ) throws(DecodeError) -> (tag: UInt8, version: UInt8) {
    let tag = try r.u8()
    guard tags.contains(tag) else {
      throw DecodeError("tag \(tag) is not one of the \(core) core's record tags (\(tags))")
    }
    guard let recordName = name(tag) else {
      throw DecodeError("unknown \(core) record tag \(tag) (written by a newer release?)")
    }
    let version = try r.u8()
    guard version >= 1, version <= newest(tag) else {
      throw DecodeError(
        "\(core) record \(recordName) (tag \(tag)) has version \(version); this release reads versions 1 to \(newest(tag))"
      )
    }
    return (tag, version)
  }

  /// Decodes a buffer holding exactly one record with `decode`; bytes left over are an error.
  static func decodeWhole<R>(
    _ bytes: UnsafeRawBufferPointer, core: String,
    _ decode: (inout ByteReader) throws(DecodeError) -> R
  ) throws(DecodeError) -> R {
    var r = ByteReader(bytes)
    let record = try decode(&r)
    guard r.isAtEnd else {
      throw DecodeError("\(r.remaining) bytes left after a record of the \(core) core")
    }
    return record
  }

  /// ``decodeWhole(_:core:_:)`` on an array: the `Result` wrapping around `withUnsafeBytes`,
  /// whose closure cannot throw a typed error, done once here.
  static func decodeWhole<R>(
    _ bytes: [UInt8], core: String, _ decode: (inout ByteReader) throws(DecodeError) -> R
  ) throws(DecodeError) -> R {
    let result: Result<R, DecodeError> = bytes.withUnsafeBytes { raw in
      do throws(DecodeError) { return .success(try decodeWhole(raw, core: core, decode)) } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }
}
