import Synchronization

/// Through what a command reached the bank.
public enum Channel: UInt8, Sendable, CaseIterable, CustomStringConvertible {
  /// The command line (`bankctl`), or a program linking the library directly.
  case cli = 1
  /// The service (`bankd`): its REST API and web UI.
  case service = 2
  /// A terminal (an ATM) in a cardholder's session.
  case terminal = 3

  /// `cli`, `service` or `terminal`.
  public var description: String {
    switch self {
    case .cli: "cli"
    case .service: "service"
    case .terminal: "terminal"
    }
  }
}

/// Who did something, and through what: stamped on every record a commit writes, so that an
/// auditor can answer "who did this, and how" from the journal alone.
///
/// A commit takes its origin from ``withOrigin(_:_:)``'s scope (the Authenticator sets the acting
/// principal of each call it is given; `bankd` sets the `service` channel around each request),
/// else the operator on the bank's ``BankConfiguration/channel``. Records written by releases
/// before origins existed, and records of the operator on the command line, carry none and read
/// as ``operatorOnCLI``.
public struct Origin: Sendable, Hashable, CustomStringConvertible {
  /// The acting principal.
  public var principal: Principal
  /// Through what it acted.
  public var channel: Channel

  /// An origin.
  public init(principal: Principal, channel: Channel) {
    self.principal = principal
    self.channel = channel
  }

  /// The operator on the command line: what a record without an origin stamp reads as.
  public static let operatorOnCLI = Origin(principal: .operator, channel: .cli)

  /// `customer C000001 via service`.
  public var description: String { "\(principal) via \(channel)" }

  /// The principal as history and exports name it: a customer ID, `staff.` and a username, or
  /// `operator` (the scope of its idempotency keys).
  public var by: String { principal.keyScope }

  /// The origin of the commits made in the current scope, if one is set.
  @TaskLocal static var current: Origin?

  /// How many ``withOrigin(_:_:)`` scopes are open in the process; while none is, a commit
  /// does not read the task-local value.
  static let scopesOpen = Atomic<Int>(0)

  /// Runs `body` with every record committed in it (on this task or thread) stamped with
  /// `origin`.
  public static func withOrigin<R, E: Error>(
    _ origin: Origin, _ body: () throws(E) -> R
  ) throws(E) -> R {
    scopesOpen.add(1, ordering: .relaxed)
    defer { scopesOpen.subtract(1, ordering: .relaxed) }
    let result: Result<R, E> = $current.withValue(origin) {
      do throws(E) { return .success(try body()) } catch { return .failure(error) }
    }
    return try result.get()
  }

  /// Runs `body` with its commits stamped with `principal`, on the channel of the enclosing
  /// scope (`channel` when there is none).
  static func acting<R, E: Error>(
    as principal: Principal, channel: Channel, _ body: () throws(E) -> R
  ) throws(E) -> R {
    try withOrigin(
      Origin(principal: principal, channel: current?.channel ?? channel), body)
  }
}

/// The origin stamp on a stored record.
///
/// A stamped record has the high bit of its version byte (its second byte) set and ends with
/// the stamp: the channel, the principal's kind (1 operator, 2 customer, 3 staff; 4 is kept for
/// terminals), the principal's identity (a customer's number as a varint; a staff member's
/// role and username), then the stamp's length in one byte. Cores never see it: every decode
/// entry point takes the record's body through ``withBody(_:_:)``. Unstamped records (every
/// record of earlier releases, and the operator on the command line) read as
/// ``Origin/operatorOnCLI``, and cost nothing.
enum RecordEnvelope {
  static let stampedFlag: UInt8 = 0x80

  /// The stamp for `origin`, or `nil` for the unstamped default.
  static func stamp(for origin: Origin) -> [UInt8]? {
    guard origin != .operatorOnCLI else { return nil }
    var w = ByteWriter()
    w.u8(origin.channel.rawValue)
    switch origin.principal {
    case .operator: w.u8(1)
    case .customer(let id):
      w.u8(2)
      w.varint(UInt64(id.rawValue))
    case .staff(let username, let role):
      w.u8(3)
      w.u8(role.rawValue)
      // At most 200 bytes, cut between characters (validated usernames are 32 ASCII ones).
      var name: [UInt8] = []
      for scalar in username.unicodeScalars {
        let bytes = Array(String(scalar).utf8)
        if name.count + bytes.count > 200 { break }
        name += bytes
      }
      w.bytes.append(contentsOf: name)
    }
    w.u8(UInt8(w.bytes.count))
    return w.bytes
  }

