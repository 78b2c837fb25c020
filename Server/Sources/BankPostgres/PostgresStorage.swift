import BankCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO

/// A ``Storage`` backend on PostgreSQL: the journal is a table of batches keyed by sequence,
/// holding the same record bytes and the same SHA-256 chain as a file store (its genesis is a
/// file header), so `verify` means the same thing and a store copies between the backends.
///
/// Several instances (processes, nodes) write one database. An append is conditional on the
/// head its caller last saw: one statement inserts the batch only where the journal ends, and
/// the batch's first sequence is the table's primary key, so two writers can never append at one
/// sequence; the loser gets `nil`, catches up and revalidates (``Storage/append(_:ifLastIs:)``).
/// Group commit: each append is one transaction committed without waiting for the WAL flush
/// (`synchronous_commit = off` on the appending connection, so the caller's lock is held for a
/// round trip only); ``waitUntilDurable(_:)`` then runs one synchronous commit on a second
/// connection, whose flush covers every batch committed before it, for all waiters at once.
/// A batch is reported as existing, to this bank or any other, only once such a flush covers it:
/// reads flush before they hand out batches beyond the durable point. An append whose outcome
/// the connection's loss hid is resolved by reading the batch back after the old backend is
/// gone, never by guessing; a batch the database lost in a crash before its flush is reported as
/// a failure, never acknowledged.
///
/// Other writers' appends are seen through `LISTEN`/`NOTIFY` on `bankcore_journal` (each flush
/// announces the head it made durable), with a query at least every ``Options/pollInterval`` as
/// the fallback.
///
/// Blocking: every method but ``waitUntilDurableAsync(_:)`` waits for the database on the
/// calling thread; never call one from an event loop or a Swift concurrency task's thread (the
/// bank's async API runs them off those). ``waitUntilDurableAsync(_:)`` holds no thread: the
/// answer to the flush that covers the caller's sequence resumes it.
public final class PostgresStorage: Storage {
  /// How the backend connects and waits.
  public struct Options: Sendable {
    /// Create the schema and a new journal when the database has none. Default `true`.
    public var createIfMissing: Bool
    /// Never write (no schema, no snapshot). Default `false`.
    public var readOnly: Bool
    /// How long one attempt to connect may take. Default 5 s.
    public var connectTimeout: Duration
    /// The longest a statement may run on the server (`statement_timeout`). Default 30 s.
    public var statementTimeout: Duration
    /// How long an operation keeps reconnecting after the connection is lost (a server
    /// restart) before it fails. Default 30 s.
    public var reconnectFor: Duration
    /// The longest another writer's commit may go unseen when notifications are lost. Default
    /// 1 s.
    public var pollInterval: Duration
    /// The genesis (a 64-byte journal header) of a journal this open creates: `journal import`
    /// passes the file's, so the copy keeps its identity and chain. Default: a new one.
    public var genesis: [UInt8]?
    /// How long a writer keeps the turn to append (``Storage/takeAppendTurn()``) while it has
    /// more commits queued, before it lets the other writers (nodes) waiting for it go first.
    /// `.zero` turns the turns off: every writer then appends at once and loses races instead.
    /// Default 10 ms.
    public var appendTurn: Duration
    /// The longest a writer waits for the turn before it appends without it (a node holding
    /// the turn may be paused or cut off); it then appends without turns for a second, twice as
    /// long after each further failed try in a row, up to 8 s. Default 250 ms.
    public var turnWait: Duration

    /// Creates options.
    public init(
      createIfMissing: Bool = true, readOnly: Bool = false, connectTimeout: Duration = .seconds(5),
      statementTimeout: Duration = .seconds(30), reconnectFor: Duration = .seconds(30),
      pollInterval: Duration = .seconds(1), genesis: [UInt8]? = nil,
      appendTurn: Duration = .milliseconds(10), turnWait: Duration = .milliseconds(250)
    ) {
      self.createIfMissing = createIfMissing
      self.readOnly = readOnly
      self.connectTimeout = connectTimeout
      self.statementTimeout = statementTimeout
      self.reconnectFor = reconnectFor
      self.pollInterval = pollInterval
      self.genesis = genesis
      self.appendTurn = appendTurn
      self.turnWait = turnWait
    }
  }

  /// The schema version this release writes and reads.
  public static let schemaVersion = 1
  /// The channel appends notify.
  static let channel = "bankcore_journal"

  /// Where the database is.
  public let location: PostgresLocation
  /// The options it was opened with.
  public let options: Options
  /// The genesis header the chain starts from.
  public let genesis: [UInt8]
  public let storeIdentity: [UInt8]
  public var isReadOnly: Bool { options.readOnly }

  private struct State {
    var connection: PostgresConnection?
    var backendPID: Int32 = 0
    /// The last batch this instance knows of, and the chain's head after it.
    var head: UInt64 = 0
    var headHash: [UInt8]
    var lastPoll: ContinuousClock.Instant
    var closed = false
    var snapshotProblem: String?
  }

  private let state: NIOLockedValueBox<State>
  /// The group flush: one leader at a time; the others wait for the flush that covers them.
  private let gate = FlushGate()
  private let flusher = NIOLockedValueBox<PostgresConnection?>(nil)
  /// The highest last sequence a notification announced.
  private let notified = NIOLockedValueBox<UInt64>(0)
  private let listener = NIOLockedValueBox<PostgresConnection?>(nil)
  private let logger: Logger
  private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
  private let connectionIDs = NIOLockedValueBox(0)
  /// This writer's turn to append (``takeAppendTurn()``).
  private let turn = NIOLockedValueBox(Turn())

  /// The turn to append: a session advisory lock held on a connection of its own.
  private struct Turn {
    var connection: PostgresConnection?
    /// Whether this instance holds the lock (as far as it knows: a lost connection drops it).
    var held = false
    /// Whether a caller is taking it now: one at a time, so the lock is never asked for twice
    /// on the session (session locks stack, and one unlock would leave it held).
    var taking = false
    /// Set by ``close()``: no turn is taken any more, and a connection opened meanwhile is let go.
    var closed = false
    /// When it was taken.
    var since = ContinuousClock.now
    /// Until when no turn is tried (the last try failed or waited past ``Options/turnWait``).
    var offUntil: ContinuousClock.Instant?
    /// How many turns were taken, and how many tries gave up (for tests and figures).
    var taken = 0
    var givenUp = 0
    /// Tries in a row that failed: each doubles the time without turns, up to 8 s.
    var failures = 0
  }

  /// Opens (and, unless `options` say otherwise, creates) the journal in the database at
  /// `url`.
  ///
  /// - Throws: ``StorageError/invalidArgument(_:)`` for a bad URL; ``StorageError/notFound(path:)``
  ///   when there is no journal and none may be created; ``StorageError/corrupt(offset:sequence:reason:)``
  ///   for a schema of another version; ``StorageError/io(operation:errno:detail:)`` when the
  ///   server cannot be reached.
  public convenience init(url: String, options: Options = .init()) throws(StorageError) {
    try self.init(location: PostgresLocation(url: url), options: options)
  }

