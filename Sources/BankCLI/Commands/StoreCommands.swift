import BankCore
import Foundation

// The store as a whole: verify, export, the demo, and help.

extension Commands {
  /// The store as a whole: verify, export, the demo, and help.
  static let store: [CommandSpec] = [
    CommandSpec(
      name: "verify", valueOptions: [], flagOptions: [], positionals: [],
      summary: "Re-check every byte of the store and print its head hash.", usage: "bankctl verify",
      details: """
        Re-reads every frame, checks every CRC32C, link and sequence number, recomputes the
        SHA-256 hash chain, and replays every record (the snapshot, when one is read, must match).
        Exits 65 with store_corrupt on damage. Findings that are not damage (a torn tail never
        acknowledged, an older format's limits, a snapshot that cannot be used, a missing PIN key)
        are warnings: exit 0, each printed on stderr as 'warning: ...'.
        JSON: {"ok","records","batches","head_hash","warnings"}; warnings is a list of strings,
        empty when there is nothing to say.
        """,
      permission: .operation(.verify),
      run: { try $0.verify() }),
    CommandSpec(
      name: "export", valueOptions: ["format"], flagOptions: [], positionals: [],
      summary: "Write every transfer to stdout.", usage: "bankctl export --format ledger|csv|jsonl",
      details: """
        OPTIONS:
          --format <format>       ledger (default): a journal hledger and ledger-cli read as is;
                                  csv: one row per transfer with a header line;
                                  jsonl: one JSON object per transfer per line.
        """,
      permission: .operation(.export),
      run: { try $0.export() }),
    CommandSpec(
      name: "demo", valueOptions: [], flagOptions: [], positionals: [],
      summary: "Create a sample bank and run a short scripted session.", usage: "bankctl demo",
      details: """
        Opens ten customer accounts holding 1,000.00 to 10,000.00 USD in the store (created if
        missing), then runs a short scripted session of deposits, withdrawals and transfers.
        """,
      permission: .storeOperator,
      run: { try Demo.run($0) }),
    CommandSpec(
      name: "help", valueOptions: [], flagOptions: [], positionals: [],
      summary: "Show help for a command.", usage: "bankctl help [<command>]",
      details: "ARGUMENTS:\n  <command>               The command to describe.",
      permission: .anyone,
      run: { _ in }),
  ]
}

extension CommandContext {
  func verify() throws {
    var (report, pinCards, haveKey) = try withBank(readOnly: true) { acting in
      try acting.require(.verify)
      return (try acting.ledger.verify(), try acting.auth.cardsWithPIN(), acting.auth.hasPINKey)
    }
    if pinCards > 0 && !haveKey {
      // Not damage to the journal, but PINs cannot be checked without the key file.
      report = VerifyReport(
        records: report.records, batches: report.batches, headHash: report.headHash,
        warnings: report.warnings + [
          "the PIN key file \(opener.pinKeyLocation) is missing or unreadable: the PINs of \(pinCards) card(s) cannot be checked until it is restored, or every one of them is reset"
        ], snapshotSequence: report.snapshotSequence)
    }
    for w in opener.conditions() {
      report = VerifyReport(
        records: report.records, batches: report.batches, headHash: report.headHash,
        warnings: report.warnings + [w], snapshotSequence: report.snapshotSequence)
    }
    for w in report.warnings { console.error("warning: \(w)") }
    emit(
      .object([
        ("ok", .bool(true)), ("records", .int(Int64(report.records))),
        ("batches", .int(Int64(report.batches))),
        ("head_hash", .string(report.headHash)),
        ("warnings", .array(report.warnings.map { .string($0) })),
      ]),
      human: """
        Store \(Validate.escaped(storePath, limit: nil)) verified: every checksum, link and hash matches,
        and a full replay reproduces \(report.snapshotSequence.map { "the snapshot (at sequence \($0)) and " } ?? "")the state.
          records:   \(report.records)
          batches:   \(report.batches)
          head hash: \(report.headHash)
        """)
  }

  func export() throws {
    let format = parsed.options["format"] ?? "ledger"
    guard ["ledger", "csv", "jsonl"].contains(format) else {
      throw BankError(
        .invalidArgument,
        "invalid --format '\(Validate.escaped(format))': expected ledger, csv or jsonl")
    }
    try withBank(readOnly: true) { acting in
      try acting.require(.export)
      try Exporter.export(acting.ledger, format: format, to: console)
    }
  }
}
