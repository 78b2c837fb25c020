/// A non-negative integer of any size: just enough arithmetic for the annuity formula's powers,
/// computed exactly (32-bit limbs, least significant first).
struct BigUInt: Equatable, Sendable {
  private(set) var limbs: [UInt32]

  init(_ v: UInt64) {
    limbs = [UInt32(truncatingIfNeeded: v), UInt32(truncatingIfNeeded: v >> 32)]
    trim()
  }

  private mutating func trim() { while limbs.last == 0 { limbs.removeLast() } }

  var isZero: Bool { limbs.isEmpty }

  var bitWidth: Int {
    guard let top = limbs.last else { return 0 }
    return (limbs.count - 1) * 32 + (32 - top.leadingZeroBitCount)
  }

  static func * (a: BigUInt, b: BigUInt) -> BigUInt {
    if a.isZero || b.isZero { return BigUInt(0) }
    var out = [UInt32](repeating: 0, count: a.limbs.count + b.limbs.count)
    for i in 0..<a.limbs.count {
      var carry: UInt64 = 0
      let x = UInt64(a.limbs[i])
      for j in 0..<b.limbs.count {
        let t = x * UInt64(b.limbs[j]) + UInt64(out[i + j]) + carry
        out[i + j] = UInt32(truncatingIfNeeded: t)
        carry = t >> 32
      }
      var k = i + b.limbs.count
      while carry != 0 {
        let t = UInt64(out[k]) + carry
        out[k] = UInt32(truncatingIfNeeded: t)
        carry = t >> 32
        k += 1
      }
    }
    var r = BigUInt(0)
    r.limbs = out
    r.trim()
    return r
  }

  /// `a − b`; `b` must not exceed `a`.
  static func - (a: BigUInt, b: BigUInt) -> BigUInt {
    precondition(a >= b, "BigUInt subtraction below zero")
    var out = a.limbs
    var borrow: Int64 = 0
    for i in 0..<out.count {
      var t = Int64(out[i]) - borrow - (i < b.limbs.count ? Int64(b.limbs[i]) : 0)
      borrow = 0
      if t < 0 {
        t += 1 << 32
        borrow = 1
      }
      out[i] = UInt32(t)
    }
    var r = BigUInt(0)
    r.limbs = out
    r.trim()
    return r
  }

  static func >= (a: BigUInt, b: BigUInt) -> Bool { compare(a, b) >= 0 }

  static func compare(_ a: BigUInt, _ b: BigUInt) -> Int {
    if a.limbs.count != b.limbs.count { return a.limbs.count < b.limbs.count ? -1 : 1 }
    for i in stride(from: a.limbs.count - 1, through: 0, by: -1) where a.limbs[i] != b.limbs[i] {
      return a.limbs[i] < b.limbs[i] ? -1 : 1
    }
    return 0
  }

  func shiftedLeft(_ bits: Int) -> BigUInt {
    if isZero || bits == 0 { return self }
    let whole = bits / 32
    let part = bits % 32
    var out = [UInt32](repeating: 0, count: whole) + limbs + [0]
    if part > 0 {
      var carry: UInt32 = 0
      for i in whole..<out.count {
        let v = out[i]
        out[i] = (v << UInt32(part)) | carry
        carry = v >> UInt32(32 - part)
      }
    }
    var r = BigUInt(0)
    r.limbs = out
    r.trim()
    return r
  }

  func power(_ n: Int) -> BigUInt {
    var result = BigUInt(1)
    var base = self
    var e = n
    while e > 0 {
      if e & 1 == 1 { result = result * base }
      e >>= 1
      if e > 0 { base = base * base }
    }
    return result
  }

  /// `n ÷ d` rounded half to even, or `nil` when the quotient does not fit in 63 bits.
  static func divideRoundingHalfEven(_ n: BigUInt, _ d: BigUInt) -> Int64? {
    precondition(!d.isZero, "division by zero")
    var rest = n
    var q: UInt64 = 0
    let span = n.bitWidth - d.bitWidth
    if span >= 63 { return nil }
    if span >= 0 {
      for i in stride(from: span, through: 0, by: -1) {
        let shifted = d.shiftedLeft(i)
        if rest >= shifted {
          rest = rest - shifted
          q |= 1 << UInt64(i)
        }
      }
    }
    let c = compare(rest.shiftedLeft(1), d)
    if c > 0 || (c == 0 && q & 1 == 1) { q += 1 }
    return q <= UInt64(Int64.max) ? Int64(q) : nil
  }
}

