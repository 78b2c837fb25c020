/// Keys a PIN to its card with a secret pepper: `HMAC-SHA256(pepper, PAN ‖ PIN)`.
///
/// A 4-digit PIN has 10,000 values, so any salted hash stored in the journal falls to an offline
/// search in moments. The pepper is a 32-byte secret kept outside the journal (``Pepper``), so the
/// journal alone does not let anyone test a single guess. The PAN is a fixed 16 digits, so
/// `PAN ‖ PIN` is unambiguous.
struct PINHasher: Sendable {
  private let mac: HMACSHA256

  /// A hasher keyed by `pepper`.
  init(pepper: Pepper) { mac = HMACSHA256(key: pepper.bytes) }

  /// The 32-byte code for `pin` on the card `pan`. Validate the PIN first (``validate(_:)``).
  func code(pin: String, pan: PAN) -> [UInt8] {
    mac.authenticationCode(for: Array(pan.digits.utf8) + Array(pin.utf8))
  }

  /// Throws `invalid_argument` unless `pin` is 4 to 12 ASCII digits; the message never echoes it.
  static func validate(_ pin: String) throws(BankError) {
    let bytes = pin.utf8
    guard (4...12).contains(bytes.count), bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
      throw BankError(.invalidArgument, "a PIN must be 4 to 12 digits")
    }
  }
}
