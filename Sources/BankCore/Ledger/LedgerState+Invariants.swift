/// The ledger's invariants, checked after every random operation sequence in the tests, by
/// `verify` on the replayed state, and by ``Ledger/invariantViolation()``.
extension LedgerState {

  /// Checks the ledger's invariants; returns a description of the first one broken, or `nil`.
  ///
  /// - Complexity: O(accounts + holds).
  func invariantViolation() -> String? {
    if byNumber.count != info.count {
      return "the number index holds \(byNumber.count) accounts; there are \(info.count)"
    }
    for (i, a) in info.enumerated() where byNumber[a.number.rawValue]?.index != i {
      return "account \(a.number) is not found under its number"
    }
    var sums: [String: (Int64, Int64, Int64, Int64)] = [:]
    for (i, b) in bal.enumerated() {
      let code = info[i].currency.code
      var s = sums[code] ?? (0, 0, 0, 0)
      s.0 &+= b.postedDebits
      s.1 &+= b.postedCredits
      s.2 &+= b.pendingDebits
      s.3 &+= b.pendingCredits
      sums[code] = s
      // Only interest and fees the bank charges may take the posted balance past the limit; then
      // the account takes no debit (no hold either) until it is back inside. So funds below the
      // limit with a posted balance inside it mean a hold broke the limit.
      if b.limited && b.available < 0 && b.postedCredits &- b.postedDebits &+ b.overdraftLimit >= 0
      {
        return "account \(info[i].number) is below its limit: available \(b.available)"
      }
      if b.pendingDebits < 0 || b.pendingCredits < 0 {
        return "account \(info[i].number) has negative pending totals"
      }
    }
    for (code, s) in sums {
      if s.0 != s.1 { return "\(code): posted debits \(s.0) != posted credits \(s.1)" }
      if s.2 != s.3 { return "\(code): pending debits \(s.2) != pending credits \(s.3)" }
    }
    var pendingByAccount = [Int64](repeating: 0, count: bal.count)
    for h in holds.values {
      pendingByAccount[h.record.debit.index] &+= h.record.amount
    }
    for (i, b) in bal.enumerated() where b.pendingDebits != pendingByAccount[i] {
      return "account \(info[i].number): pending debits \(b.pendingDebits) do not match its holds"
    }
    return nil
  }
}
