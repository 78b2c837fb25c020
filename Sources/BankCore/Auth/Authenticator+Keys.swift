/// Idempotency keys for the commands that create or change something other than money
/// (registration, opening, staff, cards, PINs, passwords): the same key and arguments replay
/// the original outcome; the same key with other arguments is `idempotency_conflict`, naming the
/// argument. Keys are scoped to the acting principal, as the money commands' are.
struct OperationKey: Sendable {
  /// The key as records store it: its principal's scope, `/`, the key.
  let stored: String
  /// The key as its caller gave it, and its namespace.
  let text: String
  let scope: String
  /// The command, as messages name it (`customer register`).
  let command: String
  let fields: [OperationField]

  /// `nil` when no key was given. Secrets are never arguments here: they are not compared (a
  /// retry with another password is the same request) and never stored, not even hashed.
  init?(
    _ key: IdempotencyKey?, principal: Principal, command: String, arguments: [(String, String)]
  ) {
    self.init(key, scope: principal.keyScope, command: command, arguments: arguments)
  }

  /// A key in an explicit namespace (a password reset acts for nobody: its namespace is its
  /// token's).
  init?(_ key: IdempotencyKey?, scope: String, command: String, arguments: [(String, String)]) {
    guard let key else { return nil }
    stored = IdempotencyKey(unchecked: key.text, scope: scope).stored
    self.scope = scope
    text = key.text
    self.command = command
    fields = arguments.map { OperationField(name: $0.0, value: $0.1) }
  }

  /// What the command produced the first time, when this key was used before with the same
  /// command and arguments; `nil` when it is new.
  ///
  /// - Throws: `idempotency_conflict` naming the command or the argument that differs.
  func replayed(in auth: AuthState) throws(BankError) -> String? {
    guard let done = auth.operations[stored] else { return nil }
    guard done.command == command else {
      throw BankError(
        .idempotencyConflict, "key '\(text)' was already used for \(done.command), not \(command)")
    }
    let before = Dictionary(
      done.fields.map { ($0.name, $0.digest) }, uniquingKeysWith: { a, _ in a })
    let now = Dictionary(fields.map { ($0.name, $0.digest) }, uniquingKeysWith: { a, _ in a })
    // In the command's own order of arguments (the customer before the accounts of a card).
    let names = fields.map(\.name) + done.fields.map(\.name).filter { now[$0] == nil }
    for name in names where before[name] != now[name] {
      throw BankError(
        .idempotencyConflict,
        "key '\(text)' was already used for \(command) with a different \(name.replacing("_", with: " "))"
      )
    }
    return done.result
  }

  /// As ``replayed(in:)``, and also refused when a money command of the same principal used the
  /// key: the money commands and these share one namespace of keys.
  func replayed(in auth: AuthState, _ state: inout BankState, _ tx: inout Transaction)
    throws(BankError) -> String?
  {
    if let done = try replayed(in: auth) { return done }
    let key = IdempotencyKey(unchecked: text, scope: scope)
    if let t = try state.ledger.keyed(key, stage: &tx.ledgerStage, batch: tx.batch) {
      throw BankError(
        .idempotencyConflict,
        "key '\(text)' was already used for transfer #\(t.number), not \(command)")
    }
    return nil
  }

  /// The record that makes a retry replay `result`, for the batch of the change itself.
  func record(result: String, now: Instant) -> AuthRecord {
    .operationDone(key: stored, command: command, fields: fields, result: result, time: now)
  }
}

extension Optional where Wrapped == OperationKey {
  /// The original result of a keyed command done before (see ``OperationKey/replayed(in:)``).
  func replayed(in auth: AuthState) throws(BankError) -> String? {
    guard let self else { return nil }
    return try self.replayed(in: auth)
  }

  func replayed(in auth: AuthState, _ state: inout BankState, _ tx: inout Transaction)
    throws(BankError) -> String?
  {
    guard let self else { return nil }
    return try self.replayed(in: auth, &state, &tx)
  }

  /// The records to add for a keyed command that succeeded: none without a key.
  func records(result: String, now: Instant) -> [AuthRecord] {
    self.map { [$0.record(result: result, now: now)] } ?? []
  }
}
