/// Account numbers to account IDs: an open-addressing table with linear probing, kept at most
/// three quarters full. Every transfer looks both of its accounts up here, so it replaces a `Dictionary`, whose
/// SipHash and generic probing were an eighth of an in-memory batch's time.
///
/// The hash is a 64-bit mix of the number and a seed drawn when the table is made: account numbers
/// can be chosen by whoever opens an account, and an unseeded hash would let them pick numbers that
/// all land in one run of slots. The seed changes where entries sit, never what a lookup returns,
/// so the state stays a function of the journal alone.
struct AccountIndex: Sendable {
  /// Each slot is one word: the number in the high half and the ID in the low half, 0 when empty
  /// (IDs start at 1). Ten thousand accounts take 128 KiB, a quarter of a cache that also holds
  /// their balances.
  private var slots: [UInt64]
  /// Numbers that do not fit in 32 bits. A valid account number has nine digits, so only a
  /// number read from a damaged store can land here; it is kept, not trapped on.
  private var wide: [UInt64: AccountID] = [:]
  /// Occupied slots (the wide numbers aside).
  private var used = 0
  private let seed: UInt64

  /// How many numbers the index holds.
  var count: Int { used + wide.count }

  /// An empty index with room for `capacity` accounts before it grows, its hash seeded at random
  /// (or with `seed`, for tests that need the layout to repeat).
  init(capacity: Int = 0, seed: UInt64 = .random(in: .min ... .max)) {
    var bits = 4
    while Self.full(1 << bits) < capacity { bits += 1 }
    slots = Array(repeating: 0, count: 1 << bits)
    self.seed = seed
  }

  /// How many entries a table of `slots` slots takes before it grows: three quarters.
  private static func full(_ slots: Int) -> Int { slots / 4 * 3 }

  @inline(__always)
  private func home(_ number: UInt32) -> Int {
    // The finaliser of MurmurHash3: every input bit moves every output bit.
    var h = UInt64(number) ^ seed
    h = (h ^ (h >> 33)) &* 0xFF51_AFD7_ED55_8CCD
    h = (h ^ (h >> 33)) &* 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    return Int(truncatingIfNeeded: h) & (slots.count - 1)
  }

  /// The ID of the account with this number, if there is one.
  subscript(number: UInt64) -> AccountID? {
    guard let n = UInt32(exactly: number) else { return wide[number] }
    let mask = slots.count - 1
    var i = home(n)
    return slots.withUnsafeBufferPointer { p in
      while true {
        let s = p[i]
        if s == 0 { return nil }
        if UInt32(truncatingIfNeeded: s >> 32) == n {
          return AccountID(UInt32(truncatingIfNeeded: s))
        }
        i = (i + 1) & mask
      }
    }
  }

  /// Adds a number that is not in the index yet.
  ///
  /// - Returns: the ID already there, unchanged, if the number was present.
  @discardableResult
  mutating func insert(_ number: UInt64, _ id: AccountID) -> AccountID? {
    precondition(id.rawValue != 0, "account IDs start at 1")
    if let old = self[number] { return old }
    guard let n = UInt32(exactly: number) else {
      wide[number] = id
      return nil
    }
    if used + 1 > Self.full(slots.count) { grow() }
    let mask = slots.count - 1
    var i = home(n)
    while slots[i] != 0 { i = (i + 1) & mask }
    slots[i] = UInt64(n) << 32 | UInt64(id.rawValue)
    used += 1
    return nil
  }

  /// Removes a number (the rollback of an open), shifting later entries of its run back so that
  /// no lookup stops early at the hole.
  mutating func remove(_ number: UInt64) {
    guard let n = UInt32(exactly: number) else {
      wide.removeValue(forKey: number)
      return
    }
    let mask = slots.count - 1
    var i = home(n)
    while UInt32(truncatingIfNeeded: slots[i] >> 32) != n || slots[i] == 0 {
      if slots[i] == 0 { return }
      i = (i + 1) & mask
    }
    var hole = i
    var j = i
    while true {
      j = (j + 1) & mask
      if slots[j] == 0 { break }
      let h = home(UInt32(truncatingIfNeeded: slots[j] >> 32))
      // Move slot j into the hole unless its home lies cyclically in (hole, j].
      let stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)
      if !stays {
        slots[hole] = slots[j]
        hole = j
      }
    }
    slots[hole] = 0
    used -= 1
  }

  /// Makes room for `capacity` accounts without growing on the way.
  mutating func reserveCapacity(_ capacity: Int) {
    while capacity > Self.full(slots.count) { grow() }
  }

  private mutating func grow() {
    let old = slots
    slots = Array(repeating: 0, count: old.count * 2)
    let mask = slots.count - 1
    for s in old where s != 0 {
      var i = home(UInt32(truncatingIfNeeded: s >> 32))
      while slots[i] != 0 { i = (i + 1) & mask }
      slots[i] = s
    }
  }
}
