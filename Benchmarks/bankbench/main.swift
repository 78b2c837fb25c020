import BankCore
import Foundation

// bankbench: BankCore's benchmark executable. Build with -c release.
//
//   bankbench [--json] [--smoke] [--runs N] [--dir PATH] [--scale N] [NAME-FILTER ...]
//
// Each benchmark warms up, runs several times and reports the median and the spread (min..max).
// Durable benchmarks write to --dir (default ./.bench-tmp, on the same disk as the checkout).

struct Options {
  var json = false
  var smoke = false
  var runs = 5
  /// Whether `--runs` was given (the long runs repeat only when asked).
  var runsGiven = false
  var dir = FileManager.default.currentDirectoryPath + "/.bench-tmp"
  var filters: [String] = []
  var openTransfers = 1_000_000
  var makeStore: String?
  var rssProbe: String?
  /// `--keyed`: every transfer of `--make-store` carries a 36-byte idempotency key.
  var keyed = false
  var keyedTransfers = 10_000_000
}

var options = Options()
var argv = Array(CommandLine.arguments.dropFirst())
while !argv.isEmpty {
  let a = argv.removeFirst()
  switch a {
  case "--json": options.json = true
  case "--smoke": options.smoke = true
  case "--runs":
    options.runs = max(1, Int(argv.isEmpty ? "" : argv.removeFirst()) ?? 5)
    options.runsGiven = true
  case "--dir": options.dir = argv.isEmpty ? options.dir : argv.removeFirst()
  case "--open-transfers":
    options.openTransfers = max(1000, Int(argv.isEmpty ? "" : argv.removeFirst()) ?? 1_000_000)
  case "--make-store": options.makeStore = argv.isEmpty ? nil : argv.removeFirst()
  case "--rss-probe": options.rssProbe = argv.isEmpty ? nil : argv.removeFirst()
  case "--keyed": options.keyed = true
  case "--keyed-transfers":
    options.keyedTransfers = max(1000, Int(argv.isEmpty ? "" : argv.removeFirst()) ?? 10_000_000)
  case "-h", "--help":
    print(
      """
      usage: bankbench [--json] [--smoke] [--runs N] [--dir PATH] [--open-transfers N] [NAME-FILTER ...]
             bankbench --make-store PATH [--open-transfers N] [--keyed]   build a store of N transfers and keep it
             bankbench [--keyed-transfers N] keyed   the keyed run (10,000,000 by default; only when named)
             bankbench --rss-probe PATH                          print resident bytes used by opening PATH
      """)
    exit(0)
  default:
    if a.hasPrefix("-") {
      FileHandle.standardError.write(Data("bankbench: unknown option \(a)\n".utf8))
      exit(64)
    }
    options.filters.append(a)
  }
}
if options.smoke {
  options.runs = 1
  options.openTransfers = 2_000
}
try? FileManager.default.createDirectory(atPath: options.dir, withIntermediateDirectories: true)

if let probe = options.rssProbe {
  // Runs in a fresh process so earlier work does not hide the growth.
  let before = rssBytes()
  let l = try Ledger(
    storage: FileStorage(path: probe), configuration: LedgerConfiguration(snapshotEvery: 0))
  let accounts = try l.accounts().count
  let after = rssBytes()
  print("\(after - before) \(accounts) \(l.lastSequence)")
  exit(0)
}

/// One result row.
struct Result {
  let name: String
  let unit: String
  let median: Double
  let min: Double
  let max: Double
  let note: String
}

var results: [Result] = []

@MainActor func selected(_ name: String) -> Bool {
  options.filters.isEmpty || options.filters.contains { name.contains($0) }
}

/// For the long runs: only when a filter names them.
@MainActor func named(_ name: String) -> Bool {
  !options.smoke && options.filters.contains { name.contains($0) }
}

@MainActor func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Runs `body` (which returns the amount of work done) once to warm up, then `runs` times.
@MainActor func measure(
  _ name: String, unit: String, note: String = "", runs: Int? = nil,
  _ body: () throws -> (work: Double, seconds: Double)
) {
  guard selected(name) else { return }
  progress("running \(name)")
  do {
    _ = try body()
    var rates: [Double] = []
    for _ in 0..<(runs ?? options.runs) {
      let (work, seconds) = try body()
      rates.append(work / max(seconds, 1e-9))
    }
    rates.sort()
    results.append(
      Result(
        name: name, unit: unit, median: rates[rates.count / 2], min: rates[0],
        max: rates[rates.count - 1], note: note))
  } catch {
    FileHandle.standardError.write(Data("bankbench: \(name) failed: \(error)\n".utf8))
    exit(1)
  }
}

@MainActor func record(_ name: String, unit: String, values: [Double], note: String = "") {
  let v = values.sorted()
  results.append(
    Result(
      name: name, unit: unit, median: v[v.count / 2], min: v[0], max: v[v.count - 1], note: note))
}

@MainActor func progress(_ s: String) {
  if !options.json { FileHandle.standardError.write(Data("… \(s)\n".utf8)) }
}

struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

@MainActor func freshPath(_ name: String) -> String {
  let p = options.dir + "/" + name + ".journal"
  for suffix in ["", ".snapshot", ".snapshot.tmp"] {
    try? FileManager.default.removeItem(atPath: p + suffix)
  }
  return p
}

/// A ledger with `count` funded accounts. Returns the ledger and the account numbers.
@MainActor func makeBank(storage: any Storage, accounts count: Int, snapshotEvery: UInt64 = 0)
  throws -> (Ledger, [AccountNumber])
{
  let ledger = try Ledger(
    storage: storage, configuration: LedgerConfiguration(snapshotEvery: snapshotEvery))
  var numbers: [AccountNumber] = []
  var opened = 0
  while opened < count {
    let n = min(1000, count - opened)
    var cmds: [LedgerCommand] = []
    for i in 0..<n { cmds.append(.open(AccountSpec(name: "Bench \(opened + i)"))) }
    let outcomes = try ledger.submit(cmds)
    for case .opened(let id) in outcomes { numbers.append(try ledger.account(id: id).number) }
    opened += n
  }
  var deposits: [LedgerCommand] = []
  for a in numbers {
    deposits.append(.deposit(amount: Amount(minorUnits: 1_000_000_000_00, currency: .usd), to: a))
    if deposits.count == 1000 {
      try ledger.submit(deposits)
      deposits.removeAll()
    }
  }
  if !deposits.isEmpty { try ledger.submit(deposits) }
  return (ledger, numbers)
}

