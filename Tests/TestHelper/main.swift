import BankCore
import Foundation

// A child process for the crash and contention tests. It never runs in production.
//
//   bankcore-testhelper crash PATH SEED   append batches of keyed deposits forever, printing
//                                         "ack BATCH SIZE" after each durable commit
//   bankcore-testhelper contend PATH N TAG  N times: open the store (waiting on the lock),
//                                         deposit 1.00 with key TAG-i, close
//   bankcore-testhelper share PATH N TAG  open the store once and keep it open while other
//                                         processes write it too: N deposits of 1.00 with key
//                                         TAG-i, printing "ack TAG-i" after each; then the
//                                         balance it reads ("balance MINOR"), then close
let args = CommandLine.arguments
func fail(_ s: String) -> Never {
  FileHandle.standardError.write(Data((s + "\n").utf8))
  exit(2)
}
guard args.count >= 4 else { fail("usage: bankcore-testhelper crash|contend PATH ...") }
let path = args[2]
let account = (try? AccountNumber(base: 10_000_001)) ?? { fail("bad account") }()
func openLedger() -> Ledger {
  do {
    let storage = try FileStorage(path: path, options: .init(lockTimeout: .seconds(60)))
    return try Ledger(storage: storage, configuration: LedgerConfiguration(snapshotEvery: 500))
  } catch {
    fail("open failed: \(error)")
  }
}
switch args[1] {
case "crash":
  var seed = UInt64(args[3]) ?? 1
  func next() -> UInt64 {
    seed &+= 0x9E37_79B9_7F4A_7C15
    var z = seed
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  let ledger = openLedger()
  if (try? ledger.account(account)) == nil {
    do { try ledger.open(AccountSpec(name: "Crash", number: account)) } catch { fail("\(error)") }
  }
  var batch = Int(UInt64(args.count > 4 ? args[4] : "0") ?? 0)
  while true {
    let size = Int(next() % 5) + 1
    let commands = (0..<size).map { j in
      LedgerCommand.deposit(
        amount: Amount(minorUnits: 100, currency: .usd), to: account,
        key: try? IdempotencyKey("b\(batch)-\(j)of\(size)"))
    }
    do { try ledger.submit(commands) } catch { fail("submit failed: \(error)") }
    FileHandle.standardOutput.write(Data("ack \(batch) \(size)\n".utf8))
    batch += 1
  }
case "contend":
  let n = Int(args[3]) ?? 0
  let tag = args.count > 4 ? args[4] : "p"
  for i in 0..<n {
    let ledger = openLedger()
    if (try? ledger.account(account)) == nil {
      _ = try? ledger.open(AccountSpec(name: "Contend", number: account))
    }
    do {
      try ledger.deposit(
        Amount(minorUnits: 100, currency: .usd), to: account, key: try IdempotencyKey("\(tag)-\(i)")
      )
    } catch {
      fail("deposit failed: \(error)")
    }
    ledger.close()
  }
case "share":
  let n = Int(args[3]) ?? 0
  let tag = args.count > 4 ? args[4] : "s"
  let ledger = openLedger()
  for i in 0..<n {
    do {
      try ledger.deposit(
        Amount(minorUnits: 100, currency: .usd), to: account, key: try IdempotencyKey("\(tag)-\(i)")
      )
    } catch {
      fail("deposit failed: \(error)")
    }
    FileHandle.standardOutput.write(Data("ack \(tag)-\(i)\n".utf8))
  }
  do {
    print("balance \(try ledger.balance(of: account).minorUnits)")
  } catch {
    fail("balance failed: \(error)")
  }
  if let v = ledger.invariantViolation() { fail("invariant broken: \(v)") }
  ledger.close()
case "soak":
  // soak PATH SECONDS THREADS TAG: until the deadline, open the store (waiting for other
  // processes), run THREADS threads of mixed work for a short burst, close. Prints the acknowledged
  // keyed deposits and the operation count.
  let seconds = Double(args[3]) ?? 3
  let threads = args.count > 4 ? Int(args[4]) ?? 2 : 2
  let tag = args.count > 5 ? args[5] : "s"
  let deadline = Date().addingTimeInterval(seconds)
  let accounts = (1...4).compactMap { try? AccountNumber(base: 10_000_000 + UInt64($0)) }
  var burst = 0
  var total = 0
  var acked: [String] = []
  while Date() < deadline {
    let ledger = openLedger()
    for a in accounts where (try? ledger.account(a)) == nil {
      _ = try? ledger.open(
        AccountSpec(
          name: "Soak", overdraftLimit: Amount(minorUnits: 10_000, currency: .usd), number: a))
    }
    let results = Lock2<([String], Int)>(([], 0))
    let group = DispatchGroup()
    for t in 0..<threads {
      group.enter()
      let prefix = "\(tag)-\(burst)-\(t)"
      Thread.detachNewThread {
        var rng = UInt64(truncatingIfNeeded: prefix.hashValue) | 1
        func next() -> UInt64 {
          rng ^= rng << 13
          rng ^= rng >> 7
          rng ^= rng << 17
          return rng
        }
        var mine: [String] = []
        var ops = 0
        for i in 0..<100 {
          let a = accounts[Int(next() % 4)]
          let b = accounts[Int(next() % 4)]
          let amt = Amount(minorUnits: Int64(next() % 5_000) + 1, currency: .usd)
          ops += 1
          switch next() % 6 {
          case 0:
            let key = "\(prefix)-\(i)"
            if (try? ledger.deposit(amt, to: a, key: IdempotencyKey(key))) != nil {
              mine.append(key)
            }
          case 1: _ = try? ledger.withdraw(amt, from: a)
          case 2: if a != b { _ = try? ledger.transfer(amt, from: a, to: b) }
          case 3:
            if let h = try? ledger.placeHold(amt, from: a) {
              if next() % 2 == 0 {
                _ = try? ledger.postHold(.number(h.transfer.number))
              } else {
                _ = try? ledger.voidHold(.number(h.transfer.number))
              }
            }
          default: _ = try? ledger.balance(of: a)
          }
        }
        results.withLock {
          $0.0 += mine
          $0.1 += ops
        }
        group.leave()
      }
    }
    group.wait()
    let (keys, ops) = results.withLock { $0 }
    acked += keys
    total += ops
    if let v = ledger.invariantViolation() { fail("invariant broken: \(v)") }
    ledger.close()
    burst += 1
  }
  print("ops \(total)")
  for k in acked { print("acked \(k)") }
default:
  fail("unknown mode \(args[1])")
}

/// A small lock for the helper's result collection.
final class Lock2<Value>: @unchecked Sendable {
  private let m = NSLock()
  private var v: Value
  init(_ v: Value) { self.v = v }
  func withLock<R>(_ body: (inout Value) -> R) -> R {
    m.lock()
    defer { m.unlock() }
    return body(&v)
  }
}
