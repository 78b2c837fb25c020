import Foundation
import TestSupport
import Testing

@testable import BankCore

/// Known-answer tests from the standards, plus a differential test against Python's `hashlib`.
@Suite struct CryptoTests {
  // MARK: CRC32C and SHA-256 (the journal's)

  @Test func crc32cCheckValues() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    #expect(CRC32C.checksum(Array(0..<32) as [UInt8]) == 0x46DD_794E)
    // Incremental equals one-shot, across the 8-byte stride boundary.
    let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    let whole = CRC32C.checksum(data)
    let part = data.withUnsafeBytes { b in
      CRC32C.update(
        CRC32C.update(0, UnsafeRawBufferPointer(rebasing: b[0..<333])),
        UnsafeRawBufferPointer(rebasing: b[333...]))
    }
    #expect(part == whole)
  }

  @Test func sha256NISTVectors() {
    #expect(
      SHA256.hash(Array("abc".utf8)).hexString
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(
      SHA256.hash([UInt8]()).hexString
        == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    #expect(
      SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hexString
        == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    var h = SHA256()
    let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
    for _ in 0..<1000 { h.update(chunk) }
    #expect(
      h.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  @Test func sha256IncrementalMatchesOneShot() {
    var rng = SplitMix64(seed: 7)
    let data = (0..<777).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let one = SHA256.hash(data)
    for cut in [0, 1, 55, 56, 63, 64, 65, 128, 776] {
      var h = SHA256()
      h.update(data[0..<cut])
      h.update(data[cut...])
      #expect(h.finalize() == one, "cut at \(cut)")
    }
  }

  @Test func sha256NIST896BitMessage() {
    // The 896-bit message.
    let long =
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
      + "lmnopqrsmnopqrstnopqrstu"
    #expect(
      SHA256.hash(Array(long.utf8)).hexString
        == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
  }

  /// Messages of `(i * 7 + 3) mod 256` around the block boundary, where the length field moves
  /// to a block of its own; digests from Python's `hashlib`.
  @Test(
    arguments: [
      (55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"),
      (56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"),
      (63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"),
      (64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"),
      (65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"),
    ])
  func sha256AcrossTheBlockBoundary(length: Int, digest: String) {
    let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    #expect(SHA256.hash(message).hexString == digest)
    // The same message fed one byte at a time goes through the pending-block path.
    var h = SHA256()
    for b in message { h.update(CollectionOfOne(b)) }
    #expect(h.finalize().hexString == digest)
  }

  @Test func sha256InPiecesOfEverySizeMatchesOneShot() {
    var rng = SplitMix64(seed: 11)
    let data = RandomBytes.generate(count: 1000, using: &rng)
    let whole = SHA256.hash(data)
    for piece in 1...130 {
      var h = SHA256()
      var i = 0
      while i < data.count {
        h.update(data[i..<min(i + piece, data.count)])
        i += piece
      }
      #expect(h.finalize() == whole, "pieces of \(piece)")
    }
  }

  // MARK: HMAC-SHA256

  /// RFC 4231, section 4: test cases 1, 2, 3, 4, 6 and 7 (5 is a truncated output).
  @Test(
    arguments: [
      (
        1, [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
      ),
      (
        2, Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
      ),
      (
        3, [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
      ),
      (
        4, Array(1...25), [UInt8](repeating: 0xcd, count: 50),
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
      ),
      (
        6, [UInt8](repeating: 0xaa, count: 131),
        Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
      ),
      (
        7, [UInt8](repeating: 0xaa, count: 131),
        Array(
          ("This is a test using a larger than block-size key and a larger than block-size data."
            + " The key needs to be hashed before being used by the HMAC algorithm.").utf8),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
      ),
    ] as [(Int, [UInt8], [UInt8], String)])
  func hmacRFC4231(testCase: Int, key: [UInt8], message: [UInt8], code: String) {
    #expect(
      HMACSHA256.authenticationCode(for: message, key: key).hexString == code,
      "RFC 4231 test case \(testCase)")
  }

  @Test func hmacPrecomputedKeyServesManyMessages() {
    var rng = SplitMix64(seed: 12)
    let key = RandomBytes.generate(count: 64, using: &rng)
    let mac = HMACSHA256(key: key)
    for length in [0, 1, 31, 32, 33, 55, 56, 64, 119, 120, 200] {
      let message = RandomBytes.generate(count: length, using: &rng)
      let code = mac.authenticationCode(for: message)
      #expect(code == HMACSHA256.authenticationCode(for: message, key: key))
      // The inner hash fed in two pieces gives the same code.
      var inner = mac.innerHasher()
      inner.update(message[0..<length / 2])
      inner.update(message[(length / 2)...])
      #expect(mac.outerCode(ofInnerDigest: inner.finalizeState()).bytes == code)
    }
  }

  // MARK: PBKDF2-HMAC-SHA256

  /// RFC 7914, section 11.
  @Test func pbkdf2RFC7914OneIteration() {
    let key = PBKDF2.deriveKey(
      password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)
    #expect(
      key.hexString
        == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
  }

  /// RFC 7914, section 11: 80,000 iterations over two output blocks.
  @Test func pbkdf2RFC7914EightyThousandIterations() {
    let key = PBKDF2.deriveKey(
      password: Array("Password".utf8), salt: Array("NaCl".utf8), iterations: 80_000, length: 64)
    #expect(
      key.hexString
        == "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
        + "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d")
  }

  @Test func pbkdf2ShorterKeysArePrefixes() {
    let full = PBKDF2.deriveKey(
      password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 3, length: 96)
    for length in [1, 31, 32, 33, 64, 65] {
      let key = PBKDF2.deriveKey(
        password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 3, length: length)
      #expect(key == Array(full.prefix(length)), "length \(length)")
    }
  }

  // MARK: Constant-time comparison

  @Test func constantTimeEqualsComparesContentAndLength() {
    let a: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
    #expect(ConstantTime.equals(a, a))
    #expect(ConstantTime.equals(a, a[...]))
    #expect(ConstantTime.equals([UInt8](), [UInt8]()))
    #expect(!ConstantTime.equals(a, [0, 2, 3, 4, 5, 6, 7, 8]))
    #expect(!ConstantTime.equals(a, [1, 2, 3, 4, 5, 6, 7, 9]))
    #expect(!ConstantTime.equals(a, a.prefix(7)))
    #expect(!ConstantTime.equals(a.prefix(7), a))
    #expect(!ConstantTime.equals(a, [UInt8]()))
    #expect(!ConstantTime.equals([UInt8](), a))
    // A longer value whose bytes repeat the shorter one must not compare equal.
    #expect(!ConstantTime.equals([1, 2, 1, 2], [1, 2]))
  }

  // MARK: Random bytes

  @Test func randomBytesComeFromTheInjectedGenerator() {
    for count in [0, 1, 7, 8, 9, 33] {
      var g1 = SplitMix64(seed: 99)
      var g2 = SplitMix64(seed: 99)
      let bytes = RandomBytes.generate(count: count, using: &g1)
      #expect(bytes.count == count)
      var expected: [UInt8] = []
      while expected.count < count {
        withUnsafeBytes(of: g2.next().littleEndian) { expected.append(contentsOf: $0) }
      }
      #expect(bytes == Array(expected.prefix(count)))
    }
    // The system generator: two 32-byte draws colliding would mean it is broken.
    #expect(RandomBytes.generate(count: 32) != RandomBytes.generate(count: 32))
  }

  // MARK: Differential test against Python's hashlib

  @Test(
    .enabled(if: python3 != nil, "python3 is not on PATH; the hashlib cross-check is skipped"),
    arguments: [1, 2, 3] as [UInt64])
  func matchesPythonHashlib(seed: UInt64) throws {
    guard let python = python3 else { return }
    print("CryptoTests.matchesPythonHashlib seed \(seed)")
    var rng = SplitMix64(seed: seed)
    func randomBytes(upTo max: Int) -> [UInt8] {
      RandomBytes.generate(count: Int(rng.next() % UInt64(max + 1)), using: &rng)
    }
    var lines: [String] = []
    var ours: [String] = []
    for _ in 0..<40 {
      let m = randomBytes(upTo: 300)
      lines.append("sha256 x\(m.hexString)")
      ours.append(SHA256.hash(m).hexString)
    }
    for _ in 0..<40 {
      let key = randomBytes(upTo: 150)
      let m = randomBytes(upTo: 300)
      lines.append("hmac x\(key.hexString) x\(m.hexString)")
      ours.append(HMACSHA256.authenticationCode(for: m, key: key).hexString)
    }
    for _ in 0..<8 {
      let password = randomBytes(upTo: 100)
      let salt = randomBytes(upTo: 40)
      let iterations = 1 + Int(rng.next() % 2000)
      let length = 1 + Int(rng.next() % 80)
      lines.append("pbkdf2 x\(password.hexString) x\(salt.hexString) \(iterations) \(length)")
      ours.append(
        PBKDF2.deriveKey(password: password, salt: salt, iterations: iterations, length: length)
          .hexString)
    }
    let dir = TempDirectory("crypto-xcheck")
    defer { dir.remove() }
    let input = dir.file("cases.txt")
    try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: input))
    let result = try runProcess(python, ["-c", Self.hashlibScript, input])
    #expect(result.status == 0, "python3 failed: \(result.stderr)")
    let theirs = result.stdout.split(separator: "\n").map(String.init)
    #expect(theirs.count == ours.count)
    for (i, (a, b)) in zip(ours, theirs).enumerated() {
      #expect(a == b, "seed \(seed), case \(i): \(lines[i].prefix(80))")
    }
  }

  /// Reads one case a line (`sha256 M`, `hmac K M`, `pbkdf2 P S c dkLen`; byte strings as hex
  /// after an `x`, so an empty one is still a field) and prints each result as hex.
  static let hashlibScript = """
    import hashlib, hmac, sys
    b = lambda f: bytes.fromhex(f[1:])
    for line in open(sys.argv[1]):
        f = line.split()
        if f[0] == "sha256":
            print(hashlib.sha256(b(f[1])).hexdigest())
        elif f[0] == "hmac":
            print(hmac.new(b(f[1]), b(f[2]), hashlib.sha256).hexdigest())
        else:
            print(hashlib.pbkdf2_hmac("sha256", b(f[1]), b(f[2]), int(f[3]), int(f[4])).hex())
    """
}

/// The first `python3` on `PATH`, if any.
private let python3: String? = {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
  for dir in path.split(separator: ":") {
    let candidate = String(dir) + "/python3"
    if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
  }
  return nil
}()
