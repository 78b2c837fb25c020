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
    // The PostgreSQL journal backend, for programs other than bankd.
    .library(name: "BankPostgres", targets: ["BankPostgres"]),
    .executable(name: "bankctl-pg", targets: ["bankctl-pg"]),
  ],
  dependencies: [
    // Named, so the product reference holds wherever the checkout sits.
    .package(name: "BankCore", path: ".."),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
  ],
  targets: [
    .target(
      name: "BankService",
      dependencies: [
        .product(name: "BankCore", package: "BankCore"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ],
      resources: [.copy("Web")]),
    .target(
      name: "BankPostgres",
      dependencies: [
        .product(name: "BankCore", package: "BankCore"),
        .product(name: "BankCLI", package: "BankCore"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .executableTarget(
      name: "bankctl-pg",
      dependencies: [
        "BankPostgres",
        .product(name: "BankCore", package: "BankCore"),
        .product(name: "BankCLI", package: "BankCore"),
      ]),
    .executableTarget(
      name: "bankd",
      dependencies: [
        "BankService",
        "BankPostgres",
        .product(name: "BankCore", package: "BankCore"),
        .product(name: "BankCLI", package: "BankCore"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HummingbirdTLS", package: "hummingbird"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]),
    .testTarget(
      name: "BankServiceTests",
      dependencies: ["BankService", .product(name: "BankCore", package: "BankCore")]),
    .testTarget(
      name: "BankPostgresTests",
      dependencies: [
        "BankPostgres",
        .product(name: "BankCore", package: "BankCore"),
        .product(name: "BankCoreTesting", package: "BankCore"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]),
  ],
  swiftLanguageModes: [.v6]
)
