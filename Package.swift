// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "BankCore",
  products: [
    .library(name: "BankCore", targets: ["BankCore"]),
    // The storage conformance suite, for backends in other packages (PostgreSQL in Server/).
    .library(name: "BankCoreTesting", targets: ["BankCoreTesting"]),
    .executable(name: "bankctl", targets: ["bankctl"]),
    .executable(name: "bankbench", targets: ["bankbench"]),
  ],
  targets: [
    .target(name: "BankCore", path: "Sources/BankCore"),
    .target(name: "BankCoreTesting", dependencies: ["BankCore"], path: "Sources/BankCoreTesting"),
    .executableTarget(name: "bankctl", dependencies: ["BankCore"], path: "Sources/bankctl"),
    .executableTarget(
      name: "bankbench", dependencies: ["BankCore"], path: "Benchmarks/bankbench"),
    .target(name: "TestSupport", dependencies: ["BankCore"], path: "Tests/TestSupport"),
    .executableTarget(name: "bankcore-testhelper", dependencies: ["BankCore"], path: "Tests/TestHelper"),
    .testTarget(
      name: "BankCoreTests",
      dependencies: ["BankCore", "BankCoreTesting", "TestSupport", "bankcore-testhelper"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "bankctlTests", dependencies: ["bankctl", "BankCore", "TestSupport"],
      exclude: ["Snapshots", "Fixtures"]),
  ],
  swiftLanguageModes: [.v6]
)