  /// Opens the journal at `location`; see ``init(url:options:)``.
  public init(location: PostgresLocation, options: Options = .init()) throws(StorageError) {
    self.location = location
    self.options = options
    var logger = Logger(label: "bankcore.postgres")
    logger.logLevel = .critical
    self.logger = logger
    let placeholder = State(headHash: [], lastPoll: .now)
    state = NIOLockedValueBox(placeholder)
    // The schema, under an advisory lock so that nodes starting together create it once.
    let (conn, pid) = try Self.connect(
      location, options, logger: logger, group: group, id: 0, asynchronousCommit: true)
    var genesis: [UInt8] = []
    do {
      genesis = try Self.prepareSchema(conn, options: options, logger: logger)
    } catch {
      _ = try? conn.close().wait()
      throw error
    }
    guard let identity = FileStorage.storeIdentity(ofGenesis: genesis) else {
      _ = try? conn.close().wait()
      throw .corrupt(
        offset: 0, sequence: 0, reason: "the journal's genesis in \(location.display) is damaged")
    }
    self.genesis = genesis
    self.storeIdentity = identity
    let chain = HashChain(genesis: genesis)
    state.withLockedValue {
      $0.connection = conn
      $0.backendPID = pid
      $0.headHash = chain.head
    }
    try refreshHead()
    startListening()
  }

  // MARK: Durability

  /// Makes every batch committed so far durable: one synchronous commit (a transaction id, so
  /// that a commit record is written and flushed) on the flushing connection, whose WAL flush
  /// covers every commit before it. Leaders take turns; a waiter whose sequence a finished
  /// flush covers returns without one.
  private func flush(through target: UInt64) throws(StorageError) {
    guard let goal = try gate.lead(through: target, head: { self.lastSequence }) else { return }
    let failure = flushRounds(goal)
    finishFlush(goal, failure: failure)
    if let failure { throw failure }
  }

  /// The flush's synchronous commit, on the flushing connection, reconnecting while it is lost
  /// (for up to ``Options/reconnectFor``): `nil` once it committed. Blocks the calling thread.
  private func flushRounds(_ goal: UInt64) -> StorageError? {
    var failure: StorageError?
    let deadline = ContinuousClock.now + options.reconnectFor
    while true {
      if state.withLockedValue({ $0.closed }) {
        failure = .closed
        break
      }
      let current = flusher.withLockedValue { $0 }
      let c: PostgresConnection
      if let current, !current.isClosed {
        c = current
      } else {
        if let current { Self.release(current) }
        do throws(StorageError) {
          let id = connectionIDs.withLockedValue {
            $0 += 1
            return $0
          }
          c = try Self.connect(location, options, logger: logger, group: group, id: id).0
          // Any new flushing connection may face a server that crashed since the last flush.
          gate.noteLostConnection()
          flusher.withLockedValue { $0 = c }
        } catch {
          if ContinuousClock.now > deadline {
            failure = error
            break
          }
          Thread.sleep(forTimeInterval: 0.05)
          continue
        }
      }
      do {
        // The notification goes out with the flush: other nodes hear of durable batches only.
        _ = try Self.answer(c.query(Self.flushQuery(goal), logger: logger), from: c, options)
        break
      } catch {
        let lost = Self.lostConnection(error)
        if lost {
          flusher.withLockedValue { if $0 === c { $0 = nil } }
          gate.noteLostConnection()
          Self.release(c)
        }
        if !lost || ContinuousClock.now > deadline {
          failure = .io(
            operation: "flush the journal (a synchronous commit)", errno: 0,
            detail: Self.describe(error))
          break
        }
        Thread.sleep(forTimeInterval: 0.05)
      }
    }
    return failure
  }

  /// The flush's statement: a transaction id (so that a commit record is written and flushed)
  /// and the notification, which goes out with the flush, so other nodes hear of durable
  /// batches only.
  private static func flushQuery(_ goal: UInt64) -> PostgresQuery {
    "SELECT txid_current(), pg_notify('bankcore_journal', \(String(goal)))"
  }

  /// Ends the flush to `goal`, settling its waiters; when async waiters beyond it are left,
  /// starts the flush that covers them.
  private func finishFlush(_ goal: UInt64, failure: StorageError?) {
    if let next = gate.finish(goal, failure: failure, head: { self.lastSequence }) {
      startFlush(next)
    }
  }

  /// Runs the flush to `goal` (this caller leads it, ``FlushGate``) without holding a thread
  /// while the server answers: the statement is sent on the flushing connection and its answer
  /// ends the flush, from the event loop. When there is no open flushing connection, or the
  /// statement fails, the blocking rounds (which reconnect and retry) run on a thread of their
  /// own.
  private func startFlush(_ goal: UInt64) {
    let blocking = { @Sendable [self] in
      DispatchQueue.global().async { self.finishFlush(goal, failure: self.flushRounds(goal)) }
    }
    guard let c = flusher.withLockedValue({ $0 }), !c.isClosed,
      !state.withLockedValue({ $0.closed })
    else { return blocking() }
    // The client's deadline, as in `answer(_:from:_:)`: a connection silent past the statement
    // timeout is closed, which fails the statement as a lost connection.
    let limit = options.statementTimeout + .seconds(5)
    let timer: Scheduled<Void>? =
      options.statementTimeout > .zero
      ? c.eventLoop.scheduleTask(in: .nanoseconds(Self.nanoseconds(limit))) { Self.release(c) }
      : nil
    c.query(Self.flushQuery(goal), logger: logger).whenComplete { [self] result in
      timer?.cancel()
      switch result {
      case .success:
        finishFlush(goal, failure: nil)
      case .failure(let error):
        if Self.lostConnection(error) {
          flusher.withLockedValue { if $0 === c { $0 = nil } }
          gate.noteLostConnection()
          Self.release(c)
          blocking()
        } else {
          finishFlush(
            goal,
            failure: .io(
              operation: "flush the journal (a synchronous commit)", errno: 0,
              detail: Self.describe(error)))
        }
      }
    }
  }

  static func nanoseconds(_ d: Duration) -> Int64 {
    d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
  }

  /// Closes without waiting: the last reference may go on an event loop (a flush's answer),
  /// where waiting for a connection's close is not allowed.
  deinit {
    let connections = state.withLockedValue { s -> [PostgresConnection] in
      s.closed = true
      defer { s.connection = nil }
      return s.connection.map { [$0] } ?? []
    }
    let others = [
      listener.withLockedValue { l -> PostgresConnection? in
        defer { l = nil }
        return l
      },
      flusher.withLockedValue { f -> PostgresConnection? in
        defer { f = nil }
        return f
      },
      turn.withLockedValue { t -> PostgresConnection? in
        defer { t.connection = nil }
        return t.connection
      },
    ].compactMap { $0 }
    for c in connections + others { Self.release(c) }
    gate.close()
  }

  // MARK: Connections

