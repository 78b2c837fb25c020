/// Why a session ended.
enum SessionEndReason: UInt8, Sendable, CaseIterable {
  /// The holder logged out.
  case logout = 1
  /// The idle or absolute timeout passed.
  case expired = 2
  /// A password reset (or change) ended every session of the principal.
  case reset = 3
  /// A manager or the operator revoked the principal's sessions.
  case revoked = 4
}

/// One argument of a keyed command, as its record keeps it: the name and the first 64 bits of
/// the SHA-256 of its value, enough to tell a retry with other arguments from a true retry
/// (and to name the argument that differs) without storing the value again.
struct OperationField: Sendable, Equatable, Hashable {
  var name: String
  var digest: UInt64

  init(name: String, digest: UInt64) {
    self.name = name
    self.digest = digest
  }

  init(name: String, value: String) {
    self.name = name
    let h = SHA256.hash(Array(value.utf8))
    digest = h.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
  }
}

/// Why a card was blocked; ``retained`` sets the status to retained, every other reason to
/// blocked.
public enum CardBlockReason: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// Reported lost by its holder or by staff.
  case lost = 1
  /// Reported stolen.
  case stolen = 2
  /// Too many consecutive wrong PINs away from a terminal.
  case pinTriesExceeded = 3
  /// Kept by a terminal after too many consecutive wrong PINs.
  case retained = 4
  /// Blocked by staff for another reason.
  case other = 5

  /// `lost`, `stolen`, `pin_tries_exceeded`, `retained` or `other`.
  public var description: String {
    switch self {
    case .lost: "lost"
    case .stolen: "stolen"
    case .pinTriesExceeded: "pin_tries_exceeded"
    case .retained: "retained"
    case .other: "other"
    }
  }
}

/// A change to a customer's details; `nil` leaves a field as it was. An empty ``gender`` clears
/// it.
struct CustomerDetailsChange: Sendable, Equatable {
  var name: String?
  var email: String?
  var phone: String?
  var age: Int?
  var gender: String?

  /// Whether the change changes nothing.
  var isEmpty: Bool {
    name == nil && email == nil && phone == nil && age == nil && gender == nil
  }
}

/// Every event of the Authenticator core, as it is journaled: each case has its own tag in
/// 32…63 and its own version byte, and carries only digests, hashes and HMACs, never a
/// password, PIN or token.
///
/// Layout: `tag u8, version u8`, then the fields in declaration order, little-endian: integers
/// fixed-width, strings as `u16 length + UTF-8`, instants as `i64` nanoseconds, digests and PIN
/// codes as 32 raw bytes, optional values behind a `u8` presence flag.
enum AuthRecord: Sendable, Equatable {
  /// A customer registered (their first account is linked by a separate ``accountLinked``).
  case customerRegistered(
    id: CustomerID, name: String, email: String, phone: String, age: Int, gender: String,
    passwordHash: String, time: Instant)
  /// Some of a customer's details changed; `by` is who changed them (`nil` in records of
  /// earlier releases, which did not say: read as the operator).
  case customerUpdated(
    id: CustomerID, change: CustomerDetailsChange, by: Principal?, time: Instant)
  /// A ledger account now belongs to a customer.
  case accountLinked(customer: CustomerID, account: AccountID, time: Instant)
  /// A staff member was added.
  case staffAdded(username: String, name: String, role: Role, passwordHash: String, time: Instant)
  /// A principal's password hash was replaced (change, reset, or cost upgrade at login).
  case passwordChanged(subject: Subject, passwordHash: String, time: Instant)
  /// A login failed; `lockedUntil` is set when this failure locked the principal's logins.
  case loginFailed(subject: Subject, time: Instant, lockedUntil: Instant?)
  /// A login succeeded and opened a session (this also clears the failed-login count).
  case sessionStarted(token: TokenDigest, subject: Subject, time: Instant, expires: Instant)
  /// A session was used; the idle timeout counts from the latest of these.
  case sessionActivity(token: TokenDigest, time: Instant)
  /// A session ended.
  case sessionEnded(token: TokenDigest, reason: SessionEndReason, time: Instant)
  /// A manager or the operator lifted a principal's lockout and cleared its failure count.
  case lockoutLifted(subject: Subject, by: Principal, time: Instant)
  /// A password-reset token was issued (replacing any earlier one of the same principal).
  case resetTokenIssued(token: TokenDigest, subject: Subject, expires: Instant, time: Instant)
  /// A password-reset token was consumed.
  case resetTokenUsed(token: TokenDigest, time: Instant)
  /// A card was issued to a customer, linked to some of their accounts.
  case cardIssued(
    pan: PAN, customer: CustomerID, accounts: [AccountID], expiry: YearMonth, time: Instant)
  /// A card's PIN was set or changed; `code` is `HMAC-SHA256(pepper, PAN ‖ PIN)`.
  case pinSet(pan: PAN, code: [UInt8], time: Instant)
  /// A wrong PIN was entered.
  case pinFailed(pan: PAN, time: Instant)
  /// A correct PIN was entered; the try counter goes back to zero.
  case pinVerified(pan: PAN, time: Instant)
  /// A card was blocked or retained; `by` is `nil` when the rules did it (too many wrong PINs).
  case cardBlocked(pan: PAN, reason: CardBlockReason, by: Principal?, time: Instant)
  /// A card was unblocked; its try counter goes back to zero.
  case cardUnblocked(pan: PAN, by: Principal, time: Instant)
  /// A card's PIN was cleared (the store's PIN key was lost and replaced): the card has no PIN
  /// until one is set again, and its try counter goes back to zero.
  case pinCleared(pan: PAN, by: Principal, time: Instant)
  /// A keyed command that creates or changes something (registration, opening, a PIN change…)
  /// succeeded: its key (scoped to its principal), the command, a digest of each argument
  /// (secrets are never among them), and what it produced (a customer ID, an account number…),
  /// so that a retry with the same key replays it. Recorded in the batch of the change itself.
  case operationDone(
    key: String, command: String, fields: [OperationField], result: String, time: Instant)

