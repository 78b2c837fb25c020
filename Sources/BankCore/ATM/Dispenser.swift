/// What a cassette's count says about it (CEN/XFS cash-unit status).
public enum CassetteStatus: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
  /// Above its low threshold.
  case ok
  /// At or under its low threshold, not empty.
  case low
  /// No notes left.
  case empty
  /// Failed: the dispenser does not take notes from it until it is serviced.
  case inoperative

  /// `ok`, `low`, `empty` or `inoperative`.
  public var description: String { rawValue }
}

/// One cash unit of a terminal: notes of one denomination.
public struct Cassette: Sendable, Hashable {
  /// The value of one note, in the terminal's currency (`500.00`).
  public var denomination: Amount
  /// How many notes it holds.
  public var count: Int
  /// At or under this many notes the cassette is `low` (default 50).
  public var lowThreshold: Int
  /// Whether it has failed and is not used until serviced.
  public var isInoperative: Bool

  /// A cassette.
  public init(denomination: Amount, count: Int, lowThreshold: Int = 50, isInoperative: Bool = false)
  {
    self.denomination = denomination
    self.count = count
    self.lowThreshold = lowThreshold
    self.isInoperative = isInoperative
  }

  /// `inoperative` when failed, else `empty`, `low` or `ok` by its count.
  public var status: CassetteStatus {
    if isInoperative { return .inoperative }
    if count == 0 { return .empty }
    return count <= lowThreshold ? .low : .ok
  }
}

/// How a terminal chooses among the mixes that pay an amount.
public enum MixPolicy: String, Sendable, CaseIterable, Codable, CustomStringConvertible {
  /// The fewest notes; among mixes with as few, the most notes of the largest denominations.
  case fewestNotes = "fewest_notes"
  /// The mix that takes the smallest largest fraction of any cassette's current count, so the
  /// cassettes empty together; ties go to fewer notes, then to larger denominations.
  case equalEmptying = "equal_emptying"

  /// `fewest_notes` or `equal_emptying`.
  public var description: String { rawValue }
}

/// A number of notes of one denomination: `{"denomination","count"}` in JSON.
public struct NoteCount: Sendable, Hashable, Codable {
  /// The value of one note.
  public let denomination: Amount
  /// How many.
  public let count: Int

  /// Notes of one denomination.
  public init(denomination: Amount, count: Int) {
    self.denomination = denomination
    self.count = count
  }
}

/// The notes a dispenser pays an amount with.
public struct Mix: Sendable, Hashable {
  /// The amount paid.
  public let amount: Amount
  /// Notes taken from each cassette, in the dispenser's cassette order.
  public let perCassette: [Int]
  /// The notes by denomination, largest first, without zero counts.
  public let notes: [NoteCount]

  /// How many notes in all.
  public var noteCount: Int { perCassette.reduce(0, +) }
}

/// A terminal's cash dispenser as a pure value: cassettes and an exact note mix.
///
/// ``mix(for:)`` solves bounded change-making exactly (never greedily): 600 from 500x1 and
/// 200x3 is 3x200; 800 from 2000x5, 500x1 and 100x2 cannot be paid. It runs a dynamic programme
/// over the amount in units of the greatest common divisor of the usable denominations, one
/// table per suffix of the cassettes (largest denomination first), each filled in
/// O(amount / gcd) with a sliding-window minimum, so a mix costs O(cassettes × amount / gcd);
/// `Docs/ATM.md` has the proof sketch. The equal-emptying policy adds a binary search over the
/// candidate fractions. A dispense is at most ``maxNotesPerDispense`` notes.
public struct Dispenser: Sendable, Hashable {
  /// The currency of every cassette.
  public let currency: Currency
  /// The cash units.
  public private(set) var cassettes: [Cassette]
  /// How a mix is chosen.
  public var policy: MixPolicy
  /// The most notes one dispense may present (default 40, as on common dispensers).
  public var maxNotesPerDispense: Int

  /// The largest value table a mix may need, in units of the denominations' common divisor:
  /// it bounds a mix's memory and time (denominations 2000, 500 and 100 need 801).
  static let tableLimit = 1 << 22

