/// Which rate a `rate set` changes.
public enum RateType: UInt8, Sendable, CaseIterable, CustomStringConvertible, Codable {
  /// Paid on savings balances.
  case savings = 1
  /// Charged on negative checking balances.
  case overdraft = 2

  public var description: String { self == .savings ? "savings" : "overdraft" }

  /// Parses `savings` or `overdraft`.
  public init?(name: String) {
    guard let t = RateType.allCases.first(where: { $0.description == name }) else { return nil }
    self = t
  }

  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText { t throws(BankError) in
      guard let v = RateType(name: t) else {
        throw BankError(.invalidArgument, "unknown rate type '\(t.debugSanitized)'")
      }
      return v
    }
  }
}

/// Where a loan is in its life.
public enum LoanStatus: UInt8, Sendable, CaseIterable, CustomStringConvertible, Codable {
  /// Asked for; a manager has not decided.
  case requested = 1
  /// Refused by a manager.
  case rejected = 2
  /// Approved and disbursed; being repaid.
  case active = 3
  /// Fully repaid.
  case repaid = 4
  /// An installment is more than 90 days overdue (set by an interest run).
  case defaulted = 5

  public var description: String {
    switch self {
    case .requested: "requested"
    case .rejected: "rejected"
    case .active: "active"
    case .repaid: "repaid"
    case .defaulted: "defaulted"
    }
  }

  /// Parses the lower-case name.
  public init?(name: String) {
    guard let s = LoanStatus.allCases.first(where: { $0.description == name }) else { return nil }
    self = s
  }

  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText { t throws(BankError) in
      guard let v = LoanStatus(name: t) else {
        throw BankError(.invalidArgument, "unknown loan status '\(t.debugSanitized)'")
      }
      return v
    }
  }
}

/// A loan's number: `L000001`.
public struct LoanID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
  /// The first loan requested is 1.
  public let rawValue: UInt32
  /// Wraps a number.
  public init(_ rawValue: UInt32) { self.rawValue = rawValue }

  /// Parses `L` and six digits (`L000001`), or `L` and the number without leading zeros from
  /// `L1000000` on.
  ///
  /// - Throws: `invalid_argument` naming the form.
  public init(parsing text: String) throws(BankError) {
    let b = Array(text.utf8)
    let digits = b.dropFirst()
    guard b.count >= 7, b.count <= 11, b[0] == UInt8(ascii: "L") || b[0] == UInt8(ascii: "l"),
      digits.allSatisfy({ $0 >= 48 && $0 <= 57 }),
      let v = UInt32(String(decoding: digits, as: UTF8.self)), v >= 1,
      digits.count == 6 ? v < 1_000_000 : digits.first != 48
    else {
      throw BankError(
        .invalidArgument,
        "invalid loan '\(text.debugSanitized)': expected L and six digits, such as L000001")
    }
    rawValue = v
  }

  public var description: String {
    let s = String(rawValue)
    return "L" + String(repeating: "0", count: max(0, 6 - s.count)) + s
  }

  public static func < (a: LoanID, b: LoanID) -> Bool { a.rawValue < b.rawValue }
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(description) }
  public init(from decoder: any Decoder) throws {
    self = try decoder.decodeText(LoanID.init(parsing:))
  }
}