@MainActor func randomTransfers(
  _ count: Int, _ accounts: [AccountNumber], _ rng: inout SplitMix64, keysFrom: Int? = nil
)
  -> [LedgerCommand]
{
  (0..<count).map { i in
    let a = Int(rng.next() % UInt64(accounts.count))
    var b = Int(rng.next() % UInt64(accounts.count))
    if b == a { b = (b + 1) % accounts.count }
    return .transfer(
      amount: Amount(minorUnits: Int64(rng.next() % 10_000) + 1, currency: .usd), from: accounts[a],
      to: accounts[b], key: keysFrom.map { benchKey($0 + i) })
  }
}

/// A 36-byte idempotency key, unique per transfer (the length of a UUID's text).
func benchKey(_ n: Int) -> IdempotencyKey {
  let digits = String(n)
  do {
    return try IdempotencyKey("req-" + String(repeating: "0", count: 32 - digits.count) + digits)
  } catch {
    fatalError("a benchmark key is always valid (req- and 32 digits): \(error)")
  }
}

let accountCount = options.smoke ? 100 : 10_000

// `--make-store` only builds the store: it runs before any benchmark, as soon as what
// `buildStore` needs (`accountCount` above) is initialised.
if let target = options.makeStore {
  try buildStore(at: target, transfers: options.openTransfers)
  print("built \(target) with \(options.openTransfers) transfers between \(accountCount) accounts")
  exit(0)
}

/// Submits `total` random transfers in batches of `batch`, timed; the batches are built first.
@MainActor func measureBatches(
  _ name: String, ledger: Ledger, accounts: [AccountNumber], total: Int, batch: Int, seed: UInt64,
  note: String
) {
  var rng = SplitMix64(state: seed)
  let batches = (0..<(total / batch)).map { _ in randomTransfers(batch, accounts, &rng) }
  measure(name, unit: "transfers/s", note: note) {
    let t0 = now()
    for b in batches { try ledger.submit(b) }
    return (Double(total), Double(now() - t0) / 1e9)
  }
}

// MARK: In memory

for batch in [1, 100, 8190] {
  let total = options.smoke ? 2 * batch : max(200_000, batch * 50)
  let name = "memory.transfers.batch\(batch)"
  guard selected(name) else { continue }
  let (ledger, accounts) = try makeBank(storage: InMemoryStorage(), accounts: accountCount)
  measureBatches(
    name, ledger: ledger, accounts: accounts, total: total, batch: batch, seed: 1,
    note: "\(accountCount) accounts, InMemoryStorage")
}

// MARK: Disk peer: the machine's own limits

/// How the space a 128-byte append lands in was made ready (issue 24's three probes).
enum SpaceKind {
  /// None: every append extends the file, so `fdatasync` commits the size change too.
  case append
  /// Written (zeros) and synced once beforehand: the append overwrites data blocks in place.
  case overwrite
  /// Reserved with `fallocate` (unwritten extents) beforehand.
  case fallocated
  /// Both: reserved with `fallocate`, then written with zeros and synced.
  case fallocatedZeroed
}

/// `statEach`: an `fstat` before each write, as a writer that measures the file each commit.
@MainActor func rawFsyncRate(count: Int, space: SpaceKind = .append, statEach: Bool = false)
  -> Double
{
  let path = freshPath("raw-fsync")
  let fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0o600)
  defer {
    close(fd)
    unlink(path)
  }
  let bytes = off_t(count) * 128
  switch space {
  case .append: break
  case .overwrite, .fallocatedZeroed:
    if space == .fallocatedZeroed {
      guard posix_fallocate(fd, 0, bytes) == 0 else { return 0 }
    }
    let zeros = [UInt8](repeating: 0, count: 1 << 20)
    var at: off_t = 0
    while at < bytes {
      _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, 1 << 20, at) }
      at += 1 << 20
    }
    fsync(fd)
  case .fallocated:
    guard posix_fallocate(fd, 0, bytes) == 0 else { return 0 }
    fsync(fd)
  }
  var st = stat()
  var buf = [UInt8](repeating: 0xAB, count: 128)
  let t0 = now()
  var off: off_t = 0
  for _ in 0..<count {
    if statEach { fstat(fd, &st) }
    _ = buf.withUnsafeMutableBytes { pwrite(fd, $0.baseAddress, 128, off) }
    off += 128
    fdatasync(fd)
  }
  return Double(count) / (Double(now() - t0) / 1e9)
}

let fsyncCount = options.smoke ? 50 : 3000
var diskFsyncRate = 0.0
measure(
  "disk.fdatasync", unit: "syncs/s",
  note: "append 128 B + fdatasync, C-equivalent loop: the peer for single commits"
) {
  let r = rawFsyncRate(count: fsyncCount)
  diskFsyncRate = r
  return (r, 1)
}

// The same loop into space made ready beforehand: the limits a preallocated journal could reach
// (issue 24). `disk.fdatasync` above is the append row.
measure(
  "disk.fdatasync.append", unit: "syncs/s",
  note: "append 128 B + fdatasync: each sync also commits the file's new size"
) { (rawFsyncRate(count: fsyncCount, space: .append), 1) }
measure(
  "disk.fdatasync.overwrite", unit: "syncs/s",
  note: "128 B + fdatasync into space zero-filled and synced beforehand"
) { (rawFsyncRate(count: fsyncCount, space: .overwrite), 1) }
measure(
  "disk.fdatasync.fallocated", unit: "syncs/s",
  note: "128 B + fdatasync into space reserved with fallocate beforehand"
) { (rawFsyncRate(count: fsyncCount, space: .fallocated), 1) }
measure(
  "disk.fdatasync.fallocated_zeroed", unit: "syncs/s",
  note: "128 B + fdatasync into space reserved with fallocate, then zero-filled and synced"
) { (rawFsyncRate(count: fsyncCount, space: .fallocatedZeroed), 1) }
// What measuring the file each commit costs (issue 24): on Linux 6.13+ a query of the file's times
// makes the next write record a fine-grained change time, and the sync writes the inode too.
measure(
  "disk.fdatasync.fallocated_fstat", unit: "syncs/s",
  note: "as fallocated, with an fstat before each write"
) { (rawFsyncRate(count: fsyncCount, space: .fallocated, statEach: true), 1) }

