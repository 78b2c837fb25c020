/// Account numbers to account IDs: an open-addressing table with linear probing, kept at most half
/// full. Every transfer looks both of its accounts up here, so it replaces a `Dictionary`, whose
/// SipHash and generic probing were an eighth of an in-memory batch's time.
///
/// The hash is a 64-bit mix of the number and a seed drawn when the table is made: account numbers
/// can be chosen by whoever opens an account, and an unseeded hash would let them pick numbers that
/// all land in one run of slots. The seed changes where entries sit, never what a lookup returns,
/// so the state stays a function of the journal alone.
struct AccountIndex: Sendable {
  private struct Slot {
    var number: UInt64
    /// The account's ID; 0 marks an empty slot (IDs start at 1).
    var id: UInt32
  }

  private var slots: [Slot]
  private(set) var count = 0
  private let seed: UInt64

  /// An empty index with room for `capacity` accounts before it grows.
  init(capacity: Int = 0) {
    var bits = 4
    while (1 << bits) < capacity * 2 { bits += 1 }
    slots = Array(repeating: Slot(number: 0, id: 0), count: 1 << bits)
    seed = UInt64.random(in: .min ... .max)
  }

  @inline(__always)
  private func home(_ number: UInt64) -> Int {
    // The finaliser of MurmurHash3: every input bit moves every output bit.
    var h = number ^ seed
    h = (h ^ (h >> 33)) &* 0xFF51_AFD7_ED55_8CCD
    h = (h ^ (h >> 33)) &* 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 33
    return Int(truncatingIfNeeded: h) & (slots.count - 1)
  }

  /// The ID of the account with this number, if there is one.
  subscript(number: UInt64) -> AccountID? {
    var i = home(number)
    let mask = slots.count - 1
    while true {
      let s = slots[i]
      if s.id == 0 { return nil }
      if s.number == number { return AccountID(s.id) }
      i = (i + 1) & mask
    }
  }

  /// Adds a number that is not in the index yet.
  ///
  /// - Returns: the ID already there, unchanged, if the number was present.
  @discardableResult
  mutating func insert(_ number: UInt64, _ id: AccountID) -> AccountID? {
    precondition(id.rawValue != 0, "account IDs start at 1")
    if (count + 1) * 2 > slots.count { grow() }
    let mask = slots.count - 1
    var i = home(number)
    while slots[i].id != 0 {
      if slots[i].number == number { return AccountID(slots[i].id) }
      i = (i + 1) & mask
    }
    slots[i] = Slot(number: number, id: id.rawValue)
    count += 1
    return nil
  }

  /// Removes a number (the rollback of an open), shifting later entries of its run back so that
  /// no lookup stops early at the hole.
  mutating func remove(_ number: UInt64) {
    let mask = slots.count - 1
    var i = home(number)
    while slots[i].number != number || slots[i].id == 0 {
      if slots[i].id == 0 { return }
      i = (i + 1) & mask
    }
    var hole = i
    var j = i
    while true {
      j = (j + 1) & mask
      if slots[j].id == 0 { break }
      let h = home(slots[j].number)
      // Move slot j into the hole unless its home lies cyclically in (hole, j].
      let stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)
      if !stays {
        slots[hole] = slots[j]
        hole = j
      }
    }
    slots[hole] = Slot(number: 0, id: 0)
    count -= 1
  }

  /// Makes room for `capacity` accounts without growing on the way.
  mutating func reserveCapacity(_ capacity: Int) {
    while capacity * 2 > slots.count { grow() }
  }

  private mutating func grow() {
    let old = slots
    slots = Array(repeating: Slot(number: 0, id: 0), count: old.count * 2)
    count = 0
    for s in old where s.id != 0 { insert(s.number, AccountID(s.id)) }
  }
}
