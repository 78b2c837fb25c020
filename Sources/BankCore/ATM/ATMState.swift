/// The ATM fleet's pure core: terminals, their cassettes and deposit bins, service state,
/// scripted faults, withdrawal holds in flight and each card's daily use. Changed only by
/// applying ``ATMRecord``s; the events themselves live in the journal, not here.
struct ATMState: Sendable, Equatable {
  struct CassetteState: Sendable, Equatable {
    var denomination: Int64
    var count: Int
    var lowThreshold: Int = 50
    var inoperative = false
    /// Whether the cassette's `replenishment` alert has been raised since it was last loaded
    /// above its threshold (one alert, not one per withdrawal).
    var lowAlerted = false
    var emptyAlerted = false
    var forecastAlerted = false
  }

  struct Terminal: Sendable, Equatable {
    let id: String
    let currency: Currency
    let cashAccount: AccountID
    /// Largest denomination first.
    var cassettes: [CassetteState] = []
    /// Deposited notes by denomination: counted in the terminal's cash, never dispensed.
    var bin: [Int64: Int] = [:]
    var inService = true
    /// Dispense faults since the last good dispense.
    var faultsInARow = 0
    /// Scripted device faults, in the order the next dispenses meet them, each with the
    /// denomination it names (0: none named).
    var faults: [ScriptedFault] = []

    /// The fault the next dispense meets.
    var fault: DeviceFault? { faults.first?.fault }
    /// The denomination it names (0: none).
    var faultDenomination: Int64 { faults.first?.denomination ?? 0 }
    var keyDigest: [UInt8]?
    /// Notes dispensed by time, per denomination, for the forecast: kept for the 7 days before
    /// the newest dispense.
    var dispensed: [Int64: CountLog] = [:]

    /// The value of every note in the cassettes and the bin, in minor units (128 bits: never
    /// overflows).
    var cashValue: Int128 {
      var v: Int128 = 0
      for c in cassettes { v += Int128(c.denomination) * Int128(c.count) }
      for (d, n) in bin { v += Int128(d) * Int128(n) }
      return v
    }

    func cassetteIndex(_ denomination: Int64) -> Int? {
      cassettes.firstIndex { $0.denomination == denomination }
    }
  }

  /// A withdrawal's hold placed at a terminal, not yet posted or voided.
  struct ScriptedFault: Sendable, Equatable {
    var fault: DeviceFault
    var denomination: Int64
  }

  struct PendingHold: Sendable, Equatable {
    var terminal: String
    var card: UInt64
    var notes: [NoteBundle]
    var time: Int64
  }

  /// One card's withdrawals on one UTC day in one currency.
  struct DailyUse: Sendable, Equatable {
    var day: Int64
    var amount: Int64
    var count: Int
  }

  var terminals: [String: Terminal] = [:]
  var holds: [UInt64: PendingHold] = [:]
  /// Card → currency letters → its withdrawals on the newest day it withdrew.
  var dailyUse: [UInt64: [UInt32: DailyUse]] = [:]
  /// The rules table `atm rules load` stored last (empty: the configuration's defaults).
  var rules: [String: String] = [:]
  var lastTime: Int64 = 0

  init() {}

  static let forecastWindow: Int64 = 168 * 3_600_000_000_000
  static let nanosecondsPerDay: Int64 = 86_400_000_000_000

  // MARK: Apply

