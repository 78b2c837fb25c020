/// The SHA-256 compression function (FIPS 180-4, section 6.2.2), fully unrolled.
///
/// Speed matters here twice: the journal's hash chain runs every record through it, and PBKDF2
/// calls it twice per iteration, 1.2 million times for one password hash. So the 64 rounds are
/// written out with the round constants as literals, the working variables and the 16-word message
/// schedule live in local variables (registers, not an array: no bounds checks, no stores), and
/// the eight working variables are renamed from round to round instead of shifted.
///
/// The 64 round lines follow one pattern, so check a change against it rather than line by line:
/// round t passes the working variables a…h rotated right by t mod 8, and K[t] + W[t mod 16];
/// from round 16 on, W[t mod 16] is first extended in place by σ1(W[t-2]) + W[t-7] + σ0(W[t-15]).
extension SHA256 {
  /// The eight chaining words H0…H7, which are the digest once the last block is compressed.
  struct State: Sendable, Equatable {
    var h0: UInt32
    var h1: UInt32
    var h2: UInt32
    var h3: UInt32
    var h4: UInt32
    var h5: UInt32
    var h6: UInt32
    var h7: UInt32

    /// The initial hash value H(0) of SHA-256.
    static let initial = State(
      h0: 0x6a09_e667, h1: 0xbb67_ae85, h2: 0x3c6e_f372, h3: 0xa54f_f53a, h4: 0x510e_527f,
      h5: 0x9b05_688c, h6: 0x1f83_d9ab, h7: 0x5be0_cd19)

    /// The 32 digest bytes: the words in big-endian order.
    var bytes: [UInt8] {
      [UInt8](unsafeUninitializedCapacity: 32) { out, count in
        let raw = UnsafeMutableRawBufferPointer(out)
        raw.storeBytes(of: h0.bigEndian, toByteOffset: 0, as: UInt32.self)
        raw.storeBytes(of: h1.bigEndian, toByteOffset: 4, as: UInt32.self)
        raw.storeBytes(of: h2.bigEndian, toByteOffset: 8, as: UInt32.self)
        raw.storeBytes(of: h3.bigEndian, toByteOffset: 12, as: UInt32.self)
        raw.storeBytes(of: h4.bigEndian, toByteOffset: 16, as: UInt32.self)
        raw.storeBytes(of: h5.bigEndian, toByteOffset: 20, as: UInt32.self)
        raw.storeBytes(of: h6.bigEndian, toByteOffset: 24, as: UInt32.self)
        raw.storeBytes(of: h7.bigEndian, toByteOffset: 28, as: UInt32.self)
        count = 32
      }
    }
  }

