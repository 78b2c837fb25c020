import TestSupport
import Testing

@testable import BankCore

@Suite struct AuthRecordTests {
  static let t = Instant(nanoseconds: 1_774_976_400_123_456_789)
  static let digest = TokenDigest(bytes: (0..<32).map { UInt8($0 * 7 & 0xFF) })
  static let pan = PAN.make(iin: 999_000, account: 123_456_789)
  static let hash =
    "pbkdf2-sha256$600000$AAAAAAAAAAAAAAAAAAAAAA==$" + String(repeating: "A", count: 43) + "="

  /// One record of every type, with optional fields both present and absent.
  static let samples: [AuthRecord] = [
    .customerRegistered(
      id: CustomerID(1), name: "Zoë Ångström", email: "z@x.org", phone: "+4930123456", age: 130,
      gender: "", passwordHash: hash, time: t),
    .customerRegistered(
      id: CustomerID(70_000), name: "A", email: "a@b.co", phone: "+123456789", age: 18,
      gender: "non-binary", passwordHash: hash, time: Instant(nanoseconds: -5)),
    .customerUpdated(id: CustomerID(3), change: CustomerDetailsChange(), by: nil, time: t),
    .customerUpdated(
      id: CustomerID(4), change: CustomerDetailsChange(email: "q@r.st"),
      by: .staff(username: "tom", role: .teller), time: t),
    .customerUpdated(
      id: CustomerID(3),
      change: CustomerDetailsChange(
        name: "N", email: "e@f.gh", phone: "+19999999999", age: 44, gender: ""),
      by: .customer(CustomerID(3)), time: t),
    .accountLinked(customer: CustomerID(2), account: AccountID(UInt32.max), time: t),
    .staffAdded(username: "max", name: "Max", role: .manager, passwordHash: hash, time: t),
    .passwordChanged(subject: .customer(CustomerID(5)), passwordHash: hash, time: t),
    .passwordChanged(subject: .staff("tess"), passwordHash: hash, time: t),
    .loginFailed(subject: .staff("tess"), time: t, lockedUntil: nil),
    .loginFailed(subject: .customer(CustomerID(1)), time: t, lockedUntil: t.adding(.seconds(900))),
    .sessionStarted(token: digest, subject: .customer(CustomerID(1)), time: t, expires: t),
    .sessionActivity(token: digest, time: t),
    .sessionEnded(token: digest, reason: .logout, time: t),
    .sessionEnded(token: digest, reason: .reset, time: t),
    .lockoutLifted(subject: .staff("a.b"), by: .operator, time: t),
    .lockoutLifted(
      subject: .customer(CustomerID(1)), by: .staff(username: "max", role: .manager), time: t),
    .resetTokenIssued(token: digest, subject: .customer(CustomerID(9)), expires: t, time: t),
    .resetTokenUsed(token: digest, time: t),
    .cardIssued(
      pan: pan, customer: CustomerID(1), accounts: [AccountID(1), AccountID(7)],
      expiry: YearMonth(year: 2030, month: 12), time: t),
    .pinSet(pan: pan, code: Array(repeating: 0xAB, count: 32), time: t),
    .pinFailed(pan: pan, time: t),
    .pinVerified(pan: pan, time: t),
    .cardBlocked(pan: pan, reason: .retained, by: nil, time: t),
    .cardBlocked(pan: pan, reason: .lost, by: .customer(CustomerID(1)), time: t),
    .cardUnblocked(pan: pan, by: .staff(username: "max", role: .manager), time: t),
    .pinCleared(pan: pan, by: .operator, time: t),
    .operationDone(
      key: "C000001/reg-1", command: "customer register",
      fields: [
        OperationField(name: "email", value: "a@b.co"), OperationField(name: "age", value: "40"),
      ],
      result: "C000002", time: t),
  ]

  @Test func everyTagHasASample() {
    #expect(Set(Self.samples.map(\.tag)) == Set(AuthRecord.Tag.allCases))
    for tag in AuthRecord.Tag.allCases { #expect(AuthRecord.tagRange.contains(tag.rawValue)) }
  }

  @Test(arguments: samples)
  func roundTrips(_ record: AuthRecord) throws {
    let bytes = record.encoded
    #expect(bytes[0] == record.tag.rawValue && bytes[1] == record.tag.currentVersion)
    #expect(try AuthRecord.decode(bytes) == record)
  }

  @Test(arguments: samples)
  func everyTruncationFailsCleanly(_ record: AuthRecord) {
    let bytes = record.encoded
    for cut in 0..<bytes.count {
      #expect(throws: DecodeError.self) { try AuthRecord.decode(Array(bytes[0..<cut])) }
    }
    #expect(throws: DecodeError.self) { try AuthRecord.decode(bytes + [0]) }
  }

  @Test func unknownTagsAndVersionsAreNamed() {
    #expect(throws: DecodeError("unknown auth record tag 60 (written by a newer release?)")) {
      try AuthRecord.decode([60, 1])
    }
    #expect(throws: DecodeError("tag 5 is not one of the auth core's record tags (32...63)")) {
      try AuthRecord.decode([5, 1])
    }
    var bytes = AuthRecord.pinFailed(pan: Self.pan, time: Self.t).encoded
    bytes[1] = 2
    #expect(
      throws: DecodeError(
        "auth record pin_failed (tag 46) has version 2; this release reads versions 1 to 1")
    ) { try AuthRecord.decode(bytes) }
  }

  @Test func damagedFieldsFailCleanly() {
    // A PAN with a wrong check digit, an unknown role, reason and principal kind.
    var badPAN = AuthRecord.pinFailed(pan: Self.pan, time: Self.t).encoded
    badPAN[2] ^= 1
    #expect(throws: DecodeError.self) { try AuthRecord.decode(badPAN) }
    var badRole = AuthRecord.staffAdded(
      username: "u", name: "n", role: .teller, passwordHash: "h", time: Self.t
    ).encoded
    badRole[2 + 3 + 3] = 9
    #expect(throws: DecodeError.self) { try AuthRecord.decode(badRole) }
    var badReason = AuthRecord.sessionEnded(token: Self.digest, reason: .expired, time: Self.t)
      .encoded
    badReason[34] = 0
    #expect(throws: DecodeError.self) { try AuthRecord.decode(badReason) }
  }

  @Test(arguments: 0..<20 as Range<UInt64>)
  func randomBytesNeverTrap(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    for _ in 0..<500 {
      var bytes = (0..<Int(rng.next() % 80)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
      if !bytes.isEmpty { bytes[0] = 32 + UInt8(rng.next() % 20) }
      if bytes.count > 1 { bytes[1] = 1 }
      _ = try? AuthRecord.decode(bytes)
    }
  }
}

extension AuthRecord: CustomTestStringConvertible {
  public var testDescription: String { tag.name }
}