  /// Record tags of this core (32…63). Never renumber; add new ones at the end.
  enum Tag: UInt8, CaseIterable {
    case customerRegistered = 32
    case customerUpdated = 33
    case accountLinked = 34
    case staffAdded = 35
    case passwordChanged = 36
    case loginFailed = 37
    case sessionStarted = 38
    case sessionActivity = 39
    case sessionEnded = 40
    case lockoutLifted = 41
    case resetTokenIssued = 42
    case resetTokenUsed = 43
    case cardIssued = 44
    case pinSet = 45
    case pinFailed = 46
    case pinVerified = 47
    case cardBlocked = 48
    case cardUnblocked = 49
    case pinCleared = 50
    case operationDone = 51

    /// The version this release writes; decoders keep every version ever written.
    var currentVersion: UInt8 { self == .customerUpdated ? 2 : 1 }

    /// Whether this release reads `version` of the record type: every type's version 1, and
    /// `customer_updated` version 2 (which adds who made the change).
    func reads(_ version: UInt8) -> Bool { version >= 1 && version <= currentVersion }

    /// The record's name in messages, for example `session_started`.
    var name: String {
      switch self {
      case .customerRegistered: "customer_registered"
      case .customerUpdated: "customer_updated"
      case .accountLinked: "account_linked"
      case .staffAdded: "staff_added"
      case .passwordChanged: "password_changed"
      case .loginFailed: "login_failed"
      case .sessionStarted: "session_started"
      case .sessionActivity: "session_activity"
      case .sessionEnded: "session_ended"
      case .lockoutLifted: "lockout_lifted"
      case .resetTokenIssued: "reset_token_issued"
      case .resetTokenUsed: "reset_token_used"
      case .cardIssued: "card_issued"
      case .pinSet: "pin_set"
      case .pinFailed: "pin_failed"
      case .pinVerified: "pin_verified"
      case .cardBlocked: "card_blocked"
      case .cardUnblocked: "card_unblocked"
      case .pinCleared: "pin_cleared"
      case .operationDone: "operation_done"
      }
    }
  }

  /// The tag range this core owns in the journal.
  static let tagRange: ClosedRange<UInt8> = 32...63

  /// This record's tag.
  var tag: Tag {
    switch self {
    case .customerRegistered: .customerRegistered
    case .customerUpdated: .customerUpdated
    case .accountLinked: .accountLinked
    case .staffAdded: .staffAdded
    case .passwordChanged: .passwordChanged
    case .loginFailed: .loginFailed
    case .sessionStarted: .sessionStarted
    case .sessionActivity: .sessionActivity
    case .sessionEnded: .sessionEnded
    case .lockoutLifted: .lockoutLifted
    case .resetTokenIssued: .resetTokenIssued
    case .resetTokenUsed: .resetTokenUsed
    case .cardIssued: .cardIssued
    case .pinSet: .pinSet
    case .pinFailed: .pinFailed
    case .pinVerified: .pinVerified
    case .cardBlocked: .cardBlocked
    case .cardUnblocked: .cardUnblocked
    case .pinCleared: .pinCleared
    case .operationDone: .operationDone
    }
  }