measure("disk.sequential_write", unit: "MB/s", note: "1 MiB writes, fdatasync at the end") {
  let path = freshPath("seq")
  let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600)
  defer {
    close(fd)
    unlink(path)
  }
  let chunk = [UInt8](repeating: 0x5A, count: 1 << 20)
  let n = options.smoke ? 4 : 256
  let t0 = now()
  for i in 0..<n {
    _ = chunk.withUnsafeBytes { pwrite(fd, $0.baseAddress, 1 << 20, off_t(i) << 20) }
  }
  fdatasync(fd)
  return (Double(n), Double(now() - t0) / 1e9)
}

// MARK: File backend, durable

for batch in [1, 100, 8190] {
  let name = "file.transfers.batch\(batch)"
  guard selected(name) else { continue }
  let total = options.smoke ? 2 * batch : (batch == 1 ? 2000 : batch == 100 ? 100_000 : 1_000_000)
  let path = freshPath("file-batch\(batch)")
  let storage = try FileStorage(path: path)
  let (ledger, accounts) = try makeBank(storage: storage, accounts: accountCount)
  measureBatches(
    name, ledger: ledger, accounts: accounts, total: total, batch: batch, seed: 2,
    note: "durable: fdatasync before each batch is acknowledged")
  ledger.close()
  _ = freshPath("file-batch\(batch)")
}

// MARK: Group commit

for callers in [1, 16, 64] {
  let name = "file.concurrent\(callers)"
  guard selected(name) else { continue }
  let path = freshPath("group\(callers)")
  let storage = try FileStorage(path: path)
  let (ledger, accounts) = try makeBank(storage: storage, accounts: accountCount)
  let perCaller = options.smoke ? 5 : max(50, 3000 / callers * (callers == 1 ? 1 : 4))
  measure(
    name, unit: "transfers/s", note: "\(callers) threads, single-transfer commits, shared fdatasync"
  ) {
    let syncs0 = storage.syncCount
    let group = DispatchGroup()
    let t0 = now()
    for c in 0..<callers {
      group.enter()
      Thread.detachNewThread {
        var rng = SplitMix64(state: UInt64(c) &* 7919 &+ 5)
        for _ in 0..<perCaller {
          let a = accounts[Int(rng.next() % UInt64(accounts.count))]
          let b = accounts[Int(rng.next() % UInt64(accounts.count))]
          if a != b {
            _ = try? ledger.transfer(Amount(minorUnits: 1, currency: .usd), from: a, to: b)
          }
        }
        group.leave()
      }
    }
    group.wait()
    let secs = Double(now() - t0) / 1e9
    let syncs = storage.syncCount - syncs0
    progress(
      "  \(callers) callers: \(callers * perCaller) commits in \(syncs) syncs, \(String(format: "%.1f", Double(callers * perCaller) / Double(max(syncs, 1)))) per sync, \(String(format: "%.0f", Double(syncs) / secs)) syncs/s"
    )
    return (Double(callers * perCaller), secs)
  }
  ledger.close()
  _ = freshPath("group\(callers)")
}

// MARK: ATM withdrawals

/// Complete durable withdrawals: a session start, the PIN check, the hold, the dispense by the
/// simulated device, the post and the events (three commits), on 1 terminal and on 64 at once
/// (one card each). Group commit shares the syncs among the terminals.
for terminals in [1, 64] {
  let name = "atm.withdrawals\(terminals)"
  guard selected(name) else { continue }
  let path = freshPath("atm\(terminals)")
  let bank = try Bank(storage: try FileStorage(path: path))
  let auth = try Authenticator(
    bank: bank, configuration: AuthConfiguration(passwordIterations: 1_000),
    pepper: Array(repeating: 7, count: 32))
  let fleet = ATMFleet(
    authenticator: auth,
    configuration: ATMConfiguration(dailyAmountLimit: 1_000_000_000_000, dailyCountLimit: 1_000_000)
  )
  let usd = { (major: Int64) in Amount(minorUnits: major * 100, currency: .usd) }
  progress("setting up \(terminals) terminals and cards")
  var cards: [String] = []
  for t in 0..<terminals {
    let c = try auth.registerCustomer(
      CustomerRegistration(
        name: "ATM Bench \(t)", email: "atm\(t)@example.org", phone: "+1415555\(1000 + t)", age: 30),
      password: "quiet harbour lantern 77", as: .operator)
    try bank.ledger.deposit(usd(10_000_000), to: c.accounts[0])
    let card = try auth.issueCard(customer: c.id, accounts: c.accounts, as: .operator)
    try auth.setPIN(pan: card.pan, pin: "1234", as: .operator)
    try fleet.load(
      [20, 50, 100].map { NoteCount(denomination: usd($0), count: 1_000_000) },
      terminal: "T\(t)", as: .operator)
    cards.append(card.pan)
  }
  let perTerminal = options.smoke ? 3 : (terminals == 1 ? 400 : 60)
  let cardList = cards
  let amount = usd(170)
  measure(
    name, unit: "withdrawals/s",
    note: "\(terminals) terminal(s): PIN, hold, dispense, post, events; durable"
  ) {
    let group = DispatchGroup()
    let failures = Tally()
    let t0 = now()
    for t in 0..<terminals {
      group.enter()
      Thread.detachNewThread {
        let device = SimulatedCashDevice(fleet: fleet)
        for _ in 0..<perTerminal {
          do {
            var session = try ATMSession(
              fleet: fleet, terminal: "T\(t)", card: cardList[t], device: device)
            try session.enterPIN("1234")
            _ = try session.withdraw(amount)
            session.end()
          } catch {
            failures.add("failed", 1)
          }
        }
        group.leave()
      }
    }
    group.wait()
    if failures.count("failed") > 0 { progress("  \(failures.count("failed")) withdrawals failed") }
    return (Double(terminals * perTerminal), Double(now() - t0) / 1e9)
  }
  bank.close()
  _ = freshPath("atm\(terminals)")
}

// MARK: Logins beside transfers

