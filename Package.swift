// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "teardown",
    products: [
        /// Capture bytes → decoded segments → per-connection teardown verdicts → reports. No libpcap.
        .library(name: "TeardownAnalysis", targets: ["TeardownWire", "TeardownAnalysis", "TeardownReport"]),
        /// Capture files, standard input and standard output, threads: what feeds and drains the analysis.
        .library(name: "TeardownIO", targets: ["TeardownIO"]),
        /// Live libpcap capture and tcpdump-expression filters.
        .library(name: "TeardownCapture", targets: ["TeardownCapture"]),
        /// The built-in socket scenarios, run under capture.
        .library(name: "TeardownScenarios", targets: ["TeardownScenarios"]),
        /// The kernel's own account of resets and states, from a private tracefs instance (Linux).
        .library(name: "TeardownKernel", targets: ["TeardownKernel"]),
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
        /// zlib and libzstd: compressed captures (`.gz`, `.zst`) read as they are, streamed.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        /// Header-only: the CPU's prefetch and spin-wait hints, for the table, the reader and the hand-off between threads.
        .target(name: "CPrefetch"),
        /// What Swift's Glibc module does not show: CPU affinity, malloc's threshold, `environ`.
        .target(name: "CSystemShims"),
        .target(name: "TeardownWire", dependencies: ["CPrefetch"]),
        .target(name: "TeardownAnalysis", dependencies: ["TeardownWire", "CPrefetch"]),
        .target(name: "TeardownIO", dependencies: ["TeardownWire", "TeardownAnalysis", "CSystemShims", "CZlib", "CZstd"]),
        .target(name: "TeardownReport", dependencies: ["TeardownAnalysis", "TeardownWire"]),
        /// The kernel's account (Linux tracefs): resets with their reasons, socket states.
        .target(name: "TeardownKernel", dependencies: ["TeardownAnalysis", "TeardownWire", "TeardownIO"]),
        .target(name: "TeardownExplain", dependencies: ["TeardownAnalysis", "TeardownReport", "TeardownWire"]),
        .target(
            name: "TeardownCapture", dependencies: ["CPcap", "TeardownIO", "TeardownKernel", "TeardownWire", "TeardownAnalysis"]
        ),
        .target(
            name: "TeardownScenarios",
            dependencies: ["TeardownIO", "TeardownCapture", "TeardownKernel", "TeardownAnalysis", "TeardownWire"]
        ),
        .executableTarget(
            name: "teardown",
            dependencies: [
                "TeardownWire", "TeardownAnalysis", "TeardownIO", "TeardownReport", "TeardownCapture",
                "TeardownScenarios", "TeardownExplain", "TeardownKernel", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "teardown-synth", dependencies: ["TeardownTestSupport"]),
        .target(
            name: "TeardownTestSupport",
            dependencies: ["TeardownWire", "TeardownAnalysis", "TeardownIO"],
            path: "Tests/TeardownTestSupport"
        ),
        .testTarget(name: "TeardownWireTests", dependencies: ["TeardownWire", "TeardownTestSupport"]),
        .testTarget(
            name: "TeardownAnalysisTests",
            dependencies: ["TeardownAnalysis", "TeardownWire", "TeardownIO", "TeardownTestSupport"]
        ),
        .testTarget(
            name: "TeardownReportTests",
            dependencies: [
                "TeardownReport", "TeardownAnalysis", "TeardownWire", "TeardownIO", "TeardownScenarios", "TeardownTestSupport",
            ]
        ),
        .testTarget(
            name: "TeardownExplainTests",
            dependencies: ["TeardownExplain", "TeardownAnalysis", "TeardownWire", "TeardownTestSupport"]
        ),
        .testTarget(
            name: "TeardownKernelTests",
            dependencies: ["TeardownKernel", "TeardownAnalysis", "TeardownWire", "TeardownIO", "TeardownTestSupport"]
        ),
        .testTarget(
            name: "TeardownIOTests",
            dependencies: ["TeardownIO", "TeardownAnalysis", "TeardownReport", "TeardownWire", "TeardownTestSupport"]
        ),
        /// Capture and Scenarios: live tests, run as root (skipped with a message otherwise).
        .testTarget(
            name: "TeardownLiveTests",
            dependencies: [
                "teardown", "TeardownCapture", "TeardownScenarios", "TeardownAnalysis", "TeardownIO", "TeardownExplain",
                "TeardownKernel", "TeardownTestSupport",
            ],
            // Programs the tests run (read by path, not built).
            exclude: ["Programs"]
        ),
        .testTarget(
            name: "TeardownCLITests",
            dependencies: ["teardown", "teardown-synth", "TeardownTestSupport", "TeardownAnalysis", "TeardownWire"]
        ),
    ]
)
