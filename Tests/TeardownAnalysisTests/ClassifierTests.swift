import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// Contract §§2–3 from hand-written segment sequences: every verdict, `firstCloser` value,
/// `resetBy` value and note.
@Suite("Teardown classification")
struct ClassifierTests {
    @Test("graceful: FIN pair, client first, 3-segment close")
    func gracefulClientFirst() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 5)
        c.data(.server, 5)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let result = c.connection()
        #expect(result.verdict == .graceful)
        #expect(result.completed)
        #expect(result.firstCloser == .client)
        #expect(result.resetBy == nil)
        #expect(!result.partial)
        #expect(result.bytes == PerSide(client: 5, server: 5))
        #expect(result.bytesAfterFirstFin == 0)
        #expect(result.lostBytes == PerSide(client: 0, server: 0))
        #expect(result.packets == 8)
        #expect(result.notes.isEmpty)
        #expect(result.client.description == "10.0.0.1:40000")
        #expect(result.server.description == "10.0.0.2:8080")
    }

    @Test("graceful: server first, 4-segment close")
    func gracefulServerFirst() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 3)
        c.fin(.server)
        c.ack(.client)
        c.fin(.client)
        c.ack(.server)
        let result = c.connection()
        #expect(result.verdict == .graceful)
        #expect(result.firstCloser == .server)
    }

    @Test("simultaneous close: neither FIN acknowledges the other (2.2)")
    func simultaneous() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.fin(.server, stale: true)
        c.ack(.client)
        c.ack(.server)
        let result = c.connection()
        #expect(result.verdict == .graceful)
        #expect(result.firstCloser == .both)
    }

    @Test("half-closed, completed: the server keeps sending after the client's FIN")
    func halfClosedCompleted() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 10)
        c.fin(.client)
        c.data(.server, 9)
        c.data(.server, 9)
        c.fin(.server)
        c.ack(.client)
        let result = c.connection()
        #expect(result.verdict == .halfClosed)
        #expect(result.completed)
        #expect(result.firstCloser == .client)
        #expect(result.bytesAfterFirstFin == 18)
        #expect(result.bytes == PerSide(client: 10, server: 18))
    }

    @Test("half-closed, not completed: the other side never closed")
    func halfClosedOpen() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 7)
        c.fin(.client)
        c.ack(.server)
        let result = c.connection()
        #expect(result.verdict == .halfClosed)
        #expect(!result.completed)
        #expect(result.firstCloser == .client)
        #expect(result.bytesAfterFirstFin == 0)
    }

    @Test("FIN on a segment with payload after the peer's FIN counts as half-close")
    func finCarryingData() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.fin(.server, payload: 100)
        c.ack(.client)
        let result = c.connection()
        #expect(result.verdict == .halfClosed)
        #expect(result.completed)
        #expect(result.bytesAfterFirstFin == 100)
    }

    @Test("abortive: close() then peer data answered by a bare RST; 9 server bytes lost")
    func closeThenData() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 5)
        c.ack(.server)
        c.data(.client, 5)
        c.ack(.server)
        c.fin(.client)
        c.data(.server, 9)
        c.rst(.client, withAck: false)
        let result = c.connection()
        #expect(result.verdict == .abortive)
        #expect(result.resetBy == .client)
        #expect(result.firstCloser == .client)
        #expect(result.lostBytes == PerSide(client: 0, server: 9))
        #expect(result.bytesAfterFirstFin == 9)
        #expect(!result.notes.contains(.unreadDataSuspected))
        #expect(!result.completed)
    }

    @Test("abortive: SO_LINGER 0, RST+ACK after own data was acknowledged")
    func lingerZero() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 4)
        c.ack(.server)
        c.rst(.client)
        let result = c.connection()
        #expect(result.verdict == .abortive)
        #expect(result.resetBy == .client)
        #expect(result.firstCloser == nil)
        #expect(result.lostBytes == PerSide(client: 0, server: 0))
        #expect(!result.notes.contains(.unreadDataSuspected))
    }

    @Test("abortive with unread_data_suspected: RST+ACK covering all the peer's later data (3.2)")
    func unreadData() {
        var c = Conversation()
        c.handshake()
        c.data(.server, 11)
        c.ack(.client)
        c.rst(.client)
        let result = c.connection()
        #expect(result.verdict == .abortive)
        #expect(result.resetBy == .client)
        #expect(result.notes.contains(.unreadDataSuspected))
        #expect(result.lostBytes == PerSide(client: 0, server: 0))
    }

    @Test("abortive: server reset; client data unacknowledged is lost")
    func serverReset() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 100)
        c.send(.server, [.rst, .ack], stale: true)
        let result = c.connection()
        #expect(result.verdict == .abortive)
        #expect(result.resetBy == .server)
        #expect(result.lostBytes == PerSide(client: 100, server: 0))
    }

    @Test("abortive wins over half-closed: a half-close that ended in a reset")
    func halfCloseThenReset() {
        var c = Conversation()
        c.handshake()
        c.fin(.server)
        c.data(.client, 9)
        c.rst(.server, withAck: false)
        let result = c.connection()
        #expect(result.verdict == .abortive)
        #expect(result.resetBy == .server)
        #expect(result.firstCloser == .server)
        #expect(result.lostBytes.client == 9)
    }

    @Test("trailing_rst: a reset after a finished teardown leaves it graceful (2.3)")
    func trailingReset() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 5)
        c.data(.server, 5)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        c.rst(.client, withAck: false)
        let result = c.connection()
        #expect(result.verdict == .graceful)
        #expect(result.resetBy == nil)
        #expect(result.notes.contains(.trailingRST))
    }

    @Test("a reset after both FINs but with data unacknowledged is abortive")
    func resetAfterFinsWithUnacknowledgedData() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.fin(.server, payload: 31)
        c.rst(.client, withAck: false)
        let result = c.connection()
        #expect(result.verdict == .abortive)
        #expect(result.resetBy == .client)
        #expect(result.lostBytes.server == 31)
        #expect(!result.notes.contains(.trailingRST))
    }

    @Test("ignored_rst: a reset far outside the window, after which traffic went on (2.3)")
    func ignoredReset() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 10)
        c.send(.server, [.rst], seq: c.next.server &+ 10_000_000)
        c.data(.server, 20)
        c.data(.client, 10)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let result = c.connection()
        #expect(result.verdict == .graceful)
        #expect(result.notes.contains(.ignoredRST))
        #expect(result.resetBy == nil)
    }

    @Test("an out-of-window reset with nothing after it still ends the connection")
    func outOfWindowResetAtTheEnd() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 10)
        c.send(.server, [.rst], seq: c.next.server &+ 10_000_000)
        let result = c.connection()
        #expect(result.verdict == .abortive)
        #expect(result.resetBy == .server)
        #expect(!result.notes.contains(.ignoredRST))
    }

    @Test("window scaling (RFC 7323) widens the window a reset is judged by, when both sides offer it; shifts above 14 count as 14")
    func scaledWindowAndReset() {
        /// A reset `distance` bytes beyond the server's next sequence number, then more traffic,
        /// after a handshake whose SYN and SYN-ACK offer the given shifts.
        func resetThenTraffic(client: UInt8?, server: UInt8?, distance: UInt32) -> Connection {
            var c = Conversation()
            var offer = TCPOptions()
            offer.windowScale = client
            c.send(.client, .syn, options: offer)
            offer.windowScale = server
            c.send(.server, [.syn, .ack], options: offer)
            c.ack(.client)
            c.data(.client, 10)
            c.send(.server, [.rst], seq: c.next.server &+ distance)
            c.data(.server, 20)
            c.fin(.client)
            c.fin(.server)
            c.ack(.client)
            return c.connection()
        }
        // The client advertises 65535 << 7 (8 MiB): a reset 5 MB ahead is inside it, and ends the connection.
        let scaled = resetThenTraffic(client: 7, server: 7, distance: 5_000_000)
        #expect(scaled.verdict == .abortive)
        #expect(!scaled.notes.contains(.ignoredRST))
        // Offered by one side only, nothing is scaled: the same reset is far outside 64 KiB, ignored.
        let unscaled = resetThenTraffic(client: 7, server: nil, distance: 5_000_000)
        #expect(unscaled.verdict == .graceful)
        #expect(unscaled.notes.contains(.ignoredRST))
        // A shift of 200 is used as 14 (65535 << 14, about 1 GiB), not as a shift out of range.
        let capped = resetThenTraffic(client: 200, server: 200, distance: 500_000_000)
        #expect(capped.verdict == .abortive)
        #expect(!capped.notes.contains(.ignoredRST))
    }

    @Test("refused: SYN answered by RST+ACK, no SYN-ACK")
    func refused() {
        var c = Conversation()
        c.syn()
        c.send(.server, [.rst, .ack], seq: 0)
        let result = c.connection()
        #expect(result.verdict == .refused)
        #expect(result.resetBy == .server)
        #expect(result.firstCloser == nil)
        #expect(!result.completed)
    }

    @Test("attempt: SYNs with no answer (retransmitted SYN stays in the connection)")
    func attempt() {
        var c = Conversation()
        c.syn()
        c.retransmit(0)
        c.retransmit(0)
        let all = c.connections()
        #expect(all.count == 1)
        #expect(all[0].verdict == .attempt)
        #expect(all[0].packets == 3)
        #expect(all[0].resetBy == nil)
    }

    @Test("attempt: the client reset its own unanswered SYN")
    func attemptReset() {
        var c = Conversation()
        c.syn()
        c.rst(.client, withAck: false)
        let result = c.connection()
        #expect(result.verdict == .attempt)
        #expect(result.resetBy == nil)
    }

    @Test("open: traffic but neither FIN nor RST")
    func open() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 100)
        c.ack(.server)
        let result = c.connection()
        #expect(result.verdict == .open)
        #expect(result.firstCloser == nil)
        #expect(!result.completed)
    }

    @Test("partial: no SYN captured; the first packet's sender is the client (1.2)")
    func midStream() {
        var c = Conversation()
        c.data(.client, 10)
        c.data(.server, 20)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let result = c.connection()
        #expect(result.partial)
        #expect(result.verdict == .graceful)
        #expect(result.client.port == 40000)
        #expect(result.bytes == PerSide(client: 10, server: 20))
    }

    @Test("only a SYN-ACK captured: its receiver is the client, still partial")
    func synAckOnly() {
        var c = Conversation()
        c.synAck()
        c.ack(.client)
        let all = Conversation.reordered(c, [1, 0])
        #expect(all[0].client.port == 40000)
        #expect(all[0].partial)
    }

    @Test("port reuse: a new SYN after a finished connection starts a new one (1.1)")
    func portReuse() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        c.next = PerSide(client: 90_000, server: 70_000)
        c.handshake()
        c.data(.client, 3)
        c.rst(.server)
        let all = c.connections()
        #expect(all.count == 2)
        #expect(all[0].verdict == .graceful)
        #expect(all[0].id == 1)
        #expect(all[1].verdict == .abortive)
        #expect(all[1].id == 2)
        #expect(all[1].notes.contains(.portReused))
        #expect(!all[0].notes.contains(.portReused))
    }

    @Test("time alone never ends a connection: after any silence, a segment that continues it belongs to it (1.1)")
    func continuityAfterSilence() {
        // A reset connection, and the same reset again 12 s later (a late segment).
        var reset = Conversation()
        reset.handshake()
        reset.rst(.client)
        reset.time += 12_000_000_000
        reset.rst(.client)
        // A keep-alive connection idle for two hours between its last data and its FINs.
        var idle = Conversation()
        idle.handshake()
        idle.data(.client, 7)
        idle.ack(.server)
        idle.time += 7_200_000_000_000
        idle.fin(.client)
        idle.fin(.server)
        idle.ack(.client)
        let resetTracker = reset.tracker()
        #expect(resetTracker.connections().map(\.verdict) == [.abortive])
        #expect(resetTracker.connections().first?.packets == 4)
        #expect(resetTracker.lateSegments == 1)
        let idleConnections = idle.connections()
        #expect(idleConnections.map(\.verdict) == [.graceful])
        #expect(idleConnections.first?.bytes.client == 7)
        #expect(idleConnections.first?.partial == false)
    }

    @Test("with Zeek's boundaries (--format zeek, --idle-timeout), a packet after the linger or the idle timeout starts a new one")
    func zeekBoundaries() {
        var c = Conversation()
        c.handshake()
        c.rst(.client)
        c.time += 5_000_000_000  // 5 s + 1 ms after the reset: past the 5 s linger
        c.data(.client, 7)
        var idle = Conversation()
        idle.handshake()
        idle.time += 299_999_000_000  // exactly 300 s after the last packet: the idle timeout
        idle.data(.client, 7)
        for (conversation, expected) in [(c, [Verdict.abortive, .open]), (idle, [.open, .open])] {
            let all = conversation.connections(limits: .zeek)
            #expect(all.map(\.verdict) == expected)
            #expect(all.last?.partial == true)
            #expect(all.last?.notes.contains(.portReused) == false)
            // Without an idle timeout the same packets continue the first connection.
            #expect(conversation.connections().count == 1)
        }
        var within = Conversation()
        within.handshake()
        within.rst(.client)
        within.time += 4_000_000_000
        within.data(.client, 7)
        #expect(within.connections(limits: .zeek).count == 1)
    }

    @Test("after an end, a segment whose numbers cannot be the connection's starts another; a SYN with a new ISN does on a connection that never ended")
    func numbersThatCannotBelong() {
        var c = Conversation()
        c.handshake()
        c.rst(.client)
        c.time += 60_000_000_000
        c.send(.client, [.psh, .ack], payload: 10, seq: 900_000_000, ack: 77_000_000)
        let all = c.connections()
        #expect(all.map(\.verdict) == [.abortive, .open])
        #expect(all.last?.partial == true)
        var crashed = Conversation()
        crashed.handshake()
        crashed.data(.client, 5)
        crashed.time += 3_600_000_000_000
        crashed.next = PerSide(client: 123_456_789, server: 987_654_321)
        crashed.handshake()
        #expect(crashed.connections().map(\.verdict) == [.open, .open])
        #expect(crashed.connections().last?.partial == false)
    }

    @Test("keepalive probes are noted, and never counted as payload or retransmissions (1.1)")
    func keepaliveProbes() {
        for probeLength: UInt32 in [0, 1] {
            var c = Conversation()
            c.handshake()
            c.data(.client, 10)
            c.ack(.server)
            for _ in 0..<3 {
                c.time += 7_200_000_000_000
                c.send(.client, .ack, payload: probeLength, seq: c.next.client &- 1)
                c.ack(.server)
            }
            c.fin(.client)
            c.fin(.server)
            c.ack(.client)
            let result = c.connection()
            #expect(result.verdict == .graceful)
            #expect(result.bytes.client == 10)
            #expect(result.notes.contains(.keepalive))
            #expect(!result.notes.contains(.dataRetransmitted))
        }
        // The last byte sent again before it was acknowledged is a retransmission, not a probe.
        var c = Conversation()
        c.handshake()
        c.data(.client, 1)
        c.send(.client, [.psh, .ack], payload: 1, seq: c.next.client &- 1)
        #expect(c.connection().notes.contains(.dataRetransmitted))
        #expect(!c.connection().notes.contains(.keepalive))
    }

    @Test("retransmitted SYN after a refusal with the same ISN stays in the refused connection")
    func sameISNAfterRefusal() {
        var c = Conversation()
        c.syn()
        c.send(.server, [.rst, .ack], seq: 0)
        c.retransmit(0)
        c.send(.server, [.rst, .ack], seq: 0)
        #expect(c.connections().count == 1)
    }

    @Test("retransmissions and duplicates count each byte once; FIN retransmission is noted")
    func retransmissions() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 100)
        c.duplicate(3)
        c.retransmit(3)
        c.ack(.server)
        c.fin(.client)
        c.retransmit(7)
        c.fin(.server)
        c.ack(.client)
        let result = c.connection()
        #expect(result.bytes.client == 100)
        #expect(result.verdict == .graceful)
        #expect(result.notes.contains(.finRetransmitted))
        #expect(result.notes.contains(.duplicatePackets))
        #expect(result.notes.contains(.dataRetransmitted))
    }

    @Test("sequence numbers wrap around 2^32")
    func wraparound() {
        var c = Conversation(clientISN: UInt32.max - 10, serverISN: UInt32.max - 2)
        c.handshake()
        c.data(.client, 1000)
        c.data(.server, 500)
        c.data(.client, 1000)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let result = c.connection()
        #expect(result.bytes == PerSide(client: 2000, server: 500))
        #expect(result.verdict == .graceful)
        #expect(result.lostBytes == PerSide(client: 0, server: 0))
    }

    @Test("a reordered capture gives the same verdict and byte counts")
    func reordered() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 10)
        c.data(.client, 10)
        c.data(.client, 10)
        c.ack(.server)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let inOrder = c.connection()
        let shuffled = Conversation.reordered(c, [0, 1, 2, 5, 3, 4, 6, 7, 8, 9])[0]
        #expect(shuffled.verdict == inOrder.verdict)
        #expect(shuffled.bytes == inOrder.bytes)
        #expect(shuffled.lostBytes == inOrder.lostBytes)
    }

    @Test("packets_missing: acknowledgements beyond anything captured")
    func packetsMissing() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 10)
        c.next.client &+= 500
        c.data(.client, 10)
        c.ack(.server)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let result = c.connection()
        #expect(result.notes.contains(.packetsMissing))
        #expect(result.bytes.client == 20)
    }

    @Test("one_sided: only one direction captured; lost bytes are not guessed")
    func oneSided() {
        var c = Conversation()
        c.syn()
        c.send(.client, .ack, ack: 5001)
        c.data(.client, 50)
        c.fin(.client)
        let result = c.connection()
        #expect(result.notes.contains(.oneSided))
        #expect(result.verdict == .halfClosed)
        #expect(result.lostBytes == PerSide(client: 0, server: 0))
    }

    @Test("IPv6 addresses print in brackets")
    func ipv6() {
        var c = Conversation()
        c.clientAddress = SocketAddress(address: IPAddress("::1")!, port: 1)
        c.serverAddress = SocketAddress(address: IPAddress("2001:db8::2")!, port: 443)
        c.handshake()
        let result = c.connection()
        #expect(result.client.description == "[::1]:1")
        #expect(result.server.description == "[2001:db8::2]:443")
    }
}

extension Conversation {
    /// The connections built from the segments in `order`.
    static func reordered(_ conversation: Conversation, _ order: [Int]) -> [Connection] {
        conversation.connections(order: order)
    }
}
