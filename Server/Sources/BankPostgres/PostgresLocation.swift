import BankCore
import Foundation

/// Where a PostgreSQL journal lives: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, with
/// `?host=/run/postgresql` for a Unix socket directory. The password is percent-decoded and
/// never shown: ``display`` leaves it out.
public struct PostgresLocation: Sendable, Equatable {
  /// The server's host name or address (ignored when ``socketDirectory`` is set).
  public var host: String
  /// The server's port. Default 5432.
  public var port: Int
  /// The role to log in as.
  public var username: String
  /// The role's password, when the server asks for one.
  public var password: String?
  /// The database; the role's name when `nil`.
  public var database: String?
  /// A directory holding the server's Unix socket (`.s.PGSQL.PORT`), instead of TCP.
  public var socketDirectory: String?

  /// Parses a `postgres://` or `postgresql://` URL.
  ///
  /// - Throws: ``StorageError/invalidArgument(_:)`` naming what is wrong (never the password).
  public init(url: String) throws(StorageError) {
    guard let c = URLComponents(string: url), let scheme = c.scheme,
      scheme == "postgres" || scheme == "postgresql"
    else {
      throw .invalidArgument(
        "the PostgreSQL URL must look like postgres://USER:PASSWORD@HOST:PORT/DATABASE")
    }
    guard let user = c.percentEncodedUser.flatMap({ $0.removingPercentEncoding }), !user.isEmpty
    else { throw .invalidArgument("the PostgreSQL URL names no user (postgres://USER@HOST/DB)") }
    username = user
    password = c.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
    host = c.host.flatMap { $0.removingPercentEncoding } ?? ""
    port = c.port ?? 5432
    guard (1...65535).contains(port) else {
      throw .invalidArgument("the PostgreSQL URL's port must be 1 to 65535")
    }
    let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
    database = path.isEmpty ? nil : path
    for item in c.queryItems ?? [] {
      switch item.name {
      case "host":
        guard let v = item.value, v.hasPrefix("/") else {
          throw .invalidArgument("?host= must be the directory of the server's Unix socket")
        }
        socketDirectory = v
      case "sslmode" where item.value == "disable":
        break
      default:
        throw .invalidArgument(
          "unknown PostgreSQL URL parameter '\(item.name)' (host= and sslmode=disable are known)")
      }
    }
    if socketDirectory == nil && host.isEmpty {
      throw .invalidArgument("the PostgreSQL URL names no host")
    }
  }

  /// The location as messages show it: the URL without the password.
  public var display: String {
    let db = database.map { "/" + $0 } ?? ""
    if let socketDirectory {
      return "postgres://\(username)@\(host)\(db)?host=\(socketDirectory) (port \(port))"
    }
    return "postgres://\(username)@\(host):\(port)\(db)"
  }
}
