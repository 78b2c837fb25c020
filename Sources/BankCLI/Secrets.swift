import BankCore

#if canImport(Glibc)
  import Glibc
#endif

/// Reads the secrets a command needs (passwords, PINs, reset tokens), never from an argument.
///
/// When standard input is not a terminal each secret is one line of it, in the order the
/// command's help lists them. On a terminal each is prompted for on standard error with echo
/// off, and asked twice when it is being set. Secrets are never echoed, logged or printed.
final class SecretInput {
  /// Lines given by a test instead of standard input.
  private var scripted: [String]?

  /// Reads standard input (or, when `lines` is given, those lines, as a test would).
  init(lines: [String]? = nil) { scripted = lines }

  /// The next secret.
  ///
  /// - Parameters:
  ///   - label: what is asked for, as the help names it ("password", "new PIN").
  ///   - confirm: ask twice on a terminal (the secret is being set).
  /// - Throws: `invalid_argument` when standard input ends first or the two entries differ.
  func read(_ label: String, confirm: Bool = false) throws -> String {
    if scripted != nil {
      guard let line = scripted?.first else { throw missing(label) }
      scripted?.removeFirst()
      return line
    }
    if isatty(0) == 1 {
      let first = try prompt("\(label.prefix(1).uppercased() + label.dropFirst()): ", label)
      if confirm {
        let again = try prompt("Repeat the \(label): ", label)
        guard again == first else {
          throw BankError(.invalidArgument, "the two entries of the \(label) differ")
        }
      }
      return first
    }
    guard let line = try line(label) else { throw missing(label) }
    return line
  }

  /// The next line that is not a secret (a request of `atm session`), or `nil` at the end of
  /// the input; on a terminal `prompt` is shown first, with echo on.
  func plainLine(prompt: String) throws -> String? {
    if scripted != nil {
      guard let line = scripted?.first else { return nil }
      scripted?.removeFirst()
      return line
    }
    if isatty(0) == 1 { _ = prompt.withCString { write(2, $0, strlen($0)) } }
    return try line("request")
  }

  /// Whether the input is a terminal (a person at a keyboard rather than a script).
  var isTerminal: Bool { scripted == nil && isatty(0) == 1 }

  /// One line of standard input without its line ending (`\n` or `\r\n`), or `nil` at its end.
  ///
  /// - Throws: `invalid_argument` when the line is not UTF-8: decoded with replacement characters,
  ///   two different passwords would be one.
  private func line(_ label: String) throws -> String? {
    var bytes: [UInt8] = []
    while true {
      let c = getchar()
      if c == EOF {
        if bytes.isEmpty { return nil }
        break
      }
      if c == 10 { break }
      bytes.append(UInt8(truncatingIfNeeded: c))
      guard bytes.count <= 65_536 else {
        // The rest of the line is read and dropped, so that the next read starts at the next
        // line (a session goes on after refusing this one).
        var c = getchar()
        while c != EOF && c != 10 { c = getchar() }
        throw BankError(.invalidArgument, "the \(label) line is longer than 64 KiB")
      }
    }
    if bytes.last == 13 { bytes.removeLast() }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw BankError(.invalidArgument, "the \(label) is not valid UTF-8")
    }
    return text
  }

  private func missing(_ label: String) -> BankError {
    BankError(
      .invalidArgument,
      "the \(label) was expected as a line on standard input, which ended first")
  }

  /// Prompts on standard error with the terminal's echo off, restoring it afterwards.
  private func prompt(_ text: String, _ label: String) throws -> String {
    _ = text.withCString { write(2, $0, strlen($0)) }
    var saved = termios()
    let haveTerminal = tcgetattr(0, &saved) == 0
    if haveTerminal {
      var quiet = saved
      quiet.c_lflag &= ~tcflag_t(ECHO)
      _ = tcsetattr(0, TCSAFLUSH, &quiet)
    }
    defer {
      if haveTerminal { _ = tcsetattr(0, TCSAFLUSH, &saved) }
      _ = write(2, "\n", 1)
    }
    guard let line = try line(label) else { throw missing(label) }
    return line
  }
}
