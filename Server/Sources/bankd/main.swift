import BankCLI
import BankCore
import BankPostgres
import BankService
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

// bankd: serves one store over HTTP and the ATM event socket (DESIGN.md 6).

struct Options {
  var store = "bank.journal"
  var host = "127.0.0.1"
  var port = 8080
  var eventPort = 9090
  var logLevel = Logger.Level.info
  var tlsCert: String?
  var tlsKey: String?
  var demo = false
  var eventIdleSeconds: Int64 = 120
  var eventLineSeconds: Int64 = 15
  var eventMaxConnections = 1024
  var webRoot: String?
  var postgres: String? = ProcessInfo.processInfo.environment["BANKD_POSTGRES"]
  var pinKey: String?
}

let usageText = """
  usage: bankd [--store PATH | --postgres URL --pin-key PATH] [--host ADDR] [--port N] [--event-port N]
               [--tls-cert PEM --tls-key PEM] [--log-level LEVEL] [--demo]
               [--event-idle-timeout SECONDS] [--event-line-timeout SECONDS]
               [--event-max-connections N] [--web-root DIR]

  Serves one BankCore store: the REST API, the web UI and GET /openapi.yaml on
  http://HOST:PORT (https with --tls-cert and --tls-key), the ATM event socket on
  tcp://HOST:EVENT-PORT. Defaults: --store bank.journal (created if missing),
  --host 127.0.0.1, --port 8080, --event-port 9090, --log-level info.
  --demo creates the sample bank of 'bankctl demo' when the store is new.
  --postgres URL (or $BANKD_POSTGRES, keeping the password out of argv) serves a
  PostgreSQL journal that several bankd nodes share; --pin-key PATH is then the
  PIN key file, the same 32 bytes on every node (Docs/Scale.md).
  The event socket closes a connection idle for 120 s, or stuck mid-line for
  15 s, and accepts at most 1,024 connections (the --event-* options).
  SIGTERM or SIGINT: stop accepting, finish what is in flight, sync, close, exit 0.

  """

func fail(_ message: String, code: Int32 = 64) -> Never {
  FileHandle.standardError.write(Data("bankd: \(message)\n\(code == 64 ? usageText : "")".utf8))
  exit(code)
}

var options = Options()
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
  let a = args.removeFirst()
  func value() -> String {
    guard !args.isEmpty else { fail("missing value for \(a)") }
    return args.removeFirst()
  }
  func port() -> Int {
    guard let p = Int(value()), (0...65535).contains(p) else {
      fail("\(a) takes a port, 0 to 65535")
    }
    return p
  }
  func seconds() -> Int64 {
    guard let s = Int64(value()), (1...86_400).contains(s) else {
      fail("\(a) takes 1 to 86400 seconds")
    }
    return s
  }
  switch a {
  case "--store": options.store = value()
  case "--postgres": options.postgres = value()
  case "--pin-key": options.pinKey = value()
  case "--version":
    print(
      "bankd 0.1.0 (BankCore journal format \(FileStorage.formatVersion), PostgreSQL schema \(PostgresStorage.schemaVersion))"
    )
    exit(0)
  case "--host": options.host = value()
  case "--port": options.port = port()
  case "--event-port": options.eventPort = port()
  case "--tls-cert": options.tlsCert = value()
  case "--tls-key": options.tlsKey = value()
  case "--demo": options.demo = true
  case "--web-root": options.webRoot = value()
  case "--event-idle-timeout": options.eventIdleSeconds = seconds()
  case "--event-line-timeout": options.eventLineSeconds = seconds()
  case "--event-max-connections":
    guard let n = Int(value()), (1...65_536).contains(n) else {
      fail("--event-max-connections takes 1 to 65536")
    }
    options.eventMaxConnections = n
  case "--log-level":
    guard let l = Logger.Level(rawValue: value()) else {
      fail("--log-level is trace, debug, info, notice, warning, error or critical")
    }
    options.logLevel = l
  case "-h", "--help":
    print(usageText, terminator: "")
    exit(0)
  default: fail("unknown option \(a)")
  }
}
if options.postgres != nil && options.pinKey == nil {
  fail("--postgres needs --pin-key PATH: the PIN key file every node shares, never in the database")
}
var postgresLocation: PostgresLocation?
if let url = options.postgres {
  do throws(StorageError) {
    postgresLocation = try PostgresLocation(url: url)
  } catch {
    fail("bad --postgres URL: \(error)")
  }
}
guard (options.tlsCert == nil) == (options.tlsKey == nil) else {
  fail("--tls-cert and --tls-key go together")
}
signal(SIGPIPE, SIG_IGN)

var logger = Logger(label: "bankd")
logger.logLevel = options.logLevel

