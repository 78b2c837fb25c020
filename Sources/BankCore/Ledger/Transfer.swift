/// A caller-chosen idempotency key: 1 to 64 characters from `A-Z a-z 0-9 . _ : -`.
///
/// A command that carries a key is done at most once: a retry with the same key and the same
/// fields returns the original result (`replayed`), one with different fields is refused with
/// `idempotency_conflict`. Keys are kept forever (see `Docs/CLI.md`), so a retry gets the original
/// result at any age. An ATM's withdrawal and a REST request's `Idempotency-Key` header are keys.
public struct IdempotencyKey: Sendable, Hashable, Comparable, CustomStringConvertible,
  Encodable
{
  /// The key's text.
  public let text: String
  /// Whose namespace the key is in: the acting principal's (``Principal/keyScope``); `nil` for
  /// the operator's, which is also ``Ledger``'s. Keys of two principals never collide.
  let scope: String?

  /// Validates a key.
  ///
  /// - Throws: `invalid_key` naming the text unless it is 1 to 64 characters from
  ///   `A-Z a-z 0-9 . _ : -`.
  public init(_ text: String) throws(BankError) {
    try Validate.key(text)
    self.text = text
    self.scope = nil
  }

  /// A key already known to be valid (read back from a record).
  init(unchecked text: String, scope: String? = nil) {
    self.text = text
    self.scope = scope
  }

  /// The same key in `principal`'s namespace.
  func scoped(to principal: Principal) -> IdempotencyKey {
    IdempotencyKey(unchecked: text, scope: principal.keyScope)
  }

  /// The operator's scope (and ``Ledger``'s, which acts as the operator).
  static let operatorScope = "operator"

  /// The form records store: the scope, `/`, the key. A key itself never holds `/`, so a stored
  /// key without one was written before keys were scoped (a release before issue 17): those stay
  /// in one namespace shared by every principal, so that a retry after the upgrade replays.
  var stored: String { (scope ?? Self.operatorScope) + "/" + text }

  /// A transfer's public identifier (``Transfer/id``): the operator's key as it was given (the
  /// identifier `bankctl --id` has printed since the first release), else `#` and the transfer's
  /// number. A key a customer or staff member sent (over HTTP, or with a session) is private to
  /// them and not unique across principals, so it never names the transfer: the counterparty
  /// and every other reader see the number.
  static func publicID(stored: String?, number: UInt64) -> String {
    guard let stored else { return "#\(number)" }
    guard let slash = stored.lastIndex(of: "/") else { return stored }
    guard stored[..<slash] == operatorScope else { return "#\(number)" }
    return String(stored[stored.index(after: slash)...])
  }

  /// The key as its caller gave it, from a stored key of either form.
  static func display(_ stored: String) -> Substring {
    guard let slash = stored.lastIndex(of: "/") else { return Substring(stored) }
    return stored[stored.index(after: slash)...]
  }

  public static func == (a: IdempotencyKey, b: IdempotencyKey) -> Bool { a.text == b.text }
  public func hash(into h: inout Hasher) { h.combine(text) }

  /// The key's text.
  public var description: String { text }

  /// Orders keys by their text.
  public static func < (a: IdempotencyKey, b: IdempotencyKey) -> Bool { a.text < b.text }

  /// Encodes as the key's text.
  public func encode(to encoder: any Encoder) throws { try encoder.encodeText(text) }
}

/// A committed transfer or hold, as the ledger recorded it: the public view of its journal record.
///
/// "Transfer" is the one name for the concept: a deposit, a withdrawal, a transfer between two
/// accounts and a pending hold are all transfers of one positive amount from a debit account to a
/// credit account.
public struct Transfer: Sendable, Equatable {
  // The fields are stored flat, widest first, and without the record's history links: a batch
  // builds and moves one per outcome, so its size is the commit path's cost (88 bytes).

  /// The ledger-assigned transfer number, unique and increasing.
  public let number: UInt64
  /// The caller's key as text (kept as the record holds it; ``key`` wraps it).
  let keyText: String?
  /// The account debited.
  public let debit: AccountNumber
  /// The account credited.
  public let credit: AccountNumber
  /// When it was recorded, in nanoseconds since 1970.
  let nanoseconds: Int64
  /// The caller's memo.
  public let memo: String
  /// When the hold lapses in nanoseconds since 1970, or 0 when it does not.
  let expiryNanoseconds: Int64
  /// The amount moved (or reserved, for a hold).
  public let amount: Amount
  /// What kind of movement it is.
  public let kind: TransferKind
  /// Whether it is a pending hold rather than a posted movement.
  public let isHold: Bool

