import BankCore
import Foundation
import Hummingbird

/// A JSON value with ordered keys, as bankctl prints it.
indirect enum JSON: Sendable {
  case string(String)
  case int(Int64)
  case bool(Bool)
  case null
  case array([JSON])
  case object([(String, JSON)])

  var rendered: String {
    var out = ""
    render(into: &out)
    return out
  }

  func render(into out: inout String) {
    switch self {
    case .string(let s): Self.quote(s, into: &out)
    case .int(let i): out += String(i)
    case .bool(let b): out += b ? "true" : "false"
    case .null: out += "null"
    case .array(let items):
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += "," }
        item.render(into: &out)
      }
      out += "]"
    case .object(let pairs):
      out += "{"
      for (i, (k, v)) in pairs.enumerated() {
        if i > 0 { out += "," }
        Self.quote(k, into: &out)
        out += ":"
        v.render(into: &out)
      }
      out += "}"
    }
  }

  static func quote(_ s: String, into out: inout String) {
    out += "\""
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028
          || scalar.value == 0x2029
        {
          let hex = String(scalar.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    out += "\""
  }
}

/// Responses of JSON text: the library's `Encodable` values, or a `JSON` built by hand.
enum Reply {
  static let encoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return e
  }()

  static func json(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    return Response(
      status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
  }

  static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
    json(value.rendered, status: status)
  }

  static func encoding(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws
    -> Response
  {
    json(String(decoding: try encoder.encode(value), as: UTF8.self), status: status)
  }
}

/// One field of a request body, as JSON typed it.
enum FieldValue: Decodable, Sendable {
  case string(String)
  case int(Int)
  case bool(Bool)
  case null
  case other

  init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() {
      self = .null
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? c.decode(Int.self) {
      self = .int(i)
    } else if let s = try? c.decode(String.self) {
      self = .string(s)
    } else {
      self = .other
    }
  }
}

/// A request body: a JSON object of known fields only, at most 64 KiB.
struct Body: Sendable {
  static let limit = 64 * 1024
  let fields: [String: FieldValue]

  static func read(
    _ request: inout Request, allowed: Set<String>, required: Set<String> = []
  ) async throws -> Body {
    let buffer: ByteBuffer
    do {
      buffer = try await request.collectBody(upTo: limit)
    } catch {
      throw ServiceError(
        .contentTooLarge, "body_too_large", "the body is over \(limit / 1024) KiB")
    }
    let data = Data(buffer.readableBytesView)
    guard !data.isEmpty else {
      if required.isEmpty { return Body(fields: [:]) }
      throw ServiceError.badRequest(
        "expected a JSON object with \(required.sorted().joined(separator: ", "))")
    }
    guard let object = try? JSONDecoder().decode([String: FieldValue].self, from: data) else {
      throw ServiceError.badRequest("the body is not a JSON object")
    }
    guard JSONKeys.topLevelCount(data) == object.count else {
      throw ServiceError.badRequest("the body names a field twice")
    }
    if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
      throw ServiceError.badRequest(
        "unknown field '\(shown(unknown))'; expected \(allowed.sorted().joined(separator: ", "))")
    }
    for name in required.sorted() {
      if case .null = object[name] ?? .null {
        throw ServiceError.badRequest("missing field '\(name)'")
      }
    }
    return Body(fields: object)
  }

  static func shown(_ s: String) -> String {
    String(
      String.UnicodeScalarView(
        s.unicodeScalars.prefix(40).map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
  }

  func string(_ name: String) throws -> String? {
    switch fields[name] ?? .null {
    case .null: return nil
    case .string(let s): return s
    default: throw ServiceError.badRequest("field '\(name)' must be a string")
    }
  }

  func requiredString(_ name: String) throws -> String {
    guard let s = try string(name) else { throw ServiceError.badRequest("missing field '\(name)'") }
    return s
  }

  func int(_ name: String) throws -> Int? {
    switch fields[name] ?? .null {
    case .null: return nil
    case .int(let i): return i
    default: throw ServiceError.badRequest("field '\(name)' must be a whole number")
    }
  }

  func bool(_ name: String) throws -> Bool? {
    switch fields[name] ?? .null {
    case .null: return nil
    case .bool(let b): return b
    default: throw ServiceError.badRequest("field '\(name)' must be true or false")
    }
  }
}

/// How many keys a JSON object's text names at its top level, duplicates included (a decoder
/// keeps one of each, silently): a body or a line that names a field twice is refused.
enum JSONKeys {
  static func topLevelCount(_ bytes: some Collection<UInt8>) -> Int {
    var depth = 0
    var inString = false
    var escaped = false
    var stringAtDepthOne = false
    var awaitingColon = false
    var count = 0
    for b in bytes {
      if inString {
        if escaped {
          escaped = false
        } else if b == UInt8(ascii: "\\") {
          escaped = true
        } else if b == UInt8(ascii: "\"") {
          inString = false
          awaitingColon = stringAtDepthOne
        }
        continue
      }
      switch b {
      case UInt8(ascii: "\""):
        inString = true
        stringAtDepthOne = depth == 1
      case UInt8(ascii: ":"):
        if awaitingColon { count += 1 }
        awaitingColon = false
      case UInt8(ascii: "{"), UInt8(ascii: "["):
        depth += 1
        awaitingColon = false
      case UInt8(ascii: "}"), UInt8(ascii: "]"):
        depth -= 1
        awaitingColon = false
      case 0x20, 0x09, 0x0A, 0x0D:
        break
      default:
        awaitingColon = false
      }
    }
    return count
  }
}
