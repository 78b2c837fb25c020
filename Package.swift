// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "BankCore",
  products: [
    .library(name: "BankCore", targets: ["BankCore"]),
    .executable(name: "bankctl", targets: ["bankctl"]),
    .executable(name: "bankbench", targets: ["bankbench"]),
  ],
  targets: [
    .target(name: "BankCore", path: "Sources/BankCore"),
    .executableTarget(name: "bankctl", dependencies: ["BankCore"], path: "Sources/bankctl"),
    .executableTarget(
      name: "bankbench", dependencies: ["BankCore"], path: "Benchmarks/bankbench"),
    .target(name: "TestSupport", dependencies: ["BankCore"], path: "Tests/TestSupport"),
    .executableTarget(name: "bankcore-testhelper", dependencies: ["BankCore"], path: "Tests/TestHelper"),
    .testTarget(
      name: "BankCoreTests", dependencies: ["BankCore", "TestSupport", "bankcore-testhelper"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "bankctlTests", dependencies: ["bankctl", "BankCore", "TestSupport"],
      exclude: ["Snapshots", "Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
