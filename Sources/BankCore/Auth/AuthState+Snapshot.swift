extension AuthState {
  /// The snapshot format this release writes: 2 adds each customer's last contact change
  /// (``Customer/contactChangedAt``); version 1 is still read (no contact change known).
  static let snapshotVersion: UInt8 = 2

  /// The whole state as bytes, identical for equal states: every collection is written in a
  /// fixed order (customers by ID, staff and digests by bytes, cards per customer in issue
  /// order). Derived indexes are rebuilt on decode, not stored.
  ///
  /// - Complexity: O(n log n) in the number of entries.
  func encodeSnapshot() -> [UInt8] {
    var w = ByteWriter(capacity: 256)
    w.u8(Self.snapshotVersion)
    w.u32(nextCustomer)
    w.i64(lastTime)

    let customerList = customers.values.sorted { $0.id < $1.id }
    w.u32(UInt32(customerList.count))
    for c in customerList {
      w.u32(c.id.rawValue)
      w.string(c.name)
      w.string(c.email)
      w.string(c.phone)
      w.u8(UInt8(clamping: c.age))
      w.optionalString(c.gender)
      w.accountList(c.accounts)
      w.instant(c.registeredAt)
      w.u8(c.contactChangedAt == nil ? 0 : 1)
      if let t = c.contactChangedAt { w.instant(t) }
    }

    let staffList = staff.values.sorted { Self.byteOrder($0.username, $1.username) }
    w.u32(UInt32(staffList.count))
    for s in staffList {
      w.string(s.username)
      w.string(s.name)
      w.u8(s.role.rawValue)
      w.instant(s.addedAt)
    }

    let credentialList = credentials.sorted { $0.key < $1.key }
    w.u32(UInt32(credentialList.count))
    for (subject, credential) in credentialList {
      w.subject(subject)
      w.string(credential.passwordHash)
      w.u32(UInt32(clamping: credential.failedLogins))
      w.u8(credential.lockedUntil == nil ? 0 : 1)
      if let until = credential.lockedUntil { w.instant(until) }
    }

    let sessionList = sessions.sorted { $0.key < $1.key }
    w.u32(UInt32(sessionList.count))
    for (digest, session) in sessionList {
      w.raw(digest.bytes)
      w.subject(session.subject)
      w.instant(session.startedAt)
      w.instant(session.expires)
      w.instant(session.lastActivity)
    }

    let resetList = resetTokens.sorted { $0.key < $1.key }
    w.u32(UInt32(resetList.count))
    for (digest, token) in resetList {
      w.raw(digest.bytes)
      w.subject(token.subject)
      w.instant(token.expires)
    }

    // Cards grouped by customer, each group in issue order, so decode rebuilds that order.
    w.u32(UInt32(cards.count))
    for c in customerList {
      for pan in cardsByCustomer[c.id] ?? [] {
        guard let entry = cards[pan] else { continue }
        let card = entry.card
        w.u64(pan.value)
        w.u32(card.customer.rawValue)
        w.accountList(card.accounts)
        w.u16(UInt16(clamping: card.expiry.year))
        w.u8(UInt8(card.expiry.month))
        w.u8(card.status.rawValue)
        w.u32(UInt32(clamping: card.failedPINAttempts))
        w.instant(card.issuedAt)
        w.u8(entry.pinCode == nil ? 0 : 1)
        if let code = entry.pinCode { w.raw(code) }
      }
    }
    // Version 2: keyed operations, by key in byte order.
    let operationList = operations.sorted { Self.byteOrder($0.key, $1.key) }
    w.u32(UInt32(operationList.count))
    for (key, op) in operationList {
      w.string(key)
      w.string(op.command)
      w.u16(UInt16(clamping: op.fields.count))
      for f in op.fields {
        w.string(f.name)
        w.u64(f.digest)
      }
      w.string(op.result)
    }
    return w.bytes
  }

  /// Rebuilds a state from ``encodeSnapshot()``'s bytes.
  ///
  /// - Throws: `DecodeError` for an unknown version, truncation, an out-of-range value, bytes
  ///   left over, or a state that breaks an invariant. Never traps on any input.
  static func decodeSnapshot(_ bytes: [UInt8]) throws(DecodeError) -> AuthState {
    let result: Result<AuthState, DecodeError> = bytes.withUnsafeBytes { raw in
      var r = ByteReader(raw)
      do throws(DecodeError) {
        let state = try decodeSnapshot(&r)
        guard r.isAtEnd else {
          return .failure(DecodeError("\(r.remaining) bytes left after the auth snapshot"))
        }
        if let violation = state.invariantViolation() {
          return .failure(DecodeError("auth snapshot is inconsistent: \(violation)"))
        }
        return .success(state)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  private static func decodeSnapshot(_ r: inout ByteReader) throws(DecodeError) -> AuthState {
    let version = try r.u8()
    guard version >= 1 && version <= snapshotVersion else {
      throw DecodeError(
        "auth snapshot version \(version); this release reads versions 1 to \(snapshotVersion)")
    }
    var s = AuthState()
    s.nextCustomer = try r.u32()
    s.lastTime = try r.i64()

    for _ in 0..<(try r.count(minimumEntryBytes: 20)) {
      let id = try r.customerID()
      let name = try r.string()
      let email = try r.string()
      let phone = try r.string()
      let age = Int(try r.u8())
      let gender = try r.optionalString()
      let accounts = try r.accountList()
      let registeredAt = try r.instant()
      var contactChangedAt: Instant? = nil
      if version >= 2, try r.flag() { contactChangedAt = try r.instant() }
      guard s.customers[id] == nil else { throw DecodeError("customer \(id) appears twice") }
      s.customers[id] = StoredCustomer(
        id: id, name: name, email: email, phone: phone, age: age, gender: gender,
        accounts: accounts, registeredAt: registeredAt, contactChangedAt: contactChangedAt)
      let key = ContactValidation.normalizedEmail(email)
      guard s.customerByEmail[key] == nil else { throw DecodeError("an email appears twice") }
      s.customerByEmail[key] = id
      for a in accounts {
        guard s.accountOwner[a] == nil else { throw DecodeError("account \(a) has two owners") }
        s.accountOwner[a] = id
      }
    }

    for _ in 0..<(try r.count(minimumEntryBytes: 13)) {
      let username = try r.string()
      let name = try r.string()
      let role = try r.role()
      let addedAt = try r.instant()
      guard s.staff[username] == nil else { throw DecodeError("staff appears twice") }
      s.staff[username] = StaffMember(username: username, name: name, role: role, addedAt: addedAt)
    }

    for _ in 0..<(try r.count(minimumEntryBytes: 9)) {
      let subject = try r.subject()
      let hash = try r.string()
      let failed = Int(try r.u32())
      let lockedUntil = try r.flag() ? try r.instant() : nil
      guard s.credentials[subject] == nil else { throw DecodeError("\(subject) appears twice") }
      s.credentials[subject] = Credential(
        passwordHash: hash, failedLogins: failed, lockedUntil: lockedUntil)
    }

    for _ in 0..<(try r.count(minimumEntryBytes: 58)) {
      let digest = try r.digest()
      let subject = try r.subject()
      let startedAt = try r.instant()
      let expires = try r.instant()
      let lastActivity = try r.instant()
      guard s.sessions[digest] == nil else { throw DecodeError("a session appears twice") }
      s.sessions[digest] = Session(
        subject: subject, startedAt: startedAt, expires: expires, lastActivity: lastActivity)
    }

    for _ in 0..<(try r.count(minimumEntryBytes: 42)) {
      let digest = try r.digest()
      let subject = try r.subject()
      let expires = try r.instant()
      guard s.resetTokens[digest] == nil, s.resetTokenBySubject[subject] == nil else {
        throw DecodeError("a reset token appears twice")
      }
      s.resetTokens[digest] = ResetToken(subject: subject, expires: expires)
      s.resetTokenBySubject[subject] = digest
    }

    for _ in 0..<(try r.count(minimumEntryBytes: 27)) {
      let pan = try r.pan()
      let customer = try r.customerID()
      let accounts = try r.accountList()
      let year = Int(try r.u16())
      let month = Int(try r.u8())
      guard (1...12).contains(month) else { throw DecodeError("card expiry month \(month)") }
      let rawStatus = try r.u8()
      guard let status = CardStatus(rawValue: rawStatus) else {
        throw DecodeError("unknown card status \(rawStatus)")
      }
      let failed = Int(try r.u32())
      let issuedAt = try r.instant()
      let code = try r.flag() ? try r.bytes(32) : nil
      guard s.cards[pan] == nil else { throw DecodeError("card \(pan) appears twice") }
      s.cards[pan] = CardEntry(
        card: StoredCard(
          pan: pan, customer: customer, accounts: accounts,
          expiry: YearMonth(year: year, month: month), status: status, hasPIN: code != nil,
          failedPINAttempts: failed, issuedAt: issuedAt),
        pinCode: code)
      s.cardsByCustomer[customer, default: []].append(pan)
    }
    if version >= 2 {
      for _ in 0..<(try r.count(minimumEntryBytes: 14)) {
        let key = try r.string()
        let command = try r.string()
        var fields: [OperationField] = []
        for _ in 0..<Int(try r.u16()) {
          fields.append(OperationField(name: try r.string(), digest: try r.u64()))
        }
        let result = try r.string()
        guard s.operations[key] == nil else { throw DecodeError("operation key appears twice") }
        s.operations[key] = OperationEntry(command: command, fields: fields, result: result)
      }
    }
    return s
  }

  /// Byte-wise order of two strings, independent of Unicode collation.
  static func byteOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
  }
}

extension ByteWriter {
  mutating func accountList(_ accounts: [AccountID]) {
    u16(UInt16(clamping: accounts.count))
    for a in accounts.prefix(Int(UInt16.max)) { u32(a.rawValue) }
  }
}

extension ByteReader {
  mutating func accountList() throws(DecodeError) -> [AccountID] {
    let count = Int(try u16())
    try need(count * 4)
    var out: [AccountID] = []
    out.reserveCapacity(count)
    for _ in 0..<count { out.append(AccountID(try u32())) }
    return out
  }

  /// A `u32` entry count, refused when the bytes left cannot hold that many entries, so a
  /// damaged count cannot make the decoder reserve or loop without bound.
  mutating func count(minimumEntryBytes: Int) throws(DecodeError) -> Int {
    let n = Int(try u32())
    guard n <= remaining / minimumEntryBytes else {
      throw DecodeError("count \(n) at offset \(offset - 4) exceeds the bytes left")
    }
    return n
  }
}