// The TLS pair first: a bad one fails before anything is created.
var tlsConfiguration: TLSConfiguration?
if let cert = options.tlsCert, let key = options.tlsKey {
  do {
    let chain = try NIOSSLCertificate.fromPEMFile(cert).map {
      NIOSSLCertificateSource.certificate($0)
    }
    guard !chain.isEmpty else { fail("\(cert) holds no certificate", code: 66) }
    tlsConfiguration = TLSConfiguration.makeServerConfiguration(
      certificateChain: chain,
      privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
  } catch {
    fail("cannot read the TLS certificate or key (\(cert), \(key)): \(error)", code: 66)
  }
}

// The sample bank of `bankctl demo`, written by bankctl's own code, when the store is new.
let storeOpener: any StoreOpener =
  postgresLocation.map { PostgresStoreOpener(location: $0, pinKeyPath: options.pinKey) }
  ?? FileStoreOpener(path: options.store)
if options.demo && !storeOpener.storeExists() {
  let saved = dup(1)
  let null = open("/dev/null", O_WRONLY)
  dup2(null, 1)
  let code = BankCLI.run(
    ["--store", options.store, "demo"], environment: [:], opener: { _ in storeOpener })
  dup2(saved, 1)
  close(null)
  close(saved)
  guard code == 0 else {
    fail("the demo bank could not be created (bankctl demo exited \(code))", code: 74)
  }
}

let bank: Bank
let auth: Authenticator
do throws(BankError) {
  var configuration = BankConfiguration()
  configuration.channel = .service
  let keyPath = options.pinKey ?? options.store + ".key"
  if let postgresLocation {
    let storage: PostgresStorage
    do throws(StorageError) {
      storage = try PostgresStorage(location: postgresLocation)
    } catch {
      throw BankError(error)
    }
    bank = try Bank(storage: storage, configuration: configuration)
  } else {
    bank = try Bank(path: options.store, configuration: configuration)
  }
  // The PIN key of `bankctl` (PATH.key, mode 0600), or --pin-key: the same PINs work at both.
  let keyMissing = !FileManager.default.fileExists(atPath: keyPath)
  let pinsSet = try Authenticator(bank: bank).cardsWithPIN()
  if keyMissing && pinsSet > 0 {
    throw BankError(
      .ioError,
      "the PIN key file \(keyPath) is missing while cards have PINs; restore it from a backup")
  }
  let pepper = try Authenticator.pepperKey(atPath: keyPath, create: keyMissing)
  auth = try Authenticator(bank: bank, pepper: pepper)
} catch {
  FileHandle.standardError.write(Data("bankd: \(error.message)\n".utf8))
  exit(error.code.category == .locked ? 75 : error.code.category == .corrupt ? 65 : 74)
}

let metrics = ServiceMetrics()
let api = BankAPI(authenticator: auth, metrics: metrics, tls: tlsConfiguration != nil)
let host = options.host
let requestedPort = options.port
let scheme = tlsConfiguration == nil ? "http" : "https"
let router = Router(context: BankRequestContext.self)
router.add(middleware: ObservabilityMiddleware(metrics: metrics))
api.register(on: router)
do {
  try WebUI(root: options.webRoot).register(on: router)
} catch {
  fail("cannot read the web UI's files: \(error)", code: 66)
}

var limits = EventSocketServer.Limits()
limits.idleTimeout = .seconds(options.eventIdleSeconds)
limits.lineTimeout = .seconds(options.eventLineSeconds)
limits.maxConnections = options.eventMaxConnections
let events: EventSocketServer
do {
  events = try await EventSocketServer(
    fleet: api.fleet, host: host, port: options.eventPort, limits: limits, logger: logger,
    metrics: metrics)
} catch {
  bank.close()
  fail("cannot listen for ATM events on \(host):\(options.eventPort): \(error)", code: 69)
}
do {
  let line = "bankd events on tcp://\(host):\(events.port)\n"
  _ = line.withCString { write(1, $0, strlen($0)) }
}

let server: HTTPServerBuilder
do {
  server = try tlsConfiguration.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
} catch {
  fail("cannot set up TLS: \(error)", code: 66)
}
let app = Application(
  router: router,
  server: server,
  configuration: .init(address: .hostname(host, port: requestedPort), serverName: "bankd"),
  services: [events],
  onServerRunning: { channel in
    // One line a supervisor (or a test) can wait for, with the port actually bound.
    let port = channel.localAddress?.port ?? requestedPort
    let line = "bankd listening on \(scheme)://\(host):\(port)\n"
    _ = line.withCString { write(1, $0, strlen($0)) }
  },
  logger: logger)
var exitCode: Int32 = 0
do {
  try await app.runService()
} catch {
  logger.error("bankd stopped: \(error)")
  exitCode = 70
}
events.shutdown()
bank.close()
exit(exitCode)