  init(
    number: UInt64, keyText: String?, debit: AccountNumber, credit: AccountNumber,
    nanoseconds: Int64, memo: String, expiryNanoseconds: Int64, amount: Amount,
    kind: TransferKind, isHold: Bool
  ) {
    self.number = number
    self.keyText = keyText
    self.debit = debit
    self.credit = credit
    self.nanoseconds = nanoseconds
    self.memo = memo
    self.expiryNanoseconds = expiryNanoseconds
    self.amount = amount
    self.kind = kind
    self.isHold = isHold
  }

  init(_ r: TransferRecord, debit: AccountNumber, credit: AccountNumber, currency: Currency) {
    number = r.number
    keyText = r.key
    self.debit = debit
    self.credit = credit
    nanoseconds = r.timestamp
    memo = r.memo
    expiryNanoseconds = r.expiresAt
    amount = Amount(minorUnits: r.amount, currency: currency)
    kind = r.kind
    isHold = r.isHold
  }

  /// The caller's idempotency key, if it gave one.
  public var key: IdempotencyKey? {
    keyText.map { IdempotencyKey(unchecked: String(IdempotencyKey.display($0))) }
  }
  /// When it was recorded.
  public var time: Instant { Instant(nanoseconds: nanoseconds) }
  /// When the hold lapses, if it is a hold that expires.
  public var expiresAt: Instant? {
    expiryNanoseconds == 0 ? nil : Instant(nanoseconds: expiryNanoseconds)
  }

  /// The transfer's public identifier: the operator's key (`bankctl --id`), or `#` and the
  /// number (always for a key a customer or staff member sent: it is theirs alone, and not
  /// unique across principals).
  public var id: String { IdempotencyKey.publicID(stored: keyText, number: number) }

  /// The transfer's public identifier; see ``id``.
  @available(*, deprecated, renamed: "id")
  public var transferID: String { id }

  /// When it was recorded, in nanoseconds since 1970; see ``time``.
  @available(*, deprecated, message: "use time, an Instant")
  public var timestamp: Int64 { nanoseconds }
}

/// How a pending hold ended: posted (in full or in part), voided or expired.
public struct HoldResolution: Sendable, Hashable {
  /// The transfer number of the resolution itself.
  public let number: UInt64
  /// The transfer number of the hold it resolved.
  public let hold: UInt64
  /// What happened to the hold.
  public let outcome: HoldOutcome
  /// The amount posted (zero when voided or expired).
  public let amount: Amount
  /// When it was recorded.
  public let time: Instant
}

extension LedgerState {
  /// The public view of a transfer record.
  @inline(__always)
  func publicTransfer(_ r: TransferRecord) -> Transfer {
    Transfer(
      r, debit: info[r.debit.index].number, credit: info[r.credit.index].number,
      currency: info[r.debit.index].currency)
  }

  /// The public view of a hold's resolution, in the hold's currency.
  func publicResolution(_ r: HoldResolved, currency: Currency) -> HoldResolution {
    HoldResolution(
      number: r.number, hold: r.hold, outcome: r.outcome,
      amount: Amount(minorUnits: r.amount, currency: currency),
      time: Instant(nanoseconds: r.timestamp))
  }

  /// The public form of what a staged command did.
  func publicOutcome(_ o: StagedOutcome) -> LedgerOutcome {
    switch o {
    case .opened(let id): .opened(id)
    case .transferred(let t, let replayed): .transferred(publicTransfer(t), replayed: replayed)
    case .holdResolved(let r, let currency): .holdResolved(publicResolution(r, currency: currency))
    case .expired(let n): .expired(count: n)
    case .changed(let id): .changed(id)
    }
  }
}

/// What one staged command did, in the journal's terms (the public form is ``LedgerOutcome``).
enum StagedOutcome {
  case opened(AccountID)
  case transferred(TransferRecord, replayed: Bool)
  case holdResolved(HoldResolved, currency: Currency)
  case expired(Int)
  case changed(AccountID)
}
