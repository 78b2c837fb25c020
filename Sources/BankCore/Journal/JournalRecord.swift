/// What kind of movement a transfer is; recorded so history and statements can label it.
public enum TransferKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// A movement between two accounts.
  case transfer = 0
  /// Cash in: vault to customer.
  case deposit = 1
  /// Cash out: customer to vault.
  case withdrawal = 2
  /// A loan paid out: loan account to customer.
  case loanDisbursement = 3
  /// A loan repaid: customer to loan account.
  case loanRepayment = 4
  /// Interest paid: interest expense to customer.
  case interest = 5
  /// A fee charged: customer to fee income.
  case fee = 6
  /// The opposite of an earlier transfer (`reverse`): from its credit account to its debit
  /// account, whatever kinds those are.
  case reversal = 7

  /// Whether a movement of this kind may pass between a customer's deposit account and one of
  /// the bank's own accounts of kind `bank`, in this direction (`toCustomer`): cash in and out
  /// through the vault or a terminal's cash, a loan paid out or repaid, interest paid (from
  /// interest expense) or charged (to interest income), a fee. A plain transfer passes only
  /// between customers.
  public func allows(bankAccount bank: AccountKind, toCustomer: Bool) -> Bool {
    switch (self, toCustomer) {
    case (.deposit, true), (.withdrawal, false): bank == .vault || bank == .terminalCash
    case (.loanDisbursement, true): bank == .loan
    case (.loanRepayment, false): bank == .loan || bank == .interestIncome
    case (.interest, true): bank == .interest
    case (.interest, false): bank == .interestIncome
    case (.fee, false): bank == .fees
    case (.reversal, _): true
    default: false
    }
  }

  public var description: String {
    switch self {
    case .transfer: "transfer"
    case .deposit: "deposit"
    case .withdrawal: "withdrawal"
    case .loanDisbursement: "loan_disbursement"
    case .loanRepayment: "loan_repayment"
    case .interest: "interest"
    case .fee: "fee"
    case .reversal: "reversal"
    }
  }
}

/// A record of an account being opened.
package struct AccountOpened: Sendable, Equatable {
  /// The new account's internal ID: one more than the last.
  package var id: AccountID
  /// Its customer-facing number.
  package var number: AccountNumber
  /// The owner's name or the account's title.
  package var name: String
  /// What the account is for.
  package var kind: AccountKind
  /// The currency of its movements.
  package var currency: Currency
  /// Its overdraft limit in minor units.
  package var overdraftLimit: Int64
  /// When it was opened, in nanoseconds since 1970.
  package var timestamp: Int64
}

/// A record of money moving, or of a hold being placed when `expiresAt` is set (`isHold`).
package struct TransferRecord: Sendable, Equatable {
  /// The ledger-assigned transfer number, unique and increasing.
  package var number: UInt64
  /// The caller's idempotency key, if one was given.
  package var key: String?
  /// What kind of movement it is.
  package var kind: TransferKind
  /// The account debited.
  package var debit: AccountID
  /// The account credited.
  package var credit: AccountID
  /// The amount in minor units; always positive.
  package var amount: Int64
  /// When it was committed, in nanoseconds since 1970.
  package var timestamp: Int64
  /// The caller's memo; empty for none.
  package var memo: String
  /// Whether this places a pending hold rather than posting.
  package var isHold: Bool
  /// For a hold, when it lapses (nanoseconds since 1970); 0 means never.
  package var expiresAt: Int64
  /// Where the two accounts' previous history entries are (version-2 records); `nil` for a
  /// record of the first release, which carries no links.
  var links: EntryLinks? = nil

  /// The transfer's public identifier (``Transfer/id``).
  package var transferID: String { IdempotencyKey.publicID(stored: key, number: number) }
}

/// How a pending hold ended.
public enum HoldOutcome: UInt8, Sendable, CustomStringConvertible {
  /// Posted, in full or in part.
  case posted = 1
  /// Cancelled by the caller.
  case voided = 2
  /// Lapsed at its expiry time.
  case expired = 3

