import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// Around every request: a request ID (`X-Request-ID`, echoed when the client sent a sane one),
/// one structured log line with the route, status and duration (never a header value or a
/// body, so never a secret), the metrics, and the security headers of every response.
public struct ObservabilityMiddleware: RouterMiddleware {
  public typealias Context = BankRequestContext
  let metrics: ServiceMetrics
  static let counter = Atomic<UInt64>(0)

  /// The middleware, reporting to `metrics`.
  public init(metrics: ServiceMetrics) { self.metrics = metrics }

  /// Runs the request through the rest of the chain, timing, logging and marking its response.
  public func handle(
    _ request: Request, context: Context, next: (Request, Context) async throws -> Response
  ) async throws -> Response {
    let start = ContinuousClock.now
    let sent = request.headers[Self.requestID]
    let id: String
    if let sent, (1...64).contains(sent.utf8.count),
      sent.utf8.allSatisfy(Self.isIDByte)
    {
      id = sent
    } else {
      let n = Self.counter.wrappingAdd(1, ordering: .relaxed).newValue
      id = String(UInt64(getpid()), radix: 36) + "-" + String(n, radix: 36)
    }
    var context = context
    context.logger[metadataKey: "request_id"] = .string(id)
    var response: Response
    do {
      response = try await next(request, context)
    } catch let error as HTTPResponseError {
      // The router's own refusals (no such route) in DESIGN.md's error body too.
      let status = error.status
      let code =
        status == .notFound ? "not_found" : status.code < 500 ? "invalid_argument" : "internal"
      let message =
        status == .notFound
        ? "no route \(request.method.rawValue) \(String(request.uri.path.prefix(100))); see GET /openapi.yaml"
        : status.reasonPhrase
      if status == .notFound, let allowed = DocumentedRoutes.methods(forPath: request.uri.path) {
        // A documented path asked with another method: 405 naming the ones it answers
        // (OPTIONS asks exactly that, and gets it with 204).
        let allow = allowed.joined(separator: ", ")
        if request.method == .options {
          response = Response(status: .noContent)
        } else {
          response = ServiceError(
            .methodNotAllowed, "method_not_allowed",
            "\(String(request.uri.path.prefix(100))) answers \(allow), not \(request.method.rawValue)"
          ).response()
        }
        response.headers[.allow] = allow
      } else {
        response = ServiceError(status, code, message).response()
      }
    }
    let route = context.endpointPath ?? "unmatched"
    let elapsed = ContinuousClock.now - start
    metrics.request(
      route: route, method: request.method.rawValue, status: response.status.code,
      duration: elapsed)
    context.logger.info(
      "request",
      metadata: [
        "method": .string(request.method.rawValue), "route": .string(route),
        "status": .stringConvertible(response.status.code),
        "ms": .string(
          String(
            elapsed.components.seconds * 1000 + elapsed.components.attoseconds
              / 1_000_000_000_000_000)),
      ])
    response.headers[Self.requestID] = id
    Self.secure(&response.headers)
    return response
  }

  static let requestID = header("X-Request-ID")

  static let securityHeaders: [(HTTPField.Name, String)] = [
    (
      header("Content-Security-Policy"),
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    (header("X-Content-Type-Options"), "nosniff"),
    (header("X-Frame-Options"), "DENY"),
    (header("Referrer-Policy"), "no-referrer"),
    (header("Cross-Origin-Opener-Policy"), "same-origin"),
    (header("Permissions-Policy"), "camera=(), microphone=(), geolocation=()"),
  ]

  /// A header name written here (always valid).
  static func header(_ name: String) -> HTTPField.Name {
    guard let n = HTTPField.Name(name) else { preconditionFailure("bad header name \(name)") }
    return n
  }

  static func isIDByte(_ b: UInt8) -> Bool {
    let c = Character(Unicode.Scalar(b))
    return b == 0x2D || b == 0x5F || (c.isASCII && (c.isLetter || c.isNumber))
  }

  /// The security headers: a strict Content-Security-Policy (everything from this origin only,
  /// no inline script), no sniffing, no framing, no referrer, no caching of private data.
  static func secure(_ headers: inout HTTPFields) {
    for (name, value) in securityHeaders { headers[name] = value }
    if headers[.cacheControl] == nil { headers[.cacheControl] = "no-store" }
  }
}