  /// A dispenser.
  ///
  /// - Throws: `invalid_argument` for a denomination that is not positive or not in
  ///   `currency`, a negative count or threshold, a limit under 1, or denominations so far apart
  ///   that a mix's table would pass 4 million cells.
  public init(
    currency: Currency, cassettes: [Cassette], policy: MixPolicy = .fewestNotes,
    maxNotesPerDispense: Int = 40
  ) throws(BankError) {
    guard maxNotesPerDispense >= 1, maxNotesPerDispense <= 10_000 else {
      throw BankError(
        .invalidArgument,
        "the notes per dispense must be 1 to 10000, not \(maxNotesPerDispense)")
    }
    for c in cassettes {
      guard c.denomination.currency == currency else {
        throw BankError(
          .invalidArgument,
          "a \(c.denomination.formatted) cassette cannot sit in a \(currency.code) dispenser")
      }
      guard c.denomination.minorUnits > 0 else {
        throw BankError(.invalidArgument, "a denomination must be positive, not \(c.denomination)")
      }
      guard c.count >= 0, c.lowThreshold >= 0 else {
        throw BankError(
          .invalidArgument,
          "the \(c.denomination) cassette's count and low threshold cannot be negative")
      }
    }
    self.currency = currency
    self.cassettes = cassettes
    self.policy = policy
    self.maxNotesPerDispense = maxNotesPerDispense
    let all = cassettes.map(\.denomination.minorUnits)
    let g = all.reduce(0, Self.gcd)
    if g > 0, let top = all.max(), top / g > Int64(Self.tableLimit / maxNotesPerDispense) {
      throw BankError(
        .invalidArgument,
        "denominations \(Amount(minorUnits: top, currency: currency)) and \(Amount(minorUnits: g, currency: currency)) are too far apart for a \(maxNotesPerDispense)-note dispense"
      )
    }
  }

  /// The total value of the notes in the cassettes, or `nil` if it overflows.
  public var value: Amount? {
    var total: Int64 = 0
    for c in cassettes {
      let (v, o1) = c.denomination.minorUnits.multipliedReportingOverflow(by: Int64(c.count))
      let (t, o2) = total.addingReportingOverflow(v)
      if o1 || o2 { return nil }
      total = t
    }
    return Amount(minorUnits: total, currency: currency)
  }

  // MARK: Mixing

  /// The notes to pay `amount` with, by denomination, largest first.
  ///
  /// - Throws: `cannot_dispense` with what the terminal can pay ("This ATM can pay multiples of
  ///   500 up to 20,000; try 1,500 or 2,000"), `currency_mismatch`, `invalid_amount` for an
  ///   amount that is not positive.
  public func notes(for amount: Amount) throws(BankError) -> [NoteCount] {
    try mix(for: amount).notes
  }

  /// The mix that pays `amount` under the ``policy``, per cassette.
  ///
  /// - Throws: as ``notes(for:)``.
  public func mix(for amount: Amount) throws(BankError) -> Mix {
    guard amount.currency == currency else {
      throw BankError(
        .currencyMismatch,
        "this ATM pays \(currency.code), not \(amount.currency.code) (\(amount.formatted) asked)")
    }
    guard amount.minorUnits > 0 else {
      throw BankError(.invalidAmount, "the amount must be positive, not \(amount.formatted)")
    }
    try currency.requireWithinMaximum(amount, "an amount")
    let plan = Plan(self)
    if let counts = plan.solve(amount.minorUnits, policy: policy) {
      return makeMix(amount, counts)
    }
    throw BankError(.cannotDispense, refusal(amount, plan))
  }

  /// The payable amounts nearest to `amount`: the largest below it and the smallest above it
  /// (either `nil` when there is none).
  public func payableNeighbours(of amount: Amount) -> (below: Amount?, above: Amount?) {
    let plan = Plan(self)
    let (below, above) = plan.neighbours(of: amount.minorUnits)
    return (
      below.map { Amount(minorUnits: $0, currency: currency) },
      above.map { Amount(minorUnits: $0, currency: currency) }
    )
  }

  /// The largest amount one dispense can pay, or `nil` when it can pay nothing.
  public var largestPayable: Amount? {
    let top = Plan(self).largestValue
    return top > 0 ? Amount(minorUnits: top, currency: currency) : nil
  }

  /// The dispenser after a dispense took `mix`'s notes.
  public func removing(_ mix: Mix) -> Dispenser {
    var next = self
    for (i, n) in mix.perCassette.enumerated() where i < next.cassettes.count {
      next.cassettes[i].count = max(0, next.cassettes[i].count - n)
    }
    return next
  }

  /// The dispenser after cassette `index` failed mid-dispense, having presented `presented`
  /// notes per cassette: those are gone, and the failed cassette is inoperative. What is still
  /// owed is then mixed from the others (``mix(for:)``), or the whole dispense fails.
  public func afterFault(inCassette index: Int, presented: [Int]) -> Dispenser {
    var next = self
    for (i, n) in presented.enumerated() where i < next.cassettes.count {
      next.cassettes[i].count = max(0, next.cassettes[i].count - n)
    }
    if next.cassettes.indices.contains(index) { next.cassettes[index].isInoperative = true }
    return next
  }

