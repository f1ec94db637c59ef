// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "teardown",
    platforms: [.macOS(.v15)],
    products: [
        /// Capture files → decoded segments → per-connection teardown verdicts → reports. No libpcap.
        .library(name: "TeardownAnalysis", targets: ["TeardownWire", "TeardownAnalysis", "TeardownReport", "CSystemShims"]),
        /// Live libpcap capture and tcpdump-expression filters.
        .library(name: "TeardownCapture", targets: ["TeardownCapture"]),
        /// The built-in socket scenarios, run under capture.
        .library(name: "TeardownScenarios", targets: ["TeardownScenarios"]),
        /// Ladder diagrams of a connection's teardown, as text or SVG, with the cause in words.
        .library(name: "TeardownExplain", targets: ["TeardownExplain"]),
        .executable(name: "teardown", targets: ["teardown"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"]), .brew(["libpcap"])]
        ),
        .target(name: "TeardownWire", dependencies: ["CSystemShims"]),
        .target(name: "TeardownAnalysis", dependencies: ["TeardownWire", "CSystemShims"]),
        .target(name: "TeardownReport", dependencies: ["TeardownAnalysis", "TeardownWire"]),
        .target(name: "TeardownExplain", dependencies: ["TeardownAnalysis", "TeardownReport", "TeardownWire"]),
        .target(name: "CSystemShims"),
        .target(name: "TeardownCapture", dependencies: ["CPcap", "CSystemShims", "TeardownWire", "TeardownAnalysis"]),
        .target(
            name: "TeardownScenarios",
            dependencies: ["CSystemShims", "TeardownCapture", "TeardownAnalysis", "TeardownWire"]
        ),
        .executableTarget(
            name: "teardown",
            dependencies: [
                "TeardownWire", "TeardownAnalysis", "TeardownReport", "TeardownCapture", "TeardownScenarios",
                "TeardownExplain", "CSystemShims", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "teardown-synth", dependencies: ["TeardownTestSupport"]),
        .target(
            name: "TeardownTestSupport",
            dependencies: ["TeardownWire", "TeardownAnalysis"],
            path: "Tests/TeardownTestSupport"
        ),
        .testTarget(name: "TeardownWireTests", dependencies: ["TeardownWire", "TeardownTestSupport"]),
        .testTarget(
            name: "TeardownAnalysisTests",
            dependencies: ["TeardownAnalysis", "TeardownWire", "TeardownReport", "TeardownScenarios", "TeardownTestSupport"]
        ),
        .testTarget(
            name: "TeardownLiveTests",
            dependencies: [
                "teardown", "TeardownCapture", "TeardownScenarios", "TeardownAnalysis", "TeardownExplain",
                "TeardownTestSupport",
            ]
        ),
        .testTarget(
            name: "TeardownCLITests",
            dependencies: ["teardown", "teardown-synth", "TeardownTestSupport", "TeardownAnalysis", "TeardownWire"]
        ),
    ]
)
