import TestSupport
import Testing

@testable import BankCore

/// The forecast's windowed sums: against a plain list, across chunk boundaries and drops.
@Suite struct CountLogTests {
  @Test func windowedSumsMatchAPlainList() {
    let seed: UInt64 = 0xC0_0A7
    print("CountLogTests seed: \(seed)")
    var rng = SplitMix64(seed: seed)
    var log = CountLog()
    var plain: [(Int64, Int64)] = []
    var time: Int64 = 0
    var cut: Int64 = 0
    for step in 0..<3_000 {
      time += Int64.random(in: 0...50, using: &rng)
      let count = Int.random(in: 1...40, using: &rng)
      log.append(time: time, count: count)
      plain.append((time, Int64(count)))
      if step % 97 == 0 {
        // The cut only moves forward, as the forecast's window does.
        cut = max(cut, time - Int64.random(in: 0...5_000, using: &rng))
        log.drop(atOrBefore: cut)
        // Dropping never changes a sum over entries after the cut.
        let a = cut + Int64.random(in: 0...100, using: &rng)
        let b = a + Int64.random(in: 0...10_000, using: &rng)
        let expected = plain.filter { $0.0 > a && $0.0 <= b }.reduce(0) { $0 + $1.1 }
        let got = log.sum(after: a, upTo: b)
        #expect(got == expected, "step \(step)")
      }
    }
    // A rebuilt log (as a snapshot rebuilds it) is equal, chunk for chunk.
    let (dropped, items) = log.entries
    #expect(CountLog(droppedTotal: dropped, items: items) == log)
    #expect(log.total == plain.reduce(0) { $0 + $1.1 })
    var emptied = log
    emptied.drop(atOrBefore: time)
    #expect(emptied.isEmpty && emptied.total == log.total)
    #expect(emptied.sum(after: 0, upTo: time) == 0)
  }
}
