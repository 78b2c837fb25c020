import BankCore
import Foundation

// A child process for the crash and contention tests. It never runs in production.
//
//   bankcore-testhelper crash PATH SEED   append batches of keyed deposits forever, printing
//                                         "ack BATCH SIZE" after each durable commit
//   bankcore-testhelper contend PATH N TAG  N times: open the store (waiting on the lock),
//                                         deposit 1.00 with key TAG-i, close
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
    let storage = try FileStorage(path: path, options: .init(lockTimeout: 60))
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
        amount: Amount(minorUnits: 100, currency: .usd), to: account, key: "b\(batch)-\(j)of\(size)"
      )
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
      try ledger.deposit(Amount(minorUnits: 100, currency: .usd), to: account, key: "\(tag)-\(i)")
    } catch {
      fail("deposit failed: \(error)")
    }
    ledger.close()
  }
default:
  fail("unknown mode \(args[1])")
}
