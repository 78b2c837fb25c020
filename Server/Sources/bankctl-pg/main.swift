import BankCLI
import BankCore
import BankPostgres
import Foundation

// bankctl-pg: bankctl's commands, options, output and exit codes on a PostgreSQL journal
// (DESIGN.md 7): `--postgres URL` (or $BANKCTL_POSTGRES) in place of `--store`, `--pin-key PATH`
// (or $BANKCTL_PIN_KEY) for card commands, and `journal import|export FILE`.

let usage = """
  usage: bankctl-pg --postgres URL [--pin-key PATH] [bankctl options] COMMAND ...
         bankctl-pg --postgres URL journal import FILE   (copy a journal file into an empty database)
         bankctl-pg --postgres URL journal export FILE   (copy the database's journal into a new file)

  Every bankctl command, with the same options, output and exit codes, on a BankCore journal in
  PostgreSQL. URL: postgres://USER:PASSWORD@HOST:PORT/DATABASE, or $BANKCTL_POSTGRES so that the
  password stays out of the process list. PINs need the PIN key file (--pin-key PATH or
  $BANKCTL_PIN_KEY): the same 32-byte file on every node, never in the database.

  """

let environment = ProcessInfo.processInfo.environment
var rest: [String] = []
var url = environment["BANKCTL_POSTGRES"]
var pinKey = environment["BANKCTL_PIN_KEY"]
let json = CommandLine.arguments.dropFirst().contains("--json")
var args = Array(CommandLine.arguments.dropFirst())[...]

func fail(_ code: String, _ message: String, exit status: Int32) -> Never {
  let text =
    json
    ? "{\"error\":{\"code\":\"\(code)\",\"message\":\(jsonString(message))}}\n"
    : "bankctl-pg: \(message)\n"
  FileHandle.standardError.write(Data(text.utf8))
  exit(status)
}

func jsonString(_ s: String) -> String {
  let data = (try? JSONSerialization.data(withJSONObject: [s], options: [])) ?? Data("[\"\"]".utf8)
  return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
}

var afterDashes = false
while let a = args.popFirst() {
  if afterDashes {
    rest.append(a)
    continue
  }
  switch a {
  case "--":
    afterDashes = true
    rest.append(a)
  case "--postgres":
    guard let v = args.popFirst() else { fail("usage", "--postgres needs a URL", exit: 64) }
    url = v
  case _ where a.hasPrefix("--postgres="):
    url = String(a.dropFirst("--postgres=".count))
  case "--pin-key":
    guard let v = args.popFirst() else { fail("usage", "--pin-key needs a path", exit: 64) }
    pinKey = v
  case _ where a.hasPrefix("--pin-key="):
    pinKey = String(a.dropFirst("--pin-key=".count))
  case "--store",
    _ where a.hasPrefix("--store="):
    fail(
      "usage", "bankctl-pg takes --postgres URL in place of --store (bankctl works on files)",
      exit: 64)
  default:
    rest.append(a)
  }
}

let wantsHelp = rest.contains("--help") || rest.contains("-h") || rest.contains("--version")
if rest.first == "help" || (rest.isEmpty && !wantsHelp) {
  FileHandle.standardOutput.write(Data(usage.utf8))
  exit(rest.isEmpty ? 64 : 0)
}
guard let url else {
  if wantsHelp { exit(BankCLI.run(rest, environment: [:], opener: { FileStoreOpener(path: $0) })) }
  fail("usage", "no database: give --postgres URL or set BANKCTL_POSTGRES", exit: 64)
}
let location: PostgresLocation
do throws(StorageError) {
  location = try PostgresLocation(url: url)
} catch {
  if case .invalidArgument(let m) = error { fail("usage", m, exit: 64) }
  fail("usage", "\(error)", exit: 64)
}

// `journal import|export FILE`: the copies between the backends.
let words = rest.filter { !$0.hasPrefix("--") }
if words.first == "journal" {
  guard words.count == 3, words[1] == "import" || words[1] == "export" else {
    fail("usage", "journal import FILE or journal export FILE", exit: 64)
  }
  let file = words[2]
  let started = Date()
  var lastReport = Date()
  let progress: (UInt64) -> Void = { n in
    // Long copies show progress on stderr, about once a second.
    if Date().timeIntervalSince(lastReport) >= 1 {
      lastReport = Date()
      FileHandle.standardError.write(Data("bankctl-pg: \(n) records copied\n".utf8))
    }
  }
  do throws(BankError) {
    let report =
      words[1] == "import"
      ? try JournalCopy.importFile(file, into: location, progress: progress)
      : try JournalCopy.exportFile(from: location, to: file, progress: progress)
    let seconds = Date().timeIntervalSince(started)
    if json {
      print(
        "{\"ok\":true,\"direction\":\"\(words[1])\",\"file\":\(jsonString(file)),\"records\":\(report.records),\"batches\":\(report.batches),\"head_hash\":\"\(report.headHash)\"}"
      )
    } else {
      print(
        "\(words[1] == "import" ? "Imported" : "Exported") \(report.records) records in \(report.batches) batches (\(words[1] == "import" ? "from" : "to") \(file)), verified: head \(report.headHash)"
          + String(format: " in %.1f s", seconds))
    }
    exit(0)
  } catch {
    fail(error.code.rawValue, error.message, exit: BankCLI.exitCode(for: error))
  }
}

let opener = PostgresStoreOpener(location: location, pinKeyPath: pinKey)
exit(BankCLI.run(rest, environment: environment, opener: { _ in opener }))
