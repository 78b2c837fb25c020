import BankCore
import Foundation
import Hummingbird

/// The ATM host routes (DESIGN.md 6): a remote terminal runs its cardholders' sessions against
/// the bank, authenticated with its key (`Authorization: Terminal KEY`). A PIN is accepted only
/// over TLS or from loopback, and never logged.
extension BankAPI {
  /// The terminal of the path, once its key is checked.
  func terminal(_ request: Request, _ context: BankRequestContext) async throws -> String {
    let id = context.parameters.get("id") ?? ""
    guard let header = request.headers[.authorization], header.hasPrefix("Terminal ") else {
      throw Self.badTerminal
    }
    let key = String(header.dropFirst("Terminal ".count))
    let ok = await fleet.perform { f in (try? f.authenticateTerminal(id, key: key)) != nil }
    guard ok else { throw Self.badTerminal }
    guard tls || Self.isLoopback(context.clientAddress) else {
      throw ServiceError(
        .forbidden, "permission_denied",
        "PINs travel only over TLS or loopback: start bankd with --tls-cert and --tls-key")
    }
    return id
  }

  static let badTerminal = ServiceError(
    .unauthorized, "authentication_failed",
    "send Authorization: Terminal KEY with the key bankctl atm register printed for this terminal"
  )

  static func isLoopback(_ address: String) -> Bool {
    address == "::1" || address.hasPrefix("127.") || address.hasPrefix("::ffff:127.")
  }

  /// The card, the PIN and the optional account of a host request.
  func cardholder(_ body: Body) throws -> (card: String, pin: String, account: AccountNumber?) {
    let card = try body.requiredString("card")
    let pin = try body.requiredString("pin")
    let account = try body.string("account").map { s throws in try AccountNumber(parsing: s) }
    return (card, pin, account)
  }

  func registerTerminalRoutes(on router: Router<BankRequestContext>) {
    router.post("/v1/terminals/:id/withdrawals") { [self] request, context in
      var request = request
      return await handle {
        let terminal = try await terminal(request, context)
        let body = try await Body.read(
          &request, allowed: ["card", "pin", "amount", "account"],
          required: ["card", "pin", "amount"])
        let (card, pin, account) = try cardholder(body)
        let text = try body.requiredString("amount")
        let pending = try await fleet.perform { f throws(BankError) -> PendingWithdrawal in
          let currency = try f.currency(of: terminal) ?? .usd
          let amount = try Amount(parsing: text, currency: currency)
          var session = try ATMSession(
            fleet: f, terminal: terminal, card: card, device: RemoteCashDevice())
          try session.enterPIN(pin)
          return try session.authorizeWithdrawal(amount, from: account)
        }
        return try Reply.encoding(pending, status: .created)
      }
    }
    router.post("/v1/terminals/:id/withdrawals/:hold/complete") { [self] request, context in
      var request = request
      return await handle {
        let terminal = try await terminal(request, context)
        guard let hold = context.parameters.get("hold").flatMap({ UInt64($0) }) else {
          throw ServiceError.badRequest("the hold is the number a withdrawal answered")
        }
        let body = try await Body.read(&request, allowed: ["taken"], required: ["taken"])
        guard let taken = try body.bool("taken") else {
          throw ServiceError.badRequest("taken must be true or false")
        }
        let account = try await fleet.perform { f throws(BankError) in
          try f.completeWithdrawal(hold: hold, taken: taken, terminal: terminal)
        }
        return try Reply.encoding(account)
      }
    }
    router.post("/v1/terminals/:id/balance-inquiries") { [self] request, context in
      var request = request
      return await handle {
        let terminal = try await terminal(request, context)
        let body = try await Body.read(
          &request, allowed: ["card", "pin", "account"], required: ["card", "pin"])
        let (card, pin, account) = try cardholder(body)
        let balance = try await fleet.perform { f throws(BankError) -> Account in
          var session = try ATMSession(
            fleet: f, terminal: terminal, card: card, device: RemoteCashDevice())
          try session.enterPIN(pin)
          return try session.balance(of: account)
        }
        return try Reply.encoding(balance)
      }
    }
  }
}
