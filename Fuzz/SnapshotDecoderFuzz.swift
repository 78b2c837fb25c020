// libFuzzer target: the bank's snapshot decoder (the sectioned container and every core's
// section, and the first release's ledger-only payload) on arbitrary bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshotDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeRawBufferPointer(start: data, count: size))
  if let state = try? BankState.decodeSnapshot(bytes, cores: Bank.standardCores) {
    // A snapshot that decodes must encode back to a decodable snapshot of the same state.
    let encoded = state.encodeSnapshot()
    guard let again = try? BankState.decodeSnapshot(encoded, cores: Bank.standardCores) else {
      fatalError("re-encoded snapshot does not decode")
    }
    if again.encodeSnapshot() != encoded { fatalError("snapshot did not round-trip") }
  }
  return 0
}
