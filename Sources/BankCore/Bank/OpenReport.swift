/// What opening a ledger found: whether a snapshot was used, how much was replayed and why a
/// snapshot was ignored.
public struct OpenReport: Sendable, Equatable {
  /// The sequence number the snapshot covered, when one was used.
  public var snapshotSequence: UInt64?
  /// Records replayed after the snapshot (or from the start).
  public var replayedRecords: UInt64
  /// Why a snapshot was present but not used, if that happened.
  public var snapshotProblem: String?
  /// A torn final write the file backend found: cut when opened for writing, ignored when opened
  /// read-only. Never acknowledged; reported so that nothing is discarded silently.
  public var tornTail: FileStorage.TornTail?
}