  /// Stamps the record that starts at `start` in `bytes` (and runs to its end).
  static func apply(_ stamp: [UInt8], to bytes: inout [UInt8], recordAt start: Int) {
    bytes[start + 1] |= stampedFlag
    bytes.append(contentsOf: stamp)
  }

  /// Whether a record carries a stamp.
  @inline(__always)
  static func isStamped(_ record: UnsafeRawBufferPointer) -> Bool {
    record.count >= 2 && record[1] & stampedFlag != 0
  }

  /// Calls `body` with the record as its core wrote it: unchanged when unstamped; else without
  /// the stamp and with the version byte's flag cleared (a copy).
  @inline(__always)
  static func withBody<R, E: Error>(
    _ record: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(E) -> R
  ) throws(E) -> R {
    guard isStamped(record) else { return try body(record) }
    let length = Int(record[record.count - 1])
    let end = record.count - 1 - length
    guard end >= 2 else {
      // A damaged stamp: the core sees its tag and version alone (flag cleared), which it
      // refuses as truncated.
      let stub = [record[0], record[1] & ~stampedFlag]
      let result: Result<R, E> = stub.withUnsafeBytes { b in
        do throws(E) { return .success(try body(b)) } catch { return .failure(error) }
      }
      return try result.get()
    }
    var copy = Array(record[0..<end])
    copy[1] &= ~stampedFlag
    let result: Result<R, E> = copy.withUnsafeBytes { b in
      do throws(E) { return .success(try body(b)) } catch { return .failure(error) }
    }
    return try result.get()
  }

  /// The origin of the stored record `bytes` at `sequence`, or `store_corrupt`.
  static func origin(ofStored bytes: [UInt8], sequence: UInt64) throws(BankError) -> Origin {
    let result: Result<Origin, DecodeError> = bytes.withUnsafeBytes { b in
      do throws(DecodeError) { return .success(try origin(of: b)) } catch {
        return .failure(error)
      }
    }
    do throws(DecodeError) { return try result.get() } catch {
      throw BankError(.storeCorrupt, "record \(sequence) does not decode: \(error.reason)")
    }
  }

  /// The origin a stored record names; ``Origin/operatorOnCLI`` when it carries none.
  ///
  /// - Throws: ``DecodeError`` when the stamp does not decode.
  static func origin(of record: UnsafeRawBufferPointer) throws(DecodeError) -> Origin {
    guard isStamped(record) else { return .operatorOnCLI }
    let length = Int(record[record.count - 1])
    guard length >= 2, record.count - 1 - length >= 2 else {
      throw DecodeError("origin stamp of \(length) bytes does not fit its record")
    }
    let start = record.count - 1 - length
    var r = ByteReader(UnsafeRawBufferPointer(rebasing: record[start..<(record.count - 1)]))
    guard let channel = Channel(rawValue: try r.u8()) else {
      throw DecodeError("unknown channel in an origin stamp")
    }
    let principal: Principal
    switch try r.u8() {
    case 1: principal = .operator
    case 2:
      let n = try r.varint()
      guard n <= UInt64(UInt32.max) else { throw DecodeError("customer number out of range") }
      principal = .customer(CustomerID(UInt32(n)))
    case 3:
      guard let role = Role(rawValue: try r.u8()) else {
        throw DecodeError("unknown role in an origin stamp")
      }
      let name = try r.bytes(r.remaining)
      guard let username = String(validating: name, as: UTF8.self) else {
        throw DecodeError("staff username in an origin stamp is not UTF-8")
      }
      principal = .staff(username: username, role: role)
    case let k: throw DecodeError("unknown principal kind \(k) in an origin stamp")
    }
    guard r.isAtEnd else { throw DecodeError("trailing bytes in an origin stamp") }
    return Origin(principal: principal, channel: channel)
  }
}