  /// Compresses every whole 64-byte block of `blocks` into `state`; a trailing partial block is
  /// ignored (the caller keeps it pending).
  ///
  /// - Complexity: O(n).
  @_optimize(speed)
  static func compress(_ state: inout State, blocks: UnsafeRawBufferPointer) {
    guard let base = blocks.baseAddress else { return }
    var s = state
    var p = base
    let end = base + (blocks.count & ~63)
    while p < end {
      compress(
        &s,
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 12, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 20, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 28, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 32, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 36, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 40, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 44, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 48, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 52, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 56, as: UInt32.self)),
        UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 60, as: UInt32.self)))
      p += 64
    }
    state = s
  }

  /// The state after compressing the one block that ends a 96-byte message whose last 32 bytes
  /// are `digest`: the digest's words, then the padding (0x80, zeros, the bit length 768).
  ///
  /// HMAC's inner hash of a digest and its outer hash are both this block after a 64-byte key
  /// block, which is why PBKDF2 runs entirely on words, two calls per iteration.
  @_optimize(speed)
  static func compress(_ state: State, paddedDigest digest: State) -> State {
    var s = state
    compress(
      &s, digest.h0, digest.h1, digest.h2, digest.h3, digest.h4, digest.h5, digest.h6, digest.h7,
      0x8000_0000, 0, 0, 0, 0, 0, 0, 768)
    return s
  }

  /// One block, given as its 16 message words (already converted from big-endian).
  // swift-format-ignore
  @inline(__always) @_optimize(speed)
  private static func compress(
    _ state: inout State,
    _ m0: UInt32, _ m1: UInt32, _ m2: UInt32, _ m3: UInt32,
    _ m4: UInt32, _ m5: UInt32, _ m6: UInt32, _ m7: UInt32,
    _ m8: UInt32, _ m9: UInt32, _ m10: UInt32, _ m11: UInt32,
    _ m12: UInt32, _ m13: UInt32, _ m14: UInt32, _ m15: UInt32
  ) {
    var w0 = m0, w1 = m1, w2 = m2, w3 = m3, w4 = m4, w5 = m5, w6 = m6, w7 = m7
    var w8 = m8, w9 = m9, w10 = m10, w11 = m11, w12 = m12, w13 = m13, w14 = m14, w15 = m15
    var a = state.h0, b = state.h1, c = state.h2, d = state.h3
    var e = state.h4, f = state.h5, g = state.h6, h = state.h7
    var bc = b ^ c  // b ^ c of the coming round; each round leaves its a ^ b here
    // Rounds 0..<16 use the message words as they are.
    round(a, b, c, &d, e, f, g, &h, &bc, 0x428a_2f98 &+ w0)
    round(h, a, b, &c, d, e, f, &g, &bc, 0x7137_4491 &+ w1)
    round(g, h, a, &b, c, d, e, &f, &bc, 0xb5c0_fbcf &+ w2)
    round(f, g, h, &a, b, c, d, &e, &bc, 0xe9b5_dba5 &+ w3)
    round(e, f, g, &h, a, b, c, &d, &bc, 0x3956_c25b &+ w4)
    round(d, e, f, &g, h, a, b, &c, &bc, 0x59f1_11f1 &+ w5)
    round(c, d, e, &f, g, h, a, &b, &bc, 0x923f_82a4 &+ w6)
    round(b, c, d, &e, f, g, h, &a, &bc, 0xab1c_5ed5 &+ w7)
    round(a, b, c, &d, e, f, g, &h, &bc, 0xd807_aa98 &+ w8)
    round(h, a, b, &c, d, e, f, &g, &bc, 0x1283_5b01 &+ w9)
    round(g, h, a, &b, c, d, e, &f, &bc, 0x2431_85be &+ w10)
    round(f, g, h, &a, b, c, d, &e, &bc, 0x550c_7dc3 &+ w11)
    round(e, f, g, &h, a, b, c, &d, &bc, 0x72be_5d74 &+ w12)
    round(d, e, f, &g, h, a, b, &c, &bc, 0x80de_b1fe &+ w13)
    round(c, d, e, &f, g, h, a, &b, &bc, 0x9bdc_06a7 &+ w14)
    round(b, c, d, &e, f, g, h, &a, &bc, 0xc19b_f174 &+ w15)
    // Rounds 16..<32: extend the schedule in place, 16 words at a time.
    w0 &+= sigma1(w14) &+ w9 &+ sigma0(w1)
    round(a, b, c, &d, e, f, g, &h, &bc, 0xe49b_69c1 &+ w0)
    w1 &+= sigma1(w15) &+ w10 &+ sigma0(w2)
    round(h, a, b, &c, d, e, f, &g, &bc, 0xefbe_4786 &+ w1)
    w2 &+= sigma1(w0) &+ w11 &+ sigma0(w3)
    round(g, h, a, &b, c, d, e, &f, &bc, 0x0fc1_9dc6 &+ w2)
    w3 &+= sigma1(w1) &+ w12 &+ sigma0(w4)
    round(f, g, h, &a, b, c, d, &e, &bc, 0x240c_a1cc &+ w3)
    w4 &+= sigma1(w2) &+ w13 &+ sigma0(w5)
    round(e, f, g, &h, a, b, c, &d, &bc, 0x2de9_2c6f &+ w4)
    w5 &+= sigma1(w3) &+ w14 &+ sigma0(w6)
    round(d, e, f, &g, h, a, b, &c, &bc, 0x4a74_84aa &+ w5)
    w6 &+= sigma1(w4) &+ w15 &+ sigma0(w7)
    round(c, d, e, &f, g, h, a, &b, &bc, 0x5cb0_a9dc &+ w6)
    w7 &+= sigma1(w5) &+ w0 &+ sigma0(w8)
    round(b, c, d, &e, f, g, h, &a, &bc, 0x76f9_88da &+ w7)
    w8 &+= sigma1(w6) &+ w1 &+ sigma0(w9)
    round(a, b, c, &d, e, f, g, &h, &bc, 0x983e_5152 &+ w8)
    w9 &+= sigma1(w7) &+ w2 &+ sigma0(w10)
    round(h, a, b, &c, d, e, f, &g, &bc, 0xa831_c66d &+ w9)
    w10 &+= sigma1(w8) &+ w3 &+ sigma0(w11)
    round(g, h, a, &b, c, d, e, &f, &bc, 0xb003_27c8 &+ w10)
    w11 &+= sigma1(w9) &+ w4 &+ sigma0(w12)
    round(f, g, h, &a, b, c, d, &e, &bc, 0xbf59_7fc7 &+ w11)
    w12 &+= sigma1(w10) &+ w5 &+ sigma0(w13)
    round(e, f, g, &h, a, b, c, &d, &bc, 0xc6e0_0bf3 &+ w12)
    w13 &+= sigma1(w11) &+ w6 &+ sigma0(w14)
    round(d, e, f, &g, h, a, b, &c, &bc, 0xd5a7_9147 &+ w13)
    w14 &+= sigma1(w12) &+ w7 &+ sigma0(w15)
    round(c, d, e, &f, g, h, a, &b, &bc, 0x06ca_6351 &+ w14)
    w15 &+= sigma1(w13) &+ w8 &+ sigma0(w0)
    round(b, c, d, &e, f, g, h, &a, &bc, 0x1429_2967 &+ w15)
    // Rounds 32..<48: extend the schedule in place, 16 words at a time.
    w0 &+= sigma1(w14) &+ w9 &+ sigma0(w1)
    round(a, b, c, &d, e, f, g, &h, &bc, 0x27b7_0a85 &+ w0)
    w1 &+= sigma1(w15) &+ w10 &+ sigma0(w2)
    round(h, a, b, &c, d, e, f, &g, &bc, 0x2e1b_2138 &+ w1)
    w2 &+= sigma1(w0) &+ w11 &+ sigma0(w3)
    round(g, h, a, &b, c, d, e, &f, &bc, 0x4d2c_6dfc &+ w2)
    w3 &+= sigma1(w1) &+ w12 &+ sigma0(w4)
    round(f, g, h, &a, b, c, d, &e, &bc, 0x5338_0d13 &+ w3)
    w4 &+= sigma1(w2) &+ w13 &+ sigma0(w5)
    round(e, f, g, &h, a, b, c, &d, &bc, 0x650a_7354 &+ w4)
    w5 &+= sigma1(w3) &+ w14 &+ sigma0(w6)
    round(d, e, f, &g, h, a, b, &c, &bc, 0x766a_0abb &+ w5)
    w6 &+= sigma1(w4) &+ w15 &+ sigma0(w7)
    round(c, d, e, &f, g, h, a, &b, &bc, 0x81c2_c92e &+ w6)
    w7 &+= sigma1(w5) &+ w0 &+ sigma0(w8)
    round(b, c, d, &e, f, g, h, &a, &bc, 0x9272_2c85 &+ w7)
    w8 &+= sigma1(w6) &+ w1 &+ sigma0(w9)
    round(a, b, c, &d, e, f, g, &h, &bc, 0xa2bf_e8a1 &+ w8)
    w9 &+= sigma1(w7) &+ w2 &+ sigma0(w10)
    round(h, a, b, &c, d, e, f, &g, &bc, 0xa81a_664b &+ w9)
    w10 &+= sigma1(w8) &+ w3 &+ sigma0(w11)
    round(g, h, a, &b, c, d, e, &f, &bc, 0xc24b_8b70 &+ w10)
    w11 &+= sigma1(w9) &+ w4 &+ sigma0(w12)
    round(f, g, h, &a, b, c, d, &e, &bc, 0xc76c_51a3 &+ w11)
    w12 &+= sigma1(w10) &+ w5 &+ sigma0(w13)
    round(e, f, g, &h, a, b, c, &d, &bc, 0xd192_e819 &+ w12)
    w13 &+= sigma1(w11) &+ w6 &+ sigma0(w14)
    round(d, e, f, &g, h, a, b, &c, &bc, 0xd699_0624 &+ w13)
    w14 &+= sigma1(w12) &+ w7 &+ sigma0(w15)
    round(c, d, e, &f, g, h, a, &b, &bc, 0xf40e_3585 &+ w14)
    w15 &+= sigma1(w13) &+ w8 &+ sigma0(w0)
    round(b, c, d, &e, f, g, h, &a, &bc, 0x106a_a070 &+ w15)
    // Rounds 48..<64: extend the schedule in place, 16 words at a time.
    w0 &+= sigma1(w14) &+ w9 &+ sigma0(w1)
    round(a, b, c, &d, e, f, g, &h, &bc, 0x19a4_c116 &+ w0)
    w1 &+= sigma1(w15) &+ w10 &+ sigma0(w2)
    round(h, a, b, &c, d, e, f, &g, &bc, 0x1e37_6c08 &+ w1)
    w2 &+= sigma1(w0) &+ w11 &+ sigma0(w3)
    round(g, h, a, &b, c, d, e, &f, &bc, 0x2748_774c &+ w2)
    w3 &+= sigma1(w1) &+ w12 &+ sigma0(w4)
    round(f, g, h, &a, b, c, d, &e, &bc, 0x34b0_bcb5 &+ w3)
    w4 &+= sigma1(w2) &+ w13 &+ sigma0(w5)
    round(e, f, g, &h, a, b, c, &d, &bc, 0x391c_0cb3 &+ w4)
    w5 &+= sigma1(w3) &+ w14 &+ sigma0(w6)
    round(d, e, f, &g, h, a, b, &c, &bc, 0x4ed8_aa4a &+ w5)
    w6 &+= sigma1(w4) &+ w15 &+ sigma0(w7)
    round(c, d, e, &f, g, h, a, &b, &bc, 0x5b9c_ca4f &+ w6)
    w7 &+= sigma1(w5) &+ w0 &+ sigma0(w8)
    round(b, c, d, &e, f, g, h, &a, &bc, 0x682e_6ff3 &+ w7)
    w8 &+= sigma1(w6) &+ w1 &+ sigma0(w9)
    round(a, b, c, &d, e, f, g, &h, &bc, 0x748f_82ee &+ w8)
    w9 &+= sigma1(w7) &+ w2 &+ sigma0(w10)
    round(h, a, b, &c, d, e, f, &g, &bc, 0x78a5_636f &+ w9)
    w10 &+= sigma1(w8) &+ w3 &+ sigma0(w11)
    round(g, h, a, &b, c, d, e, &f, &bc, 0x84c8_7814 &+ w10)
    w11 &+= sigma1(w9) &+ w4 &+ sigma0(w12)
    round(f, g, h, &a, b, c, d, &e, &bc, 0x8cc7_0208 &+ w11)
    w12 &+= sigma1(w10) &+ w5 &+ sigma0(w13)
    round(e, f, g, &h, a, b, c, &d, &bc, 0x90be_fffa &+ w12)
    w13 &+= sigma1(w11) &+ w6 &+ sigma0(w14)
    round(d, e, f, &g, h, a, b, &c, &bc, 0xa450_6ceb &+ w13)
    w14 &+= sigma1(w12) &+ w7 &+ sigma0(w15)
    round(c, d, e, &f, g, h, a, &b, &bc, 0xbef9_a3f7 &+ w14)
    w15 &+= sigma1(w13) &+ w8 &+ sigma0(w0)
    round(b, c, d, &e, f, g, h, &a, &bc, 0xc671_78f2 &+ w15)
    state.h0 &+= a
    state.h1 &+= b
    state.h2 &+= c
    state.h3 &+= d
    state.h4 &+= e
    state.h5 &+= f
    state.h6 &+= g
    state.h7 &+= h
  }

  /// One round: `d` and `h` are the two working variables a round changes; the caller renames
  /// the rest. `bc` carries `b ^ c` in and `a ^ b` out, which is the next round's `b ^ c`, so
  /// the majority function costs two operations instead of four.
  ///
  /// The sums are grouped for latency: `h + kw` and the choice do not wait for Σ1(e), and Σ0(a)
  /// and the majority are summed before `t1` joins them.
  @_transparent
  private static func round(
    _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32, _ e: UInt32, _ f: UInt32,
    _ g: UInt32, _ h: inout UInt32, _ bc: inout UInt32, _ kw: UInt32
  ) {
    let choose = g ^ (e & (f ^ g))
    let t1 = (h &+ kw &+ choose) &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25))
    let ab = a ^ b
    let majority = b ^ (ab & bc)
    bc = ab
    d &+= t1
    h = t1 &+ ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ majority)
  }

  @_transparent
  private static func sigma0(_ x: UInt32) -> UInt32 { rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3) }

  @_transparent
  private static func sigma1(_ x: UInt32) -> UInt32 { rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10) }

  /// Rotates right; with a constant `n` this compiles to one rotate instruction.
  @_transparent
  private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x &>> n) | (x &<< (32 &- n)) }
}
