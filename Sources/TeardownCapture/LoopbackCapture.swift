import TeardownIO
import TeardownAnalysis

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
/// The capture runs on its own thread; `body` runs on the caller's.
public enum LoopbackCapture {
    /// Captures on `interface` (filtered by `filter`) while `body` runs, waits until the traffic has
    /// been quiet for `quietPeriod` milliseconds, and analyses the capture.
    /// - Throws: `CaptureError` when capture is impossible, or what `body` throws.
    public static func record(
        interface: String = "lo", filter: String = "tcp", quietPeriod: Int = LiveCapture.defaultQuietPeriod, _ body: () throws -> Void
    ) throws -> CaptureAnalysis {
        let session = try Session(interface: interface, filter: filter)
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
        interface: String = "lo", filter: String = "tcp", quietPeriod: Int = LiveCapture.defaultQuietPeriod, _ body: () async throws -> Void
    ) async throws -> CaptureAnalysis {
        let session = try Session(interface: interface, filter: filter)
        do {
            try await body()
        } catch {
            _ = try? session.capture.stop(quietPeriod: 0)
            throw error
        }
        return try session.finish(quietPeriod: quietPeriod)
    }

    /// A capture into a temporary file that is removed after it was analysed.
    final class Session: @unchecked Sendable {
        let capture: LiveCapture
        let path: String

        init(interface: String, filter: String) throws(CaptureError) {
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
            capture.start()
        }

        func finish(quietPeriod: Int) throws -> CaptureAnalysis {
            defer { unlink(path) }
            let statistics = try capture.stop(quietPeriod: quietPeriod)
            var analysis = try CaptureAnalyzer.analyze(fileAt: path)
            analysis.file = "loopback capture"
            analysis.droppedPackets = statistics.dropped
            return analysis
        }
    }
}
