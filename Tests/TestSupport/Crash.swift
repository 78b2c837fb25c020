@testable import BankCore

/// A journal's bytes as a writer that was killed (after its last sync) leaves them: the close
/// block marked dirty with `floorSequence`/`floorEnd` (a fresh store's by default), instead of
/// clean at the end. Version-1 journals have no close block and are returned unchanged.
public func crashed(_ bytes: [UInt8]) -> [UInt8] {
  guard let header = FileFormat.Header.decode(bytes).0, header.version >= 2 else { return bytes }
  let block = FileFormat.CloseBlock(
    clean: false, sequence: 0, end: Int64(header.framesStart), frameCRC: header.crc)
  var out = bytes
  out.replaceSubrange(64..<128, with: block.encode())
  return out
}
