// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "BankCore",
  products: [
    .library(name: "BankCore", targets: ["BankCore"]),
    // The storage conformance suite, for backends in other packages (PostgreSQL in Server/).
    .library(name: "BankCoreTesting", targets: ["BankCoreTesting"]),
    // Every bankctl command, reached through a store opener (bankctl-pg: the same commands).
    .library(name: "BankCLI", targets: ["BankCLI"]),
    .executable(name: "bankctl", targets: ["bankctl"]),
    .executable(name: "bankbench", targets: ["bankbench"]),
  ],
  targets: [
    .target(name: "BankCore", path: "Sources/BankCore"),
    .target(name: "BankCoreTesting", dependencies: ["BankCore"], path: "Sources/BankCoreTesting"),
    .target(name: "BankCLI", dependencies: ["BankCore"], path: "Sources/BankCLI"),
    .executableTarget(name: "bankctl", dependencies: ["BankCLI"], path: "Sources/bankctl"),
    .executableTarget(
      name: "bankbench", dependencies: ["BankCore"], path: "Benchmarks/bankbench"),
    .target(name: "TestSupport", dependencies: ["BankCore"], path: "Tests/TestSupport"),
    .executableTarget(name: "bankcore-testhelper", dependencies: ["BankCore"], path: "Tests/TestHelper"),
    .testTarget(
      name: "BankCoreTests",
      dependencies: ["BankCore", "BankCoreTesting", "TestSupport", "bankcore-testhelper"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "bankctlTests", dependencies: ["BankCLI", "bankctl", "BankCore", "TestSupport"],
      exclude: ["Snapshots", "Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
