import BankCore
import TestSupport
import Testing

/// Issue 20, point 1: the Dispenser's exact mix, its policies, refusals and faults, checked
/// against a brute-force search.
@Suite struct DispenserTests {
  func inr(_ major: Int64) -> Amount { Amount(minorUnits: major * 100, currency: .inr) }

  func dispenser(
    _ cassettes: [(Int64, Int)], policy: MixPolicy = .fewestNotes, limit: Int = 40
  ) throws -> Dispenser {
    try Dispenser(
      currency: .inr,
      cassettes: cassettes.map { Cassette(denomination: inr($0.0), count: $0.1) },
      policy: policy, maxNotesPerDispense: limit)
  }

  func notes(_ d: Dispenser, _ major: Int64) throws -> [Int64: Int] {
    Dictionary(
      uniqueKeysWithValues: try d.notes(for: inr(major)).map {
        ($0.denomination.minorUnits / 100, $0.count)
      })
  }

  @Test func theMixIsExactNeverGreedy() throws {
    #expect(try notes(dispenser([(500, 1), (200, 3)]), 600) == [200: 3])
    #expect(try notes(dispenser([(2000, 1), (500, 1), (200, 3)]), 2600) == [2000: 1, 200: 3])
    let d = try dispenser([(2000, 5), (500, 1), (100, 2)])
    do {
      _ = try d.notes(for: inr(800))
      Issue.record("800 was paid")
    } catch {
      #expect(error.code == .cannotDispense)
      #expect(error.message.contains("try 700 or 2,000"), "\(error.message)")
    }
    // Fewest notes, then the most of the largest denominations.
    #expect(
      try notes(dispenser([(2000, 10), (500, 10), (100, 50)]), 2600) == [2000: 1, 500: 1, 100: 1])
    #expect(try notes(dispenser([(500, 10), (200, 10), (100, 10)]), 700) == [500: 1, 200: 1])
    // The per-dispense limit.
    #expect(throws: BankError.self) { try dispenser([(100, 100)], limit: 40).notes(for: inr(4100)) }
    #expect(try notes(dispenser([(100, 100)], limit: 40), 4000) == [100: 40])
  }

  @Test func refusalsSayWhatTheTerminalCanPay() throws {
    let d = try dispenser([(500, 60)])
    do {
      _ = try d.notes(for: inr(1700))
      Issue.record("1700 was paid")
    } catch {
      #expect(error.code == .cannotDispense)
      #expect(
        error.message.contains("multiples of 500 up to 20,000; try 1,500 or 2,000"),
        "\(error.message)")
    }
    #expect(d.largestPayable == inr(20_000))
    do {
      _ = try d.notes(for: inr(25_000))
      Issue.record("25000 was paid")
    } catch {
      #expect(error.message.contains("try 20,000") && !error.message.contains(" or "))
    }
    let neighbours = d.payableNeighbours(of: inr(1700))
    #expect(neighbours.below == inr(1500) && neighbours.above == inr(2000))
    let empty = try dispenser([(500, 0)])
    #expect(throws: BankError.self) { try empty.notes(for: inr(500)) }
    #expect(empty.largestPayable == nil)
    #expect(throws: BankError.self) { try d.notes(for: Amount(minorUnits: 500_00, currency: .usd)) }
    #expect(throws: BankError.self) { try d.notes(for: inr(0)) }
  }

  @Test func equalEmptyingSpreadsTheNotes() throws {
    // 1000 from 500x10 and 100x100: fewest notes is 2x500 (20% of the 500s); equal emptying
    // takes 5x100 and 1x500 (10% of each).
    let d = try dispenser([(500, 10), (100, 100)], policy: .equalEmptying)
    #expect(try notes(d, 1000) == [500: 1, 100: 5])
    #expect(try notes(dispenser([(500, 10), (100, 100)]), 1000) == [500: 2])
  }

  @Test func aFailedCassetteIsReplacedByTheOthersOrNothingIsPaid() throws {
    let d = try dispenser([(2000, 2), (500, 10), (100, 20)])
    let mix = try d.mix(for: inr(2500))
    #expect(mix.perCassette == [1, 1, 0])
    // The 2000 cassette jams before presenting anything: 2500 from the rest.
    let after = d.afterFault(inCassette: 0, presented: [0, 0, 0])
    #expect(after.cassettes[0].status == .inoperative)
    #expect(try after.mix(for: inr(2500)).perCassette == [0, 5, 0])
    // The 500s fail after one was presented: what is still owed (2000) comes from the 100s,
    // or, past the limit, nothing.
    let second = d.afterFault(inCassette: 1, presented: [0, 1, 0])
    #expect(try second.mix(for: inr(2000)).perCassette == [1, 0, 0])
    let starved = try dispenser([(500, 10), (100, 5)]).afterFault(inCassette: 0, presented: [0, 0])
    #expect(throws: BankError.self) { try starved.mix(for: inr(1000)) }
    #expect(d.removing(mix).cassettes.map(\.count) == [1, 9, 20])
  }

  @Test func cassettesReportTheirStatus() throws {
    #expect(Cassette(denomination: inr(100), count: 51).status == .ok)
    #expect(Cassette(denomination: inr(100), count: 50).status == .low)
    #expect(Cassette(denomination: inr(100), count: 0).status == .empty)
    #expect(Cassette(denomination: inr(100), count: 9, isInoperative: true).status == .inoperative)
    #expect(throws: BankError.self) {
      try Dispenser(currency: .inr, cassettes: [Cassette(denomination: inr(-1), count: 1)])
    }
    #expect(throws: BankError.self) {
      try Dispenser(
        currency: .inr,
        cassettes: [
          Cassette(denomination: inr(2000), count: 1),
          Cassette(denomination: Amount(minorUnits: 1, currency: .inr), count: 1),
        ])
    }
  }

  // MARK: Against brute force

  /// Every mix of at most `limit` notes that pays `target`, per cassette (given order).
  static func allMixes(_ d: [Int64], _ caps: [Int], _ target: Int64, _ limit: Int) -> [[Int]] {
    var out: [[Int]] = []
    var counts = [Int](repeating: 0, count: d.count)
    func go(_ i: Int, _ left: Int64, _ budget: Int) {
      if i == d.count {
        if left == 0 { out.append(counts) }
        return
      }
      if i == d.count - 1 {
        guard left % d[i] == 0, left / d[i] <= Int64(min(caps[i], budget)) else { return }
        counts[i] = Int(left / d[i])
        out.append(counts)
        counts[i] = 0
        return
      }
      var c = 0
      while c <= min(caps[i], budget), Int64(c) * d[i] <= left {
        counts[i] = c
        go(i + 1, left - Int64(c) * d[i], budget - c)
        c += 1
      }
      counts[i] = 0
    }
    go(0, target, limit)
    return out
  }

  /// Whether mix `a` beats `b` on the tie-breaks: more notes of larger denominations first.
  static func largerFirst(_ a: [Int], _ b: [Int], _ d: [Int64]) -> Bool {
    let order = d.indices.sorted { d[$0] != d[$1] ? d[$0] > d[$1] : $0 < $1 }
    for i in order where a[i] != b[i] { return a[i] > b[i] }
    return false
  }

  @Test func agreesWithBruteForceOnTenThousandRandomCases() throws {
    let seed: UInt64 = 0x00D1_5BE7_5E20
    print("DispenserTests brute force seed: \(seed)")
    var rng = SplitMix64(seed: seed)
    let menu: [Int64] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000]
    var paid = 0
    for n in 0..<10_000 {
      let k = Int.random(in: 1...5, using: &rng)
      let denominations = (0..<k).map { _ in menu.randomElement(using: &rng)! }
      let counts = (0..<k).map { _ in
        Bool.random(using: &rng)
          ? Int.random(in: 0...12, using: &rng) : Int.random(in: 0...2000, using: &rng)
      }
      let limit = Int.random(in: 1...40, using: &rng)
      let policy: MixPolicy = n % 2 == 0 ? .fewestNotes : .equalEmptying
      let d = try Dispenser(
        currency: .inr,
        cassettes: zip(denominations, counts).map { Cassette(denomination: inr($0), count: $1) },
        policy: policy, maxNotesPerDispense: limit)
      let top = denominations.max()! * Int64(min(limit, 8))
      // Half the amounts are sums of notes the cassettes hold (mostly payable), half anything.
      var target = Int64.random(in: 1...max(1, top), using: &rng)
      if Bool.random(using: &rng) {
        target = 0
        for _ in 0..<Int.random(in: 1...limit, using: &rng) {
          target += denominations.randomElement(using: &rng)!
        }
      }
      let caps = counts.map { min($0, limit) }
      let all = Self.allMixes(denominations, caps, target, limit)
      let expected: [Int]?
      switch policy {
      case .fewestNotes:
        expected = all.min { a, b in
          let (x, y) = (a.reduce(0, +), b.reduce(0, +))
          return x != y ? x < y : Self.largerFirst(a, b, denominations)
        }
      case .equalEmptying:
        // The largest fraction c/count over the cassettes used, compared exactly.
        func worst(_ m: [Int]) -> (Int, Int) {
          var w = (0, 1)
          for i in m.indices where m[i] > 0 && m[i] * w.1 > w.0 * counts[i] {
            w = (m[i], counts[i])
          }
          return w
        }
        expected = all.min { a, b in
          let (x, y) = (worst(a), worst(b))
          if x.0 * y.1 != y.0 * x.1 { return x.0 * y.1 < y.0 * x.1 }
          let (p, q) = (a.reduce(0, +), b.reduce(0, +))
          return p != q ? p < q : Self.largerFirst(a, b, denominations)
        }
      }
      let got = try? d.mix(for: inr(target)).perCassette
      #expect(
        got == expected,
        "case \(n) seed \(seed): \(policy) \(denominations) x \(counts) limit \(limit) for \(target): got \(String(describing: got)), brute force \(String(describing: expected))"
      )
      if got != expected { break }
      if got != nil { paid += 1 }
    }
    // Both outcomes were exercised.
    #expect(paid > 2_000 && paid < 9_500, "paid \(paid) of 10000")
  }
}