  public var description: String {
    switch self {
    case .posted: "posted"
    case .voided: "voided"
    case .expired: "expired"
    }
  }
}

/// A record of a hold being posted, voided or expired.
package struct HoldResolved: Sendable, Equatable {
  /// The transfer number this resolution gets (it appears in history when it posts).
  package var number: UInt64
  /// The transfer number of the hold.
  package var hold: UInt64
  /// Whether the hold was posted, voided or expired.
  package var outcome: HoldOutcome
  /// For a post, the amount posted (at most the hold's amount); otherwise 0.
  package var amount: Int64
  /// When it was resolved, in nanoseconds since 1970.
  package var timestamp: Int64
  /// How far back (in sequence numbers) the hold's own record is, and where the two accounts'
  /// previous history entries are (version-2 records); `nil` for a record of the first release.
  var links: ResolutionLinks? = nil
}

/// Where the previous history entries of a posted movement's two accounts are, as distances back
/// in journal sequence numbers from the record itself: 0 when the account has no earlier entry.
/// They chain each account's entries newest first, so history reads only its own entries.
struct EntryLinks: Sendable, Equatable {
  var debitBack: UInt64 = 0
  var creditBack: UInt64 = 0
}

/// A resolution's links: the distance back to its hold's record, and the two accounts' entry
/// links (meaningful only when the hold was posted, otherwise zero).
struct ResolutionLinks: Sendable, Equatable {
  var holdBack: UInt64 = 0
  var entry = EntryLinks()
}

/// A record of an account's status or overdraft limit changing.
package struct AccountChanged: Sendable, Equatable {
  /// The account that changed.
  package var id: AccountID
  /// Its status from now on.
  package var status: AccountStatus
  /// Its overdraft limit from now on, in minor units.
  package var overdraftLimit: Int64
  /// When it changed, in nanoseconds since 1970.
  package var timestamp: Int64
}

