import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// Contract 2.6 from hand-written segment sequences: each side's RFC 9293 states, each dated by the
/// segment that proves it, and what the capture could not show.
@Suite("TCP states inferred from the segments")
struct StateInferenceTests {
    /// The states of the single connection of `c`, by name.
    static func states(_ c: Conversation) -> (client: [TCPState], server: [TCPState], notSeen: [String]) {
        let states = c.connection().states
        #expect(states.source == .wire)
        return (states.client.map(\.state), states.server.map(\.state), states.notSeen)
    }

    /// The time of segment `index` of `c`.
    static func time(_ c: Conversation, _ index: Int) -> Timestamp { c.segments[index].timestamp }

    @Test("client closes first, 4-segment close: FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT; CLOSE_WAIT → LAST_ACK → CLOSED")
    func clientFirst() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 5)
        c.fin(.client)  // 4
        c.ack(.server)  // 5
        c.fin(.server)  // 6
        c.ack(.client)  // 7
        let states = c.connection().states
        #expect(states.client.map(\.state) == [.synSent, .established, .finWait1, .finWait2, .timeWait])
        #expect(states.server.map(\.state) == [.synReceived, .established, .closeWait, .lastAck, .closed])
        #expect(states.client.map(\.at) == [0, 2, 4, 5, 7].map { Self.time(c, $0) })
        #expect(states.server.map(\.at) == [1, 2, 5, 6, 7].map { Self.time(c, $0) })
        #expect(states.notSeen.isEmpty)
    }

    @Test("server closes first, 3-segment close: the client's FIN,ACK puts the server in FIN_WAIT_2 and itself in LAST_ACK")
    func serverFirst() {
        var c = Conversation()
        c.handshake()
        c.fin(.server)  // 3
        c.fin(.client)  // 4: acknowledges the server's FIN too
        c.ack(.server)  // 5
        let states = c.connection().states
        #expect(states.server.map(\.state) == [.synReceived, .established, .finWait1, .finWait2, .timeWait])
        #expect(states.client.map(\.state) == [.synSent, .established, .closeWait, .lastAck, .closed])
        #expect(states.client[2].at == Self.time(c, 4) && states.client[3].at == Self.time(c, 4))
        #expect(states.server[3].at == Self.time(c, 4) && states.server[4].at == Self.time(c, 5))
    }

    @Test("simultaneous close: both FIN_WAIT_1 → CLOSING → TIME_WAIT")
    func simultaneous() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)  // 3
        c.fin(.server, stale: true)  // 4: does not acknowledge the client's FIN
        c.ack(.client)  // 5
        c.ack(.server)  // 6
        let result = c.connection()
        #expect(result.firstCloser == .both)
        #expect(result.states.client.map(\.state) == [.synSent, .established, .finWait1, .closing, .timeWait])
        #expect(result.states.server.map(\.state) == [.synReceived, .established, .finWait1, .closing, .timeWait])
        #expect(result.states.client[3].at == Self.time(c, 4) && result.states.server[3].at == Self.time(c, 4))
        #expect(result.states.client[4].at == Self.time(c, 6) && result.states.server[4].at == Self.time(c, 5))
    }

    @Test("half-close: the server goes on sending in CLOSE_WAIT")
    func halfCloseWithData() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.data(.server, 100)  // acknowledges the FIN: CLOSE_WAIT, and data after it
        c.ack(.client)
        c.fin(.server)
        c.ack(.client)
        let result = c.connection()
        #expect(result.verdict == .halfClosed)
        #expect(Self.states(c).server == [.synReceived, .established, .closeWait, .lastAck, .closed])
        #expect(Self.states(c).client == [.synSent, .established, .finWait1, .finWait2, .timeWait])
    }

    @Test("a reset closes both sides from whatever state they were in", arguments: [
        ("established", 0), ("client in FIN_WAIT_2, server in CLOSE_WAIT", 1), ("server in LAST_ACK", 2),
    ])
    func resetInEachState(name: String, stage: Int) {
        var c = Conversation()
        c.handshake()
        c.data(.client, 5)
        c.ack(.server)
        if stage >= 1 {
            c.fin(.client)
            c.ack(.server)
        }
        if stage >= 2 {
            // Data the client never acknowledges: the reset that follows ends the connection (2.3).
            c.data(.server, 10)
            c.fin(.server)
        }
        c.rst(.client, withAck: false)
        let (client, server, _) = Self.states(c)
        let expected: [[TCPState]] = [
            [.synSent, .established, .closed],
            [.synSent, .established, .finWait1, .finWait2, .closed],
            [.synSent, .established, .finWait1, .finWait2, .closed],
        ]
        let expectedServer: [[TCPState]] = [
            [.synReceived, .established, .closed],
            [.synReceived, .established, .closeWait, .closed],
            [.synReceived, .established, .closeWait, .lastAck, .closed],
        ]
        #expect(client == expected[stage], "\(name)")
        #expect(server == expectedServer[stage], "\(name)")
        #expect(c.connection().states.client.last?.at == c.segments.last?.timestamp)
    }

    @Test("a reset after the teardown finished (trailing) changes no state")
    func trailingReset() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        c.rst(.server, withAck: false)
        let result = c.connection()
        #expect(result.notes.contains(.trailingRST))
        #expect(result.states.final(.client) == .timeWait)
        #expect(result.states.final(.server) == .closed)
    }

    @Test("an ACK that was never captured leaves the closer in FIN_WAIT_1 and says so")
    func missingAck() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 5)
        c.ack(.server)
        c.fin(.client)
        let (client, server, notSeen) = Self.states(c)
        #expect(client == [.synSent, .established, .finWait1])
        #expect(server == [.synReceived, .established])
        #expect(notSeen == ["the server's ACK of the client's FIN was not captured"])
    }

    @Test("never opened: SYN_SENT; refused: SYN_SENT then CLOSED; the server has no state")
    func neverOpened() {
        var attempt = Conversation()
        attempt.syn()
        #expect(Self.states(attempt).client == [.synSent])
        #expect(Self.states(attempt).server == [])
        var refused = Conversation()
        refused.syn()
        refused.send(.server, [.rst, .ack])
        #expect(refused.connection().verdict == .refused)
        #expect(Self.states(refused).client == [.synSent, .closed])
        #expect(Self.states(refused).server == [])
        var unanswered = Conversation()
        unanswered.syn()
        unanswered.synAck()
        #expect(Self.states(unanswered).client == [.synSent])
        #expect(Self.states(unanswered).server == [.synReceived])
    }

    @Test("a connection whose start was not captured is ESTABLISHED from its first packet")
    func midStream() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 5)
        c.ack(.server)
        c.fin(.server)
        c.fin(.client)
        c.ack(.server)
        var late = Conversation()
        for segment in c.segments.dropFirst(3) { late.append(segment) }
        let result = late.connection()
        #expect(result.partial)
        #expect(result.states.client.first == StateChange(.established, at: late.segments[0].timestamp))
        #expect(result.states.client.map(\.state) == [.established, .closeWait, .lastAck, .closed])
        #expect(result.states.server.map(\.state) == [.established, .finWait1, .finWait2, .timeWait])
        #expect(result.states.notSeen == ["the start of the connection was not captured"])
    }
}
