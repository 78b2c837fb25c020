// swift-tools-version:6.0
// bankd: the bank as a service. A second package, so that embedders of BankCore never build
// what a server needs; it depends on BankCore by path (`..`).
import PackageDescription

let package = Package(
  name: "BankServer",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "bankd", targets: ["bankd"]),
    .library(name: "BankService", targets: ["BankService"]),
  ],
  dependencies: [
    // Named, so the product reference holds wherever the checkout sits.
    .package(name: "BankCore", path: ".."),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
  ],
  targets: [
    .target(
      name: "BankService",
      dependencies: [
        .product(name: "BankCore", package: "BankCore"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]),
    .executableTarget(
      name: "bankd",
      dependencies: [
        "BankService",
        .product(name: "BankCore", package: "BankCore"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .testTarget(
      name: "BankServiceTests",
      dependencies: ["BankService", .product(name: "BankCore", package: "BankCore")]),
  ],
  swiftLanguageModes: [.v6]
)