/// A flag and counters shared by the caller threads of a timed run.
final class Tally: @unchecked Sendable {
  private let lock = NSLock()
  private var stopped = false
  private var counts: [String: Int] = [:]
  var stop: Bool {
    get { lock.withLock { stopped } }
    set { lock.withLock { stopped = newValue } }
  }
  func add(_ name: String, _ n: Int) { lock.withLock { counts[name, default: 0] += n } }
  func count(_ name: String) -> Int { lock.withLock { counts[name] ?? 0 } }
}

// 12 callers commit single transfers for a fixed time, alone and then beside 4 callers that log
// in continuously (each login one PBKDF2 of the production 600,000 iterations plus a session
// record): password hashing runs outside the bank's lock, so transfers should barely notice.
if selected("auth.mixed16") {
  let path = freshPath("mixed16")
  let (ledger, accounts) = try makeBank(storage: try FileStorage(path: path), accounts: 1000)
  let auth = try Authenticator(
    bank: ledger.bank,
    configuration: AuthConfiguration(passwordIterations: options.smoke ? 6_000 : 600_000))
  progress("running auth.mixed16 (registering 4 customers)")
  var customers: [CustomerID] = []
  for i in 0..<4 {
    let p = try auth.registerCustomer(
      CustomerRegistration(
        name: "Login Bench \(i)", email: "bench\(i)@example.org", phone: "+1415555010\(i)",
        age: 30),
      password: "quiet harbour lantern 77", as: .operator)
    customers.append(p.id)
  }
  let seconds = options.smoke ? 0.3 : 5.0
  let loginIDs = customers
  func run(logins: Bool) -> (transfers: Double, logins: Double) {
    let tally = Tally()
    let group = DispatchGroup()
    for c in 0..<12 {
      group.enter()
      Thread.detachNewThread {
        var rng = SplitMix64(state: UInt64(c) &* 7919 &+ 11)
        var n = 0
        while !tally.stop {
          let a = accounts[Int(rng.next() % UInt64(accounts.count))]
          let b = accounts[Int(rng.next() % UInt64(accounts.count))]
          if a != b,
            (try? ledger.transfer(Amount(minorUnits: 1, currency: .usd), from: a, to: b)) != nil
          {
            n += 1
          }
        }
        tally.add("transfers", n)
        group.leave()
      }
    }
    if logins {
      for c in 0..<4 {
        group.enter()
        Thread.detachNewThread {
          var n = 0
          while !tally.stop {
            if (try? auth.login(customer: loginIDs[c], password: "quiet harbour lantern 77"))
              != nil
            {
              n += 1
            }
          }
          tally.add("logins", n)
          group.leave()
        }
      }
    }
    let t0 = DispatchTime.now().uptimeNanoseconds
    Thread.sleep(forTimeInterval: seconds)
    tally.stop = true
    group.wait()
    // Callers finish the call in flight; the rate counts the time until the last one returned.
    let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    return (Double(tally.count("transfers")) / secs, Double(tally.count("logins")) / secs)
  }
  progress("running auth.mixed16")
  _ = run(logins: false)
  var alone: [Double] = []
  var mixed: [Double] = []
  var loginRates: [Double] = []
  for _ in 0..<options.runs {
    alone.append(run(logins: false).transfers)
    let m = run(logins: true)
    mixed.append(m.transfers)
    loginRates.append(m.logins)
  }
  record(
    "auth.mixed16.transfers_alone", unit: "transfers/s", values: alone,
    note: "12 threads, single-transfer durable commits, \(seconds) s each run")
  record(
    "auth.mixed16.transfers_with_logins", unit: "transfers/s", values: mixed,
    note: "the same 12 threads beside 4 threads logging in (16 callers)")
  record(
    "auth.mixed16.logins", unit: "logins/s", values: loginRates,
    note: "the 4 login threads: PBKDF2 600,000 iterations each, outside the lock")
  ledger.close()
  _ = freshPath("mixed16")
}

// MARK: TPC-B-like

do {
  let name = "tpcb.durable.1client"
  if selected(name) {
    // pgbench scale 1: 1 branch, 10 tellers, 100,000 accounts. Each transaction moves a random
    // delta between an account and its teller and between the teller and the branch, as one
    // linked batch (the journal records are the history rows).
    let path = freshPath("tpcb")
    let ledger = try Ledger(
      storage: FileStorage(path: path), configuration: LedgerConfiguration(snapshotEvery: 0))
    let scaleAccounts = options.smoke ? 100 : 100_000
    var cmds: [LedgerCommand] = [.open(AccountSpec(name: "Branch 1", kind: .equity))]
    for t in 0..<10 { cmds.append(.open(AccountSpec(name: "Teller \(t)", kind: .equity))) }
    var outs = try ledger.submit(cmds)
    var ids: [AccountNumber] = []
    for case .opened(let id) in outs { ids.append(try ledger.account(id: id).number) }
    let branch = ids[0]
    let tellers = Array(ids[1...])
    var accounts: [AccountNumber] = []
    var made = 0
    while made < scaleAccounts {
      let n = min(1000, scaleAccounts - made)
      outs = try ledger.submit(
        (0..<n).map { i in .open(AccountSpec(name: "aid \(made + i)", kind: .equity)) })
      for case .opened(let id) in outs { accounts.append(try ledger.account(id: id).number) }
      made += n
    }
    var rng = SplitMix64(state: 3)
    let txCount = options.smoke ? 20 : 3000
    measure(name, unit: "tx/s", note: "pgbench TPC-B-like at scale 1, 1 client, durable") {
      let t0 = now()
      for _ in 0..<txCount {
        let aid = accounts[Int(rng.next() % UInt64(accounts.count))]
        let tid = tellers[Int(rng.next() % 10)]
        let delta = Int64(rng.next() % 10_000) - 5_000
        let amount = Amount(minorUnits: max(1, abs(delta)), currency: .usd)
        let batch: [LedgerCommand] =
          delta >= 0
          ? [
            .transfer(amount: amount, from: tid, to: aid),
            .transfer(amount: amount, from: branch, to: tid),
          ]
          : [
            .transfer(amount: amount, from: aid, to: tid),
            .transfer(amount: amount, from: tid, to: branch),
          ]
        try ledger.submit(batch)
      }
      return (Double(txCount), Double(now() - t0) / 1e9)
    }
    ledger.close()
    _ = freshPath("tpcb")
  }
}

// MARK: Opening, replay and memory

