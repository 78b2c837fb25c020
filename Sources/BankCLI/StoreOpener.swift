import BankCore
import Foundation

/// How a command needs its store.
public enum StoreAccess: Sendable, Equatable {
  /// Read without a lock and never write: the durable prefix as of the open.
  case read
  /// Write an existing store (refused with `store_not_found` when there is none).
  case write
  /// Write, creating the store when it does not exist (`open`, `demo`, registrations).
  case create
}

/// A store an opener has opened for one command.
public struct OpenedStore: Sendable {
  /// The backend the bank runs on.
  public var storage: any Storage
  /// Findings about the open that every command reports on stderr, `verify` included: what
  /// recovery cut or ignored. Recovery never discards silently.
  public var notices: [String]
  /// Findings that are not damage and that `verify` lists among its own warnings (a close block
  /// that could not be used): other commands print them on stderr.
  public var warnings: [String]

  /// A store opened with nothing to report, unless `notices` or `warnings` say otherwise.
  public init(storage: any Storage, notices: [String] = [], warnings: [String] = []) {
    self.storage = storage
    self.notices = notices
    self.warnings = warnings
  }
}

/// How `bankctl`'s commands reach a store: the only place that knows what the store is.
///
/// `bankctl` uses ``FileStoreOpener`` (a journal file and its `.key` file beside it); another
/// backend (`bankctl-pg`) runs the same commands with its own opener. The PIN key is the
/// opener's duty: it lives beside the store or where the operator says, never in the journal or
/// a database.
public protocol StoreOpener: Sendable {
  /// The store as messages name it (a path for a file store).
  var displayName: String { get }
  /// Whether the store exists (no session can exist in a store that does not).
  func storeExists() -> Bool
  /// Opens the store for one command.
  func open(_ access: StoreAccess, lockTimeout: Duration) throws(BankError) -> OpenedStore
  /// Conditions of the store's surroundings that are not damage but need the operator (a store
  /// file others may read): every command warns, `verify` lists them.
  func conditions() -> [String]
  /// Where the PIN key lives (a file's path for the file store), as messages and
  /// `pin-key reset`'s `key_file` name it.
  var pinKeyLocation: String { get }
  /// Whether the PIN key exists.
  func pinKeyExists() -> Bool
  /// The PIN key (the pepper of every PIN hash); with `create`, a new random one is made (and
  /// kept) when none exists.
  func pinKey(create: Bool) throws(BankError) -> [UInt8]
}

/// The opener of `bankctl`: an append-only journal file, and its PIN key in `PATH.key` (mode
/// 0600).
public struct FileStoreOpener: StoreOpener {
  /// The journal file.
  public let path: String

  /// The store at `path`.
  public init(path: String) { self.path = path }

  public var displayName: String { path }

  public func storeExists() -> Bool { FileManager.default.fileExists(atPath: path) }

  public func open(_ access: StoreAccess, lockTimeout: Duration) throws(BankError) -> OpenedStore {
    let storage: FileStorage
    do throws(StorageError) {
      storage = try FileStorage(
        path: path,
        options: FileStorage.Options(
          lockTimeout: lockTimeout, createIfMissing: access == .create, readOnly: access == .read))
    } catch {
      throw BankError(error)
    }
    var opened = OpenedStore(storage: storage)
    if let problem = storage.openInfo.closeBlockProblem {
      opened.warnings.append("the close block could not be used: \(problem)")
    }
    if let tail = storage.openInfo.tornTail {
      opened.notices.append(
        "\(access == .read ? "ignored" : "cut") a torn tail of the journal: \(tail)")
    }
    return opened
  }

  /// A store file others may read or write: used as it is (the operator may have a reason), but
  /// the journal holds customers' details in clear. A key file readable by others stays refused
  /// (Docs/Security.md).
  public func conditions() -> [String] {
    var st = stat()
    guard stat(path, &st) == 0, st.st_mode & 0o077 != 0 else { return [] }
    let mode = String(st.st_mode & 0o777, radix: 8)
    let read = st.st_mode & 0o044 != 0
    let write = st.st_mode & 0o022 != 0
    let who =
      read && write
      ? "others may read and change it" : write ? "others may change it" : "others may read it"
    return [
      "the store \(Validate.escaped(path, limit: nil)) has mode 0\(mode): \(who); run chmod 600 on it"
    ]
  }

  public var pinKeyLocation: String { path + ".key" }

  public func pinKeyExists() -> Bool { FileManager.default.fileExists(atPath: path + ".key") }

  public func pinKey(create: Bool) throws(BankError) -> [UInt8] {
    try Authenticator.pepperKey(forStore: path, create: create)
  }
}