  /// Applies a record, or returns why it cannot (only a damaged or foreign journal has one).
  mutating func applyChecked(_ record: ATMRecord) -> String? {
    let time = record.time.nanoseconds
    switch record {
    case .terminalAdded(let id, let currency, let account, _):
      if terminals[id] != nil { return "terminal \(id) exists" }
      terminals[id] = Terminal(id: id, currency: currency, cashAccount: account)
    case .notesLoaded(let id, let notes, let thresholds, _):
      guard var t = terminals[id] else { return "no terminal \(id)" }
      for (n, threshold) in zip(notes, thresholds) {
        if let i = t.cassetteIndex(n.denomination) {
          t.cassettes[i].count += n.count
          if let threshold { t.cassettes[i].lowThreshold = threshold }
        } else {
          t.cassettes.append(
            CassetteState(
              denomination: n.denomination, count: n.count, lowThreshold: threshold ?? 50))
        }
        if let i = t.cassetteIndex(n.denomination) {
          let c = t.cassettes[i]
          if c.count > c.lowThreshold { t.cassettes[i].lowAlerted = false }
          if c.count > 0 { t.cassettes[i].emptyAlerted = false }
          t.cassettes[i].forecastAlerted = false
        }
      }
      t.cassettes.sort { $0.denomination > $1.denomination }
      terminals[id] = t
    case .notesUnloaded(let id, let cassettes, let bin, _):
      guard var t = terminals[id] else { return "no terminal \(id)" }
      for n in cassettes {
        guard let i = t.cassetteIndex(n.denomination), t.cassettes[i].count >= n.count else {
          return "terminal \(id) has fewer than \(n.count) notes of \(n.denomination)"
        }
        t.cassettes[i].count -= n.count
        // Emptied on purpose: no replenishment alert for it.
        if t.cassettes[i].count == 0 {
          t.cassettes[i].emptyAlerted = true
          t.cassettes[i].lowAlerted = true
        }
      }
      for n in bin {
        guard let have = t.bin[n.denomination], have >= n.count else {
          return "terminal \(id)'s bin has fewer than \(n.count) notes of \(n.denomination)"
        }
        t.bin[n.denomination] = have - n.count == 0 ? nil : have - n.count
      }
      terminals[id] = t
    case .notesDispensed(let id, let notes, _):
      guard var t = terminals[id] else { return "no terminal \(id)" }
      for n in notes {
        guard let i = t.cassetteIndex(n.denomination), t.cassettes[i].count >= n.count else {
          return "terminal \(id) has fewer than \(n.count) notes of \(n.denomination)"
        }
        t.cassettes[i].count -= n.count
        t.dispensed[n.denomination, default: CountLog()].append(time: time, count: n.count)
      }
      for d in t.dispensed.keys { t.dispensed[d]?.drop(atOrBefore: time - Self.forecastWindow) }
      t.faultsInARow = 0
      terminals[id] = t
    case .notesDeposited(let id, let notes, _):
      guard terminals[id] != nil else { return "no terminal \(id)" }
      for n in notes { terminals[id]?.bin[n.denomination, default: 0] += n.count }
    case .cassetteState(let id, let denomination, let inoperative, _):
      guard let i = terminals[id]?.cassetteIndex(denomination) else {
        return "terminal \(id) has no \(denomination) cassette"
      }
      terminals[id]?.cassettes[i].inoperative = inoperative
    case .serviceChanged(let id, let inService, _):
      guard terminals[id] != nil else { return "no terminal \(id)" }
      terminals[id]?.inService = inService
      if inService { terminals[id]?.faultsInARow = 0 }
    case .faultScripted(let id, let fault, let denomination, _):
      guard terminals[id] != nil else { return "no terminal \(id)" }
      // A fault joins the queue; a record without one consumes the first (a dispense met it).
      if let fault {
        terminals[id]?.faults.append(ScriptedFault(fault: fault, denomination: denomination))
      } else if terminals[id]?.faults.isEmpty == false {
        terminals[id]?.faults.removeFirst()
      }
    case .terminalRegistered(let id, let digest, _):
      guard terminals[id] != nil else { return "no terminal \(id)" }
      terminals[id]?.keyDigest = digest
    case .event(let id, let type, let detail, let cassette, _):
      guard terminals[id] != nil else { return "no terminal \(id)" }
      applyEvent(id, type, detail, cassette)
    case .holdPlaced(let id, let hold, let card, let notes, _):
      guard terminals[id] != nil else { return "no terminal \(id)" }
      if holds[hold] != nil { return "hold #\(hold) is already a terminal's" }
      holds[hold] = PendingHold(terminal: id, card: card, notes: notes, time: time)
    case .rulesLoaded(let rules, _):
      self.rules = rules
    case .cassettesCounted(let id, let counts, _):
      guard var t = terminals[id] else { return "no terminal \(id)" }
      for i in t.cassettes.indices {
        let d = t.cassettes[i].denomination
        t.cassettes[i].count = counts.first { $0.denomination == d }?.count ?? 0
        // Counted above a threshold, a cassette may raise its alerts again.
        if t.cassettes[i].count > t.cassettes[i].lowThreshold { t.cassettes[i].lowAlerted = false }
        if t.cassettes[i].count > 0 { t.cassettes[i].emptyAlerted = false }
      }
      for n in counts where t.cassetteIndex(n.denomination) == nil {
        t.cassettes.append(CassetteState(denomination: n.denomination, count: n.count))
      }
      t.cassettes.sort { $0.denomination > $1.denomination }
      terminals[id] = t
    case .holdResolved(let hold, let posted, _):
      guard let h = holds.removeValue(forKey: hold) else { return "no terminal hold #\(hold)" }
      if posted, let t = terminals[h.terminal] {
        let amount = h.notes.reduce(Int64(0)) { $0 &+ $1.denomination &* Int64($1.count) }
        let day = time / Self.nanosecondsPerDay
        var use = dailyUse[h.card]?[t.currency.letters] ?? DailyUse(day: day, amount: 0, count: 0)
        if use.day != day { use = DailyUse(day: day, amount: 0, count: 0) }
        use.amount &+= amount
        use.count += 1
        dailyUse[h.card, default: [:]][t.currency.letters] = use
      }
    }
    lastTime = max(lastTime, time)
    return nil
  }

