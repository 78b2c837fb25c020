// libFuzzer target: the journal's frame scanner and record decoder on arbitrary bytes.
// Built by Tools/fuzz.sh with: swiftc -sanitize=fuzzer,address -parse-as-library <BankCore sources> this file
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrameDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = UnsafeRawBufferPointer(start: data, count: size)
  // The record codec must reject garbage with an error, never trap.
  if let record = try? JournalRecord.decode(bytes) {
    // A record in the current version of its type re-encodes byte for byte (one encoding per
    // record). Older versions only have to decode without trapping: the journal never rewrites.
    let entry = bytes[0] == 2 || bytes[0] == 3
    let current = entry ? JournalRecord.entryVersion : JournalRecord.version
    if bytes[1] == current, record.encoded != Array(bytes) {
      fatalError("record did not round-trip")
    }
  }
  // The frame header reader and scanner must survive any file contents.
  let salt = FileFormat.UInt32Salt(storeID: [UInt8](repeating: 7, count: 16))
  if size >= FileFormat.frameHeaderSize, let base = bytes.baseAddress {
    _ = FileFormat.FrameHeader.read(base, salt: salt)
  }
  _ = FileFormat.Header.decode(Array(bytes))
  return 0
}