  private static func connect(
    _ location: PostgresLocation, _ options: Options, logger: Logger, group: any EventLoopGroup,
    id: Int, asynchronousCommit: Bool = false
  ) throws(StorageError) -> (PostgresConnection, Int32) {
    var configuration: PostgresConnection.Configuration
    if let dir = location.socketDirectory {
      configuration = .init(
        unixSocketPath: dir + "/.s.PGSQL.\(location.port)", username: location.username,
        password: location.password, database: location.database)
    } else {
      configuration = .init(
        host: location.host, port: location.port, username: location.username,
        password: location.password, database: location.database, tls: .disable)
    }
    configuration.options.connectTimeout = .milliseconds(
      Int64(
        options.connectTimeout.components.seconds * 1000
          + options.connectTimeout.components.attoseconds / 1_000_000_000_000_000))
    var opened: PostgresConnection?
    do {
      let conn = try PostgresConnection.connect(
        on: group.next(), configuration: configuration, id: id, logger: logger
      ).wait()
      opened = conn
      let ms =
        options.statementTimeout.components.seconds * 1000
        + options.statementTimeout.components.attoseconds / 1_000_000_000_000_000
      _ = try conn.query(PostgresQuery(unsafeSQL: "SET statement_timeout = \(ms)"), logger: logger)
        .wait()
      // Durable at commit, whatever the server's default: an operator's `off` would lose
      // acknowledged batches in a crash (`remote_apply` and the like are kept).
      let sync = try conn.query("SHOW synchronous_commit", logger: logger).wait()
      if asynchronousCommit {
        // The appending connection: its commits are made durable by the group flush.
        _ = try conn.query("SET synchronous_commit = off", logger: logger).wait()
      } else if let row = sync.rows.first, (try? row.decode(String.self)) == "off" {
        _ = try conn.query("SET synchronous_commit = on", logger: logger).wait()
      }
      let pid = try conn.query("SELECT pg_backend_pid()", logger: logger).wait()
      let backend = try pid.rows.first.map { try $0.decode(Int32.self) } ?? 0
      return (conn, backend)
    } catch {
      if let opened { release(opened) }
      throw .io(
        operation: "connect to PostgreSQL", errno: 0,
        detail: "cannot reach \(location.display): \(Self.describe(error))")
    }
  }

  /// What an error says, for messages: the server's message and SQLSTATE, never a query's
  /// parameters.
  static func describe(_ error: any Error) -> String {
    if let e = error as? PSQLError {
      if let info = e.serverInfo {
        return "\(info[.message] ?? "server error") (SQLSTATE \(info[.sqlState] ?? "?"))"
      }
      return "\(e.code)"
    }
    if let e = error as? StorageError { return "\(e)" }
    return String(describing: type(of: error)) + ": " + String(describing: error).prefix(200)
  }

