import BankCore
import BankService
import Foundation
import Hummingbird
import Logging

// bankd: serves one store over HTTP (DESIGN.md 6).
//   bankd --store PATH [--host 127.0.0.1] [--port 8080] [--event-port 9090] [--log-level info]

struct Options {
  var store = "bank.journal"
  var host = "127.0.0.1"
  var port = 8080
  var eventPort = 9090
  var logLevel = Logger.Level.info
}

func usage(_ message: String) -> Never {
  FileHandle.standardError.write(
    Data(
      "bankd: \(message)\nusage: bankd --store PATH [--host ADDR] [--port N] [--event-port N] [--log-level LEVEL]\n"
        .utf8))
  exit(64)
}

var options = Options()
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
  let a = args.removeFirst()
  func value() -> String {
    guard !args.isEmpty else { usage("missing value for \(a)") }
    return args.removeFirst()
  }
  switch a {
  case "--store": options.store = value()
  case "--host": options.host = value()
  case "--port":
    guard let p = Int(value()), (0...65535).contains(p) else { usage("invalid --port") }
    options.port = p
  case "--event-port":
    guard let p = Int(value()), (0...65535).contains(p) else { usage("invalid --event-port") }
    options.eventPort = p
  case "--log-level":
    guard let l = Logger.Level(rawValue: value()) else { usage("invalid --log-level") }
    options.logLevel = l
  case "-h", "--help": usage("serves a BankCore store over HTTP")
  default: usage("unknown option \(a)")
  }
}

var logger = Logger(label: "bankd")
logger.logLevel = options.logLevel

let bank: Bank
do {
  var configuration = BankConfiguration()
  configuration.channel = .service
  bank = try Bank(path: options.store, configuration: configuration)
} catch {
  FileHandle.standardError.write(Data("bankd: \(error)\n".utf8))
  exit(error.code.category == .locked ? 75 : error.code.category == .corrupt ? 65 : 74)
}
let auth: Authenticator
do {
  auth = try Authenticator(bank: bank)
} catch {
  FileHandle.standardError.write(Data("bankd: \(error)\n".utf8))
  exit(74)
}
let api = BankAPI(authenticator: auth)
let host = options.host
let requestedPort = options.port
let router = Router(context: BankRequestContext.self)
api.register(on: router)
let app = Application(
  router: router,
  configuration: .init(
    address: .hostname(host, port: requestedPort), serverName: "bankd"),
  onServerRunning: { channel in
    // One line a supervisor (or a test) can wait for, with the port actually bound.
    let port = channel.localAddress?.port ?? requestedPort
    let line = "bankd listening on http://\(host):\(port)\n"
    _ = line.withCString { write(1, $0, strlen($0)) }
  },
  logger: logger)
do {
  try await app.runService()
} catch {
  logger.error("bankd stopped: \(error)")
}
bank.close()
