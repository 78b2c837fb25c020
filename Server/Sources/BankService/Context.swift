import Hummingbird
import NIOCore

/// A request's context with the client's address (for rate limits).
public struct BankRequestContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  /// The client's IP address, or "unknown".
  public let clientAddress: String

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
  }
}