  /// A statement's answer, waited for no longer than the statement timeout plus 5 seconds. The
  /// server ends a statement at its timeout, so a connection silent for longer is dead to us (a
  /// half-open socket, a peer that stopped answering): it is closed, which fails the statement as
  /// a lost connection, and the callers' paths for a lost connection (reconnect, read back) take
  /// over instead of a thread waiting forever. The wait starts when the statement is issued, so
  /// time spent queued behind another statement on the connection counts too; with every
  /// statement bounded by the timeout, that takes several near-timeout statements in a row.
  static func answer<T>(
    _ future: EventLoopFuture<T>, from c: PostgresConnection, _ options: Options
  ) throws -> T {
    // A statement timeout of 0 is PostgreSQL's "no limit": then the client sets none either.
    guard options.statementTimeout > .zero else { return try future.wait() }
    let done = DispatchSemaphore(value: 0)
    future.whenComplete { _ in done.signal() }
    let limit = options.statementTimeout + .seconds(5)
    if done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds(limit)))) == .timedOut {
      release(c)
    }
    return try future.wait()
  }

  /// Whether the error lost the connection (so a statement's outcome may be unknown), rather
  /// than the server refusing the statement (nothing done).
  static func lostConnection(_ error: any Error) -> Bool {
    guard let e = error as? PSQLError else { return true }
    if e.code == .server {
      let state = e.serverInfo?[.sqlState] ?? ""
      // admin_shutdown, crash_shutdown, cannot_connect_now, connection exceptions.
      return state.hasPrefix("57P") || state.hasPrefix("08")
    }
    return true
  }

  /// The connection, reconnecting (until `deadline`) when it was lost.
  private func connection(until deadline: ContinuousClock.Instant) throws(StorageError) -> (
    PostgresConnection, Int32
  ) {
    if let (c, pid) = state.withLockedValue({ s in s.connection.map { ($0, s.backendPID) } }),
      !c.isClosed
    {
      return (c, pid)
    }
    var delay = Duration.milliseconds(20)
    while true {
      if state.withLockedValue({ $0.closed }) { throw .closed }
      let id = connectionIDs.withLockedValue {
        $0 += 1
        return $0
      }
      do throws(StorageError) {
        let (c, pid) = try Self.connect(
          location, options, logger: logger, group: group, id: id, asynchronousCommit: true)
        gate.noteLostConnection()
        // Another thread may have reconnected meanwhile, or the store closed: keep one.
        var stale: PostgresConnection?
        let kept = state.withLockedValue { s -> (PostgresConnection, Int32)? in
          if s.closed { return nil }
          if let other = s.connection, !other.isClosed { return (other, s.backendPID) }
          stale = s.connection
          s.connection = c
          s.backendPID = pid
          return (c, pid)
        }
        if let stale { Self.release(stale) }
        guard let kept else {
          Self.release(c)
          throw .closed
        }
        if kept.0 !== c { Self.release(c) }
        return kept
      } catch {
        if ContinuousClock.now + delay > deadline { throw error }
        Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18)
        delay = min(delay * 2, .milliseconds(500))
      }
    }
  }

  /// Closes a connection that is no longer used, keeping it alive until its channel has closed
  /// (a connection must be closed before it is freed).
  static func release(_ c: PostgresConnection) {
    let closing: EventLoopFuture<Void> = c.close()
    closing.whenComplete { _ in withExtendedLifetime(c) {} }
  }

  private func dropConnection(_ c: PostgresConnection) {
    state.withLockedValue { if $0.connection === c { $0.connection = nil } }
    Self.release(c)
  }

  /// Runs a statement that changes nothing, reconnecting and retrying it while the connection
  /// is lost, for up to ``Options/reconnectFor``.
  private func read(_ what: String, _ query: PostgresQuery) throws(StorageError)
    -> PostgresQueryResult
  {
    if state.withLockedValue({ $0.closed }) { throw .closed }
    let deadline = ContinuousClock.now + options.reconnectFor
    while true {
      let (c, _) = try connection(until: deadline)
      do {
        return try Self.answer(c.query(query, logger: logger), from: c, options)
      } catch {
        guard Self.lostConnection(error), ContinuousClock.now < deadline else {
          throw .io(operation: what, errno: 0, detail: Self.describe(error))
        }
        dropConnection(c)
      }
    }
  }

  // MARK: Schema

  /// Creates or checks the schema and returns the journal's genesis.
  private static func prepareSchema(
    _ c: PostgresConnection, options: Options, logger: Logger
  ) throws(StorageError) -> [UInt8] {
    func run(_ q: PostgresQuery) throws(StorageError) -> PostgresQueryResult {
      do { return try answer(c.query(q, logger: logger), from: c, options) } catch {
        throw .io(operation: "prepare the schema", errno: 0, detail: describe(error))
      }
    }
    let exists = try run(
      "SELECT to_regclass('bankcore_meta') IS NOT NULL")
    let present = (try? exists.rows.first?.decode(Bool.self)) ?? false
    if !present {
      guard options.createIfMissing, !options.readOnly else {
        throw .notFound(path: "a BankCore journal in this database")
      }
    }
    if !options.readOnly {
      // One creator at a time; the lock is the session's and ends with this block.
      _ = try run("SELECT pg_advisory_lock(7262051893)")
    }
    defer { if !options.readOnly { _ = try? run("SELECT pg_advisory_unlock(7262051893)") } }
    if !options.readOnly {
      _ = try run(
        "CREATE TABLE IF NOT EXISTS bankcore_meta (key text PRIMARY KEY, value bytea NOT NULL)")
    }
    let version = try run("SELECT value FROM bankcore_meta WHERE key = 'schema_version'")
    if let row = version.rows.first {
      let bytes = (try? row.decode(ByteBuffer.self)).map { Array($0.readableBytesView) } ?? []
      let v = Int(String(decoding: bytes, as: UTF8.self)) ?? -1
      guard v == schemaVersion else {
        throw .corrupt(
          offset: 0, sequence: 0,
          reason: v > schemaVersion
            ? "the database holds schema version \(v); this release reads version \(schemaVersion): a newer release wrote it"
            : "the database holds an unknown schema version (\(v))")
      }
    } else {
      guard options.createIfMissing, !options.readOnly else {
        throw .notFound(path: "a BankCore journal in this database")
      }
      let genesis = options.genesis ?? FileStorage.makeGenesis()
      guard FileStorage.storeIdentity(ofGenesis: genesis) != nil else {
        throw .invalidArgument("the genesis is not a journal header")
      }
      // Version 1, in one transaction: the whole schema or none of it.
      _ = try run("BEGIN")
      do throws(StorageError) {
        _ = try run(
          """
          CREATE TABLE bankcore_batches (
            first_seq bigint PRIMARY KEY CHECK (first_seq >= 1),
            last_seq bigint NOT NULL UNIQUE CHECK (last_seq >= first_seq),
            records bytea NOT NULL,
            hash bytea NOT NULL CHECK (length(hash) = 32))
          """)
        _ = try run(
          """
          CREATE TABLE bankcore_snapshot (
            id int PRIMARY KEY CHECK (id = 1),
            sequence bigint NOT NULL,
            hash bytea NOT NULL,
            payload bytea NOT NULL)
          """)
        _ = try run(
          "INSERT INTO bankcore_meta VALUES ('genesis', \(ByteBuffer(bytes: genesis)))")
        _ = try run(
          "INSERT INTO bankcore_meta VALUES ('schema_version', \(ByteBuffer(string: String(schemaVersion))))"
        )
        _ = try run("COMMIT")
      } catch {
        _ = try? run("ROLLBACK")
        throw error
      }
    }
    let g = try run("SELECT value FROM bankcore_meta WHERE key = 'genesis'")
    guard let row = g.rows.first, let buffer = try? row.decode(ByteBuffer.self) else {
      throw .corrupt(offset: 0, sequence: 0, reason: "the journal's genesis is missing")
    }
    return Array(buffer.readableBytesView)
  }

  // MARK: Notifications

  /// A second connection that LISTENs for other writers' appends; polling covers its absence.
  private func startListening() {
    guard listener.withLockedValue({ $0?.isClosed ?? true }) else { return }
    guard
      let (c, _) = try? Self.connect(
        location, Options(connectTimeout: .seconds(1)), logger: logger, group: group, id: -1)
    else { return }
    let notified = self.notified
    c.addListener(channel: Self.channel) { _, note in
      if let n = UInt64(note.payload) { notified.withLockedValue { $0 = max($0, n) } }
    }
    guard (try? c.query("LISTEN bankcore_journal", logger: logger).wait()) != nil else {
      Self.release(c)
      return
    }
    let old = listener.withLockedValue { l -> PostgresConnection? in
      defer { l = c }
      return l
    }
    if let old { Self.release(old) }
  }

  // MARK: Storage

  public var lastSequence: UInt64 { state.withLockedValue { $0.head } }

  /// The journal's end: its last sequence and the chain's hash there.
  private static var headQuery: PostgresQuery {
    "SELECT last_seq, hash FROM bankcore_batches ORDER BY last_seq DESC LIMIT 1"
  }

  /// Reads the journal's end from the database.
  private func refreshHead() throws(StorageError) {
    // A batch read before a crash may be gone after it: read again if a connection was lost
    // between the read and the flush that makes what was read durable.
    let stamp = gate.lossCount
    try adoptHead(read("read the journal's end", Self.headQuery), readAfter: stamp)
  }

  /// Takes the journal's end from `r`, a ``headQuery`` sent when ``FlushGate/lossCount`` was
  /// `stamp`: a head past the one this instance knows is adopted once a flush covers it.
  private func adoptHead(_ r: PostgresQueryResult, readAfter stamp: Int) throws(StorageError) {
    let now = ContinuousClock.now
    guard let row = r.rows.first, let (last, hash) = try? row.decode((Int64, ByteBuffer).self)
    else {
      state.withLockedValue { $0.lastPoll = now }
      return
    }
    // Committed, and durable once a flush after this read covers it: only then is it seen.
    // Nothing past the head this instance knows is learnt otherwise, so no flush is needed.
    guard UInt64(last) > lastSequence else {
      state.withLockedValue { $0.lastPoll = now }
      return
    }
    try flush(through: UInt64(last))
    if gate.lossCount != stamp { return try refreshHead() }
    state.withLockedValue {
      $0.lastPoll = now
      if UInt64(last) > $0.head {
        $0.head = UInt64(last)
        $0.headHash = Array(hash.readableBytesView)
      }
    }
  }

  public func observeAppends() throws(StorageError) {
    let listening = listener.withLockedValue { $0.map { !$0.isClosed } ?? false }
    let (head, lastPoll) = state.withLockedValue { ($0.head, $0.lastPoll) }
    if listening && notified.withLockedValue({ $0 }) <= head
      && ContinuousClock.now - lastPoll < options.pollInterval
    {
      return
    }
    if !listening && ContinuousClock.now - lastPoll >= options.pollInterval { startListening() }
    try refreshHead()
  }

  public func append(_ batch: RecordBatch) throws(StorageError) -> UInt64 {
    while true {
      let expected = lastSequence
      if let last = try append(batch, ifLastIs: expected) { return last }
      try refreshHead()
    }
  }

  public func append(_ batch: RecordBatch, ifLastIs expected: UInt64) throws(StorageError)
    -> UInt64?
  {
    guard !batch.isEmpty else { throw .invalidArgument("an empty batch cannot be appended") }
    guard !options.readOnly else { throw .invalidArgument("the store is open read-only") }
    if state.withLockedValue({ $0.closed }) { throw .closed }
    // The chain's head where this batch would go.
    var previous: [UInt8]
    let known = state.withLockedValue { $0.head == expected ? $0.headHash : nil }
    if let known {
      previous = known
    } else if expected == 0 {
      previous = HashChain(genesis: genesis).head
    } else {
      let r = try read(
        "read the chain's head",
        "SELECT hash FROM bankcore_batches WHERE last_seq = \(Int64(expected))")
      guard let row = r.rows.first, let h = try? row.decode(ByteBuffer.self) else {
        try refreshHead()
        if lastSequence < expected {
          throw .corrupt(
            offset: 0, sequence: expected,
            reason:
              "the journal in \(location.display) ends at \(lastSequence), before this writer's \(expected): the database was rolled back"
          )
        }
        return nil
      }
      previous = Array(h.readableBytesView)
    }
    // The batch as stored: each record's length (u32 little-endian) and bytes.
    var chain = HashChain(head: previous)
    var body = ByteBuffer()
    body.reserveCapacity(batch.bytes.count + 4 * batch.count)
    var seq = expected
    batch.forEach { r in
      seq += 1
      chain.add(sequence: seq, bytes: r)
      body.writeInteger(UInt32(r.count), endianness: .little)
      body.writeBytes(r)
    }
    let hash = chain.endBatch()
    let first = Int64(expected + 1)
    let last = Int64(seq)
    let insert: PostgresQuery = """
      WITH ins AS (
        INSERT INTO bankcore_batches (first_seq, last_seq, records, hash)
        SELECT \(first), \(last), \(body), \(ByteBuffer(bytes: hash))
        WHERE (SELECT coalesce(max(last_seq), 0) FROM bankcore_batches) = \(Int64(expected))
        ON CONFLICT (first_seq) DO NOTHING
        RETURNING last_seq)
      SELECT last_seq FROM ins
      """
    let deadline = ContinuousClock.now + options.reconnectFor
    while true {
      let (c, pid) = try connection(until: deadline)
      // Counted before the statement: a crash after it commits is a loss after the append.
      let stamp = gate.lossCount
      do {
        let r = try Self.answer(c.query(insert, logger: logger), from: c, options)
        if r.rows.isEmpty {
          // Lost the race: learn the new head (durable first), so the caller catches up.
          try refreshHead()
          return nil
        }
        adopt(last: UInt64(last), hash: hash)
        gate.appended(UInt64(last), hash: hash, losses: stamp)
        return UInt64(last)
      } catch {
        if let e = error as? PSQLError, e.serverInfo?[.sqlState] == "23505" {
          // Another writer's batch took the same last sequence while this statement waited
          // (only `first_seq` is its conflict target): the statement stored nothing, a lost race.
          try refreshHead()
          return nil
        }
        guard Self.lostConnection(error) else {
          // The server refused the statement (a timeout, a constraint): nothing was stored.
          throw .io(operation: "append to the journal", errno: 0, detail: Self.describe(error))
        }
        dropConnection(c)
        // The commit may or may not have happened: read it back once the old backend is gone.
        switch try resolve(first: first, hash: hash, oldBackend: pid, until: deadline) {
        case .ours:
          adopt(last: UInt64(last), hash: hash)
          gate.appended(UInt64(last), hash: hash, losses: stamp)
          return UInt64(last)
        case .theirs:
          try refreshHead()
          return nil
        case .absent: continue  // Nothing was stored: try again on the new connection.
        }
      }
    }
  }

  private enum Outcome { case ours, theirs, absent }

  /// Finds out whether a batch whose commit outcome was hidden is in the journal: waits until
  /// the backend that ran it has ended (so it can no longer commit), then reads the batch at
  /// its first sequence back.
  private func resolve(
    first: Int64, hash: [UInt8], oldBackend: Int32, until deadline: ContinuousClock.Instant
  ) throws(StorageError) -> Outcome {
    while true {
      do throws(StorageError) {
        if oldBackend != 0 {
          _ = try read(
            "end the lost connection's backend",
            "SELECT pg_terminate_backend(\(oldBackend)) WHERE \(oldBackend) <> pg_backend_pid()")
          var gone = false
          while !gone {
            let r = try read(
              "wait for the lost connection's backend",
              "SELECT count(*)::int8 FROM pg_stat_activity WHERE pid = \(oldBackend) AND pid <> pg_backend_pid()"
            )
            gone = ((try? r.rows.first?.decode(Int64.self)) ?? 0) == 0
            if !gone {
              if ContinuousClock.now > deadline {
                throw StorageError.io(
                  operation: "append to the journal", errno: 0,
                  detail:
                    "the connection was lost during the commit and its backend did not end; the outcome is unknown"
                )
              }
              Thread.sleep(forTimeInterval: 0.01)
            }
          }
        }
        let r = try read(
          "read back a batch whose commit was interrupted",
          "SELECT hash FROM bankcore_batches WHERE first_seq = \(first)")
        guard let row = r.rows.first, let h = try? row.decode(ByteBuffer.self) else {
          return .absent
        }
        return Array(h.readableBytesView) == hash ? .ours : .theirs
      } catch {
        if ContinuousClock.now > deadline {
          throw .io(
            operation: "append to the journal", errno: 0,
            detail:
              "the connection was lost during the commit and the database could not be reached again to read it back (\(error)); the outcome is unknown, and the bank takes the batch in if it was stored"
          )
        }
        Thread.sleep(forTimeInterval: 0.05)
      }
    }
  }

  private func adopt(last: UInt64, hash: [UInt8]) {
    state.withLockedValue {
      if last > $0.head {
        $0.head = last
        $0.headHash = hash
      }
    }
  }

  /// Banks on PostgreSQL gather concurrent commits into one append: each append is a round
  /// trip to the server, so one statement carries many callers' transactions.
  public var combinesCommits: Bool { true }

  /// The advisory lock whose holder has the turn to append.
  static let turnLock: Int64 = 7_262_051_894

  /// Takes the turn to append: the session advisory lock ``turnLock``, on a connection of its
  /// own, waited for no longer than ``Options/turnWait`` (`lock_timeout`), then the journal's
  /// end, so the bank judges its group on the head it will append after. Writers on one
  /// database then take turns instead of racing: a race's loser pays a read, a flush, a
  /// catch-up and a new judgement, and under load most appends of several nodes lost.
  ///
  /// Nothing depends on the turn for correctness: appends stay conditional on the head. When the
  /// lock cannot be had in time (its holder is paused or cut off from the server) or the server
  /// cannot be reached, this instance appends without turns for a while (a second, doubling
  /// while tries keep failing, up to 8 s), racing as before. A holder that dies or loses its
  /// connection gives the lock back with its session.
  public func takeAppendTurn() {
    guard !options.readOnly, options.appendTurn > .zero else { return }
    let now = ContinuousClock.now
    let ready = turn.withLockedValue { t -> Bool in
      if t.held || t.taking || t.closed { return false }
      if let off = t.offUntil, now < off { return false }
      t.taking = true
      return true
    }
    guard ready else { return }
    defer { turn.withLockedValue { $0.taking = false } }
    let c: PostgresConnection
    if let open = turn.withLockedValue({ $0.connection }), !open.isClosed {
      c = open
    } else {
      let id = connectionIDs.withLockedValue {
        $0 += 1
        return $0
      }
      // The usual connect timeout: a server that is down fails this once, then turns are off
      // for a while (the append meanwhile reconnects on its own).
      guard
        let (opened, _) = try? Self.connect(
          location, options, logger: logger, group: group, id: id)
      else { return turnOff(giveUp: false) }
      let ms = max(1, Self.nanoseconds(options.turnWait) / 1_000_000)
      guard
        (try? Self.answer(
          opened.query(PostgresQuery(unsafeSQL: "SET lock_timeout = \(ms)"), logger: logger),
          from: opened, options)) != nil
      else {
        Self.release(opened)
        return turnOff(giveUp: false)
      }
      let (stale, closed) = turn.withLockedValue { t -> (PostgresConnection?, Bool) in
        if t.closed { return (nil, true) }
        defer { t.connection = opened }
        return (t.connection, false)
      }
      if let stale { Self.release(stale) }
      if closed {
        Self.release(opened)
        return
      }
      c = opened
    }
    let stamp = gate.lossCount
    let locked = c.query("SELECT pg_advisory_lock(\(Self.turnLock))", logger: logger)
    // What the writer before this one appended, read as soon as the lock is granted (statements
    // on a connection run in order, and each sees what committed before it started).
    let head = c.query(Self.headQuery, logger: logger)
    do {
      _ = try Self.answer(locked, from: c, options)
    } catch {
      // Waited past `turnWait` (55P03), or lost the connection: no turns for a while. A lost
      // connection gave back any lock it held.
      if Self.lostConnection(error) { dropTurnConnection(c) }
      return turnOff(giveUp: true)
    }
    turn.withLockedValue {
      $0.held = true
      $0.since = .now
      $0.taken += 1
      $0.failures = 0
    }
    // An error here is met again by the append.
    if let r = try? Self.answer(head, from: c, options) {
      try? adoptHead(r, readAfter: stamp)
    } else {
      try? refreshHead()
    }
  }

  /// Keeps the turn while more commits are queued and it is younger than
  /// ``Options/appendTurn``; otherwise unlocks, without waiting for the answer (statements on a
  /// connection run in order, so the next lock follows the unlock). A failed unlock drops the
  /// connection, which ends the lock with its session.
  public func endAppendTurn(moreQueued: Bool) {
    let c = turn.withLockedValue { t -> PostgresConnection? in
      guard t.held else { return nil }
      if moreQueued && ContinuousClock.now - t.since < options.appendTurn { return nil }
      t.held = false
      return t.connection
    }
    guard let c else { return }
    // Every advisory lock of the session: it holds only this one, so a lock asked for twice
    // could not outlive this unlock.
    c.query("SELECT pg_advisory_unlock_all()", logger: logger).whenFailure {
      [self] _ in dropTurnConnection(c)
    }
  }

  /// How many turns this instance took, and how many tries gave up waiting (for tests).
  public var appendTurnCounts: (taken: Int, givenUp: Int) {
    turn.withLockedValue { ($0.taken, $0.givenUp) }
  }

  /// No turns for a second after a failed try, twice as long after each further one in a row
  /// (up to 8 s), so a holder paused for long costs the others a few waits, not one per second.
  private func turnOff(giveUp: Bool) {
    turn.withLockedValue {
      $0.held = false
      $0.offUntil = .now + .seconds(1 << min($0.failures, 3))
      $0.failures += 1
      if giveUp { $0.givenUp += 1 }
    }
  }

  private func dropTurnConnection(_ c: PostgresConnection) {
    turn.withLockedValue {
      if $0.connection === c {
        $0.connection = nil
        $0.held = false
      }
    }
    Self.release(c)
  }

  public func waitUntilDurable(_ sequence: UInt64) throws(StorageError) {
    if state.withLockedValue({ $0.closed }) { throw .closed }
    try flush(through: sequence)
    try checkAfterLoss(sequence)
  }

  /// ``waitUntilDurable(_:)`` holding no thread while the flush that covers `sequence` runs:
  /// the answer to the flush's commit resumes the caller (``startFlush(_:)``). The check after
  /// a lost connection, which is rare, runs on a thread of its own.
  public func waitUntilDurableAsync(_ sequence: UInt64) async throws(StorageError) {
    if state.withLockedValue({ $0.closed }) { throw .closed }
    let failure = await withCheckedContinuation { (c: CheckedContinuation<StorageError?, Never>) in
      switch gate.leadAsync(
        through: sequence, head: { self.lastSequence }, then: { c.resume(returning: $0) })
      {
      case .covered: c.resume(returning: nil)
      case .failed(let e): c.resume(returning: e)
      case .queued: break
      case .lead(let goal): startFlush(goal)
      }
    }
    if let failure { throw failure }
    guard gate.mayNeedCheck(sequence) else { return }
    let checked = await withCheckedContinuation {
      (c: CheckedContinuation<StorageError?, Never>) in
      DispatchQueue.global().async {
        do throws(StorageError) {
          try self.checkAfterLoss(sequence)
          c.resume(returning: nil)
        } catch {
          c.resume(returning: error)
        }
      }
    }
    if let checked { throw checked }
  }

  /// A connection was lost since the batch ending at `sequence` was appended: the server may
  /// have crashed before its WAL reached the disk. It is acknowledged only if it is still there.
  private func checkAfterLoss(_ sequence: UInt64) throws(StorageError) {
    guard let hash = gate.needsCheck(sequence) else { return }
    let r = try read(
      "read back a batch after a lost connection",
      "SELECT hash FROM bankcore_batches WHERE last_seq = \(Int64(sequence))")
    let h = try? r.rows.first?.decode(ByteBuffer.self)
    guard let h, h.readableBytesView.elementsEqual(hash) else {
      throw .io(
        operation: "make the journal durable", errno: 0,
        detail:
          "the batch ending at sequence \(sequence) was lost by the database (a crash before its WAL was flushed); it was never acknowledged"
      )
    }
    gate.checked(sequence)
  }

  public func forEachRecord(after sequence: UInt64, _ body: (StoredRecord) -> Bool)
    throws(StorageError)
  {
    var from = Int64(sequence)
    while true {
      // A page of batches at a time, with no lock held while `body` runs.
      let stamp = gate.lossCount
      let r = try read(
        "read the journal",
        """
        SELECT first_seq, last_seq, records, hash FROM bankcore_batches
        WHERE last_seq > \(from) ORDER BY last_seq LIMIT \(Self.pageBatches)
        """)
      if r.rows.isEmpty { return }
      if let row = r.rows.last, let (_, last) = try? row.decode((Int64, Int64).self) {
        try flush(through: UInt64(last))
        // A connection lost between the read and the flush: the page may hold batches a crash
        // erased; read it again.
        if gate.lossCount != stamp { continue }
      }
      for row in r.rows {
        let (first, last, records, hash) = try Self.batch(row, after: from)
        var stop = false
        try Self.split(records, first: first, last: last) { seq, bytes in
          guard seq > Int64(sequence) else { return true }
          if !body(StoredRecord(sequence: UInt64(seq), bytes: bytes)) {
            stop = true
            return false
          }
          return true
        }
        adopt(last: UInt64(last), hash: Array(hash.readableBytesView))
        if stop { return }
        from = last
      }
      // A short page was the journal's end when it was read: no query for an empty page (a
      // catch-up after a lost race is one read, not two).
      if r.rows.count < Self.pageBatches { return }
    }
  }

  /// How many batches one page of ``forEachRecord(after:_:)`` reads.
  static let pageBatches = 512

  /// A batch row's first and last sequence, records and chain hash.
  static func batch(_ row: PostgresRow, after from: Int64) throws(StorageError) -> (
    Int64, Int64, ByteBuffer, ByteBuffer
  ) {
    guard let b = try? row.decode((Int64, Int64, ByteBuffer, ByteBuffer).self) else {
      throw .corrupt(offset: 0, sequence: UInt64(from + 1), reason: "a batch row does not decode")
    }
    return b
  }

  /// Calls `body` with each record of a stored batch.
  static func split(
    _ records: ByteBuffer, first: Int64, last: Int64,
    _ body: (Int64, UnsafeRawBufferPointer) throws(StorageError) -> Bool
  ) throws(StorageError) {
    var buffer = records
    var seq = first
    while buffer.readableBytes > 0 {
      guard let n = buffer.readInteger(endianness: .little, as: UInt32.self),
        Int(n) <= buffer.readableBytes, seq <= last
      else {
        throw .corrupt(offset: 0, sequence: UInt64(seq), reason: "a batch's records are cut short")
      }
      guard let slice = buffer.readSlice(length: Int(n)) else {
        throw .corrupt(offset: 0, sequence: UInt64(seq), reason: "a batch's records are cut short")
      }
      let go = try slice.withUnsafeReadableBytes { (b) throws(StorageError) -> Bool in
        try body(seq, b)
      }
      if !go { return }
      seq += 1
    }
    guard seq == last + 1 else {
      throw .corrupt(
        offset: 0, sequence: UInt64(first),
        reason: "batch \(first)...\(last) holds \(seq - first) records")
    }
  }

  public func record(at sequence: UInt64) throws(StorageError) -> [UInt8]? {
    guard sequence > 0 else { return nil }
    if sequence <= lastSequence { try flush(through: sequence) }
    let r = try read(
      "read a record",
      """
      SELECT first_seq, last_seq, records FROM bankcore_batches
      WHERE last_seq >= \(Int64(sequence)) ORDER BY last_seq LIMIT 1
      """)
    guard let row = r.rows.first,
      let (first, last, records) = try? row.decode((Int64, Int64, ByteBuffer).self),
      first <= Int64(sequence)
    else { return nil }
    var found: [UInt8]?
    try Self.split(records, first: first, last: last) { seq, bytes in
      if seq == Int64(sequence) {
        found = Array(bytes)
        return false
      }
      return true
    }
    return found
  }

  public func loadSnapshot() throws(StorageError) -> StoredSnapshot? {
    let r = try read(
      "read the snapshot", "SELECT sequence, hash, payload FROM bankcore_snapshot WHERE id = 1")
    guard let row = r.rows.first,
      let (seq, hash, payload) = try? row.decode((Int64, ByteBuffer, ByteBuffer).self)
    else { return nil }
    // A snapshot is only a cache: one the journal does not lead to is not used.
    let at = try read(
      "check the snapshot against the journal",
      "SELECT hash FROM bankcore_batches WHERE last_seq = \(seq)")
    guard let h = try? at.rows.first?.decode(ByteBuffer.self),
      h.readableBytesView.elementsEqual(hash.readableBytesView)
    else {
      state.withLockedValue {
        $0.snapshotProblem =
          "the snapshot in \(location.display) at sequence \(seq) does not match the journal; replaying instead"
      }
      return nil
    }
    return StoredSnapshot(sequence: UInt64(seq), payload: Array(payload.readableBytesView))
  }

  public func saveSnapshot(_ snapshot: StoredSnapshot) throws(StorageError) {
    guard !options.readOnly else { return }
    let at = try read(
      "read the chain at the snapshot",
      "SELECT hash FROM bankcore_batches WHERE last_seq = \(Int64(snapshot.sequence))")
    guard let hash = try? at.rows.first?.decode(ByteBuffer.self) else {
      throw .invalidArgument("no batch ends at sequence \(snapshot.sequence)")
    }
    // The newest wins: nodes save snapshots independently.
    _ = try read(
      "save the snapshot",
      """
      INSERT INTO bankcore_snapshot (id, sequence, hash, payload)
      VALUES (1, \(Int64(snapshot.sequence)), \(hash), \(ByteBuffer(bytes: snapshot.payload)))
      ON CONFLICT (id) DO UPDATE SET sequence = EXCLUDED.sequence, hash = EXCLUDED.hash,
        payload = EXCLUDED.payload
      WHERE bankcore_snapshot.sequence < EXCLUDED.sequence
      """)
  }

  public func snapshotProblem() -> String? { state.withLockedValue { $0.snapshotProblem } }

  public func verify() throws(StorageError) -> VerifyReport {
    var chain = HashChain(genesis: genesis)
    var records: UInt64 = 0
    var batches: UInt64 = 0
    var expectedFirst: Int64 = 1
    try batchRows(what: "verify the journal") { first, last, body, hash throws(StorageError) in
      guard first == expectedFirst else {
        throw .corrupt(
          offset: 0, sequence: UInt64(expectedFirst),
          reason: "the journal has a gap: batch \(first)...\(last) follows \(expectedFirst - 1)")
      }
      try Self.split(body, first: first, last: last) { seq, bytes in
        chain.add(sequence: UInt64(seq), bytes: bytes)
        return true
      }
      let head = chain.endBatch()
      guard hash.readableBytesView.elementsEqual(head) else {
        throw .corrupt(
          offset: 0, sequence: UInt64(first),
          reason: "batch \(first)...\(last) does not match the hash chain (the journal was changed)"
        )
      }
      records += UInt64(last - first + 1)
      batches += 1
      expectedFirst = last + 1
    }
    var warnings: [String] = []
    let s = try read("read the snapshot", "SELECT sequence, hash FROM bankcore_snapshot")
    if let row = s.rows.first, let (seq, hash) = try? row.decode((Int64, ByteBuffer).self) {
      let at = try read(
        "check the snapshot", "SELECT hash FROM bankcore_batches WHERE last_seq = \(seq)")
      let h = try? at.rows.first?.decode(ByteBuffer.self)
      if h.map({ !$0.readableBytesView.elementsEqual(hash.readableBytesView) }) ?? true {
        warnings.append(
          "the snapshot at sequence \(seq) does not match the journal; it is not used")
      }
    }
    return VerifyReport(
      records: records, batches: batches, headHash: chain.headHex, warnings: warnings)
  }

  public func close() {
    let c = state.withLockedValue { s -> PostgresConnection? in
      s.closed = true
      defer { s.connection = nil }
      return s.connection
    }
    _ = try? c?.close().wait()
    let l = listener.withLockedValue { l -> PostgresConnection? in
      defer { l = nil }
      return l
    }
    _ = try? l?.close().wait()
    let f = flusher.withLockedValue { f -> PostgresConnection? in
      defer { f = nil }
      return f
    }
    _ = try? f?.close().wait()
    let t = turn.withLockedValue { t -> PostgresConnection? in
      defer {
        t.connection = nil
        t.held = false
        t.closed = true
      }
      return t.connection
    }
    _ = try? t?.close().wait()
    gate.close()
  }

  /// Every batch of the journal with its records, in order: what `journal export` copies.
  public func forEachBatch(
    through limit: UInt64 = .max, _ body: ([[UInt8]]) throws(StorageError) -> Void
  ) throws(StorageError) {
    try batchRows(what: "read the journal") { first, last, records, _ throws(StorageError) in
      // Only batches a flush has covered (the head at open, or `limit`) are copied.
      guard UInt64(last) <= limit else { return }
      var batch: [[UInt8]] = []
      try Self.split(records, first: first, last: last) { _, bytes in
        batch.append(Array(bytes))
        return true
      }
      try body(batch)
    }
  }

  /// Every batch row from the first, in order, a page at a time: first and last sequence, the
  /// records, the chain hash.
  private func batchRows(
    what: String, _ body: (Int64, Int64, ByteBuffer, ByteBuffer) throws(StorageError) -> Void
  ) throws(StorageError) {
    var from: Int64 = 0
    while true {
      let r = try read(
        what,
        """
        SELECT first_seq, last_seq, records, hash FROM bankcore_batches
        WHERE first_seq > \(from) ORDER BY first_seq LIMIT 512
        """)
      if r.rows.isEmpty { return }
      for row in r.rows {
        let (first, last, records, hash) = try Self.batch(row, after: from)
        try body(first, last, records, hash)
        from = first
      }
    }
  }
}