  /// The time the record carries.
  var time: Instant {
    switch self {
    case .customerRegistered(_, _, _, _, _, _, _, let t), .customerUpdated(_, _, _, let t),
      .accountLinked(_, _, let t), .staffAdded(_, _, _, _, let t), .passwordChanged(_, _, let t),
      .loginFailed(_, let t, _), .sessionStarted(_, _, let t, _), .sessionActivity(_, let t),
      .sessionEnded(_, _, let t), .lockoutLifted(_, _, let t), .resetTokenIssued(_, _, _, let t),
      .resetTokenUsed(_, let t), .cardIssued(_, _, _, _, let t), .pinSet(_, _, let t),
      .pinFailed(_, let t), .pinVerified(_, let t), .cardBlocked(_, _, _, let t),
      .cardUnblocked(_, _, let t), .pinCleared(_, _, let t), .operationDone(_, _, _, _, let t):
      t
    }
  }

  /// Appends the record: tag, version, fields.
  func encode(into w: inout ByteWriter) {
    w.u8(tag.rawValue)
    w.u8(tag.currentVersion)
    switch self {
    case .customerRegistered(
      let id, let name, let email, let phone, let age, let gender,
      let hash, let time):
      w.u32(id.rawValue)
      w.string(name)
      w.string(email)
      w.string(phone)
      w.u8(UInt8(clamping: age))
      w.string(gender)
      w.string(hash)
      w.instant(time)
    case .customerUpdated(let id, let change, let by, let time):
      w.u32(id.rawValue)
      w.optionalString(change.name)
      w.optionalString(change.email)
      w.optionalString(change.phone)
      w.u8(change.age == nil ? 0 : 1)
      if let age = change.age { w.u8(UInt8(clamping: age)) }
      w.optionalString(change.gender)
      w.instant(time)
      w.u8(by == nil ? 0 : 1)
      if let by { w.principal(by) }
    case .accountLinked(let customer, let account, let time):
      w.u32(customer.rawValue)
      w.u32(account.rawValue)
      w.instant(time)
    case .staffAdded(let username, let name, let role, let hash, let time):
      w.string(username)
      w.string(name)
      w.u8(role.rawValue)
      w.string(hash)
      w.instant(time)
    case .passwordChanged(let subject, let hash, let time):
      w.subject(subject)
      w.string(hash)
      w.instant(time)
    case .loginFailed(let subject, let time, let lockedUntil):
      w.subject(subject)
      w.instant(time)
      w.u8(lockedUntil == nil ? 0 : 1)
      if let lockedUntil { w.instant(lockedUntil) }
    case .sessionStarted(let token, let subject, let time, let expires):
      w.raw(token.bytes)
      w.subject(subject)
      w.instant(time)
      w.instant(expires)
    case .sessionActivity(let token, let time):
      w.raw(token.bytes)
      w.instant(time)
    case .sessionEnded(let token, let reason, let time):
      w.raw(token.bytes)
      w.u8(reason.rawValue)
      w.instant(time)
    case .lockoutLifted(let subject, let by, let time):
      w.subject(subject)
      w.principal(by)
      w.instant(time)
    case .resetTokenIssued(let token, let subject, let expires, let time):
      w.raw(token.bytes)
      w.subject(subject)
      w.instant(expires)
      w.instant(time)
    case .resetTokenUsed(let token, let time):
      w.raw(token.bytes)
      w.instant(time)
    case .cardIssued(let pan, let customer, let accounts, let expiry, let time):
      w.u64(pan.value)
      w.u32(customer.rawValue)
      w.u16(UInt16(clamping: accounts.count))
      for a in accounts.prefix(Int(UInt16.max)) { w.u32(a.rawValue) }
      w.u16(UInt16(clamping: expiry.year))
      w.u8(UInt8(expiry.month))
      w.instant(time)
    case .pinSet(let pan, let code, let time):
      w.u64(pan.value)
      w.raw(code)
      w.instant(time)
    case .pinFailed(let pan, let time), .pinVerified(let pan, let time):
      w.u64(pan.value)
      w.instant(time)
    case .cardBlocked(let pan, let reason, let by, let time):
      w.u64(pan.value)
      w.u8(reason.rawValue)
      w.u8(by == nil ? 0 : 1)
      if let by { w.principal(by) }
      w.instant(time)
    case .cardUnblocked(let pan, let by, let time), .pinCleared(let pan, let by, let time):
      w.u64(pan.value)
      w.principal(by)
      w.instant(time)
    case .operationDone(let key, let command, let fields, let result, let time):
      w.string(key)
      w.string(command)
      w.u16(UInt16(clamping: fields.count))
      for f in fields.prefix(Int(UInt16.max)) {
        w.string(f.name)
        w.u64(f.digest)
      }
      w.string(result)
      w.instant(time)
    }
  }

