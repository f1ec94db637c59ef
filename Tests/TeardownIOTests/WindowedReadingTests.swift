import Testing
import TeardownAnalysis
import TeardownIO
import TeardownReport
import TeardownTestSupport
import TeardownWire

/// Files are read a buffer at a time (`WindowedReading.readSize`, 1 MiB by default): records and
/// pcapng blocks run across the end of a buffer, and some are larger than the buffer. Reading with
/// buffers far smaller than the records must give exactly what reading the whole file at once
/// gives: the same connections, packet counts, truncation and error messages (with offsets from
/// the start of the file), also when the next window is read on another thread (`readsAhead`).
@Suite("Reading a file a window at a time")
struct WindowedReadingTests {
    /// Every fixture, malformed ones included, and the shared corpus when present.
    static var files: [String] {
        var paths = Fixtures.captures.map(Fixtures.path)
        paths += Fixtures.files(in: Fixtures.path("malformed")).map { Fixtures.path("malformed/\($0)") }
        paths += Fixtures.files(in: Fixtures.corpus + "/traces").map { Fixtures.corpus + "/traces/" + $0 }
        return paths
    }

    /// What the comparison covers: the JSON document (every connection, packets, truncation,
    /// error text), the counts and the warnings.
    static func digest(_ analysis: CaptureAnalysis) -> String {
        var analysis = analysis
        analysis.file = "x"
        return JSONReport.document(analysis) + "\n\(analysis.packets) \(analysis.tcpPackets) \(analysis.skippedPackets) "
            + "\(analysis.truncation ?? "-") \(analysis.warnings)"
    }

    @Test("small windows, read ahead on another thread or not, give what the whole file in memory gives",
          arguments: [64, 100, 1500], [false, true])
    func smallWindows(readSize: Int, readsAhead: Bool) throws {
        #expect(Self.files.count > 20)
        for path in Self.files {
            let whole = Fixtures.analyze(Fixtures.bytes(path), name: path)
            let reading = WindowedReading(readSize: readSize, readsAhead: readsAhead)
            let windowed = try CaptureAnalyzer.analyze(fileAt: path, reading: reading)
            #expect(Self.digest(windowed) == Self.digest(whole), "\(path), windows of \(readSize) bytes, read ahead: \(readsAhead)")
        }
    }
}