  func makeMix(_ amount: Amount, _ counts: [Int]) -> Mix {
    var byDenomination: [Int64: Int] = [:]
    for (i, n) in counts.enumerated() where n > 0 {
      byDenomination[cassettes[i].denomination.minorUnits, default: 0] += n
    }
    let notes = byDenomination.sorted { $0.key > $1.key }.map {
      NoteCount(denomination: Amount(minorUnits: $0.key, currency: currency), count: $0.value)
    }
    return Mix(amount: amount, perCassette: counts, notes: notes)
  }

  /// "This ATM can pay multiples of 500 up to 20,000; try 1,500 or 2,000."
  func refusal(_ amount: Amount, _ plan: Plan) -> String {
    let top = plan.largestValue
    guard top > 0 else {
      return "This ATM has no notes to pay \(Self.spoken(amount)) with; try another ATM"
    }
    let unit = Amount(minorUnits: plan.unit, currency: currency)
    let most = Amount(minorUnits: top, currency: currency)
    var text =
      "This ATM cannot pay \(Self.spoken(amount)): it can pay multiples of \(Self.spoken(unit)) up to \(Self.spoken(most))"
    let (below, above) = plan.neighbours(of: amount.minorUnits)
    let tries = [below, above].compactMap { $0 }.map {
      Self.spoken(Amount(minorUnits: $0, currency: currency))
    }
    if !tries.isEmpty { text += "; try " + tries.joined(separator: " or ") }
    return text
  }

  /// An amount as a customer reads it: grouped thousands (unless `grouped` is off), no zero
  /// minor digits (`20,000`, `12.50`).
  static func spoken(_ amount: Amount, grouped: Bool = true) -> String {
    let minorDigits = amount.currency.minorDigits
    var scale: Int64 = 1
    for _ in 0..<minorDigits { scale *= 10 }
    let whole = amount.minorUnits.magnitude / UInt64(scale)
    let minor = amount.minorUnits.magnitude % UInt64(scale)
    var text = ""
    for (i, ch) in String(whole).reversed().enumerated() {
      if grouped && i > 0 && i % 3 == 0 { text.append(",") }
      text.append(ch)
    }
    text = (amount.minorUnits < 0 ? "-" : "") + String(text.reversed())
    if minor != 0 {
      let m = String(minor)
      text += "." + String(repeating: "0", count: minorDigits - m.count) + m
    }
    return text
  }

  static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
    var (x, y) = (a, b)
    while y != 0 { (x, y) = (y, x % y) }
    return x
  }
}

// MARK: The programme

extension Dispenser {
  /// The usable cassettes of a dispenser, largest denomination first, in units of their common
  /// divisor, with the dynamic programme over them.
  struct Plan {
    /// Indices into the dispenser's cassettes, largest denomination first (ties: in order).
    let order: [Int]
    /// Denominations in units of ``unit``, in ``order``.
    let size: [Int]
    /// Notes each may give: its count, at most the per-dispense limit.
    let cap: [Int]
    /// Current counts (for equal emptying's fractions).
    let count: [Int]
    /// The common divisor of the usable denominations, in minor units (0 when none is usable).
    let unit: Int64
    let limit: Int
    let cassettes: Int

    init(_ d: Dispenser) {
      let usable = d.cassettes.indices.filter {
        !d.cassettes[$0].isInoperative && d.cassettes[$0].count > 0
      }
      order = usable.sorted {
        let (a, b) = (
          d.cassettes[$0].denomination.minorUnits, d.cassettes[$1].denomination.minorUnits
        )
        return a != b ? a > b : $0 < $1
      }
      let g = order.map { d.cassettes[$0].denomination.minorUnits }.reduce(0, Dispenser.gcd)
      unit = g
      size = order.map { g > 0 ? Int(d.cassettes[$0].denomination.minorUnits / g) : 0 }
      cap = order.map { min(d.cassettes[$0].count, d.maxNotesPerDispense) }
      count = order.map { d.cassettes[$0].count }
      limit = d.maxNotesPerDispense
      cassettes = d.cassettes.count
    }

    static var unreachable: Int32 { Int32.max / 2 }

    /// The largest value one dispense can pay, in minor units: the `limit` largest notes.
    var largestValue: Int64 {
      var left = limit
      var total = 0
      for (s, c) in zip(size, cap) where left > 0 {
        let n = min(c, left)
        total += n * s
        left -= n
      }
      return Int64(total) * unit
    }

    /// The fewest notes that make each value from each suffix of the cassettes under `caps`:
    /// row `i` (of `k + 1`, each `target + 1` long) holds, at `v`, the fewest notes that make
    /// `v` units from cassettes `i...`.
    struct Tables {
      let width: Int
      var cells: [Int32]
      subscript(_ i: Int, _ v: Int) -> Int32 { cells[i * width + v] }
    }

