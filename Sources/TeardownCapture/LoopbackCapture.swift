import TeardownIO
import TeardownAnalysis
import TeardownKernel

#if canImport(Glibc)
import Glibc
#endif

/// Captures loopback traffic around a block of code and returns what happened to every TCP
/// connection it made: the library API for test suites.
///
/// ```swift
/// let analysis = try LoopbackCapture.record {
///     try runMyServerAndClient()
/// }
/// #expect(analysis.connections.allSatisfy { $0.verdict == .graceful })
/// ```
///
/// Needs root or CAP_NET_RAW (``CaptureError/permissionDenied(interface:detail:)`` otherwise).
/// The capture runs on its own thread; `body` runs on the caller's. As root, the kernel's account
/// is recorded too (``KernelTrace``): each reset's cause and each side's states come from the
/// kernel where it reported them (`kernelEvents: false` turns that off).
public enum LoopbackCapture {
    /// Captures on `interface` (filtered by `filter`) while `body` runs, waits until the traffic has
    /// been quiet for `quietPeriod` milliseconds, and analyses the capture.
    /// - Throws: `CaptureError` when capture is impossible, or what `body` throws.
    public static func record(
        interface: String = "lo", filter: String = "tcp", quietPeriod: Int = LiveCapture.defaultQuietPeriod,
        kernelEvents: Bool = true, _ body: () throws -> Void
    ) throws -> CaptureAnalysis {
        let session = try Session(interface: interface, filter: filter, kernelEvents: kernelEvents)
        do {
            try body()
        } catch {
            _ = try? session.capture.stop(quietPeriod: 0)
            throw error
        }
        return try session.finish(quietPeriod: quietPeriod)
    }

    /// The same for asynchronous code.
    public static func record(
        interface: String = "lo", filter: String = "tcp", quietPeriod: Int = LiveCapture.defaultQuietPeriod,
        kernelEvents: Bool = true, _ body: () async throws -> Void
    ) async throws -> CaptureAnalysis {
        let session = try Session(interface: interface, filter: filter, kernelEvents: kernelEvents)
        do {
            try await body()
        } catch {
            _ = try? session.capture.stop(quietPeriod: 0)
            throw error
        }
        return try session.finish(quietPeriod: quietPeriod)
    }

    /// A capture into a temporary file that is removed after it was analysed, with the kernel's
    /// account beside it when that can be had.
    final class Session: @unchecked Sendable {
        let capture: LiveCapture
        let path: String
        let kernel: KernelTrace?
        let interface: String

        init(interface: String, filter: String, kernelEvents: Bool) throws(CaptureError) {
            self.interface = interface
            path = TemporaryFile.make(prefix: "record")
            var configuration = CaptureConfiguration(outputPath: path)
            configuration.interface = interface
            configuration.filter = filter
            do {
                capture = try LiveCapture(configuration)
            } catch {
                unlink(path)
                throw error
            }
            kernel = kernelEvents ? try? KernelTrace() : nil
            capture.start()
        }

        deinit { kernel?.stop() }

        func finish(quietPeriod: Int) throws -> CaptureAnalysis {
            defer { unlink(path) }
            let statistics = try capture.stop(quietPeriod: quietPeriod)
            var analysis = try CaptureAnalyzer.analyze(fileAt: path)
            analysis.file = "loopback capture"
            analysis.droppedPackets = statistics.dropped
            if let kernel {
                kernel.stop()
                KernelAccount(events: kernel.events, realtimeOffset: kernel.realtimeOffset, coversEveryStack: interface == "lo")
                    .apply(to: &analysis)
            }
            return analysis
        }
    }
}
