/// The automated responses of the ATM fleet: pure functions from a terminal's state after
/// something happened to the events and state changes that answer it, committed in the same
/// batch as their cause. A rule never commits on its own (it never re-enters the commit path).
///
/// | condition | response |
/// |---|---|
/// | a cassette falls to or under its low threshold | `cassette_low` and one `replenishment` alert, until it is loaded above it again |
/// | a cassette empties | `cassette_empty` and one `replenishment` alert |
/// | the forecast says a cassette empties within the lead time (48 h) | one `replenishment` alert |
/// | `faultsBeforeOutOfService` (3) dispense faults in a row | `out_of_service` and a `maintenance` alert |
/// | a hardware failure | `hardware_failure`, `out_of_service` and a `maintenance` alert |
/// | a card retained | a `security` alert |
enum ATMRules {
  /// After notes left the cassettes of `t` (the state after the dispense).
  static func afterDispense(
    _ t: ATMState.Terminal, touched: Set<Int64>? = nil, configuration: ATMConfiguration,
    now: Instant
  ) -> [ATMRecord] {
    var out: [ATMRecord] = []
    for c in t.cassettes where touched?.contains(c.denomination) ?? true {
      let note = Dispenser.spoken(Amount(minorUnits: c.denomination, currency: t.currency))
      if c.count == 0 && !c.emptyAlerted {
        out.append(
          .event(
            terminal: t.id, type: .cassetteEmpty, detail: "the \(note) cassette is empty",
            cassette: c.denomination, time: now))
        out.append(
          .event(
            terminal: t.id, type: .alert,
            detail: "replenishment: the \(note) cassette of \(t.id) is empty",
            cassette: c.denomination, time: now))
      } else if c.count > 0 && c.count <= c.lowThreshold && !c.lowAlerted {
        out.append(
          .event(
            terminal: t.id, type: .cassetteLow,
            detail: "the \(note) cassette has \(c.count) notes (threshold \(c.lowThreshold))",
            cassette: c.denomination, time: now))
        out.append(
          .event(
            terminal: t.id, type: .alert,
            detail:
              "replenishment: the \(note) cassette of \(t.id) is low: \(c.count) notes (threshold \(c.lowThreshold))",
            cassette: c.denomination, time: now))
      }
      if c.count > 0 && !c.forecastAlerted && !c.emptyAlerted,
        let hours = ATMFleet.forecast(t, c, now: now).hours,
        hours < configuration.forecastLeadHours
      {
        out.append(
          .event(
            terminal: t.id, type: .alert,
            detail:
              "\(ATMState.forecastAlertPrefix): the \(note) cassette of \(t.id) empties in about \(hours) hours at the last 7 days' rate",
            cassette: c.denomination, time: now))
      }
    }
    return out
  }

  /// After a dispense fault at `t` (its state before the fault's event): the fault's event,
  /// and out of service with a `maintenance` alert when it is the last one allowed in a row.
  static func dispenseFault(
    _ t: ATMState.Terminal, detail: String, configuration: ATMConfiguration, now: Instant
  ) -> [ATMRecord] {
    var out: [ATMRecord] = [
      .event(terminal: t.id, type: .dispenseFault, detail: detail, cassette: 0, time: now)
    ]
    if t.inService && t.faultsInARow + 1 >= configuration.faultsBeforeOutOfService {
      out += outOfService(
        t,
        alert:
          "maintenance: \(t.id) had \(t.faultsInARow + 1) dispense faults in a row; it is out of service",
        time: now)
    }
    return out
  }

  /// A hardware failure: the event, out of service, a `maintenance` alert.
  static func hardwareFailure(_ t: ATMState.Terminal, detail: String, time: Instant)
    -> [ATMRecord]
  {
    [.event(terminal: t.id, type: .hardwareFailure, detail: detail, cassette: 0, time: time)]
      + outOfService(
        t, alert: "maintenance: \(t.id) had a hardware failure; it is out of service", time: time)
  }

  static func outOfService(_ t: ATMState.Terminal, alert: String, time: Instant) -> [ATMRecord] {
    var out: [ATMRecord] = []
    if t.inService {
      out.append(.serviceChanged(terminal: t.id, inService: false, time: time))
      out.append(
        .event(
          terminal: t.id, type: .outOfService, detail: "out of service", cassette: 0, time: time))
    }
    out.append(.event(terminal: t.id, type: .alert, detail: alert, cassette: 0, time: time))
    return out
  }

  /// A card retained at `t`: the event and a `security` alert.
  static func cardRetained(_ t: ATMState.Terminal, masked: String, time: Instant) -> [ATMRecord] {
    [
      .event(
        terminal: t.id, type: .cardRetained,
        detail: "card \(masked) retained after too many wrong PINs", cassette: 0, time: time),
      .event(
        terminal: t.id, type: .alert,
        detail: "security: card \(masked) was retained at \(t.id) after too many wrong PINs",
        cassette: 0, time: time),
    ]
  }
}
