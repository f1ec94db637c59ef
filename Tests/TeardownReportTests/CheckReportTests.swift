import Testing
import TeardownAnalysis
import TeardownReport
import TeardownTestSupport

/// The check logic behind `teardown check`, on analyses built in memory.
@Suite("Check report")
struct CheckReportTests {
    static func analysis(_ build: (inout Conversation) -> Void) -> CaptureAnalysis {
        var conversation = Conversation()
        build(&conversation)
        return Fixtures.analyze(conversation.pcap(), name: "test.pcap")
    }

    static let graceful = analysis { c in
        c.handshake()
        c.data(.client, 5)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
    }

    @Test("kernel drops fail the check unless allowed")
    func drops() {
        var dropped = Self.graceful
        dropped.droppedPackets = 4
        let expectation = TeardownExpectation(allowed: [.graceful])
        let strict = CheckReport(expectation: expectation).evaluate([dropped])
        #expect(!strict.passed)
        #expect(strict.text.contains("the kernel dropped packets during the capture (ps_drop 4); --allow-drops accepts it"))
        #expect(CheckReport(expectation: expectation, allowDrops: true).evaluate([dropped]).passed)
    }

    @Test("reason lines say what happened in words")
    func reasons() {
        let halfOpen = Self.analysis { c in
            c.handshake()
            c.fin(.client)
            c.data(.server, 40)
        }
        let outcome = CheckReport(expectation: TeardownExpectation(allowed: [.graceful], firstCloser: .server)).evaluate([halfOpen])
        #expect(!outcome.passed)
        #expect(outcome.text.contains(
            "10.0.0.1:40000 → 10.0.0.2:8080 half-closed: client closed first; the server sent 40 bytes after that FIN; the server had not closed when the capture ended; expected graceful; expected the server to close first, not the client"))
    }

    @Test("an expectation's summary reads as a sentence")
    func summary() {
        let expectation = TeardownExpectation(allowed: [.graceful, .halfClosed], forbidden: [.abortive], maximumLostBytes: 0, minimumCount: 2)
        #expect(expectation.summary == "half-closed or graceful, not abortive, ≤ 0 bytes lost, at least 2 connections")
    }
}
