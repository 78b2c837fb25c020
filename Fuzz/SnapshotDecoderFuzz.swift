// libFuzzer target: the ledger snapshot decoder on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshotDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
  if let state = try? LedgerState.decodeSnapshot(bytes) {
    // A snapshot that decodes must encode back to a decodable snapshot of the same state.
    guard let again = try? LedgerState.decodeSnapshot(state.encodeSnapshot()) else {
      fatalError("re-encoded snapshot does not decode")
    }
    if again.encodeSnapshot() != state.encodeSnapshot() { fatalError("snapshot did not round-trip") }
  }
  return 0
}
