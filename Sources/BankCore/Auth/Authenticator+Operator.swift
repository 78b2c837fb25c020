// The calls that once defaulted their principal to the operator. Forgetting `as:` silently acted
// with every right; the principal is now required, and these overloads keep old code compiling
// for one release, with a warning that names the risk.

extension Authenticator {
  /// ``registerCustomer(_:password:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func registerCustomer(
    _ registration: CustomerRegistration, password: String, key: IdempotencyKey? = nil
  ) throws(BankError) -> Customer {
    try registerCustomer(registration, password: password, key: key, as: .operator)
  }

  /// ``openAccount(for:spec:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func openAccount(for customer: CustomerID, spec: AccountSpec, key: IdempotencyKey? = nil)
    throws(BankError) -> Account
  {
    try openAccount(for: customer, spec: spec, key: key, as: .operator)
  }

  /// ``updateCustomer(_:_:currentPassword:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func updateCustomer(
    _ id: CustomerID, _ update: CustomerUpdate, currentPassword: String? = nil,
    key: IdempotencyKey? = nil
  ) throws(BankError) -> Customer {
    try updateCustomer(id, update, currentPassword: currentPassword, key: key, as: .operator)
  }

  /// ``customer(_:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func customer(_ id: CustomerID) throws(BankError) -> Customer {
    try customer(id, as: .operator)
  }

  /// ``detailsHistory(of:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func detailsHistory(of id: CustomerID) throws(BankError) -> [DetailsChange] {
    try detailsHistory(of: id, as: .operator)
  }

  /// ``addStaff(username:name:role:password:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func addStaff(
    username: String, name: String, role: Role, password: String, key: IdempotencyKey? = nil
  ) throws(BankError) -> StaffMember {
    try addStaff(
      username: username, name: name, role: role, password: password, key: key, as: .operator)
  }

  /// ``issueCard(customer:accounts:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func issueCard(customer: CustomerID, accounts: [AccountNumber], key: IdempotencyKey? = nil)
    throws(BankError) -> IssuedCard
  {
    try issueCard(customer: customer, accounts: accounts, key: key, as: .operator)
  }

  /// ``card(_:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func card(_ pan: String) throws(BankError) -> Card {
    try card(pan, as: .operator)
  }

  /// ``setPIN(pan:pin:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  @discardableResult
  public func setPIN(pan: String, pin: String, key: IdempotencyKey? = nil) throws(BankError) -> Card
  {
    try setPIN(pan: pan, pin: pin, key: key, as: .operator)
  }

  /// ``changePIN(pan:oldPIN:newPIN:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  @discardableResult
  public func changePIN(pan: String, oldPIN: String, newPIN: String, key: IdempotencyKey? = nil)
    throws(BankError) -> Card
  {
    try changePIN(pan: pan, oldPIN: oldPIN, newPIN: newPIN, key: key, as: .operator)
  }

  /// ``blockCard(pan:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func blockCard(pan: String, key: IdempotencyKey? = nil) throws(BankError) -> Card {
    try blockCard(pan: pan, key: key, as: .operator)
  }

  /// ``unblockCard(pan:key:as:)`` as the operator, with every right.
  @available(
    *, deprecated,
    message: "pass `as:` explicitly: without it the call acts as the operator, with every right"
  )
  public func unblockCard(pan: String, key: IdempotencyKey? = nil) throws(BankError) -> Card {
    try unblockCard(pan: pan, key: key, as: .operator)
  }
}
