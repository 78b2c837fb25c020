import Testing

@testable import BankCore

@Suite struct AuthPermissionTests {
  /// DESIGN.md section 5, transcribed row by row: (operations, customer, teller, manager,
  /// auditor, operator). The lockout lift is the issue's "a manager can lift it".
  static let design: [([BankOperation], [Bool])] = [
    (
      [.balance, .history, .statement, .transferOut, .ownDetails, .blockOwnCard, .requestLoan],
      [true, false, false, false, true]
    ),
    (
      [
        .registerCustomer, .updateCustomer, .openAccount, .deposit, .withdraw, .issueCard,
        .lookUpAccount,
      ],
      [false, true, true, false, true]
    ),
    (
      [
        .freeze, .unfreeze, .close, .overdraft, .unblockCard, .liftLockout, .revokeSessions,
        .approveLoan,
        .rejectLoan, .setRates, .runInterest, .reverse, .loadATM, .serviceATM,
      ],
      [false, false, true, false, true]
    ),
    ([.reports, .export, .verify, .events, .readAnyAccount], [false, false, true, true, true]),
    ([.addStaff, .resetPINKey], [false, false, false, false, true]),
    // Issue 20: `atm status` and `atm mix` for every member of staff.
    ([.viewATMs], [false, true, true, true, true]),
  ]

  static let principals: [Principal] = [
    .customer(CustomerID(1)), .staff(username: "t", role: .teller),
    .staff(username: "m", role: .manager), .staff(username: "a", role: .auditor), .operator,
  ]

  @Test func theTableCoversEveryOperationOnce() {
    let listed = Self.design.flatMap(\.0)
    #expect(listed.count == Set(listed).count)
    #expect(Set(listed) == Set(BankOperation.allCases))
  }

  @Test func everyRoleTimesEveryOperationMatchesDesign() {
    for (operations, row) in Self.design {
      for operation in operations {
        for (principal, expected) in zip(Self.principals, row) {
          #expect(
            operation.isAllowed(for: principal, ownsTarget: true) == expected,
            "\(operation) for \(principal)")
          // Only a customer's rights depend on ownership, and never without it.
          let unowned = operation.isAllowed(for: principal, ownsTarget: false)
          if case .customer = principal {
            #expect(!unowned, "\(operation) for a customer on what they do not own")
          } else {
            #expect(unowned == expected, "\(operation) for \(principal), not owned")
          }
        }
      }
    }
  }

  @Test func deniedOperationsThrowPermissionDenied() {
    #expect(throws: BankError(.permissionDenied, "a teller may not add staff")) {
      try requirePermission(
        .addStaff, for: .staff(username: "t", role: .teller), ownsTarget: false)
    }
    #expect(throws: BankError.self) {
      try requirePermission(.balance, for: .customer(CustomerID(1)), ownsTarget: false)
    }
  }
}