/// The group flush's bookkeeping: how far the journal is durable, whether a flush is running,
/// and this instance's batches not yet covered by one (with how many connections had been lost
/// when each was appended).
///
/// Waiters of two kinds share one flush at a time: threads (``lead(through:head:)``, which wait
/// on the condition) and async callers (``leadAsync(through:head:then:)``, which leave a callback
/// and hold no thread). Whoever ends a flush (``finish(_:failure:head:)``) calls back the async
/// waiters it covered and, when some are left beyond it, makes the next flush theirs.
final class FlushGate: @unchecked Sendable {
  private let condition = NSCondition()
  private var durable: UInt64 = 0
  private var flushing = false
  private var closed = false
  private var losses = 0
  private var pending: [UInt64: (hash: [UInt8], losses: Int)] = [:]
  /// Async callers waiting for a flush to cover their sequence.
  private var waiters: [(target: UInt64, then: @Sendable (StorageError?) -> Void)] = []

  /// What an async caller of ``leadAsync(through:head:then:)`` is to do.
  enum AsyncStart {
    /// A finished flush already covers the sequence.
    case covered
    /// The store closed before a flush covered it.
    case failed(StorageError)
    /// A flush is running; the callback runs once one covers the sequence (or fails).
    case queued
    /// The caller leads a flush to this goal and must start it; its callback runs when the
    /// flush ends.
    case lead(UInt64)
  }

