import Hummingbird
import NIOCore

/// A request's context with the client's address (for rate limits).
public struct BankRequestContext: RequestContext {
  /// Hummingbird's own part of the context.
  public var coreContext: CoreRequestContextStorage
  /// The client's IP address, or "unknown".
  public let clientAddress: String

  /// The context of a request from `source`'s channel.
  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
  }
}
