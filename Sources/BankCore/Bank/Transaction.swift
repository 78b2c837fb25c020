/// One transaction on the bank: commands are validated against every core, their records staged
/// into one batch and applied as they are staged. It is appended as one atomic batch or not at
/// all; if validation or the append fails, every core it touched is rolled back.
struct Transaction {
  /// The ledger's undo log (the ledger's hot path keeps its own).
  var ledgerStage: Stage?
  /// The other cores as they were before this transaction first changed them.
  var saved: [(slot: Int, core: any StateCore)] = []
  /// The records to append.
  var batch: RecordBatch
  /// The transaction's time: the clock's reading, never earlier than any recorded time.
  let now: Int64
}

extension BankState {
  /// Stages one record of a core other than the ledger: appends it to the batch and applies
  /// exactly the bytes that will be stored (so what is applied is what replay will apply).
  ///
  /// A record that does not apply is a bug in the command's validation: it traps, as the
  /// ledger's does.
  mutating func emit<C: StateCore>(_ record: C.Record, of type: C.Type, in tx: inout Transaction) {
    guard let i = slot(of: type) else {
      preconditionFailure("the \(C.coreName) core is not configured on this bank")
    }
    if !tx.saved.contains(where: { $0.slot == i }) { tx.saved.append((i, cores[i])) }
    let start = tx.batch.bytes.count
    tx.batch.appendEncoded { bytes in
      var w = ByteWriter()
      swap(&w.bytes, &bytes)
      C.encode(record, into: &w)
      swap(&w.bytes, &bytes)
    }
    // A record outside its core's tag range would be read back as another core's (or as
    // `store_corrupt` at the next open): a programmer error, caught before it is stored.
    precondition(
      start < tx.batch.bytes.count && C.tags.contains(tx.batch.bytes[start]),
      "the \(C.coreName) core emitted a record whose tag lies outside its range \(C.tags)")
    let applied = tx.batch.bytes.withUnsafeBytes { all in
      let bytes = UnsafeRawBufferPointer(rebasing: all[start...])
      return (try? Self.applyOpened(&cores[i], bytes))?.applied ?? false
    }
    precondition(applied, "validated \(C.coreName) record did not apply")
  }

  /// Undoes everything a transaction applied, in every core it touched.
  mutating func rollback(_ tx: Transaction) {
    if let stage = tx.ledgerStage { ledger.rollback(stage) }
    for (i, old) in tx.saved.reversed() { cores[i] = old }
  }
}
