import BankCore
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import BankCLI

/// An opener that keeps the PIN key in memory and counts what it is asked: the commands reach
/// the store, its warnings and its PIN key only through the opener.
final class MemoryKeyOpener: StoreOpener {
  let file: FileStoreOpener
  let key = Mutex<[UInt8]?>(nil)
  let opens = Mutex<[StoreAccess]>([])

  init(path: String) { file = FileStoreOpener(path: path) }

  var displayName: String { "memory-key:" + file.path }
  func storeExists() -> Bool { file.storeExists() }
  func open(_ access: StoreAccess, lockTimeout: Duration) throws(BankError) -> OpenedStore {
    opens.withLock { $0.append(access) }
    var o = try file.open(access, lockTimeout: lockTimeout)
    o.warnings.append("opened through the test opener")
    return o
  }
  func conditions() -> [String] { [] }
  var pinKeyLocation: String { "memory" }
  func pinKeyExists() -> Bool { key.withLock { $0 != nil } }
  func pinKey(create: Bool) throws(BankError) -> [UInt8] {
    let k = key.withLock { k -> [UInt8]? in
      if k == nil, create { k = Array(repeating: 7, count: 32) }
      return k
    }
    guard let k else { throw BankError(.ioError, "no PIN key in memory") }
    return k
  }
}

@Suite struct BankCLITests {
  let dir = TempDirectory("bankcli")
  var store: String { dir.file("bank.journal") }

  func run(_ opener: MemoryKeyOpener, _ args: [String], input: [String] = [])
    -> (code: Int32, out: String, err: String)
  {
    let console = Console(direct: false)
    let code = BankCLI.run(
      ["--json", "--store", store] + args, environment: [:], console: console,
      opener: { _ in opener }, input: SecretInput(lines: input),
      authConfiguration: AuthConfiguration(passwordIterations: 1_000))
    return (code, console.out, console.err)
  }

  @Test func everyCommandGoesThroughTheOpenerItIsGiven() throws {
    let opener = MemoryKeyOpener(path: store)
    let reg = run(
      opener,
      [
        "customer", "register", "--name", "Ada Lovelace", "--email", "ada@example.com",
        "--phone", "+14155550101", "--age", "36",
      ], input: ["a long enough passphrase 1"])
    #expect(reg.code == 0, "\(reg.err)")
    let account = try #require((jsonObject(reg.out)?["accounts"] as? [String])?.first)
    let card = run(opener, ["card", "issue", "--customer", "C000001", "--account", account])
    #expect(card.code == 0, "\(card.err)")
    let pan = try #require(jsonObject(card.out)?["card"] as? String)
    #expect(run(opener, ["card", "set-pin", pan], input: ["4821"]).code == 0)
    // The PIN key is the opener's: nothing was written beside the store.
    #expect(opener.pinKeyExists())
    #expect(!FileManager.default.fileExists(atPath: store + ".key"))
    // The opener's warnings reach stderr; verify lists them as its own instead.
    #expect(card.err.contains("warning: opened through the test opener"))
    let v = run(opener, ["verify"])
    #expect(v.code == 0, "\(v.err)")
    #expect(
      (jsonObject(v.out)?["warnings"] as? [String])?.contains("opened through the test opener")
        == false)
    #expect(opener.opens.withLock { $0 } == [.create, .write, .write, .read])
    // Messages name the store as the opener does.
    let h = run(opener, ["--session", String(repeating: "0", count: 64), "open", "--name", "X"])
    #expect(h.code != 0)
    let plain = Console(direct: false)
    _ = BankCLI.run(
      ["--store", store, "verify"], environment: [:], console: plain, opener: { _ in opener })
    #expect(plain.out.contains("Store memory-key:\(store) verified"), "\(plain.out)")
  }

  @Test func theRegistryDeclaresEveryCommandOnce() {
    let names = Commands.all.map(\.name)
    #expect(Set(names).count == names.count)
    for spec in Commands.all {
      #expect(spec.usage.hasPrefix("bankctl ") && spec.usage.contains(spec.name), "\(spec.name)")
      #expect(!spec.summary.isEmpty)
      #expect(Help.command(spec.name).contains(spec.summary))
      if case .operation(let op) = spec.permission {
        // The operator holds every right the matrix names.
        #expect(op.isAllowed(for: .operator, ownsTarget: false), "\(spec.name)")
      }
    }
    // Every group contributes; help lists every command.
    for group in [
      Commands.accounts, Commands.money, Commands.store, Commands.people, Commands.cards,
    ] {
      #expect(!group.isEmpty)
      for spec in group { #expect(Help.overview.contains(spec.name)) }
    }
  }
}