  /// ``lead(through:head:)`` for an async caller: never waits.
  func leadAsync(
    through target: UInt64, head: () -> UInt64, then: @escaping @Sendable (StorageError?) -> Void
  ) -> AsyncStart {
    condition.lock()
    defer { condition.unlock() }
    if durable >= target { return .covered }
    if closed { return .failed(.closed) }
    waiters.append((target, then))
    if flushing { return .queued }
    flushing = true
    return .lead(max(target, head()))
  }

  /// Becomes the flush's leader and returns what it will cover, or `nil` when a flush already
  /// covered `target` (waiting for the one running).
  func lead(through target: UInt64, head: () -> UInt64) throws(StorageError) -> UInt64? {
    condition.lock()
    defer { condition.unlock() }
    while true {
      if durable >= target { return nil }
      // Closed before a flush covered it: not durable, so never reported as such.
      if closed { throw .closed }
      if !flushing { break }
      condition.wait()
    }
    flushing = true
    // Everything committed before the flush starts: this instance's appends up to its head
    // (each committed when its append returned) and what reads saw.
    return max(target, head())
  }

  /// Ends the flush to `goal`. The async waiters it covers are called back (with `failure`,
  /// when it failed, so do all of them); when async waiters are left beyond it, the flush stays
  /// taken and the goal of the next one is returned: the caller must start it.
  func finish(_ goal: UInt64, failure: StorageError?, head: () -> UInt64) -> UInt64? {
    condition.lock()
    flushing = false
    if failure == nil && goal > durable {
      durable = goal
      // Batches no connection loss came between are settled; the others wait for a check.
      pending = pending.filter { $0.key > goal || $0.value.losses != losses }
    }
    var results: [(then: @Sendable (StorageError?) -> Void, error: StorageError?)] = []
    var left: [(target: UInt64, then: @Sendable (StorageError?) -> Void)] = []
    for w in waiters {
      if w.target <= durable {
        results.append((w.then, nil))
      } else if let failure {
        results.append((w.then, failure))
      } else {
        left.append(w)
      }
    }
    var next: UInt64?
    if closed {
      // Closed before a flush covered them: not durable, so never reported as such.
      results += left.map { ($0.then, StorageError.closed) }
      left = []
    } else if let farthest = left.map(\.target).max() {
      flushing = true
      next = max(farthest, head())
    }
    waiters = left
    condition.broadcast()
    condition.unlock()
    for r in results { r.then(r.error) }
    return next
  }

