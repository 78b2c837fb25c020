// swift-tools-version:6.0
import PackageDescription

// A program outside the BankCore package, written against its public API only: what an embedder
// writes. `.ci/run` builds and runs it.
let package = Package(
  name: "Teller",
  dependencies: [.package(name: "BankCore", path: "../..")],
  targets: [
    .executableTarget(
      name: "teller", dependencies: [.product(name: "BankCore", package: "BankCore")],
      path: "Sources/teller")
  ],
  swiftLanguageModes: [.v6]
)
