import BankCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The ATM event socket (DESIGN.md 6): TCP, newline-delimited JSON. A terminal sends
/// `{"hello":ID,"key":KEY}` first, then events `{"type","detail"}`; each line is answered with
/// one line, `{"ok":true,"event":SEQ}` or `{"ok":false,"error":{"code","message"}}`, in order.
///
/// Every event goes through ``ATMFleet/report(_:detail:terminal:)`` (the commit path and the
/// rules) on a thread of its own, never on the event loop. A line over 8 KiB, malformed JSON, an
/// unknown type or field, an event before `hello` or for another terminal each get an error
/// line; a failed `hello`, a client idle or stuck mid-line past its timeout, and a connection
/// past the limit get an error line and are closed. None of them touches another connection or
/// the store.
public final class EventSocketServer: Service, Sendable {
  /// Limits and timeouts.
  public struct Limits: Sendable {
    /// The longest line, in bytes, without its newline.
    public var maxLine = 8 * 1024
    /// Open connections at most.
    public var maxConnections = 1024
    /// A connection that sends no line for this long is closed.
    public var idleTimeout: TimeAmount = .seconds(120)
    /// A line must be complete within this long of its first byte.
    public var lineTimeout: TimeAmount = .seconds(15)
    /// Lines read but not yet answered past which a connection stops reading until half are
    /// answered (backpressure; nothing is refused).
    public var maxInFlight = 256

    /// The defaults: 8 KiB lines, 1,024 connections, 120 s idle, 15 s per line.
    public init() {}
  }

  let fleet: ATMFleet
  let limits: Limits
  let logger: Logger
  let metrics: ServiceMetrics?
  let channel: any NIOCore.Channel
  let open = Atomic<Int>(0)
  let children = NIOLockedValueBox<[ObjectIdentifier: any NIOCore.Channel]>([:])

  /// The port actually bound.
  public var port: Int { channel.localAddress?.port ?? 0 }

  /// Binds the socket on `host:port` (0 picks a free port).
  public init(
    fleet: ATMFleet, host: String, port: Int, limits: Limits = Limits(), logger: Logger,
    metrics: ServiceMetrics? = nil
  ) async throws {
    self.fleet = fleet
    self.limits = limits
    self.logger = logger
    self.metrics = metrics
    let box = NIOLockedValueBox<EventSocketServer?>(nil)
    channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { child in
        guard let server = box.withLockedValue({ $0 }) else {
          return child.close()
        }
        return server.accept(child)
      }
      .bind(host: host, port: port).get()
    box.withLockedValue { $0 = self }
  }

  func accept(_ child: any NIOCore.Channel) -> EventLoopFuture<Void> {
    let count = open.wrappingAdd(1, ordering: .relaxed).newValue
    let id = ObjectIdentifier(child)
    child.closeFuture.whenComplete { [self] _ in
      open.wrappingSubtract(1, ordering: .relaxed)
      children.withLockedValue { _ = $0.removeValue(forKey: id) }
    }
    if count > limits.maxConnections {
      return child.pipeline.addHandler(
        RefuseHandler(
          line: EventLine.error(
            "too_many_connections",
            "the event socket has \(limits.maxConnections) connections open; try again later")))
    }
    children.withLockedValue { $0[id] = child }
    return child.pipeline.addHandlers([
      IdleStateHandler(readTimeout: limits.idleTimeout),
      EventLineHandler(server: self),
    ])
  }

