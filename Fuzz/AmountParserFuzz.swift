// libFuzzer target: the strict amount and account-number parsers on arbitrary strings.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAmountParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  for currency in [Currency.usd, .jpy, .kwd] {
    if let amount = try? Amount(parsing: text, currency: currency) {
      // Accepted text is plain ASCII digits with at most one point, and formats back to the value.
      if amount.minorUnits < 0 { fatalError("negative amount accepted: \(text)") }
      guard let again = try? Amount(parsing: amount.description, currency: currency), again == amount else {
        fatalError("formatted amount does not parse back: \(text)")
      }
    }
  }
  if let n = try? AccountNumber(parsing: text), (try? AccountNumber(parsing: n.description)) != n {
    fatalError("account number does not round-trip: \(text)")
  }
  return 0
}
