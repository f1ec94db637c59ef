import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// Packets the capture did not show (contract 1.6): real scenario captures with packets dropped,
/// analysed as the acknowledgements prove them.
@Suite("Capture gaps (1.6)")
struct CaptureGapTests {
    /// The connection of `path` with every segment `drop` selects left out, and the one of the
    /// whole capture.
    static func analyse(_ path: String, dropping drop: (TCPSegment, _ server: UInt16) -> Bool) throws -> (
        gapped: Connection, whole: Connection
    ) {
        let segments = try Fixtures.segments(Fixtures.path(path))
        let server = segments[0].destinationPort
        var whole = ConnectionTracker(), gapped = ConnectionTracker()
        for (number, segment) in segments.enumerated() {
            whole.ingest(segment, packetNumber: number + 1)
            if !drop(segment, server) { gapped.ingest(segment, packetNumber: number + 1) }
        }
        let all = gapped.connections(), complete = whole.connections()
        try #require(all.count == 1 && complete.count == 1)
        return (all[0], complete[0])
    }

    static func fromServer(_ segment: TCPSegment, _ server: UInt16) -> Bool { segment.sourcePort == server }

    @Test("the server's 100 000-byte file and its FIN missing: the bytes counted, the FIN inferred, the verdict as captured whole",
        arguments: ["lo-ipv4", "lo-ipv6", "any-sll2", "any-sll"])
    func halfCloseWithoutTheFile(group: String) throws {
        let (gapped, whole) = try Self.analyse("pcap/\(group)/half-close.pcap") { segment, server in
            Self.fromServer(segment, server) && (segment.payloadLength > 0 || segment.flags.contains(.fin))
        }
        #expect(gapped.notes.contains(.packetsMissing))
        #expect(gapped.notCaptured?.bytes == PerSide(client: 0, server: 100_000))
        #expect(gapped.notCaptured?.inferredFIN == [.server])
        #expect(gapped.notCaptured?.text.contains("the server sent 100000 bytes the capture did not show, and a FIN") == true)
        #expect(gapped.verdict == whole.verdict && gapped.verdict == .halfClosed)
        #expect(gapped.completed == whole.completed && gapped.completed)
        #expect(gapped.firstCloser == whole.firstCloser && gapped.firstCloser == .server)
        #expect(gapped.bytesAfterFirstFin == whole.bytesAfterFirstFin && gapped.bytesAfterFirstFin == 9)
        #expect(gapped.bytes.server == 0 && whole.bytes.server == 100_000)
        #expect(gapped.states.notSeen.contains("the server's FIN was not captured (the acknowledgements suggest one)"))
        #expect(whole.notCaptured == nil && !whole.notes.contains(.packetsMissing))
    }

    @Test("the server's answer missing, with or without its FIN: graceful as captured whole, 5 bytes not captured")
    func gracefulWithoutTheAnswer() throws {
        let (answerOnly, whole) = try Self.analyse("pcap/lo-ipv4/graceful.pcap") { segment, server in
            Self.fromServer(segment, server) && segment.payloadLength > 0
        }
        #expect(answerOnly.notCaptured?.bytes.server == 5 && answerOnly.notCaptured?.inferredFIN == [])
        #expect(answerOnly.verdict == .graceful && answerOnly.firstCloser == whole.firstCloser)
        let (answerAndFIN, _) = try Self.analyse("pcap/lo-ipv4/graceful.pcap") { segment, server in
            Self.fromServer(segment, server) && (segment.payloadLength > 0 || segment.flags.contains(.fin))
        }
        // The client's ACK after its own FIN rose by one: the server's FIN, as far as the wire tells.
        #expect(answerAndFIN.notCaptured?.bytes.server == 5 && answerAndFIN.notCaptured?.inferredFIN == [.server])
        #expect(answerAndFIN.verdict == .graceful && answerAndFIN.firstCloser == .client)
        #expect(answerAndFIN.lostBytes == whole.lostBytes)
    }

    @Test("a hole in the middle of the data is counted; nothing is inferred where the FINs were captured")
    func hole() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 100)
        c.data(.client, 50)
        c.data(.client, 25)
        c.ack(.server)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        var gapped = Conversation()
        for (index, segment) in c.segments.enumerated() where index != 4 { gapped.append(segment) }
        let result = gapped.connection()
        #expect(result.notes.contains(.packetsMissing))
        #expect(result.notCaptured?.bytes == PerSide(client: 50, server: 0))
        #expect(result.notCaptured?.inferredFIN == [])
        #expect(result.verdict == .graceful && result.bytes.client == 125)
        #expect(c.connection().notCaptured == nil)
    }
}
