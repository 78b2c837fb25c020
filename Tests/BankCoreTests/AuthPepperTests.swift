import Foundation
import TestSupport
import Testing

@testable import BankCore

@Suite struct AuthPepperTests {
  @Test func createThenLoadGivesTheSameKeyWithMode0600() throws {
    let dir = TempDirectory("pepper")
    defer { dir.remove() }
    let path = Pepper.keyPath(forStore: dir.file("bank.store"))
    #expect(path.hasSuffix("bank.store.key"))
    var rng = SplitMix64(seed: 7)
    let created = try Pepper.create(at: path, using: &rng)
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    #expect(fileBytes(path) == created.bytes)
    #expect(try Pepper.load(from: path) == created)
    #expect(try Pepper.loadOrCreate(at: path, using: &rng) == created)
    // Creating over an existing key is refused: a new key would orphan every PIN.
    #expect(throws: BankError.self) { try Pepper.create(at: path, using: &rng) }
  }

  @Test func loadOrCreateCreatesWhenMissing() throws {
    let dir = TempDirectory("pepper")
    defer { dir.remove() }
    var rng = SplitMix64(seed: 8)
    let made = try Pepper.loadOrCreate(at: dir.file("s.key"), using: &rng)
    #expect(try Pepper.load(from: dir.file("s.key")) == made)
  }

  @Test func refusesMissingWrongSizeOpenOrNonRegularFiles() throws {
    let dir = TempDirectory("pepper")
    defer { dir.remove() }
    func message(_ path: String) -> String {
      do {
        _ = try Pepper.load(from: path)
        return ""
      } catch {
        #expect(error.code == .ioError)
        return error.message
      }
    }
    #expect(message(dir.file("missing.key")).contains("is missing"))
    writeFileBytes(dir.file("short.key"), Array(repeating: 1, count: 31))
    chmod(dir.file("short.key"), 0o600)
    #expect(message(dir.file("short.key")).contains("is 31 bytes"))
    writeFileBytes(dir.file("open.key"), Array(repeating: 1, count: 32))
    chmod(dir.file("open.key"), 0o644)
    #expect(message(dir.file("open.key")).contains("chmod 600"))
    #expect(message(dir.path).contains("not a regular file"))
    writeFileBytes(dir.file("real.key"), Array(repeating: 1, count: 32))
    chmod(dir.file("real.key"), 0o600)
    symlink(dir.file("real.key"), dir.file("link.key"))
    #expect(message(dir.file("link.key")).contains("symbolic link"))
    #expect(try Pepper.load(from: dir.file("real.key")).bytes == Array(repeating: 1, count: 32))
  }
}
