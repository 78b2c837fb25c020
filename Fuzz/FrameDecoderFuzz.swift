// libFuzzer target: the journal's frame scanner and record decoder on arbitrary bytes.
// Built by Tools/fuzz.sh with: swiftc -sanitize=fuzzer,address -parse-as-library <BankCore sources> this file
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  // The record codec must reject garbage with an error, never trap.
  if let record = try? JournalRecord.decode(bytes) {
    // Whatever decodes must re-encode to the same bytes.
    let again = record.encoded
    if again != Array(bytes) { fatalError("record did not round-trip") }
  }
  // The frame header reader and scanner must survive any file contents.
  let salt = FileFormat.UInt32Salt(storeID: [UInt8](repeating: 7, count: 16))
  if size >= FileFormat.frameHeaderSize, let base = bytes.baseAddress {
    _ = FileFormat.FrameHeader.read(base, salt: salt)
  }
  _ = FileFormat.Header.decode(Array(bytes))
  return 0
}
