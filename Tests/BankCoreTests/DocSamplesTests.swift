import BankCore
import Foundation
import Testing

/// Every code sample in the library's doc comments (fenced, or inline starting with `try `) and in
/// `Docs/`, compiled here verbatim, and a test that no sample is missing from this file: a
/// sample that stops compiling fails the build, one that is edited without this file fails the
/// test.
@Suite struct DocSamplesTests {
  // MARK: The samples, verbatim (each line is one sample)

  func amountSamples(a: Amount, b: Amount) throws -> (Amount, Amount) {
    (
      try a + b,
      try a - b
    )
  }

  func performSamples(
    ledger: Ledger, auth: Authenticator, bank: Bank, a: AccountNumber, b: AccountNumber,
    x: Amount, who: Principal
  ) async throws {
    _ = try await ledger.perform { try $0.balance(of: a) }
    _ = try await auth.perform { try $0.transfer(x, from: a, to: b, as: who) }
    _ = try await bank.perform { try $0.ledger.accounts() }
  }

  func openSamples() throws {
    let bank = try Bank(path: "bank.journal")
    let ledger = try Ledger(path: "bank.journal")
    _ = (bank, ledger)
  }

  func asyncArticleSamples(ledger: Ledger, a: AccountNumber) async throws -> Amount {
    let balance = try await ledger.perform { try $0.balance(of: a) }
    return balance
  }

  func jsonSamples(data: Data) throws -> [HistoryEntry] {
    let decoder = JSONDecoder()
    decoder.userInfo[.bankCoreCurrency] = Currency.usd
    let entries = try decoder.decode([HistoryEntry].self, from: data)
    return entries
  }

  // MARK: The check

  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The samples of the sources' doc comments, of `Docs/*.md` and of the DocC articles.
  static func samples() throws -> [(file: String, code: String)] {
    var out: [(String, String)] = []
    let fm = FileManager.default
    let sources = root.appendingPathComponent("Sources")
    let files = (fm.enumerator(atPath: sources.path)?.compactMap { $0 as? String } ?? [])
      .filter { $0.hasSuffix(".swift") }.map { sources.appendingPathComponent($0) }
    for url in files {
      let text = try String(contentsOf: url, encoding: .utf8)
      var fence: [String]?
      for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let line = raw.trimmingCharacters(in: .whitespaces)
        guard line.hasPrefix("///") else { continue }
        let body = String(line.dropFirst(3).drop { $0 == " " })
        if body == "```swift" {
          fence = []
        } else if body == "```", let f = fence {
          out += f.filter { !$0.isEmpty }.map { (url.lastPathComponent, $0) }
          fence = nil
        } else if fence != nil {
          fence?.append(body)
        } else {
          // Inline: `try …` between backticks.
          var rest = Substring(body)
          while let open = rest.range(of: "`try ") {
            let after = rest[open.upperBound...]
            guard let close = after.firstIndex(of: "`") else { break }
            out.append((url.lastPathComponent, "try " + after[..<close]))
            rest = after[after.index(after: close)...]
          }
        }
      }
    }
    let catalogue = root.appendingPathComponent("Sources/BankCore/BankCore.docc")
    let articles = [root.appendingPathComponent("Docs"), catalogue].flatMap { dir in
      ((try? fm.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.hasSuffix(".md") }
        .map { dir.appendingPathComponent($0) }
    }
    for url in articles {
      let name = url.lastPathComponent
      let text = try String(contentsOf: url, encoding: .utf8)
      var inSwift = false
      for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line == "```swift" {
          inSwift = true
        } else if line.hasPrefix("```") {
          inSwift = false
        } else if inSwift, !line.isEmpty, !line.hasPrefix("//") {
          out.append((name, line))
        }
      }
    }
    return out
  }

  @Test func everyDocSampleIsCompiledHere() throws {
    let here = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
    let samples = try Self.samples()
    #expect(samples.count >= 6, "the scan found the samples: \(samples)")
    for (file, code) in samples {
      #expect(here.contains(code), "\(file): the sample `\(code)` is not compiled in this file")
    }
  }

  @Test func theSamplesRun() async throws {
    let bank = try Bank.inMemory()
    let auth = try Authenticator(bank: bank)
    let a = try bank.ledger.open(AccountSpec(name: "A")).number
    let b = try bank.ledger.open(AccountSpec(name: "B")).number
    try bank.ledger.deposit(Amount(minorUnits: 10_00, currency: .usd), to: a)
    try await performSamples(
      ledger: bank.ledger, auth: auth, bank: bank, a: a, b: b,
      x: Amount(minorUnits: 1_00, currency: .usd), who: .operator)
    #expect(try bank.ledger.balance(of: b) == Amount(minorUnits: 1_00, currency: .usd))
    #expect(
      try await asyncArticleSamples(ledger: bank.ledger, a: b)
        == .init(minorUnits: 1_00, currency: .usd))
    let history = try bank.ledger.history(of: a)
    let decoded = try jsonSamples(data: try JSONEncoder().encode(history))
    #expect(decoded.map(\.balance) == history.map(\.balance) && decoded.count == 2)
    let (sum, difference) = try amountSamples(
      a: Amount(minorUnits: 3, currency: .usd), b: Amount(minorUnits: 2, currency: .usd))
    #expect(sum.minorUnits == 5 && difference.minorUnits == 1)
  }
}
