import Testing
import TeardownAnalysis
import TeardownExplain
import TeardownTestSupport
import TeardownWire

/// The ladder is drawn from the analysis's own view of each segment (``SegmentFact``): who sent
/// it and where it lies in each side's sequence space, from the one pass that gave the verdict.
@Suite("Explainer")
struct ExplainerTests {
    /// The explanation of the single connection of `conversation`, recorded in one analysis.
    static func explain(_ conversation: Conversation, unfold: Bool = false) throws -> Explanation {
        var options = AnalysisOptions()
        options.recording = .all
        let analysis = conversation.pcap().withUnsafeBytes {
            CaptureAnalyzer.analyze(ByteView($0), name: "conversation", options: options)
        }
        let connection = try #require(analysis.connections.first)
        #expect(analysis.connections.count == 1)
        #expect(analysis.segments[connection.id]?.count == connection.packets, "every segment recorded")
        return Explainer.explain(connection, segments: analysis.segments[connection.id] ?? [], unfold: unfold)
    }

    @Test("a half-close: the server's FIN, the client's data after it, TIME_WAIT for the first closer")
    func halfClose() throws {
        var c = Conversation()
        c.handshake()
        c.data(.server, 100)
        c.ack(.client)
        c.fin(.server)
        c.data(.client, 9)
        c.ack(.server)
        c.fin(.client)
        c.ack(.server)
        let explanation = try Self.explain(c)
        let notes = explanation.steps.flatMap(\.notes)
        #expect(notes.contains("server FIN — no more data from the server (shutdown or close)"))
        #expect(notes.contains("client keeps sending after the server's FIN: half-close"))
        #expect(notes.contains("server enters TIME_WAIT (it closed first)"))
        #expect(explanation.steps.first?.label == "SYN seq 0")
        #expect(explanation.steps.contains { $0.label == "FIN,ACK seq 101 ack 1" && $0.direction == .toClient })
    }

    @Test("six or more ordinary segments fold into one line; a segment that changes a state does not fold")
    func folding() throws {
        var c = Conversation()
        c.handshake()
        for _ in 0..<3 {
            c.data(.server, 1000)
            c.ack(.client)
        }
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let explanation = try Self.explain(c)
        let folded = try #require(explanation.steps.first { $0.kind == .folded })
        #expect(folded.label == "6 segments")
        #expect(folded.notes == ["3000 B server→client, until 8.000 ms"])
        #expect(folded.direction == .toClient)
        #expect(explanation.steps.count == 3 + 1 + 3)
        #expect(explanation.steps[2].states == PerSide(client: "ESTABLISHED", server: "ESTABLISHED"))
        // --unfold draws every segment.
        let unfolded = try Self.explain(c, unfold: true)
        #expect(unfolded.steps.count == c.segments.count)
        #expect(!unfolded.steps.contains { $0.kind == .folded })
    }

    @Test("a server that answers after reading part of the request and closes: the hint names the unread data", arguments: [false, true])
    func partOfTheRequestUnread(answers: Bool) throws {
        var c = Conversation()
        c.handshake()
        c.data(.client, 27)
        c.ack(.server)
        if answers {
            c.data(.server, 12)
            c.ack(.client)
        }
        c.rst(.server)
        let explanation = try Self.explain(c)
        let hints = explanation.hints.map(\.text).joined(separator: " ")
        #expect(hints.contains("never read") || hints.contains("part of the client's data still unread"), "\(hints)")
    }

    @Test("a fold keeps both directions: the request does not disappear in the answer's arrow")
    func foldBothWays() throws {
        var c = Conversation()
        c.handshake()
        c.data(.client, 850)
        for _ in 0..<3 {
            c.data(.server, 26)
            c.ack(.client)
        }
        c.time += 9_900_000_000
        c.ack(.server)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let explanation = try Self.explain(c)
        let folded = try #require(explanation.steps.first { $0.kind == .folded })
        #expect(folded.direction == .both)
        #expect(folded.label == "8 segments")
        #expect(folded.notes == ["850 B client→server, 78 B server→client, until 9910.000 ms"])
        let text = LadderText(color: false).render(explanation)
        #expect(text.contains("◀─8 segments"))
        // Beside the arrow where it fits, else on the line below.
        #expect(text.contains("│  850 B client→server, 78 B server→client, until 9910.000 ms"))
        #expect(LadderSVG.render(explanation).contains(#"marker-start="url(#head-gray)""#))
    }

    @Test("a refusal: the reset is shown at its own number, answering the SYN")
    func refused() throws {
        var c = Conversation()
        c.syn()
        c.send(.server, [.rst, .ack])
        let explanation = try Self.explain(c)
        #expect(explanation.connection.verdict == .refused)
        #expect(explanation.steps.map(\.label) == ["SYN seq 0", "RST,ACK seq 0 ack 1"])
        #expect(explanation.hints.map(\.confidence) == [.certain])
    }

    @Test("positions past 4 GiB are the tracker's unwrapped ones, as the byte counts are")
    func beyondFourGiB() throws {
        var c = Conversation()
        c.handshake()
        // 5 GiB of server data in 32 KiB segments (an IPv4 packet holds less than 64 KiB),
        // acknowledged now and then.
        for index in 0..<(5 << 15) {
            c.data(.server, 32768)
            if index % 64 == 63 { c.ack(.client) }
        }
        c.fin(.server)
        c.fin(.client)
        c.ack(.server)
        let explanation = try Self.explain(c)
        #expect(explanation.connection.bytes.server == 5 << 30)
        let finLabel = try #require(explanation.steps.first { $0.kind == .fin && $0.direction == .toClient }?.label)
        #expect(finLabel == "FIN,ACK seq \((5 << 30) + 1) ack 1")
    }
}
