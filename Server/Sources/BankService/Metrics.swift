import BankCore
import Foundation
import Hummingbird
import Logging
import Prometheus
import Synchronization

/// What `GET /metrics` reports, in the Prometheus text format (swift-prometheus): requests by
/// route, method and status, their latency, commits and how many share a journal sync, open
/// sessions, and ATM events by type.
public final class ServiceMetrics: Sendable {
  let registry = PrometheusCollectorRegistry()
  let latency: DurationHistogram
  let commits: Counter
  let syncs: Gauge
  let records: Gauge
  let groupSize: Gauge
  let sessions: Gauge
  let committed = Atomic<Int>(0)

  /// A fresh registry with every metric at zero.
  public init() {
    latency = registry.makeDurationHistogram(
      name: "bankd_request_duration_seconds",
      buckets: [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
      ], help: "Time to answer a request, every route")
    commits = registry.makeCounter(
      name: "bankd_commits_total", help: "Writes this service committed (REST and event socket)")
    syncs = registry.makeGauge(
      name: "bankd_journal_syncs", help: "fdatasync calls of the journal since bankd started")
    records = registry.makeGauge(
      name: "bankd_journal_records", help: "The journal's last record sequence")
    groupSize = registry.makeGauge(
      name: "bankd_group_commit_size",
      help: "Commits per journal sync since bankd started (group commit)")
    sessions = registry.makeGauge(name: "bankd_open_sessions", help: "Sessions open now")
  }

  /// One answered request.
  func request(route: String, method: String, status: Int, duration: Duration) {
    registry.makeCounter(
      name: "bankd_requests_total",
      labels: [("route", route), ("method", method), ("status", String(status))],
      help: "Requests answered, by route, method and status"
    ).increment()
    latency.record(duration)
    if (200..<300).contains(status) && method != "GET" && method != "HEAD" {
      commits.increment()
      committed.wrappingAdd(1, ordering: .relaxed)
    }
  }

  /// One event a terminal reported on the socket.
  func event(_ type: String) {
    registry.makeCounter(
      name: "bankd_atm_events_total", labels: [("type", type)],
      help: "Events terminals reported on the event socket, by type"
    ).increment()
    commits.increment()
    committed.wrappingAdd(1, ordering: .relaxed)
  }

  /// The text of `GET /metrics`, with the gauges read now.
  func render(bank: Bank, auth: Authenticator, startSyncs: UInt64) async -> String {
    let sequence = bank.lastSequence
    let total = bank.journalSyncs ?? 0
    let open = (try? await auth.perform { a throws(BankError) in try a.openSessionCount() }) ?? 0
    syncs.set(Int64(total &- startSyncs))
    records.set(Int64(sequence))
    sessions.set(Int64(open))
    let done = total &- startSyncs
    groupSize.set(done == 0 ? 0 : Double(committed.load(ordering: .relaxed)) / Double(done))
    return registry.emitToString()
  }
}