  /// Whether a connection loss may have come between the append of the batch ending at
  /// `sequence` and the flush that covered it (``needsCheck(_:)``).
  func mayNeedCheck(_ sequence: UInt64) -> Bool {
    condition.lock()
    defer { condition.unlock() }
    return pending[sequence] != nil
  }

  func appended(_ last: UInt64, hash: [UInt8], losses stamp: Int) {
    condition.lock()
    pending[last] = (hash, stamp)
    condition.unlock()
  }

  /// How many connections have been lost (or replaced) so far.
  var lossCount: Int {
    condition.lock()
    defer { condition.unlock() }
    return losses
  }

  func noteLostConnection() {
    condition.lock()
    losses += 1
    condition.unlock()
  }

  /// The hash to check `sequence` against when a connection was lost after it was appended.
  func needsCheck(_ sequence: UInt64) -> [UInt8]? {
    condition.lock()
    defer { condition.unlock() }
    guard let p = pending[sequence] else { return nil }
    if p.losses == losses {
      pending[sequence] = nil
      return nil
    }
    return p.hash
  }

  func checked(_ sequence: UInt64) {
    condition.lock()
    pending[sequence] = nil
    condition.unlock()
  }

  func close() {
    condition.lock()
    closed = true
    condition.broadcast()
    condition.unlock()
  }
}