/// The products core's records: tags 96–127 (DESIGN.md 1, `Docs/FileFormat.md`).
enum ProductRecord: Sendable, Equatable {
  /// A rate in force from a day on.
  case rateSet(type: RateType, from: Day, rate: AnnualRate, time: Instant)
  /// An account's interest accrued through a day: `amount` in units of 1/36,500,000,000 of a
  /// minor unit (``Exact/accrualDenominator``), unrounded; `balance` is the account's posted
  /// balance at the end of that day (where the next run starts).
  case accrued(account: AccountID, through: Day, amount: Int128, balance: Int64, time: Instant)
  /// A month's interest posted (the transfer is the ledger record in the same batch): the
  /// accrual is emptied and what rounding left is carried.
  case interestPosted(
    account: AccountID, month: YearMonth, amount: Int64, carry: Int128, time: Instant)
  /// A loan asked for.
  case loanRequested(
    loan: LoanID, customer: CustomerID, account: AccountID, principal: Int64, months: Int,
    rate: AnnualRate, time: Instant)
  /// A loan approved and disbursed from its own account (opened in the same batch) on `start`.
  case loanApproved(
    loan: LoanID, loanAccount: AccountID, start: Day, installment: Int64, time: Instant)
  /// A loan refused.
  case loanRejected(loan: LoanID, reason: String, time: Instant)
  /// Interest of the loan's periods charged through period `charged`: `interestDue` is now owed.
  case loanCharged(loan: LoanID, charged: Int, interestDue: Int64, time: Instant)
  /// A repayment: interest first, then principal (the transfers are in the same batch).
  case loanRepaid(loan: LoanID, interest: Int64, principal: Int64, time: Instant)
  /// A loan's status set by the bank (`defaulted`, or `repaid`).
  case loanStatus(loan: LoanID, status: LoanStatus, time: Instant)
  /// A transfer reversed by an opposite one.
  case reversed(original: UInt64, reversal: UInt64, reason: String, time: Instant)

  enum Tag: UInt8, CaseIterable {
    case rateSet = 96, accrued, interestPosted, loanRequested, loanApproved, loanRejected,
      loanCharged, loanRepaid, loanStatus, reversed

    var name: String {
      switch self {
      case .rateSet: "rate_set"
      case .accrued: "interest_accrued"
      case .interestPosted: "interest_posted"
      case .loanRequested: "loan_requested"
      case .loanApproved: "loan_approved"
      case .loanRejected: "loan_rejected"
      case .loanCharged: "loan_charged"
      case .loanRepaid: "loan_repaid"
      case .loanStatus: "loan_status"
      case .reversed: "transfer_reversed"
      }
    }
  }

  var tag: Tag {
    switch self {
    case .rateSet: .rateSet
    case .accrued: .accrued
    case .interestPosted: .interestPosted
    case .loanRequested: .loanRequested
    case .loanApproved: .loanApproved
    case .loanRejected: .loanRejected
    case .loanCharged: .loanCharged
    case .loanRepaid: .loanRepaid
    case .loanStatus: .loanStatus
    case .reversed: .reversed
    }
  }

  var time: Instant {
    switch self {
    case .rateSet(_, _, _, let t), .accrued(_, _, _, _, let t), .interestPosted(_, _, _, _, let t),
      .loanRequested(_, _, _, _, _, _, let t), .loanApproved(_, _, _, _, let t),
      .loanRejected(_, _, let t), .loanCharged(_, _, _, let t), .loanRepaid(_, _, _, let t),
      .loanStatus(_, _, let t), .reversed(_, _, _, let t):
      t
    }
  }

  func encode(into w: inout ByteWriter) {
    w.u8(tag.rawValue)
    w.u8(1)
    switch self {
    case .rateSet(let type, let from, let rate, let time):
      w.u8(type.rawValue)
      w.i64(Int64(from.number))
      w.i64(rate.microPercent)
      w.instant(time)
    case .accrued(let account, let through, let amount, let balance, let time):
      w.u32(account.rawValue)
      w.i64(Int64(through.number))
      w.i128(amount)
      w.i64(balance)
      w.instant(time)
    case .interestPosted(let account, let month, let amount, let carry, let time):
      w.u32(account.rawValue)
      w.u16(UInt16(month.year))
      w.u8(UInt8(month.month))
      w.i64(amount)
      w.i128(carry)
      w.instant(time)
    case .loanRequested(
      let loan, let customer, let account, let principal, let months, let rate, let time):
      w.u32(loan.rawValue)
      w.u32(customer.rawValue)
      w.u32(account.rawValue)
      w.i64(principal)
      w.u16(UInt16(months))
      w.i64(rate.microPercent)
      w.instant(time)
    case .loanApproved(let loan, let loanAccount, let start, let installment, let time):
      w.u32(loan.rawValue)
      w.u32(loanAccount.rawValue)
      w.i64(Int64(start.number))
      w.i64(installment)
      w.instant(time)
    case .loanRejected(let loan, let reason, let time):
      w.u32(loan.rawValue)
      w.string(reason)
      w.instant(time)
    case .loanCharged(let loan, let charged, let interestDue, let time):
      w.u32(loan.rawValue)
      w.u32(UInt32(charged))
      w.i64(interestDue)
      w.instant(time)
    case .loanRepaid(let loan, let interest, let principal, let time):
      w.u32(loan.rawValue)
      w.i64(interest)
      w.i64(principal)
      w.instant(time)
    case .loanStatus(let loan, let status, let time):
      w.u32(loan.rawValue)
      w.u8(status.rawValue)
      w.instant(time)
    case .reversed(let original, let reversal, let reason, let time):
      w.u64(original)
      w.u64(reversal)
      w.string(reason)
      w.instant(time)
    }
  }