  /// Serves until a graceful shutdown, then closes the socket and every connection.
  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await channel.closeFuture.get()
    } onGracefulShutdown: { [self] in
      shutdown()
    }
  }

  /// Stops accepting and closes every connection.
  public func shutdown() {
    channel.close(promise: nil)
    for child in children.withLockedValue({ Array($0.values) }) { child.close(promise: nil) }
  }

  /// One line's answer, computed off the event loop: the reply and, for a good `hello`, the
  /// terminal the connection now speaks for; `close` when the connection is to be closed.
  func answer(_ line: [UInt8], terminal: String?) async -> (
    reply: String, terminal: String?, close: Bool
  ) {
    guard
      let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
    else {
      return (
        EventLine.error("invalid_argument", "each line must be one JSON object"), terminal, false
      )
    }
    guard JSONKeys.topLevelCount(line) == object.count else {
      return (EventLine.error("invalid_argument", "a line names a field twice"), terminal, false)
    }
    if object["hello"] != nil {
      guard terminal == nil else {
        return (EventLine.error("invalid_argument", "hello was already accepted"), terminal, false)
      }
      guard Set(object.keys) == ["hello", "key"], let id = object["hello"] as? String,
        let key = object["key"] as? String
      else {
        return (
          EventLine.error("invalid_argument", "hello is {\"hello\":TERMINAL,\"key\":KEY}"), nil,
          true
        )
      }
      do throws(BankError) {
        try await fleet.perform { f throws(BankError) in try f.authenticateTerminal(id, key: key) }
        logger.info("terminal connected", metadata: ["terminal": "\(id)"])
        return (JSON.object([("ok", .bool(true)), ("terminal", .string(id))]).rendered, id, false)
      } catch {
        logger.notice(
          "terminal hello refused", metadata: ["terminal": "\(id.debugDescription.prefix(40))"])
        return (EventLine.error(error), nil, true)
      }
    }
    guard let terminal else {
      return (
        EventLine.error(
          "authentication_failed", "send {\"hello\":TERMINAL,\"key\":KEY} before any event"),
        nil, true
      )
    }
    let unknown = Set(object.keys).subtracting(["type", "detail", "terminal"])
    guard unknown.isEmpty else {
      return (
        EventLine.error(
          "invalid_argument",
          "unknown field \(unknown.sorted().map { "'\($0.prefix(40))'" }.joined(separator: ", ")); an event is {\"type\",\"detail\"}"
        ), terminal, false
      )
    }
    if let named = object["terminal"] {
      guard let named = named as? String, named == terminal else {
        return (
          EventLine.error(
            "permission_denied", "this connection speaks for terminal \(terminal) only"),
          terminal, false
        )
      }
    }
    guard let typeName = object["type"] as? String, let detail = object["detail"] as? String
    else {
      return (
        EventLine.error("invalid_argument", "an event is {\"type\",\"detail\"} with two strings"),
        terminal, false
      )
    }
    guard let type = ATMEventType(name: typeName) else {
      return (
        EventLine.error(
          "invalid_argument",
          "unknown event type '\(String(typeName.prefix(40)).debugSanitizedForLog)'; known: \(ATMEventType.allCases.map(\.description).joined(separator: ", "))"
        ), terminal, false
      )
    }
    do throws(BankError) {
      let sequence = try await fleet.perform { f throws(BankError) in
        // Stamped as sent through a terminal, so the journal says how the event came.
        try Origin.withOrigin(Origin(principal: .operator, channel: .terminal)) {
          () throws(BankError) -> UInt64 in
          try f.report(type, detail: detail, terminal: terminal)
        }
      }
      metrics?.event(type.description)
      logger.info(
        "terminal event",
        metadata: ["terminal": "\(terminal)", "type": "\(type)", "event": "\(sequence)"])
      return (
        JSON.object([("ok", .bool(true)), ("event", .int(Int64(sequence)))]).rendered, terminal,
        false
      )
    } catch {
      return (EventLine.error(error), terminal, false)
    }
  }
}

/// The error line of the event socket.
enum EventLine {
  static func error(_ code: String, _ message: String) -> String {
    JSON.object([
      ("ok", .bool(false)),
      ("error", .object([("code", .string(code)), ("message", .string(message))])),
    ]).rendered
  }

  static func error(_ e: BankError) -> String { error(e.code.rawValue, e.message) }
}

extension String {
  /// Printable ASCII only, for echoing a client's text in a message.
  var debugSanitizedForLog: String {
    String(
      unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" }
    )
  }
}

/// A connection past the limit: one error line, then closed.
final class RefuseHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer
  let line: String

  init(line: String) { self.line = line }

  func channelActive(context: ChannelHandlerContext) {
    var buffer = context.channel.allocator.buffer(capacity: line.utf8.count + 1)
    buffer.writeString(line + "\n")
    let channel = context.channel
    let written = context.eventLoop.makePromise(of: Void.self)
    context.writeAndFlush(wrapOutboundOut(buffer), promise: written)
    written.futureResult.whenComplete { _ in channel.close(promise: nil) }
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}

