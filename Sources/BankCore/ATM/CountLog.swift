/// Counts by time, in time order, for windowed sums (a cassette's notes dispensed over the last
/// 7 days): O(log n) to sum any window, and cheap to append inside a transaction.
///
/// Entries sit in chunks of ``chunkSize``, each holding the running total up to its entry, so a
/// window's sum is the difference of two running totals found by binary search. A transaction
/// keeps the core as it was for rollback, so the first append copies what it touches: here the
/// chunk list (one reference per chunk) and the last chunk, never the whole log. Old entries are
/// dropped a whole chunk at a time, once every entry of the chunk is older than the window; sums
/// are by time, so entries kept past the window change nothing.
struct CountLog: Sendable, Equatable {
  struct Entry: Sendable, Equatable {
    var time: Int64
    /// The running total up to and including this entry.
    var total: Int64
  }

  static let chunkSize = 256

  /// Every chunk is full but the last: appends go to the end, drops take whole chunks.
  private(set) var chunks: [[Entry]] = []
  /// The running total before the first kept entry.
  private(set) var droppedTotal: Int64 = 0

  var isEmpty: Bool { chunks.isEmpty }

  /// The running total up to the newest entry.
  var total: Int64 { chunks.last?.last?.total ?? droppedTotal }

  mutating func append(time: Int64, count: Int) {
    let entry = Entry(time: time, total: total &+ Int64(count))
    if chunks.isEmpty || chunks[chunks.count - 1].count == Self.chunkSize {
      var chunk: [Entry] = []
      chunk.reserveCapacity(Self.chunkSize)
      chunk.append(entry)
      chunks.append(chunk)
    } else {
      chunks[chunks.count - 1].append(entry)
    }
  }

  /// Drops the chunks whose entries are all at or before `time`.
  mutating func drop(atOrBefore time: Int64) {
    var n = 0
    while n < chunks.count - 1, let last = chunks[n].last, last.time <= time { n += 1 }
    // The last chunk goes too when it is wholly old (the log then starts again empty).
    if n == chunks.count - 1, let last = chunks[n].last, last.time <= time { n += 1 }
    guard n > 0 else { return }
    droppedTotal = chunks[n - 1].last?.total ?? droppedTotal
    chunks.removeFirst(n)
  }

  /// The running total of the entries at or before `time`.
  func total(atOrBefore time: Int64) -> Int64 {
    // The last chunk whose first entry is at or before `time`.
    var lo = 0
    var hi = chunks.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if chunks[mid][0].time <= time { lo = mid + 1 } else { hi = mid }
    }
    guard lo > 0 else { return droppedTotal }
    let chunk = chunks[lo - 1]
    var a = 0
    var b = chunk.count
    while a < b {
      let mid = (a + b) / 2
      if chunk[mid].time <= time { a = mid + 1 } else { b = mid }
    }
    return chunk[a - 1].total
  }

  /// The sum of the counts in `(after, upTo]`.
  func sum(after: Int64, upTo: Int64) -> Int64 {
    upTo <= after ? 0 : total(atOrBefore: upTo) - total(atOrBefore: after)
  }

  /// Every kept entry as (time, count), oldest first, and the total before them.
  var entries: (droppedTotal: Int64, items: [(Int64, Int64)]) {
    var out: [(Int64, Int64)] = []
    var previous = droppedTotal
    for chunk in chunks {
      for e in chunk {
        out.append((e.time, e.total - previous))
        previous = e.total
      }
    }
    return (droppedTotal, out)
  }

  /// A log rebuilt from ``entries`` (a snapshot): the same chunks as the log it came from.
  init(droppedTotal: Int64, items: [(Int64, Int64)]) {
    self.droppedTotal = droppedTotal
    for (t, c) in items { append(time: t, count: Int(c)) }
  }

  init() {}
}
