import BankCore
import Foundation

// Cards, PINs and the PIN key.

extension Commands {
  /// Cards, PINs and the PIN key.
  static let cards: [CommandSpec] = [
    CommandSpec(
      name: "card issue", valueOptions: ["customer", "id"], flagOptions: [], positionals: [],
      summary: "Issue a card linked to a customer's accounts.",
      usage:
        "bankctl card issue --customer <customer> --account <account> [--account <account> ...] [--id <key>]",
      repeatable: ["account"],
      details: """
        OPTIONS:
          --customer <customer>   The cardholder.
          --account <account>     A linked account of theirs (repeat for more; the first is the
                                  default at a terminal).

        JSON: {"card","customer","accounts","expires","status"}; the only output with the full number.
        """,
      permission: .operation(.issueCard),
      run: { try $0.cardIssue() }),
    CommandSpec(
      name: "card set-pin", valueOptions: ["id"], flagOptions: [], positionals: ["pan"],
      summary: "Set a card's PIN.",
      usage: "bankctl card set-pin <pan> [--id <key>]  (new PIN on stdin)",
      details: """
        ARGUMENTS:
          <pan>                   The card number (16 digits).

        SECRETS (stdin): the PIN, 4 to 12 digits. A customer sets only a card's first PIN and
        replaces it with card change-pin; staff and the operator set PINs at the counter.
        JSON: {"card","status"} (masked)
        """,
      permission: .operation(.issueCard),
      run: { try $0.cardSetPIN(change: false) }),
    CommandSpec(
      name: "card change-pin", valueOptions: ["id"], flagOptions: [], positionals: ["pan"],
      summary: "Change a card's PIN.",
      usage: "bankctl card change-pin <pan> [--id <key>]  (old PIN, then new PIN, on stdin)",
      details: """
        ARGUMENTS:
          <pan>                   The card number (16 digits).

        SECRETS (stdin, one line each): old PIN, new PIN. A wrong old PIN counts towards the card's
        three tries. JSON: {"card","status"} (masked)
        """,
      permission: .operation(.blockOwnCard),
      run: { try $0.cardSetPIN(change: true) }),
    CommandSpec(
      name: "card block", valueOptions: ["id"], flagOptions: [], positionals: ["pan"],
      summary: "Block a card (lost or stolen).", usage: "bankctl card block <pan> [--id <key>]",
      details: """
        ARGUMENTS:
          <pan>                   The card number (16 digits).

        The cardholder, tellers, managers and the operator. JSON: {"card","status"} (masked)
        """,
      permission: .operation(.blockOwnCard),
      run: { try $0.cardBlock(true) }),
    CommandSpec(
      name: "card unblock", valueOptions: ["id"], flagOptions: [], positionals: ["pan"],
      summary: "Unblock a card (manager or operator).",
      usage: "bankctl card unblock <pan> [--id <key>]",
      details: """
        ARGUMENTS:
          <pan>                   The card number (16 digits).

        Managers and the operator; also clears the PIN tries. JSON: {"card","status"} (masked)
        """,
      permission: .operation(.unblockCard),
      run: { try $0.cardBlock(false) }),
    CommandSpec(
      name: "pin-key reset", valueOptions: ["id"], flagOptions: [], positionals: [],
      summary: "Replace a lost PIN key, clearing every card's PIN (operator only).",
      usage: "bankctl pin-key reset [--id <key>]",
      details: """
        For a store whose PIN key file (STORE.key) was lost: no PIN can be checked without it.
        Clears the PIN of every card in one batch, then creates a new key file (mode 0600). Each
        card then takes card set-pin again (at the counter, or by its holder). Refused while the key
        file exists. Operator only.
        JSON: {"ok":true,"cards_cleared","key_file"}
        """,
      permission: .operation(.resetPINKey),
      run: { try $0.pinKeyReset() }),
  ]
}

extension CommandContext {
  /// `{"card","status"}`, the card masked: what the PIN and block commands print.
  func cardJSON(_ card: Card) -> JSON {
    .object([("card", .string(card.pan.masked)), ("status", .string(card.status.description))])
  }

  /// `pin-key reset`: a new PIN key for a store whose key file was lost, after clearing every
  /// card's PIN in one batch (the records first, then the key: a crash between them leaves cards
  /// without PINs and no key, which the next card command creates; never a key under which old
  /// PINs would silently be wrong).
  func pinKeyReset() throws {
    let keyPath = opener.pinKeyLocation
    let k = try key()
    let cleared = try withBank { a in
      try a.require(.resetPINKey)
      if let k, let n = try a.auth.hasCompleted(pinKeyReset: k, as: a.principal) {
        // A retry of a reset that committed: finish it (the key file may not exist yet).
        _ = try opener.pinKey(create: true)
        return n
      }
      if opener.pinKeyExists() {
        throw BankError(
          .invalidArgument,
          "the PIN key file \(Validate.escaped(keyPath, limit: nil)) exists: pin-key reset is for a store whose key was lost (move the file away first to make every PIN invalid on purpose)"
        )
      }
      let n = try a.auth.clearAllPINs(key: k, as: a.principal)
      _ = try opener.pinKey(create: true)
      return n
    }
    emit(
      .object([
        ("ok", .bool(true)), ("cards_cleared", .int(Int64(cleared))),
        ("key_file", .string(keyPath)),
      ]),
      human: """
        Created a new PIN key \(Validate.escaped(keyPath, limit: nil)) and cleared the PIN of \(cleared) card\(cleared == 1 ? "" : "s").
        Set each card's PIN again: card set-pin at the counter, or by its holder.
        """)
  }

  func cardIssue() throws {
    let k = try key()
    let id = try customerID(try requiredOption("customer", "card issue"))
    let numbers = try parsed.repeated["account", default: []].map { t in try account(t) }
    guard !numbers.isEmpty else {
      throw UsageError(message: "missing option '--account'", command: "card issue")
    }
    // Checked before the store is opened, as every argument is.
    try Authenticator.validateCardAccounts(numbers)
    let issued = try withBank(pins: .create) { a in
      try a.auth.issueCard(customer: id, accounts: numbers, key: k, as: a.principal)
    }
    emit(
      JSON.encoding(issued),
      human: """
        Issued card \(issued.pan) to customer \(id) (expires \(issued.card.expiry))
          accounts: \(issued.accounts.map(\.description).joined(separator: ", "))
        The full number is shown only here; set its PIN with 'bankctl card set-pin'.
        """)
  }

  func cardSetPIN(change: Bool) throws {
    let k = try key()
    let pan = parsed.positionals[0]
    let old = change ? try secrets.read("old PIN") : nil
    let pin = try secrets.read(change ? "new PIN" : "PIN", confirm: true)
    let card = try withBank(pins: .create) { a -> Card in
      if let old {
        return try a.auth.changePIN(pan: pan, oldPIN: old, newPIN: pin, key: k, as: a.principal)
      }
      return try a.auth.setPIN(pan: pan, pin: pin, key: k, as: a.principal)
    }
    emit(cardJSON(card), human: "PIN \(change ? "changed" : "set") for card \(card.pan.masked)")
  }

  func cardBlock(_ block: Bool) throws {
    let k = try key()
    let pan = parsed.positionals[0]
    let card = try withBank { a in
      block
        ? try a.auth.blockCard(pan: pan, key: k, as: a.principal)
        : try a.auth.unblockCard(pan: pan, key: k, as: a.principal)
    }
    emit(cardJSON(card), human: "Card \(card.pan.masked) is now \(card.status)")
  }
}
