import Testing
import TeardownAnalysis
import TeardownIO
import TeardownTestSupport
import TeardownWire

/// Counting (`--format summary`) with the tracking shared between the reading thread and a helper
/// (``AnalysisOptions/helperThread``, issue 23) gives exactly what one thread gives.
@Suite("Tracking shared between two threads")
struct SharedTrackingTests {
    /// Counts the connections of `bytes`, on one thread or with a helper.
    static func count(_ bytes: [UInt8], limits: TrackingLimits = TrackingLimits(), helped: Bool) -> CaptureAnalysis {
        var options = AnalysisOptions()
        options.delivery = .countOnly
        options.tracksZeek = false
        options.limits = limits
        if helped {
            options.helperThread = { work in
                let thread = OSThread(work)
                return { thread.join() }
            }
        }
        return bytes.withUnsafeBytes { CaptureAnalyzer.analyze(ByteView($0), name: "memory", options: options) }
    }

    /// What a summary and the stitching hint use of an analysis (the hint's samples as their sizes
    /// and a sum of their hashes).
    static func facts(_ analysis: CaptureAnalysis) -> String {
        func digest(_ hashes: Set<UInt64>) -> String { "\(hashes.count):\(hashes.reduce(0, &+))" }
        let verdicts = Verdict.allCases.map { "\($0.rawValue)=\(analysis.verdictCounts[$0] ?? 0)" }.joined(separator: " ")
        return "\(analysis.connectionCount) connections, \(verdicts), lost \(analysis.totalLostBytes), packets \(analysis.packets)/"
            + "\(analysis.tcpPackets), late \(analysis.lateSegments), going \(digest(analysis.heldAtEnd)), "
            + "mid-stream \(digest(analysis.startedMidStream)), error \(analysis.error.map { "\($0)" } ?? "none")"
    }

    @Test("every fixture and corpus trace: the same counts, late segments and samples with a helper as without")
    func fixturesAndCorpus() {
        var paths = Fixtures.captures.map(Fixtures.path)
        paths += Fixtures.files(in: Fixtures.path("malformed")).map { Fixtures.path("malformed/\($0)") }
        paths += Fixtures.files(in: Fixtures.corpus + "/traces").map { Fixtures.corpus + "/traces/" + $0 }
        #expect(paths.count > 100)
        var lateSomewhere = false
        for path in paths {
            let bytes = Fixtures.bytes(path)
            let alone = Self.count(bytes, helped: false)
            let helped = Self.count(bytes, helped: true)
            #expect(Self.facts(helped) == Self.facts(alone), "\(path)")
            if alone.lateSegments > 0 { lateSomewhere = true }
        }
        #expect(lateSomewhere, "some capture has late segments, which the helper's shards must count too")
    }

    @Test("under a small table limit: evictions, resumed parts and lingering connections give the same counts")
    func underPressure() {
        let conversations = 1500
        // Each conversation opens and sends 10 bytes; every third closes at once (it lingers, and a
        // retransmitted FIN comes late), the others go quiet and close an hour later, long after
        // the table's limit evicted most of them.
        var segments: [TCPSegment] = []
        var quiet: [Conversation] = []
        for n in 0..<conversations {
            var c = Conversation()
            c.clientAddress = SocketAddress(address: ConnectionTrackerTests.client(n), port: 40000)
            c.time += Int64(n) * 10_000_000
            c.handshake()
            c.data(.client, 10)
            c.ack(.server)
            if n % 3 == 0 {
                c.fin(.client)
                c.fin(.server)
                c.ack(.client)
                segments += c.segments
                var retransmittedFIN = c.segments[c.segments.count - 3]
                retransmittedFIN.timestamp = Timestamp(nanoseconds: c.time + 6_000_000_000)
                segments.append(retransmittedFIN)
            } else {
                segments += c.segments
                quiet.append(c)
            }
        }
        for var c in quiet {
            let before = c.segments.count
            c.time += 3_600_000_000_000
            c.fin(.server)
            c.fin(.client)
            c.ack(.server)
            segments += c.segments[before...]
        }
        segments.sort { $0.timestamp.nanoseconds < $1.timestamp.nanoseconds }
        var writer = PcapWriter()
        for segment in segments { writer.append(segment) }
        let bytes = writer.bytes

        let limits = TrackingLimits(linger: 5, maximumConnections: 128)
        let alone = Self.count(bytes, limits: limits, helped: false)
        let helped = Self.count(bytes, limits: limits, helped: true)
        #expect(Self.facts(helped) == Self.facts(alone))
        // The test means something only if the limit evicted, and evicted connections came back.
        let resumed = alone.connectionCount - conversations
        #expect(resumed > conversations / 2, "most quiet conversations were evicted and resumed")
        #expect(alone.verdictCounts[.graceful] == conversations)
        #expect(alone.verdictCounts[.open] == resumed)
        #expect(alone.lateSegments >= conversations / 3 - 1)
    }
}