/// The process's peak resident set (VmHWM), in bytes.
func peakRSSBytes() -> Int {
  guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
  for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    return kb * 1024
  }
  return 0
}

/// Resets the peak resident set to the current one (`echo 5 > /proc/self/clear_refs`).
func resetPeakRSS() {
  let fd = open("/proc/self/clear_refs", O_WRONLY)
  guard fd >= 0 else { return }
  _ = write(fd, "5", 1)
  close(fd)
}

@MainActor func rssBytes() -> Int {
  guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
  let f = s.split(separator: " ")
  return f.count > 1 ? (Int(f[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

@MainActor func buildStore(at path: String, transfers n: Int) throws {
  for suffix in ["", ".snapshot"] { try? FileManager.default.removeItem(atPath: path + suffix) }
  let storage = try FileStorage(path: path)
  let (ledger, accounts) = try makeBank(storage: storage, accounts: accountCount)
  try fill(ledger, accounts, transfers: n, showProgress: true, keyed: options.keyed)
  // One account with 10,000 entries more (on 1,000,000 transfers, one per 100), so that a
  // statement of this month reads 10,000 entries (issue 21's statement speed check).
  let hot = options.smoke ? 50 : 10_000
  var rng = SplitMix64(state: 21)
  var done = 0
  while done < hot {
    let b = min(1000, hot - done)
    try ledger.submit(
      (0..<b).map { i in
        let other = accounts[1 + Int(rng.next() % UInt64(accounts.count - 1))]
        let amount = Amount(minorUnits: Int64(rng.next() % 10_000) + 1, currency: .usd)
        return (done + i) % 2 == 0
          ? .transfer(amount: amount, from: accounts[0], to: other)
          : .transfer(amount: amount, from: other, to: accounts[0])
      })
    done += b
  }
  try ledger.takeSnapshot()
  ledger.close()
}

/// Submits `n` random transfers in batches of 8,190 (seeded, so every store is the same).
@MainActor func fill(
  _ ledger: Ledger, _ accounts: [AccountNumber], transfers n: Int, showProgress: Bool,
  keyed: Bool = false
)
  throws
{
  var rng = SplitMix64(state: 4)
  var done = 0
  while done < n {
    let b = min(8190, n - done)
    try ledger.submit(randomTransfers(b, accounts, &rng, keysFrom: keyed ? done : nil))
    done += b
    if showProgress && done % 200_000 < 8190 { progress("  \(done) / \(n)") }
  }
}

if selected("open.") || selected("memory.rss") {
  let n = options.openTransfers
  let path = freshPath("open")
  progress("building a store of \(n) transfers")
  try buildStore(at: path, transfers: n)
  let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
  measure(
    "open.with_snapshot", unit: "opens/s",
    note: "\(n) transfers, \(size / 1_000_000) MB journal; 1/x = open time"
  ) {
    let t0 = now()
    let l = try Ledger(
      storage: FileStorage(path: path), configuration: LedgerConfiguration(snapshotEvery: 0))
    let secs = Double(now() - t0) / 1e9
    l.close()
    return (1, secs)
  }
  let snapshot = path + ".snapshot"
  let saved = try Data(contentsOf: URL(fileURLWithPath: snapshot))
  try FileManager.default.removeItem(atPath: snapshot)
  var records = 0.0
  measure(
    "open.full_replay", unit: "records/s", note: "no snapshot: every frame checksummed and applied"
  ) {
    let t0 = now()
    let l = try Ledger(
      storage: FileStorage(path: path), configuration: LedgerConfiguration(snapshotEvery: 0))
    let secs = Double(now() - t0) / 1e9
    records = Double(l.lastSequence)
    l.close()
    return (records, secs)
  }
  try saved.write(to: URL(fileURLWithPath: snapshot))
  if selected("memory.rss") {
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    probe.arguments = ["--rss-probe", path]
    let pipe = Pipe()
    probe.standardOutput = pipe
    try probe.run()
    probe.waitUntilExit()
    let fields = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      .split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
    if fields.count == 3 {
      record(
        "memory.rss.file_store", unit: "bytes", values: [fields[0]],
        note:
          "resident growth opening \(n) transfers, \(Int(fields[1])) accounts (state only; the journal stays on disk)"
      )
      record(
        "memory.rss.per_account", unit: "bytes", values: [fields[0] / fields[1]],
        note: "all ledger state divided by accounts")
    }
    let before2 = rssBytes()
    let (ml, macc) = try makeBank(storage: InMemoryStorage(), accounts: accountCount)
    try fill(ml, macc, transfers: n, showProgress: false)
    let after2 = rssBytes()
    record(
      "memory.rss.per_transfer_inmemory", unit: "bytes",
      values: [Double(after2 - before2) / Double(n)],
      note: "InMemoryStorage keeps every record's bytes")
    ml.close()
  }
  _ = freshPath("open")
}

// MARK: Banking products

/// A manual clock the products benchmarks move through a month.
final class BenchClock: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Int64
  init(_ v: Int64) { value = v }
  func read() -> Int64 { lock.withLock { value } }
  func set(_ v: Int64) { lock.withLock { value = max(value, v) } }
}

// `interest run` for one month over 100,000 savings accounts, each with a deposit on its first
// day: 100,000 accruals, 100,000 postings and their transfers, committed in batches of 10,000,
// every batch durable (fsync). Each run is a fresh store; the time is the run's alone.
if selected("products.interest_run") {
  let n = options.smoke ? 200 : 100_000
  var seconds: [Double] = []
  for _ in 0..<(options.smoke ? 1 : max(3, options.runs)) {
    let path = freshPath("interest")
    let start = YearMonth(year: 2026, month: 1).firstDay
    let clock = BenchClock(start.start.nanoseconds + 3_600_000_000_000)
    let bank = try Bank(
      path: path,
      configuration: BankConfiguration(clock: BankClock { clock.read() }, snapshotEvery: 0))
    let auth = try Authenticator(bank: bank)
    let products = Products(authenticator: auth)
    try products.setRate(.savings, annual: AnnualRate(parsing: "3.65"), from: start, as: .operator)
    var opened = 0
    while opened < n {
      let b = min(1000, n - opened)
      let outcomes = try bank.ledger.submit(
        (0..<b).map { i in .open(AccountSpec(name: "Saver \(opened + i)", kind: .savings)) })
      var deposits: [LedgerCommand] = []
      for case .opened(let id) in outcomes {
        deposits.append(
          .deposit(
            amount: Amount(minorUnits: 10_000_00, currency: .usd),
            to: try bank.ledger.account(id: id).number))
      }
      try bank.ledger.submit(deposits)
      opened += b
    }
    clock.set(YearMonth(year: 2026, month: 2).firstDay.start.nanoseconds + 3_600_000_000_000)
    let t0 = now()
    let run = try products.runInterest(
      through: YearMonth(year: 2026, month: 1).lastDay, as: .operator)
    seconds.append(Double(now() - t0) / 1e9)
    guard run.accounts == n, run.postings == n, run.savingsPaid["USD"] == Int64(n) * 31_00 else {
      FileHandle.standardError.write(Data("bankbench: the interest run is wrong: \(run)\n".utf8))
      exit(1)
    }
    bank.close()
    _ = freshPath("interest")
  }
  record(
    "products.interest_run", unit: "s", values: seconds,
    note:
      "\(n) savings accounts, one month (31 accruals each, one posting); batches of 10,000, durable; target < 2 s"
  )
}

// A statement of this month for an account with 10,000 entries on a store of 1,000,000 transfers
// (`--make-store` gives account 1000-0001-7 10,000 extra entries): open the store as a reader
// and build the statement, as `bankctl statement` does from process start.
if selected("products.statement") {
  let path = freshPath("statement")
  progress("building a store of \(options.openTransfers) transfers with a hot account")
  try buildStore(at: path, transfers: options.openTransfers)
  let month = Day(Instant(nanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))).month
  var entries = 0
  var times: [Double] = []
  for _ in 0..<(options.smoke ? 1 : 7) {
    let t0 = now()
    let bank = try Bank(path: path, options: FileStorage.Options(readOnly: true))
    let auth = try Authenticator(bank: bank)
    let s = try Products(authenticator: auth).statement(
      of: try AccountNumber(parsing: "1000-0001-7"), from: month.firstDay, to: month.lastDay,
      as: .operator)
    times.append(Double(now() - t0) / 1e6)
    entries = s.entries.count
    bank.close()
  }
  record(
    "products.statement", unit: "ms", values: times,
    note:
      "open (reader) + one month of \(entries) entries, \(options.openTransfers) transfers; target < 100 ms"
  )
  _ = freshPath("statement")
}

// MARK: History and keyed traffic

if selected("history.limit10") {
  let n = options.openTransfers
  let path = freshPath("history")
  progress("building a store of \(n) transfers")
  try buildStore(at: path, transfers: n)
  let account = try AccountNumber(base: 10_000_001)
  measure(
    "history.limit10", unit: "calls/s",
    note: "\(n) transfers: read-only open + history(limit: 10); 1/x = time per call"
  ) {
    let t0 = now()
    let l = try Ledger(
      storage: FileStorage(path: path, options: .init(readOnly: true)),
      configuration: LedgerConfiguration(snapshotEvery: 0))
    let entries = try l.history(of: account, limit: 10)
    let secs = Double(now() - t0) / 1e9
    if entries.count != 10 { print("history returned \(entries.count) entries") }
    l.close()
    return (1, secs)
  }
  _ = freshPath("history")
}

if named("keyed.10m") {
  // Every transfer carries a unique 36-byte key; the file backend with the default snapshots.
  // One run is a fresh store filled to `total`; each mark's rate is over the 500,000 transfers
  // before it (time spent in submit only). A window is about one second, so one run is at the
  // mercy of whatever else the machine does in that second: `--runs N` repeats the whole run and
  // reports each mark's median, and the ratio of the last mark to the first within each run.
  let total = options.keyedTransfers
  let marks = Array(Set([1_000_000, 5_000_000, 10_000_000].filter { $0 < total } + [total]))
    .sorted()
  let window = 500_000
  var rates: [[Double]] = Array(repeating: [], count: marks.count)
  var ratios: [Double] = []
  var perKey: [Double] = []
  var peakPerKey: [Double] = []
  let runs = options.runsGiven ? options.runs : 1
  for run in 1...runs {
    let path = freshPath("keyed")
    let (ledger, accounts) = try makeBank(
      storage: try FileStorage(path: path), accounts: accountCount, snapshotEvery: 100_000)
    resetPeakRSS()
    let rss0 = rssBytes()
    var rng = SplitMix64(state: 6)
    var done = 0
    var windowDone = 0
    var busy: Double = 0
    var thisRun: [Double] = []
    progress("keyed run \(run)/\(runs): \(total) transfers with 36-byte keys")
    while done < total {
      let b = min(8190, total - done)
      let batch = randomTransfers(b, accounts, &rng, keysFrom: done)
      if marks.contains(where: { done < $0 && done + b >= $0 - window && done < $0 - window }) {
        windowDone = 0
        busy = 0
      }
      let t0 = now()
      try ledger.submit(batch)
      busy += Double(now() - t0) / 1e9
      done += b
      windowDone += b
      if let m = marks.firstIndex(where: { done >= $0 && done - b < $0 }) {
        let rate = Double(windowDone) / busy
        rates[m].append(rate)
        thisRun.append(rate)
        progress("  \(done): \(Int(rate)) transfers/s")
      }
    }
    if let first = thisRun.first, let last = thisRun.last { ratios.append(last / first) }
    if run == runs {
      // A client's retry after a timeout: the newest key again, against fresh keyed transfers
      // (each durable) in the same store.
      let calls = options.smoke ? 5 : 200
      let usd = Amount(minorUnits: 1, currency: .usd)
      var newest = benchKey(total)
      var t0 = now()
      for i in 0..<calls {
        newest = benchKey(total + 1 + i)
        try ledger.transfer(usd, from: accounts[0], to: accounts[1], key: newest)
      }
      let fresh = Double(now() - t0) / 1e9 / Double(calls)
      t0 = now()
      for _ in 0..<calls {
        let r = try ledger.transfer(usd, from: accounts[0], to: accounts[1], key: newest)
        if !r.replayed { print("a retry was not replayed") }
      }
      let retry = Double(now() - t0) / 1e9 / Double(calls)
      record(
        "keyed.retry_newest_ms", unit: "ms", values: [retry * 1e3],
        note: "the newest key retried on a store of \(total) keyed transfers (replayed receipt)")
      record(
        "keyed.fresh_transfer_ms", unit: "ms", values: [fresh * 1e3],
        note: "a fresh keyed transfer on the same store, durable")
      record(
        "keyed.retry_to_fresh", unit: "ratio", values: [retry / fresh],
        note: "retry time / fresh transfer time (target at most 2)")
    }
    // Closing waits for a snapshot in flight, so what stays resident is the state itself.
    ledger.close()
    perKey.append(Double(rssBytes() - rss0) / Double(total))
    peakPerKey.append(Double(peakRSSBytes() - rss0) / Double(total))
    withExtendedLifetime(ledger) {}
    _ = freshPath("keyed")
  }
  for (m, mark) in marks.enumerated() {
    let name = mark % 1_000_000 == 0 ? "\(mark / 1_000_000)m" : "\(mark)"
    record(
      "keyed.rate_at_\(name)", unit: "transfers/s", values: rates[m],
      note: "36-byte keys, batches of 8,190, durable, default snapshots; \(window) before the mark")
  }
  if marks.count > 1 {
    record(
      "keyed.ratio_last_to_first", unit: "ratio", values: ratios,
      note: "rate at the last mark / rate at the first, within each run")
  }
  // Later runs reuse memory the allocator kept from the first, so the first run's growth is the
  // one that counts: the largest.
  record(
    "keyed.rss_per_key", unit: "bytes", values: [perKey.max() ?? 0],
    note: "resident growth over a run / keys, no snapshot in flight (the largest run)")
  record(
    "keyed.peak_rss_per_key", unit: "bytes", values: [peakPerKey.max() ?? 0],
    note: "peak resident growth / keys, snapshot encoding included (the largest run)")
}

// MARK: Primitives

let blob = [UInt8](repeating: 0x61, count: options.smoke ? 1 << 16 : 64 << 20)
measure("crc32c", unit: "MB/s", note: "slicing-by-8, pure Swift") {
  let t0 = now()
  let c = CRC32C.checksum(blob)
  if c == 0x1234_5678 { print("") }
  return (Double(blob.count) / 1e6, Double(now() - t0) / 1e9)
}
let blobSize = blob.count >= 1 << 20 ? "\(blob.count >> 20) MiB" : "\(blob.count >> 10) KiB"
measure("crypto.sha256", unit: "MB/s", note: "pure Swift, \(blobSize) buffer") {
  let t0 = now()
  let h = SHA256.hash(blob)
  if h.first == 0x42 && h.last == 0x42 { print("") }
  return (Double(blob.count) / 1e6, Double(now() - t0) / 1e9)
}

// PBKDF2 at OWASP's work factor for PBKDF2-HMAC-SHA256 password storage, 32-byte key.
let pbkdf2Iterations = options.smoke ? 6_000 : 600_000
let pbkdf2Password = Array("correct horse battery staple".utf8)
let pbkdf2Salt = Array("0123456789abcdef".utf8)

/// Times `body` once to warm up, then `runs` times, and records milliseconds per call.
@MainActor func measureMilliseconds(_ name: String, note: String, _ body: () -> Void) {
  guard selected(name) else { return }
  progress("running \(name)")
  body()
  var ms: [Double] = []
  for _ in 0..<options.runs {
    let t0 = now()
    body()
    ms.append(Double(now() - t0) / 1e6)
  }
  record(name, unit: "ms", values: ms, note: note)
}

measureMilliseconds(
  "crypto.pbkdf2", note: "PBKDF2-HMAC-SHA256, \(pbkdf2Iterations) iterations, dkLen 32, pure Swift"
) {
  let key = PBKDF2.deriveKey(
    password: pbkdf2Password, salt: pbkdf2Salt, iterations: pbkdf2Iterations, length: 32)
  if key.first == 0x42 && key.last == 0x42 { print("") }
}

// The peer: Python's hashlib (OpenSSL, with the CPU's SHA extensions where it has them), the same
// sizes and runs, in the same run of bankbench.
if selected("crypto.sha256") || selected("crypto.pbkdf2") {
  measureHashlib(runs: options.runs, bytes: blob.count, iterations: pbkdf2Iterations)
}

@MainActor func measureHashlib(runs: Int, bytes: Int, iterations: Int) {
  let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
  guard
    let python = path.split(separator: ":").map({ String($0) + "/python3" })
      .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
  else {
    progress("python3 is not on PATH: no hashlib figures")
    return
  }
  progress("running hashlib (python3)")
  let script = """
    import hashlib, sys, time
    runs, size, iterations = (int(a) for a in sys.argv[1:4])
    buf = b"a" * size
    def timed(f):
        f()
        out = []
        for _ in range(runs):
            t0 = time.perf_counter()
            f()
            out.append(time.perf_counter() - t0)
        return out
    sha = timed(lambda: hashlib.sha256(buf).digest())
    pw, salt = b"correct horse battery staple", b"0123456789abcdef"
    pb = timed(lambda: hashlib.pbkdf2_hmac("sha256", pw, salt, iterations, 32))
    print(" ".join(str(size / 1e6 / s) for s in sha))
    print(" ".join(str(s * 1e3) for s in pb))
    """
  let p = Process()
  p.executableURL = URL(fileURLWithPath: python)
  p.arguments = ["-c", script, String(runs), String(bytes), String(iterations)]
  let out = Pipe()
  p.standardOutput = out
  do { try p.run() } catch {
    progress("python3 did not start (\(error)): no hashlib figures")
    return
  }
  let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  p.waitUntilExit()
  let lines = text.split(separator: "\n").map { $0.split(separator: " ").compactMap { Double($0) } }
  guard p.terminationStatus == 0, lines.count == 2, lines.allSatisfy({ !$0.isEmpty }) else {
    progress("python3 failed: no hashlib figures")
    return
  }
  if selected("crypto.sha256") {
    record(
      "crypto.sha256.hashlib", unit: "MB/s", values: lines[0],
      note: "peer: Python hashlib.sha256, same buffer")
  }
  if selected("crypto.pbkdf2") {
    record(
      "crypto.pbkdf2.hashlib", unit: "ms", values: lines[1],
      note: "peer: Python hashlib.pbkdf2_hmac, same parameters")
  }
}

// MARK: The Dispenser

/// Microseconds per mix over every amount from 100 to what 40 notes can pay, in steps of 100,
/// from 4 cassettes (2000, 500, 200 and 100, 2,000 notes each): the mean and the worst amount.
/// The peer is a greedy mix (largest note first, not exact) over the same amounts, in the same
/// run.
@MainActor func measureDispenser() throws {
  let inr = { (major: Int64) in Amount(minorUnits: major * 100, currency: .inr) }
  let cassettes = [2000, 500, 200, 100].map { Cassette(denomination: inr($0), count: 2_000) }
  let amounts = stride(from: Int64(100), through: options.smoke ? 2_000 : 80_000, by: 100).map(inr)
  let repeats = options.smoke ? 2 : 20
  var slowest = amounts[0]
  func sweep(_ mix: (Amount) -> Int) -> (mean: Double, worst: Double) {
    var total = 0.0
    var worst = 0.0
    var sink = 0
    for a in amounts {
      let t0 = now()
      for _ in 0..<repeats { sink &+= mix(a) }
      let us = Double(now() - t0) / 1e3 / Double(repeats)
      total += us
      if us > worst { (worst, slowest) = (us, a) }
    }
    if sink == 42 { print("") }
    return (total / Double(amounts.count), worst)
  }
  for policy in MixPolicy.allCases {
    let name = "atm.mix.\(policy)"
    guard selected(name) || selected("atm.mix.greedy") else { continue }
    progress("running \(name)")
    let d = try Dispenser(currency: .inr, cassettes: cassettes, policy: policy)
    var means: [Double] = []
    var worsts: [Double] = []
    _ = sweep { (try? d.mix(for: $0).noteCount) ?? 0 }
    for _ in 0..<options.runs {
      let r = sweep { (try? d.mix(for: $0).noteCount) ?? 0 }
      means.append(r.mean)
      worsts.append(r.worst)
    }
    record(
      name, unit: "us/mix", values: means, note: "mean over \(amounts.count) amounts, 4 cassettes")
    record(
      name + ".worst", unit: "us/mix", values: worsts,
      note: "the slowest amount, \(slowest) in the last run (target < 50)")
  }
  guard selected("atm.mix.greedy") || selected("atm.mix.fewest_notes") else { return }
  let denominations = cassettes.map(\.denomination.minorUnits)
  func greedy(_ a: Amount) -> Int {
    var left = a.minorUnits
    var notes = 0
    for d in denominations {
      let n = min(Int64(40 - notes), left / d)
      notes += Int(n)
      left -= n * d
    }
    return left == 0 ? notes : 0
  }
  var means: [Double] = []
  _ = sweep(greedy)
  for _ in 0..<options.runs { means.append(sweep(greedy).mean) }
  record("atm.mix.greedy", unit: "us/mix", values: means, note: "peer: greedy, same amounts")
}
try measureDispenser()

// MARK: Report

try? FileManager.default.removeItem(atPath: options.dir)
@MainActor func fmt(_ v: Double) -> String {
  if v >= 100 { return String(Int(v.rounded())) }
  if v > 0 && v < 0.01 { return String(format: "%.4f", v) }
  return String(format: "%.2f", v)
}
if options.json {
  var items: [String] = []
  for r in results {
    items.append(
      "{\"name\":\"\(r.name)\",\"unit\":\"\(r.unit)\",\"median\":\(fmt(r.median)),\"min\":\(fmt(r.min)),\"max\":\(fmt(r.max)),\"note\":\"\(r.note)\"}"
    )
  }
  print(
    "{\"runs\":\(options.runs),\"smoke\":\(options.smoke),\"results\":[\(items.joined(separator: ","))]}"
  )
} else {
  let header = ["benchmark", "median", "min", "max", "unit", "note"]
  let rows = results.map { [$0.name, fmt($0.median), fmt($0.min), fmt($0.max), $0.unit, $0.note] }
  var widths = header.map(\.count)
  for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
  func line(_ c: [String]) -> String {
    c.enumerated().map { i, s in
      i >= 1 && i <= 3
        ? String(repeating: " ", count: widths[i] - s.count) + s
        : s + String(repeating: " ", count: widths[i] - s.count)
    }
    .joined(separator: "  ")
  }
  print(line(header))
  for r in rows { print(line(r)) }
  if diskFsyncRate > 0, let single = results.first(where: { $0.name == "file.concurrent1" }) {
    print(
      "single-caller commits / disk fdatasync rate: \(String(format: "%.2f", single.median / diskFsyncRate))"
    )
  }
  func median(_ name: String) -> Double? { results.first(where: { $0.name == name })?.median }
  if let ours = median("crypto.sha256"), let theirs = median("crypto.sha256.hashlib") {
    print(
      "crypto.sha256 / hashlib throughput: \(String(format: "%.2f", ours / theirs)) (target ≥ 0.25)"
    )
  }
  if let ours = median("crypto.pbkdf2"), let theirs = median("crypto.pbkdf2.hashlib") {
    print(
      "crypto.pbkdf2 time / hashlib time: \(String(format: "%.2f", ours / theirs))x (target ≤ 4x)")
  }
  if let alone = median("auth.mixed16.transfers_alone"),
    let mixed = median("auth.mixed16.transfers_with_logins")
  {
    print(
      "transfers beside logins / transfers alone: \(String(format: "%.2f", mixed / alone)) (target ≥ 0.90)"
    )
  }
  if let exact = median("atm.mix.fewest_notes"), let greedy = median("atm.mix.greedy") {
    print("atm.mix exact / greedy time: \(String(format: "%.1f", exact / greedy))x")
  }
  for t in [1, 64] {
    if let atm = median("atm.withdrawals\(t)"), let single = median("file.concurrent\(t)") {
      print(
        "atm.withdrawals\(t) / file.concurrent\(t) (the ledger's single-transfer commits): \(String(format: "%.2f", atm / single))\(t == 64 ? " (target: at least 5,000 withdrawals/s)" : "")"
      )
    }
  }
  if let one = results.first(where: { $0.name == "file.concurrent1" }) {
    for c in [16, 64] {
      if let m = results.first(where: { $0.name == "file.concurrent\(c)" }) {
        print(
          "group commit \(c) callers / 1 caller: \(String(format: "%.1f", m.median / one.median))x")
      }
    }
  }
}
