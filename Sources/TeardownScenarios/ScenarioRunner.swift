import TeardownIO
import TeardownKernel
import TeardownAnalysis
import TeardownCapture
import TeardownWire

#if canImport(Glibc)
import Glibc
#endif

/// Where and how scenarios are captured.
public struct ScenarioRunOptions: Sendable {
    /// Use ::1 instead of 127.0.0.1.
    public var ipv6 = false
    /// Capture interface (`lo`: Ethernet framing; `any`: Linux cooked).
    public var interface = "lo"
    /// Link type to ask for (276: SLL2 on `any`).
    public var linkType: Int32?
    /// Keep each capture as `DIRECTORY/NAME.pcap`; `nil` uses a temporary file, removed afterwards.
    public var outputDirectory: String?
    /// The kernel's account, recorded beside the captures: the causes of resets and the states
    /// come from the kernel where it reported them (`nil`: from the wire).
    public var kernel: KernelTrace?

    public init() {}
}

/// The outcome of one scenario run: both views and the verdict against the expectation.
public struct ScenarioResult: Sendable {
    public let scenario: Scenario
    /// The capture file (removed after the run unless an output directory was given).
    public let capturePath: String
    public let analysis: CaptureAnalysis
    public let statistics: CaptureStatistics
    public let application: ApplicationView
    /// Why the expectation did not hold; empty when it held.
    public let failures: [String]
    /// Wall time of the whole run, capture setup and teardown included.
    public let elapsedNanoseconds: Int64

    /// The scenario's connection, when exactly one was captured.
    public var connection: Connection? { analysis.connections.count == 1 ? analysis.connections[0] : nil }
    public var passed: Bool { failures.isEmpty }
}

/// Runs scenarios under a live capture filtered to the scenario's own port.
public enum ScenarioRunner {
    /// Runs `scenario`: binds a listener on port 0, captures `tcp port P`, runs the programs, stops
    /// the capture once the traffic settled, analyses it and compares it with the expectation.
    /// - Throws: `CaptureError` when capturing is impossible (not permitted, bad interface, ...).
    public static func run(_ scenario: Scenario, options: ScenarioRunOptions = ScenarioRunOptions()) throws(CaptureError)
        -> ScenarioResult
    {
        let started = Clock.monotonicNanoseconds()
        // A scenario with a firewall rule of its own runs in a network namespace of its own: this
        // thread, the capture's and the programs' threads, and the commands they start.
        var namespace: NetworkNamespace?
        if scenario.isolated {
            do {
                namespace = try NetworkNamespace()
            } catch {
                throw .pcap(operation: "entering a private network namespace (unshare)", detail: error.description)
            }
        }
        defer { namespace?.leave() }
        let listener: Listener
        do {
            listener = try Listener(ipv6: options.ipv6, listen: scenario.listens)
        } catch {
            throw .pcap(operation: "binding a loopback listener", detail: error.description)
        }
        let keep = options.outputDirectory != nil
        let path = options.outputDirectory.map { "\($0)/\(scenario.name).pcap" } ?? TemporaryFile.make(prefix: scenario.name)
        // Removed on every way out, errors included (a failed capture left its empty file behind).
        defer { if !keep { unlink(path) } }
        var configuration = CaptureConfiguration(outputPath: path)
        configuration.interface = options.interface
        configuration.linkType = options.linkType
        configuration.filter = "tcp port \(listener.address.port)"
        let capture = try LiveCapture(configuration)
        capture.start()

        let bin = SocketBin()
        var application = ApplicationView()
        var failures: [String] = []
        do {
            application = try scenario.body(ScenarioContext(listener: listener, leftOpen: bin))
        } catch {
            failures.append("the scenario's programs failed: \(error)")
        }
        let statistics: CaptureStatistics
        do {
            statistics = try capture.stop(quietPeriod: scenario.quietPeriod)
        } catch {
            bin.closeAll()
            throw error
        }
        // The kernel's account as the capture ended: what the sockets left open do when they are
        // closed next is not this scenario's.
        options.kernel?.drain()
        let kernelEvents = options.kernel?.events ?? []
        bin.closeAll()
        listener.socket.close()

        var analysis: CaptureAnalysis
        do {
            analysis = try CaptureAnalyzer.analyze(fileAt: path)
        } catch {
            throw .pcap(operation: "reading the capture back", detail: error.description)
        }
        if let kernel = options.kernel {
            KernelAccount(events: kernelEvents, realtimeOffset: kernel.realtimeOffset).apply(to: &analysis)
        }
        if statistics.dropped > 0 { failures.append("the kernel dropped \(statistics.dropped) packets") }
        if analysis.connections.count != 1 {
            failures.append("expected 1 connection, captured \(analysis.connections.count)")
        } else {
            let connection = analysis.connections[0]
            failures += scenario.expectation.violations(connection)
            if let closedAt = application.markers["parentClose"], let fin = connection.finTimes.client {
                application.remarks.append(
                    "the client's FIN left \(formatMilliseconds(fin.nanoseconds - closedAt)) after the parent's close()")
            }
        }
        return ScenarioResult(
            scenario: scenario, capturePath: path, analysis: analysis, statistics: statistics,
            application: application, failures: failures,
            elapsedNanoseconds: Clock.monotonicNanoseconds() - started)
    }
}