  static func decode(_ r: inout ByteReader) throws(DecodeError) -> ProductRecord {
    let (rawTag, _) = try RecordCodec.header(
      &r, core: "products", tags: ProductState.tags, name: { Tag(rawValue: $0)?.name },
      newest: { Tag(rawValue: $0) == nil ? 0 : 1 })
    guard let tag = Tag(rawValue: rawTag) else { throw DecodeError("unknown products record tag") }
    func day() throws(DecodeError) -> Day {
      let n = try r.i64()
      guard n > -1_000_000, n < 10_000_000 else { throw DecodeError("day \(n) out of range") }
      return Day(number: Int(n))
    }
    func rate() throws(DecodeError) -> AnnualRate {
      let v = try r.i64()
      guard v >= 0, v <= AnnualRate.maximum.microPercent else {
        throw DecodeError("rate \(v) out of range")
      }
      return AnnualRate(microPercent: v)
    }
    func loan() throws(DecodeError) -> LoanID { LoanID(try r.u32()) }
    switch tag {
    case .rateSet:
      guard let type = RateType(rawValue: try r.u8()) else {
        throw DecodeError("unknown rate type")
      }
      return .rateSet(type: type, from: try day(), rate: try rate(), time: try r.instant())
    case .accrued:
      return .accrued(
        account: AccountID(try r.u32()), through: try day(), amount: try r.i128(),
        balance: try r.i64(), time: try r.instant())
    case .interestPosted:
      let account = AccountID(try r.u32())
      let year = Int(try r.u16())
      let month = Int(try r.u8())
      guard (1...12).contains(month) else { throw DecodeError("month \(month) out of range") }
      return .interestPosted(
        account: account, month: YearMonth(year: year, month: month), amount: try r.i64(),
        carry: try r.i128(), time: try r.instant())
    case .loanRequested:
      return .loanRequested(
        loan: try loan(), customer: CustomerID(try r.u32()), account: AccountID(try r.u32()),
        principal: try r.i64(), months: Int(try r.u16()), rate: try rate(), time: try r.instant())
    case .loanApproved:
      return .loanApproved(
        loan: try loan(), loanAccount: AccountID(try r.u32()), start: try day(),
        installment: try r.i64(), time: try r.instant())
    case .loanRejected:
      return .loanRejected(loan: try loan(), reason: try r.string(), time: try r.instant())
    case .loanCharged:
      return .loanCharged(
        loan: try loan(), charged: Int(try r.u32()), interestDue: try r.i64(),
        time: try r.instant())
    case .loanRepaid:
      return .loanRepaid(
        loan: try loan(), interest: try r.i64(), principal: try r.i64(), time: try r.instant())
    case .loanStatus:
      let l = try loan()
      guard let s = LoanStatus(rawValue: try r.u8()) else {
        throw DecodeError("unknown loan status")
      }
      return .loanStatus(loan: l, status: s, time: try r.instant())
    case .reversed:
      return .reversed(
        original: try r.u64(), reversal: try r.u64(), reason: try r.string(),
        time: try r.instant())
    }
  }
}

extension ByteWriter {
  mutating func i128(_ v: Int128) {
    u64(UInt64(truncatingIfNeeded: v))
    u64(UInt64(truncatingIfNeeded: v >> 64))
  }
}

extension ByteReader {
  mutating func i128() throws(DecodeError) -> Int128 {
    let low = try u64()
    let high = Int64(bitPattern: try u64())
    return Int128(high) << 64 | Int128(low)
  }
}