    func tables(upTo target: Int, caps: [Int]) -> Tables {
      let k = size.count
      let width = target + 1
      var cells = [Int32](repeating: Self.unreachable, count: (k + 1) * width)
      cells[k * width] = 0
      var windowIndex = [Int](repeating: 0, count: width)
      var windowValue = [Int32](repeating: 0, count: width)
      let unreachable = Self.unreachable
      cells.withUnsafeMutableBufferPointer { f in
        windowIndex.withUnsafeMutableBufferPointer { wi in
          windowValue.withUnsafeMutableBufferPointer { wv in
            for i in stride(from: k - 1, through: 0, by: -1) {
              let d = size[i]
              let c = caps[i]
              let last = (i + 1) * width
              let row = i * width
              // Along v = r + j*d: f[i][v] = min over j-c <= j' <= j of (f[i+1][r + j'd] - j')
              // + j, a sliding-window minimum of width c + 1 (a monotone queue).
              for r in 0..<min(d, width) {
                var head = 0
                var tail = 0
                var j = 0
                var v = r
                while v < width {
                  let above = f[last + v]
                  let candidate = above >= unreachable ? unreachable : above - Int32(j)
                  while tail > head && wv[tail - 1] >= candidate { tail -= 1 }
                  wi[tail] = j
                  wv[tail] = candidate
                  tail += 1
                  while wi[head] < j - c { head += 1 }
                  let best = wv[head]
                  f[row + v] = best >= unreachable ? unreachable : best + Int32(j)
                  j += 1
                  v += d
                }
              }
            }
          }
        }
      }
      return Tables(width: width, cells: cells)
    }

    /// Counts per cassette (dispenser order) that pay `amount` minor units, or `nil`.
    func solve(_ amount: Int64, policy: MixPolicy) -> [Int]? {
      guard unit > 0, amount % unit == 0, amount <= largestValue else { return nil }
      let target = Int(amount / unit)
      switch policy {
      case .fewestNotes:
        return pick(target, caps: cap)
      case .equalEmptying:
        // Candidate largest fractions c / count_i, ascending; feasibility grows with the
        // fraction, so a binary search finds the smallest that pays.
        var fractions: [(Int, Int)] = [(0, 1)]
        for i in size.indices {
          for c in 1...cap[i] { fractions.append((c, count[i])) }
        }
        fractions.sort { $0.0 * $1.1 < $1.0 * $0.1 }
        func caps(_ f: (Int, Int)) -> [Int] {
          size.indices.map { min(cap[$0], f.0 * count[$0] / f.1) }
        }
        func pays(_ f: (Int, Int)) -> Bool {
          let t = tables(upTo: target, caps: caps(f))
          return t[0, target] <= Int32(limit)
        }
        guard let top = fractions.last, pays(top) else { return nil }
        var lo = 0
        var hi = fractions.count - 1
        while lo < hi {
          let mid = (lo + hi) / 2
          if pays(fractions[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return pick(target, caps: caps(fractions[lo]))
      }
    }

    /// The fewest-notes mix under `caps`, the most notes of the largest denominations among
    /// equals, in dispenser order; `nil` when none is within the limit.
    func pick(_ target: Int, caps: [Int]) -> [Int]? {
      let f = tables(upTo: target, caps: caps)
      guard f[0, target] <= Int32(limit) else { return nil }
      var counts = [Int](repeating: 0, count: cassettes)
      var v = target
      var notes = Int(f[0, target])
      for i in size.indices {
        var c = min(caps[i], v / size[i], notes)
        while c > 0 && Int(f[i + 1, v - c * size[i]]) != notes - c { c -= 1 }
        counts[order[i]] = c
        v -= c * size[i]
        notes -= c
      }
      return v == 0 ? counts : nil
    }

    /// The payable values nearest to `amount` minor units, below and above it.
    func neighbours(of amount: Int64) -> (Int64?, Int64?) {
      let top = largestValue
      guard unit > 0, top > 0 else { return (nil, nil) }
      let f = tables(upTo: Int(top / unit), caps: cap)
      let payable = { (v: Int) in v > 0 && f[0, v] <= Int32(self.limit) }
      let topUnits = Int(top / unit)
      var below: Int64?
      var v = amount <= 0 ? 0 : min(topUnits, Int((amount - 1) / unit))
      while v > 0 {
        if payable(v) && Int64(v) * unit < amount {
          below = Int64(v) * unit
          break
        }
        v -= 1
      }
      var above: Int64?
      v = amount < 0 ? 1 : Int(min(Int64(topUnits), amount / unit)) + 1
      while v <= topUnits {
        if payable(v) && Int64(v) * unit > amount {
          above = Int64(v) * unit
          break
        }
        v += 1
      }
      return (below, above)
    }
  }
}
