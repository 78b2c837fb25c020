extension Bank {
  /// Opens the file store at `path` (creating it, mode 0600, unless `options` say otherwise),
  /// loads its snapshot and replays the records after it: the one-line open, with one error
  /// type.
  ///
  /// ```swift
  /// let bank = try Bank(path: "bank.journal")
  /// ```
  ///
  /// Blocks while the store is opened (a sync, a replay); call it before serving requests, or
  /// from a task that may block.
  ///
  /// - Throws: `store_not_found`, `store_locked`, `store_corrupt`, `io_error`, as the store says.
  ///
  /// - Note: Blocks while it opens the store: it reads the newest snapshot and replays the journal
  ///   after it.
  public convenience init(
    path: String, options: FileStorage.Options = .init(),
    configuration: BankConfiguration = .init()
  ) throws(BankError) {
    let storage = try FileStorage.open(path, options: options)
    do throws(BankError) {
      try self.init(storage: storage, configuration: configuration)
    } catch {
      storage.close()
      throw error
    }
  }

  /// A bank in memory: nothing outlives the process. For tests, simulators and previews.
  ///
  /// - Note: Does no I/O: the store is in memory.
  public static func inMemory(configuration: BankConfiguration = .init()) throws(BankError) -> Bank
  {
    try Bank(storage: InMemoryStorage(), configuration: configuration)
  }
}

extension Ledger {
  /// Opens the file store at `path` as a ledger; see ``Bank/init(path:options:configuration:)``.
  ///
  /// ```swift
  /// let ledger = try Ledger(path: "bank.journal")
  /// ```
  ///
  /// - Note: Blocks while it opens the store: it reads the newest snapshot and replays the journal
  ///   after it.
  public convenience init(
    path: String, options: FileStorage.Options = .init(),
    configuration: LedgerConfiguration = .init()
  ) throws(BankError) {
    self.init(try Bank(path: path, options: options, configuration: configuration))
  }

  /// A ledger in memory: nothing outlives the process.
  ///
  /// - Note: Does no I/O: the store is in memory.
  public static func inMemory(configuration: LedgerConfiguration = .init()) throws(BankError)
    -> Ledger
  {
    Ledger(try Bank.inMemory(configuration: configuration))
  }
}

extension FileStorage {
  /// ``init(path:options:)`` with its error as a ``BankError``.
  static func open(_ path: String, options: Options) throws(BankError) -> FileStorage {
    do throws(StorageError) { return try FileStorage(path: path, options: options) } catch {
      throw BankError(error)
    }
  }
}