/// One connection: frames lines (at most `maxLine` bytes), answers them in order, enforces the
/// timeouts. Runs on its channel's event loop; the answers are computed off it.
final class EventLineHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  let server: EventSocketServer
  var pending: [UInt8] = []
  var discarding = false
  var terminal: String?
  var inFlight = 0
  var paused = false
  var closing = false
  var partialSince: NIODeadline?
  var tail: EventLoopFuture<Void>?

  init(server: EventSocketServer) { self.server = server }

  func handlerAdded(context: ChannelHandlerContext) {
    tail = context.eventLoop.makeSucceededVoidFuture()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard !closing else { return }
    let buffer = unwrapInboundIn(data)
    pending.append(contentsOf: buffer.readableBytesView)
    while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
      var line = Array(pending[..<newline])
      pending.removeSubrange(...newline)
      if discarding {
        discarding = false
        continue
      }
      if line.last == UInt8(ascii: "\r") { line.removeLast() }
      if line.count > server.limits.maxLine {
        enqueue(context, reply: EventLine.error("line_too_long", tooLong))
        continue
      }
      if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
      enqueue(context, line)
      if closing { return }
    }
    if pending.count > server.limits.maxLine {
      // Answered once; the rest of the line, up to its newline, is dropped.
      pending.removeAll(keepingCapacity: false)
      if !discarding {
        discarding = true
        enqueue(context, reply: EventLine.error("line_too_long", tooLong))
      }
    }
    if pending.isEmpty {
      partialSince = nil
    } else if partialSince == nil {
      let started = NIODeadline.now()
      partialSince = started
      let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
      context.eventLoop.scheduleTask(in: server.limits.lineTimeout) {
        let (handler, context) = bound.value
        guard handler.partialSince == started, !handler.closing else { return }
        handler.send(
          context, EventLine.error("timeout", "a line was not finished in time; closing"),
          close: true)
      }
    }
  }

  var tooLong: String {
    "a line may be at most \(server.limits.maxLine) bytes; it was dropped"
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let e = event as? IdleStateHandler.IdleStateEvent, e == .read {
      send(context, EventLine.error("timeout", "no line for too long; closing"), close: true)
    } else {
      context.fireUserInboundEventTriggered(event)
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }

  /// Answers `line` after every line before it, off the event loop. Past `maxInFlight` lines
  /// unanswered, the connection stops reading until half of them are answered (backpressure).
  func enqueue(_ context: ChannelHandlerContext, _ line: [UInt8]) {
    enqueue(context, line: line, reply: nil)
  }

  /// Sends `reply` in the place of a line that got no answer of its own (a line too long).
  func enqueue(_ context: ChannelHandlerContext, reply: String) {
    enqueue(context, line: nil, reply: reply)
  }

  private func enqueue(_ context: ChannelHandlerContext, line: [UInt8]?, reply: String?) {
    inFlight += 1
    if inFlight >= server.limits.maxInFlight && !paused {
      paused = true
      context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
    }
    let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    let server = self.server
    let loop = context.eventLoop
    tail = (tail ?? loop.makeSucceededVoidFuture()).flatMap {
      let (handler, _) = bound.value
      guard !handler.closing else { return loop.makeSucceededVoidFuture() }
      let terminal = handler.terminal
      let promise = loop.makePromise(of: (reply: String, terminal: String?, close: Bool).self)
      if let line {
        promise.completeWithTask { await server.answer(line, terminal: terminal) }
      } else {
        promise.succeed((reply ?? "", terminal, false))
      }
      return promise.futureResult.map { answer in
        let (handler, context) = bound.value
        handler.inFlight -= 1
        guard !handler.closing else { return }
        handler.terminal = answer.terminal
        handler.send(context, answer.reply, close: answer.close)
        if handler.paused && handler.inFlight <= server.limits.maxInFlight / 2 {
          handler.paused = false
          context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
          context.read()
        }
      }
    }
  }

  func send(_ context: ChannelHandlerContext, _ line: String, close: Bool) {
    guard !closing else { return }
    var buffer = context.channel.allocator.buffer(capacity: line.utf8.count + 1)
    buffer.writeString(line)
    buffer.writeString("\n")
    if close {
      closing = true
      let channel = context.channel
      let written = context.eventLoop.makePromise(of: Void.self)
      context.writeAndFlush(wrapOutboundOut(buffer), promise: written)
      written.futureResult.whenComplete { _ in channel.close(promise: nil) }
    } else {
      context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
  }
}
