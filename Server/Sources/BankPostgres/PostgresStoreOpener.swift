import BankCLI
import BankCore
import Foundation

/// How `bankctl-pg` reaches its store: a PostgreSQL journal, and the PIN key in a file of its
/// own (`--pin-key PATH`), never in the database.
public struct PostgresStoreOpener: StoreOpener {
  /// Where the journal is.
  public let location: PostgresLocation
  /// The PIN key file, when one was named.
  public let pinKeyPath: String?

  /// An opener for the journal at `location`.
  public init(location: PostgresLocation, pinKeyPath: String?) {
    self.location = location
    self.pinKeyPath = pinKeyPath
  }

  public var displayName: String { location.display }

  public func storeExists() -> Bool {
    guard
      let s = try? PostgresStorage(
        location: location,
        options: .init(createIfMissing: false, readOnly: true, reconnectFor: .seconds(1)))
    else { return false }
    s.close()
    return true
  }

  public func open(_ access: StoreAccess, lockTimeout: Duration) throws(BankError) -> OpenedStore {
    do throws(StorageError) {
      let storage = try PostgresStorage(
        location: location,
        options: .init(
          createIfMissing: access == .create, readOnly: access == .read,
          reconnectFor: min(lockTimeout, .seconds(30))))
      var opened = OpenedStore(storage: storage)
      if let problem = storage.snapshotProblem() { opened.warnings.append(problem) }
      return opened
    } catch .notFound {
      throw BankError(.storeNotFound, "no BankCore journal in \(location.display)")
    } catch {
      throw BankError(error)
    }
  }

  public func conditions() -> [String] { [] }

  public var pinKeyLocation: String { pinKeyPath ?? "(no --pin-key given)" }

  public func pinKeyExists() -> Bool {
    pinKeyPath.map { FileManager.default.fileExists(atPath: $0) } ?? false
  }

  public func pinKey(create: Bool) throws(BankError) -> [UInt8] {
    guard let pinKeyPath else {
      throw BankError(
        .invalidArgument,
        "card PINs on a PostgreSQL journal need the PIN key file: --pin-key PATH (the same 32-byte file on every node)"
      )
    }
    return try Authenticator.pepperKey(atPath: pinKeyPath, create: create)
  }
}

/// Copies between a journal file and a PostgreSQL journal, batch by batch, keeping the genesis,
/// so the copy verifies to the same head hash; each copy is verified before it is reported.
public enum JournalCopy {
  /// What a copy did.
  public struct Report: Sendable {
    /// Records and batches copied.
    public var records: UInt64
    public var batches: UInt64
    /// The head hash both sides verify to.
    public var headHash: String
  }

  /// Copies the file store at `path` into `location`, whose database must hold no journal.
  public static func importFile(
    _ path: String, into location: PostgresLocation, progress: (UInt64) -> Void = { _ in }
  ) throws(BankError) -> Report {
    guard FileManager.default.fileExists(atPath: path) else {
      throw BankError(.storeNotFound, "no journal file at \(path)")
    }
    do {
      let file = try FileStorage(
        path: path, options: .init(createIfMissing: false, readOnly: true))
      defer { file.close() }
      let source = try file.verify()
      if (try? PostgresStorage(
        location: location, options: .init(createIfMissing: false, readOnly: true)))
        .map({ s in
          defer { s.close() }
          return s.lastSequence > 0
        }) == true
      {
        throw BankError(
          .invalidArgument,
          "\(location.display) already holds a journal; import copies into an empty database only")
      }
      let pg = try PostgresStorage(location: location, options: .init(genesis: file.genesis))
      defer { pg.close() }
      guard pg.storeIdentity == file.storeIdentity, pg.lastSequence == 0 else {
        throw BankError(
          .invalidArgument,
          "\(location.display) already holds another store; import copies into an empty database only"
        )
      }
      var copied: UInt64 = 0
      try file.forEachBatch { records throws(StorageError) in
        var batch = RecordBatch()
        for r in records { batch.append(r) }
        guard let last = try pg.append(batch, ifLastIs: copied) else {
          throw StorageError.invalidArgument(
            "another writer wrote to the database during the import")
        }
        copied = last
        progress(copied)
      }
      // Appends commit asynchronously: the copy is reported once a flush covers it.
      if copied > 0 { try pg.waitUntilDurable(copied) }
      let copy = try pg.verify()
      try check(source, copy, from: path, to: location.display)
      return Report(records: copy.records, batches: copy.batches, headHash: copy.headHash)
    } catch {
      throw bankError(error)
    }
  }

  /// Copies the journal at `location` into a new file store at `path`.
  public static func exportFile(
    from location: PostgresLocation, to path: String, progress: (UInt64) -> Void = { _ in }
  ) throws(BankError) -> Report {
    guard !FileManager.default.fileExists(atPath: path) else {
      throw BankError(
        .invalidArgument, "\(path) exists; export writes a new journal file and never replaces one")
    }
    do {
      let pg = try PostgresStorage(
        location: location, options: .init(createIfMissing: false, readOnly: true))
      defer { pg.close() }
      let source = try pg.verify()
      // What was verified is what is copied, once a flush has made it durable.
      if source.records > 0 { try pg.waitUntilDurable(source.records) }
      var options = FileStorage.Options(createIfMissing: true)
      options.genesis = pg.genesis
      let file = try FileStorage(path: path, options: options)
      var copied: UInt64 = 0
      do {
        try pg.forEachBatch(through: source.records) { records throws(StorageError) in
          var batch = RecordBatch()
          for r in records { batch.append(r) }
          copied = try file.append(batch)
          if copied % 4096 < UInt64(records.count) { try file.waitUntilDurable(copied) }
          progress(copied)
        }
        if copied > 0 { try file.waitUntilDurable(copied) }
        let copy = try file.verify()
        file.close()
        try check(source, copy, from: location.display, to: path)
        return Report(records: copy.records, batches: copy.batches, headHash: copy.headHash)
      } catch {
        file.close()
        // A copy that did not finish is not left looking like a store.
        for suffix in ["", ".snapshot", ".offsets", ".keys"] {
          try? FileManager.default.removeItem(atPath: path + suffix)
        }
        throw error
      }
    } catch {
      throw bankError(error)
    }
  }

  static func bankError(_ error: any Error) -> BankError {
    if let e = error as? BankError { return e }
    if let e = error as? StorageError { return BankError(e) }
    return BankError(.ioError, "\(error)")
  }

  static func check(_ a: VerifyReport, _ b: VerifyReport, from: String, to: String)
    throws(BankError)
  {
    guard a.records == b.records, a.batches == b.batches, a.headHash == b.headHash else {
      throw BankError(
        .storeCorrupt,
        "the copy in \(to) does not verify like \(from): \(b.records) records, head \(b.headHash), against \(a.records) records, head \(a.headHash)"
      )
    }
  }
}