  /// What an event changes: the alert latches (one alert per cassette until it is loaded
  /// again), and the run of dispense faults.
  private mutating func applyEvent(
    _ id: String, _ type: ATMEventType, _ detail: String, _ cassette: Int64
  ) {
    if type == .dispenseFault { terminals[id]?.faultsInARow += 1 }
    guard cassette != 0, let i = terminals[id]?.cassetteIndex(cassette) else { return }
    switch type {
    case .cassetteLow: terminals[id]?.cassettes[i].lowAlerted = true
    case .cassetteEmpty: terminals[id]?.cassettes[i].emptyAlerted = true
    case .alert where detail.hasPrefix(Self.forecastAlertPrefix):
      terminals[id]?.cassettes[i].forecastAlerted = true
    default: break
    }
  }

  /// How a forecast's replenishment alert begins.
  static let forecastAlertPrefix = "replenishment: forecast"

  // MARK: Queries

  /// A card's withdrawals today (UTC) in a currency: amount in minor units and count.
  func use(of card: UInt64, currency: Currency, on day: Int64) -> (amount: Int64, count: Int) {
    guard let u = dailyUse[card]?[currency.letters], u.day == day else { return (0, 0) }
    return (u.amount, u.count)
  }

  /// The held amount and count of a card's withdrawals in flight in a currency.
  func pending(of card: UInt64, currency: Currency) -> (amount: Int64, count: Int) {
    var amount: Int64 = 0
    var count = 0
    for h in holds.values where h.card == card && terminals[h.terminal]?.currency == currency {
      amount &+= h.notes.reduce(Int64(0)) { $0 &+ $1.denomination &* Int64($1.count) }
      count += 1
    }
    return (amount, count)
  }

  // MARK: Invariants

  func invariantViolation() -> String? {
    for t in terminals.values {
      for c in t.cassettes where c.count < 0 {
        return "terminal \(t.id)'s \(c.denomination) cassette has \(c.count) notes"
      }
      for h in holds.values where terminals[h.terminal] == nil {
        return "a hold at unknown terminal \(h.terminal)"
      }
    }
    return nil
  }

  /// Each terminal's cash account equals the value of the notes in its cassettes and bin.
  static func invariantViolation(across state: borrowing BankState) -> String? {
    guard let atm = state.core(ATMState.self) else { return nil }
    for t in atm.terminals.values.sorted(by: { $0.id < $1.id }) {
      guard t.cashAccount.index < state.ledger.info.count else {
        return "terminal \(t.id)'s cash account does not exist"
      }
      let b = state.ledger.bal[t.cashAccount.index]
      let books = Int128(b.postedDebits &- b.postedCredits)
      if books != t.cashValue {
        return
          "terminal \(t.id)'s cash account holds \(books) minor units but its notes are worth \(t.cashValue)"
      }
    }
    return nil
  }
}