  /// The record's bytes on their own.
  var encoded: [UInt8] {
    var w = ByteWriter()
    encode(into: &w)
    return w.bytes
  }

  /// Reads one record: tag, version, fields.
  ///
  /// - Throws: `DecodeError` naming an unknown tag, a version this release cannot read, a
  ///   truncated field or an out-of-range value. Never traps on any input.
  static func decode(_ r: inout ByteReader) throws(DecodeError) -> AuthRecord {
    let (rawTag, version) = try RecordCodec.header(
      &r, core: "auth", tags: tagRange, name: { Tag(rawValue: $0)?.name },
      newest: { Tag(rawValue: $0)?.currentVersion ?? 0 })
    guard let tag = Tag(rawValue: rawTag) else { throw DecodeError("unknown auth record tag") }
    switch tag {
    case .customerRegistered:
      return .customerRegistered(
        id: try r.customerID(), name: try r.string(), email: try r.string(),
        phone: try r.string(), age: Int(try r.u8()), gender: try r.string(),
        passwordHash: try r.string(), time: try r.instant())
    case .customerUpdated:
      let id = try r.customerID()
      var change = CustomerDetailsChange()
      change.name = try r.optionalString()
      change.email = try r.optionalString()
      change.phone = try r.optionalString()
      if try r.flag() { change.age = Int(try r.u8()) }
      change.gender = try r.optionalString()
      let time = try r.instant()
      var by: Principal? = nil
      if version >= 2, try r.flag() { by = try r.principal() }
      return .customerUpdated(id: id, change: change, by: by, time: time)
    case .accountLinked:
      return .accountLinked(
        customer: try r.customerID(), account: AccountID(try r.u32()), time: try r.instant())
    case .staffAdded:
      return .staffAdded(
        username: try r.string(), name: try r.string(), role: try r.role(),
        passwordHash: try r.string(), time: try r.instant())
    case .passwordChanged:
      return .passwordChanged(
        subject: try r.subject(), passwordHash: try r.string(), time: try r.instant())
    case .loginFailed:
      let subject = try r.subject()
      let time = try r.instant()
      let lockedUntil = try r.flag() ? try r.instant() : nil
      return .loginFailed(subject: subject, time: time, lockedUntil: lockedUntil)
    case .sessionStarted:
      return .sessionStarted(
        token: try r.digest(), subject: try r.subject(), time: try r.instant(),
        expires: try r.instant())
    case .sessionActivity:
      return .sessionActivity(token: try r.digest(), time: try r.instant())
    case .sessionEnded:
      let token = try r.digest()
      let raw = try r.u8()
      guard let reason = SessionEndReason(rawValue: raw) else {
        throw DecodeError("unknown session end reason \(raw)")
      }
      return .sessionEnded(token: token, reason: reason, time: try r.instant())
    case .lockoutLifted:
      return .lockoutLifted(subject: try r.subject(), by: try r.principal(), time: try r.instant())
    case .resetTokenIssued:
      return .resetTokenIssued(
        token: try r.digest(), subject: try r.subject(), expires: try r.instant(),
        time: try r.instant())
    case .resetTokenUsed:
      return .resetTokenUsed(token: try r.digest(), time: try r.instant())
    case .cardIssued:
      let pan = try r.pan()
      let customer = try r.customerID()
      let count = Int(try r.u16())
      try r.need(count * 4)
      var accounts: [AccountID] = []
      accounts.reserveCapacity(count)
      for _ in 0..<count { accounts.append(AccountID(try r.u32())) }
      let year = Int(try r.u16())
      let month = Int(try r.u8())
      guard (1...12).contains(month) else { throw DecodeError("card expiry month \(month)") }
      return .cardIssued(
        pan: pan, customer: customer, accounts: accounts,
        expiry: YearMonth(year: year, month: month), time: try r.instant())
    case .pinSet:
      return .pinSet(pan: try r.pan(), code: try r.bytes(32), time: try r.instant())
    case .pinFailed:
      return .pinFailed(pan: try r.pan(), time: try r.instant())
    case .pinVerified:
      return .pinVerified(pan: try r.pan(), time: try r.instant())
    case .cardBlocked:
      let pan = try r.pan()
      let raw = try r.u8()
      guard let reason = CardBlockReason(rawValue: raw) else {
        throw DecodeError("unknown card block reason \(raw)")
      }
      let by = try r.flag() ? try r.principal() : nil
      return .cardBlocked(pan: pan, reason: reason, by: by, time: try r.instant())
    case .cardUnblocked:
      return .cardUnblocked(pan: try r.pan(), by: try r.principal(), time: try r.instant())
    case .pinCleared:
      return .pinCleared(pan: try r.pan(), by: try r.principal(), time: try r.instant())
    case .operationDone:
      let key = try r.string()
      let command = try r.string()
      let count = Int(try r.u16())
      var fields: [OperationField] = []
      for _ in 0..<count {
        fields.append(OperationField(name: try r.string(), digest: try r.u64()))
      }
      return .operationDone(
        key: key, command: command, fields: fields, result: try r.string(), time: try r.instant())
    }
  }