/// One typed domain event of the journal. Every state change of the bank is one of these, and
/// replaying them in order rebuilds the state exactly.
package enum JournalRecord: Sendable, Equatable {
  /// An account was opened.
  case accountOpened(AccountOpened)
  /// Money moved, or a hold was placed.
  case transfer(TransferRecord)
  /// A hold was posted, voided or expired.
  case holdResolved(HoldResolved)
  /// An account's status or overdraft limit changed.
  case accountChanged(AccountChanged)

  /// The time the record carries, in nanoseconds since 1970.
  var timestamp: Int64 {
    switch self {
    case .accountOpened(let r): r.timestamp
    case .transfer(let r): r.timestamp
    case .holdResolved(let r): r.timestamp
    case .accountChanged(let r): r.timestamp
    }
  }

  /// The wire tag of each record type. Tags are never reused.
  enum Tag: UInt8 {
    case accountOpened = 1
    case transfer = 2
    case holdResolved = 3
    case accountChanged = 4
  }

  /// The codec version written for account records (opened, changed): 1 since the first release.
  static let version: UInt8 = 1
  /// The codec version written for transfers and resolutions: 2 adds the history links after the
  /// fields of version 1 (two varints for a transfer, three for a resolution). Version 1 is still
  /// read.
  static let entryVersion: UInt8 = 2

  /// Appends the record's bytes: tag, version, then the fields little-endian.
  func encode(into w: inout ByteWriter) {
    switch self {
    case .accountOpened(let r):
      w.u8(Tag.accountOpened.rawValue)
      w.u8(Self.version)
      w.u32(r.id.rawValue)
      w.u64(r.number.rawValue)
      w.u8(r.kind.rawValue)
      w.raw(r.currency.code.utf8)
      w.u8(UInt8(r.currency.minorDigits))
      w.i64(r.overdraftLimit)
      w.i64(r.timestamp)
      w.string(r.name)
    case .transfer(let r):
      TransferCodec.encode(r, into: &w)
    case .holdResolved(let r):
      w.u8(Tag.holdResolved.rawValue)
      w.u8(Self.entryVersion)
      w.u64(r.number)
      w.u64(r.hold)
      w.u8(r.outcome.rawValue)
      w.i64(r.amount)
      w.i64(r.timestamp)
      let links = r.links ?? ResolutionLinks()
      w.varint(links.holdBack)
      w.varint(links.entry.debitBack)
      w.varint(links.entry.creditBack)
    case .accountChanged(let r):
      w.u8(Tag.accountChanged.rawValue)
      w.u8(Self.version)
      w.u32(r.id.rawValue)
      w.u8(r.status.rawValue)
      w.i64(r.overdraftLimit)
      w.i64(r.timestamp)
    }
  }

  /// The record's bytes.
  package var encoded: [UInt8] {
    var w = ByteWriter()
    encode(into: &w)
    return w.bytes
  }

  /// Decodes one record, checking every bound and enumeration value.
  static func decode(_ buffer: UnsafeRawBufferPointer) throws(DecodeError) -> JournalRecord {
    if RecordEnvelope.isStamped(buffer) {
      return try RecordEnvelope.withBody(buffer) { b throws(DecodeError) in try decode(b) }
    }
    var r = ByteReader(buffer)
    let tagByte = try r.u8()
    guard let tag = Tag(rawValue: tagByte) else {
      throw DecodeError("unknown record tag \(tagByte)")
    }
    let version = try r.u8()
    let newest = tag == .transfer || tag == .holdResolved ? Self.entryVersion : Self.version
    guard version >= 1, version <= newest else {
      throw DecodeError("unsupported version \(version) of record tag \(tagByte)")
    }
    let record: JournalRecord
    switch tag {
    case .accountOpened:
      let id = AccountID(try r.u32())
      let raw = try r.u64()
      guard let kind = AccountKind(rawValue: try r.u8()) else {
        throw DecodeError("bad account kind")
      }
      let codeBytes = try r.bytes(3)
      let digits = Int(try r.u8())
      let code = String(decoding: codeBytes, as: UTF8.self)
      let currency: Currency
      do { currency = try Currency(code: code, minorDigits: digits) } catch {
        throw DecodeError("bad currency in account record")
      }
      let overdraft = try r.i64()
      let ts = try r.i64()
      let name = try r.string()
      guard raw >= 10, raw <= 999_999_999,
        AccountNumber.checkDigit(for: raw / 10) == UInt8(raw % 10)
      else { throw DecodeError("bad account number in account record") }
      guard id.rawValue > 0, overdraft >= 0 else { throw DecodeError("bad account fields") }
      record = .accountOpened(
        AccountOpened(
          id: id, number: AccountNumber(uncheckedRaw: raw), name: name, kind: kind,
          currency: currency, overdraftLimit: overdraft, timestamp: ts))
    case .transfer:
      record = .transfer(try TransferCodec.decodeBody(&r, version: version))
    case .holdResolved:
      let number = try r.u64()
      let hold = try r.u64()
      guard let outcome = HoldOutcome(rawValue: try r.u8()) else {
        throw DecodeError("bad hold outcome")
      }
      let amount = try r.i64()
      let ts = try r.i64()
      guard amount >= 0 else { throw DecodeError("negative amount") }
      var links: ResolutionLinks?
      if version >= 2 {
        links = ResolutionLinks(
          holdBack: try r.varint(),
          entry: EntryLinks(debitBack: try r.varint(), creditBack: try r.varint()))
      }
      record = .holdResolved(
        HoldResolved(
          number: number, hold: hold, outcome: outcome, amount: amount, timestamp: ts,
          links: links))
    case .accountChanged:
      let id = AccountID(try r.u32())
      guard let status = AccountStatus(rawValue: try r.u8()) else {
        throw DecodeError("bad status")
      }
      let limit = try r.i64()
      let ts = try r.i64()
      guard limit >= 0 else { throw DecodeError("negative overdraft limit") }
      record = .accountChanged(
        AccountChanged(id: id, status: status, overdraftLimit: limit, timestamp: ts))
    }
    guard r.isAtEnd else { throw DecodeError("\(r.remaining) trailing bytes after record") }
    return record
  }

  /// Decodes a record whose tag byte is ``Tag/transfer``, without the enum around it (replay's
  /// common case: the enum's payload would be copied once more for every record).
  static func decodeTransfer(_ buffer: UnsafeRawBufferPointer) throws(DecodeError)
    -> TransferRecord
  {
    if RecordEnvelope.isStamped(buffer) {
      return try RecordEnvelope.withBody(buffer) { b throws(DecodeError) in try decodeTransfer(b) }
    }
    var r = ByteReader(buffer)
    let tagByte = try r.u8()
    let version = try r.u8()
    guard tagByte == Tag.transfer.rawValue, version >= 1, version <= Self.entryVersion else {
      throw DecodeError("unsupported version \(version) of record tag \(tagByte)")
    }
    let record = try TransferCodec.decodeBody(&r, version: version)
    guard r.isAtEnd else { throw DecodeError("\(r.remaining) trailing bytes after record") }
    return record
  }

  /// Decodes one stored record, or fails with `store_corrupt` naming its sequence.
  static func decodeOrCorrupt(_ bytes: UnsafeRawBufferPointer, sequence: UInt64) throws(BankError)
    -> JournalRecord
  {
    do throws(DecodeError) { return try decode(bytes) } catch {
      throw BankError(.storeCorrupt, "record \(sequence) does not decode: \(error.reason)")
    }
  }

  /// Decodes one stored record's bytes, or fails with `store_corrupt` naming its sequence.
  static func decodeOrCorrupt(_ bytes: [UInt8], sequence: UInt64) throws(BankError)
    -> JournalRecord
  {
    let result: Result<JournalRecord, BankError> = bytes.withUnsafeBytes { b in
      do throws(BankError) { return .success(try decodeOrCorrupt(b, sequence: sequence)) } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  /// Decodes one record from bytes.
  package init(decoding bytes: [UInt8]) throws(BankError) {
    let result: Result<JournalRecord, DecodeError> = bytes.withUnsafeBytes { buf in
      do throws(DecodeError) { return .success(try JournalRecord.decode(buf)) } catch {
        return .failure(error)
      }
    }
    switch result {
    case .success(let r): self = r
    case .failure(let e): throw BankError(.storeCorrupt, "record does not decode: \(e.reason)")
    }
  }
}

/// The transfer record's codec, kept apart because it is the hot path of both commit and replay.
enum TransferCodec {
  private static let flagHold: UInt8 = 1
  private static let flagKey: UInt8 = 2
  private static let flagMemo: UInt8 = 4

  /// The size of a transfer record without its optional fields.
  static let fixedSize = 36

  /// Appends a plain transfer (no hold, key or memo) with one bounds check: the commit hot path.
  /// Its bytes are exactly what ``encode(_:into:)`` writes for the same record: the fixed fields,
  /// then the links.
  static func appendPlain(_ r: TransferRecord, to bytes: inout [UInt8]) {
    let start = bytes.count
    bytes.append(contentsOf: repeatElement(0, count: fixedSize))
    defer {
      let links = r.links ?? EntryLinks()
      ByteWriter.appendVarint(links.debitBack, to: &bytes)
      ByteWriter.appendVarint(links.creditBack, to: &bytes)
    }
    bytes.withUnsafeMutableBytes { buf in
      guard let base = buf.baseAddress else { return }
      let p = base + start
      p.storeBytes(of: JournalRecord.Tag.transfer.rawValue, toByteOffset: 0, as: UInt8.self)
      p.storeBytes(of: JournalRecord.entryVersion, toByteOffset: 1, as: UInt8.self)
      p.storeBytes(of: r.kind.rawValue, toByteOffset: 3, as: UInt8.self)
      p.storeBytes(of: r.number.littleEndian, toByteOffset: 4, as: UInt64.self)
      p.storeBytes(of: r.debit.rawValue.littleEndian, toByteOffset: 12, as: UInt32.self)
      p.storeBytes(of: r.credit.rawValue.littleEndian, toByteOffset: 16, as: UInt32.self)
      p.storeBytes(of: UInt64(bitPattern: r.amount).littleEndian, toByteOffset: 20, as: UInt64.self)
      p.storeBytes(
        of: UInt64(bitPattern: r.timestamp).littleEndian, toByteOffset: 28, as: UInt64.self)
    }
  }

  static func encode(_ r: TransferRecord, into w: inout ByteWriter) {
    w.u8(JournalRecord.Tag.transfer.rawValue)
    w.u8(JournalRecord.entryVersion)
    var flags: UInt8 = 0
    if r.isHold { flags |= flagHold }
    if r.key != nil { flags |= flagKey }
    if !r.memo.isEmpty { flags |= flagMemo }
    w.u8(flags)
    w.u8(r.kind.rawValue)
    w.u64(r.number)
    w.u32(r.debit.rawValue)
    w.u32(r.credit.rawValue)
    w.i64(r.amount)
    w.i64(r.timestamp)
    if r.isHold { w.i64(r.expiresAt) }
    if let key = r.key { w.string(key) }
    if !r.memo.isEmpty { w.string(r.memo) }
    let links = r.links ?? EntryLinks()
    w.varint(links.debitBack)
    w.varint(links.creditBack)
  }

  /// Decodes the fields after the tag and version byte of a transfer record of `version`.
  static func decodeBody(_ r: inout ByteReader, version: UInt8) throws(DecodeError)
    -> TransferRecord
  {
    // A plain transfer (no hold, key or memo) is decoded with one bounds check (plus its links).
    if r.offset == 2,
      version == 1 ? r.remaining == fixedSize - 2 : r.remaining >= fixedSize, r.buffer[2] == 0
    {
      let b = r.buffer
      guard let kind = TransferKind(rawValue: b[3]) else { throw DecodeError("bad transfer kind") }
      let amount = Int64(
        bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 20, as: UInt64.self)))
      guard amount > 0 else { throw DecodeError("transfer amount must be positive") }
      r.skip(fixedSize - 2)
      var links: EntryLinks?
      if version >= 2 { links = EntryLinks(debitBack: try r.varint(), creditBack: try r.varint()) }
      return TransferRecord(
        number: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt64.self)), key: nil,
        kind: kind,
        debit: AccountID(
          UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 12, as: UInt32.self))),
        credit: AccountID(
          UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt32.self))),
        amount: amount,
        timestamp: Int64(
          bitPattern: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 28, as: UInt64.self))),
        memo: "", isHold: false, expiresAt: 0, links: links)
    }
    let flags = try r.u8()
    guard flags & ~(flagHold | flagKey | flagMemo) == 0 else {
      throw DecodeError("bad transfer flags")
    }
    guard let kind = TransferKind(rawValue: try r.u8()) else {
      throw DecodeError("bad transfer kind")
    }
    let number = try r.u64()
    let debit = AccountID(try r.u32())
    let credit = AccountID(try r.u32())
    let amount = try r.i64()
    let ts = try r.i64()
    let isHold = flags & flagHold != 0
    let expires = isHold ? try r.i64() : 0
    let key: String? = flags & flagKey != 0 ? try r.string() : nil
    let memo = flags & flagMemo != 0 ? try r.string() : ""
    var links: EntryLinks?
    if version >= 2 { links = EntryLinks(debitBack: try r.varint(), creditBack: try r.varint()) }
    guard amount > 0 else { throw DecodeError("transfer amount must be positive") }
    // One encoding per record: a flag for an empty field, or a negative expiry, is damage.
    guard key?.isEmpty != true, flags & flagMemo == 0 || !memo.isEmpty, expires >= 0 else {
      throw DecodeError("non-canonical transfer record")
    }
    return TransferRecord(
      number: number, key: key, kind: kind, debit: debit, credit: credit, amount: amount,
      timestamp: ts, memo: memo, isHold: isHold, expiresAt: expires, links: links)
  }
}