/// One installment of an annuity schedule, in minor units.
public struct Installment: Sendable, Hashable {
  /// 1 for the first.
  public let number: Int
  /// When it falls due.
  public let due: Day
  /// What the borrower pays: interest plus principal.
  public let payment: Amount
  /// The month's interest on the principal outstanding before it.
  public let interest: Amount
  /// The principal it repays.
  public let principal: Amount
  /// The principal outstanding after it.
  public let remaining: Amount
}

/// The annuity arithmetic of DESIGN.md 4.7, exact in minor units.
public enum LoanMath {
  /// The monthly rate as a fraction a ÷ b: the annual percentage ÷ 100 ÷ 12.
  static func monthly(_ rate: AnnualRate) -> (a: Int64, b: Int64) {
    (rate.microPercent, 1_200_000_000)
  }

  /// The installment of a loan of `principal` minor units over `months` at `rate`:
  /// P·r ÷ (1 − (1 + r)^−n), computed exactly as the rational P·a·(a+b)ⁿ ÷ (b·((a+b)ⁿ − bⁿ)) and
  /// rounded half to even once; at a rate of 0, P ÷ n rounded half to even.
  ///
  /// - Throws: `invalid_argument` for a term outside 1 to 600 months or a non-positive
  ///   principal; `overflow` when the installment does not fit.
  public static func installment(principal: Int64, months: Int, rate: AnnualRate)
    throws(BankError) -> Int64
  {
    guard principal > 0 else {
      throw BankError(.invalidAmount, "a loan's principal must be positive")
    }
    guard (1...600).contains(months) else {
      throw BankError(.invalidArgument, "a loan's term must be 1 to 600 months, not \(months)")
    }
    let (a, b) = monthly(rate)
    if a == 0 {
      return Int64(Exact.roundHalfEven(Int128(principal), Int128(months)))
    }
    let sum = BigUInt(UInt64(a + b)).power(months)
    let bn = BigUInt(UInt64(b)).power(months)
    let numerator = BigUInt(UInt64(principal)) * BigUInt(UInt64(a)) * sum
    let denominator = BigUInt(UInt64(b)) * (sum - bn)
    guard let q = BigUInt.divideRoundingHalfEven(numerator, denominator) else {
      throw BankError(.overflow, "the installment of this loan does not fit in 64 bits")
    }
    return q
  }

  /// One month's interest on `outstanding` minor units: outstanding × r, rounded half to even.
  static func monthInterest(_ outstanding: Int64, _ rate: AnnualRate) -> Int64 {
    let (a, b) = monthly(rate)
    return Int64(Exact.roundHalfEven(Int128(outstanding) * Int128(a), Int128(b)))
  }

  /// The due date of installment `n` (1-based) of a loan disbursed on `start`: the same day of
  /// the month `n` months later, or that month's last day when it has fewer days.
  public static func due(_ n: Int, from start: Day) -> Day { start.adding(months: n) }

  /// The whole schedule: each month's interest is the remaining principal × r rounded half to
  /// even, the principal is the installment less that interest, and the last installment pays the
  /// remaining principal plus its interest. A principal part never exceeds what remains (tiny
  /// loans whose rounded installment overshoots end with zero payments).
  ///
  /// - Throws: as ``installment(principal:months:rate:)``.
  public static func schedule(
    principal: Amount, months: Int, rate: AnnualRate, start: Day
  ) throws(BankError) -> [Installment] {
    let p = principal.minorUnits
    try principal.currency.requireWithinMaximum(principal, "a loan's amount")
    let installment = try installment(principal: p, months: months, rate: rate)
    var remaining = p
    var out: [Installment] = []
    out.reserveCapacity(months)
    let c = principal.currency
    for n in 1...months {
      let interest = monthInterest(remaining, rate)
      let part: Int64
      if n == months {
        part = remaining
      } else {
        part = max(0, min(installment - interest, remaining))
      }
      let (payment, o) = interest.addingReportingOverflow(part)
      guard !o else { throw BankError(.overflow, "an installment does not fit in 64 bits") }
      remaining -= part
      out.append(
        Installment(
          number: n, due: due(n, from: start),
          payment: Amount(minorUnits: payment, currency: c),
          interest: Amount(minorUnits: interest, currency: c),
          principal: Amount(minorUnits: part, currency: c),
          remaining: Amount(minorUnits: remaining, currency: c)))
    }
    return out
  }
}