  /// Decodes a buffer holding exactly one record.
  ///
  /// - Throws: `DecodeError` as ``decode(_:)`` does, or for bytes left over.
  static func decode(_ bytes: [UInt8]) throws(DecodeError) -> AuthRecord {
    try RecordCodec.decodeWhole(bytes, core: "auth") { r throws(DecodeError) in try decode(&r) }
  }

}

// MARK: - Field codecs shared by the records and the snapshot

extension ByteWriter {
  mutating func instant(_ t: Instant) { i64(t.nanoseconds) }

  mutating func optionalString(_ s: String?) {
    u8(s == nil ? 0 : 1)
    if let s { string(s) }
  }

  mutating func subject(_ s: Subject) {
    switch s {
    case .customer(let id):
      u8(1)
      u32(id.rawValue)
    case .staff(let username):
      u8(2)
      string(username)
    }
  }

  mutating func principal(_ p: Principal) {
    switch p {
    case .operator:
      u8(0)
    case .customer(let id):
      u8(1)
      u32(id.rawValue)
    case .staff(let username, let role):
      u8(2)
      string(username)
      u8(role.rawValue)
    }
  }
}

extension ByteReader {
  mutating func instant() throws(DecodeError) -> Instant { Instant(nanoseconds: try i64()) }

  mutating func flag() throws(DecodeError) -> Bool {
    let b = try u8()
    guard b <= 1 else { throw DecodeError("presence flag \(b) at offset \(offset - 1)") }
    return b == 1
  }

  mutating func optionalString() throws(DecodeError) -> String? {
    try flag() ? try string() : nil
  }

  mutating func customerID() throws(DecodeError) -> CustomerID {
    let raw = try u32()
    guard raw >= 1 else { throw DecodeError("customer ID 0") }
    return CustomerID(raw)
  }

  mutating func role() throws(DecodeError) -> Role {
    let raw = try u8()
    guard let role = Role(rawValue: raw) else { throw DecodeError("unknown staff role \(raw)") }
    return role
  }

  mutating func digest() throws(DecodeError) -> TokenDigest {
    TokenDigest(bytes: try bytes(32))
  }

  mutating func pan() throws(DecodeError) -> PAN {
    let value = try u64()
    guard value >= 1_000_000_000_000_000, value <= 9_999_999_999_999_999,
      PAN.checkDigit(for: value / 10) == UInt8(value % 10)
    else { throw DecodeError("invalid card number in a record") }
    return PAN(uncheckedValue: value)
  }

  mutating func subject() throws(DecodeError) -> Subject {
    let kind = try u8()
    switch kind {
    case 1: return .customer(try customerID())
    case 2: return .staff(try string())
    default: throw DecodeError("unknown principal kind \(kind)")
    }
  }

  mutating func principal() throws(DecodeError) -> Principal {
    let kind = try u8()
    switch kind {
    case 0: return .operator
    case 1: return .customer(try customerID())
    case 2: return .staff(username: try string(), role: try role())
    default: throw DecodeError("unknown principal kind \(kind)")
    }
  }
}
