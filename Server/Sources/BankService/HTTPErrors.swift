import BankCore
import Foundation
import Hummingbird

/// A refusal over HTTP: a status and DESIGN.md's body `{"error":{"code","message"}}`.
public struct ServiceError: Error, Sendable {
  /// The HTTP status.
  public let status: HTTPResponse.Status
  /// The stable snake_case code.
  public let code: String
  /// What went wrong, in words; never a secret.
  public let message: String
  /// Seconds a client should wait (429).
  public var retryAfter: Int? = nil

  /// A refusal with this status, code and message.
  public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
    self.status = status
    self.code = code
    self.message = message
  }

  /// The HTTP form of a library error, as DESIGN.md 6 maps them: 400 bad input, 401 no or bad
  /// session, 403 permission, 404 unknown account (staff), 409 idempotency conflict, 422 refused by
  /// a banking rule, 503 store unavailable.
  public init(_ e: BankError) {
    let status: HTTPResponse.Status
    switch e.code {
    case .authenticationFailed: status = .unauthorized
    case .permissionDenied: status = .forbidden
    case .accountNotFound, .customerNotFound, .loanNotFound, .terminalNotFound, .transferNotFound,
      .cardNotFound, .staffNotFound, .holdNotFound:
      status = .notFound
    case .idempotencyConflict: status = .conflict
    default:
      switch e.category {
      case .refused: status = .unprocessableContent
      case .invalidInput: status = .badRequest
      case .corrupt, .io, .locked: status = .serviceUnavailable
      }
    }
    self.init(status, e.code.rawValue, e.message)
  }

  static func badRequest(_ message: String) -> ServiceError {
    ServiceError(.badRequest, "invalid_argument", message)
  }

  static let unauthorized = ServiceError(
    .unauthorized, "authentication_failed",
    "missing, unknown, expired or logged-out session: send Authorization: Bearer TOKEN from POST /v1/sessions"
  )

  /// The response: the status, the JSON body, and `Retry-After` for a 429.
  func response() -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    if let retryAfter { headers[.retryAfter] = String(retryAfter) }
    let body = JSON.object([
      ("error", .object([("code", .string(code)), ("message", .string(message))]))
    ])
    return Response(
      status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.rendered)))
  }
}
