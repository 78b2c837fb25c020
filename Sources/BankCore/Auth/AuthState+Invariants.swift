extension AuthState {
  /// The first broken invariant of the state, described, or `nil` when all hold.
  ///
  /// Checked: customer IDs are dense from 1 below `nextCustomer`; the email, account-owner,
  /// reset-token and card indexes agree with what they index; every customer and staff member
  /// has exactly one credential and every credential an owner; sessions and reset tokens belong
  /// to existing principals and their times are ordered; cards belong to existing customers,
  /// list only accounts their holder owns, and have a PIN code exactly when a PIN is set.
  ///
  /// - Complexity: O(n) in the number of entries.
  func invariantViolation() -> String? {
    if customers.count != Int(nextCustomer) - 1 {
      return "\(customers.count) customers but the next ID is \(nextCustomer)"
    }
    for (id, c) in customers {
      if c.id != id { return "customer \(id) is stored as \(c.id)" }
      if id.rawValue < 1 || id.rawValue >= nextCustomer { return "customer \(id) is out of range" }
      if customerByEmail[ContactValidation.normalizedEmail(c.email)] != id {
        return "customer \(id)'s email is not indexed"
      }
      if credentials[.customer(id)] == nil { return "customer \(id) has no credential" }
      for a in c.accounts where accountOwner[a] != id {
        return "account \(a) of customer \(id) is not indexed"
      }
      if !ContactValidation.ages.contains(c.age) { return "customer \(id) has age \(c.age)" }
    }
    if customerByEmail.count != customers.count { return "the email index has stale entries" }
    if accountOwner.count != customers.values.reduce(0, { $0 + $1.accounts.count }) {
      return "the account-owner index has stale entries"
    }
    for (username, s) in staff {
      if s.username != username { return "staff \(username) is stored as \(s.username)" }
      if credentials[.staff(username)] == nil { return "staff \(username) has no credential" }
    }
    if credentials.count != customers.count + staff.count {
      return "a credential belongs to no principal"
    }
    for (subject, credential) in credentials {
      if credential.failedLogins < 0 { return "\(subject) has a negative failure count" }
      if !PasswordHasher.isWellFormed(credential.passwordHash) {
        return "\(subject) has a malformed password hash"
      }
    }
    for session in sessions.values {
      if credentials[session.subject] == nil { return "a session belongs to no principal" }
      if session.lastActivity < session.startedAt || session.expires < session.startedAt {
        return "a session of \(session.subject) has its times out of order"
      }
    }
    if resetTokenBySubject.count != resetTokens.count { return "the reset-token index disagrees" }
    for (digest, token) in resetTokens {
      if credentials[token.subject] == nil { return "a reset token belongs to no principal" }
      if resetTokenBySubject[token.subject] != digest { return "the reset-token index disagrees" }
    }
    var indexedCards = 0
    for (customer, pans) in cardsByCustomer {
      indexedCards += pans.count
      for pan in pans where cards[pan]?.card.customer != customer {
        return "card \(pan) is indexed under the wrong customer"
      }
    }
    if indexedCards != cards.count { return "the card index disagrees" }
    for (pan, entry) in cards {
      let card = entry.card
      if card.pan != pan { return "card \(pan) is stored as \(card.pan)" }
      if customers[card.customer] == nil { return "card \(pan) belongs to no customer" }
      if card.accounts.isEmpty { return "card \(pan) has no account" }
      for a in card.accounts where accountOwner[a] != card.customer {
        return "card \(pan) lists account \(a), which its holder does not own"
      }
      if card.hasPIN != (entry.pinCode != nil) { return "card \(pan)'s PIN flag disagrees" }
      if let code = entry.pinCode, code.count != 32 {
        return "card \(pan)'s PIN code is not 32 bytes"
      }
      if card.failedPINAttempts < 0 { return "card \(pan) has a negative try count" }
    }
    return nil
  }
}
