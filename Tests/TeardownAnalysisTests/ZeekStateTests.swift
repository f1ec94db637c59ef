import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// Zeek's `conn_state` and `history` on hand-drawn ladders, one per rule of Zeek's state machine
/// and history letters that the teardown depends on (docs/zeek-divergences.md). The corpus
/// conformance test checks the same code against Zeek's own baselines.
@Suite("Zeek state and history")
struct ZeekStateTests {
    func only(_ c: Conversation) -> Connection? {
        let all = c.connections()
        #expect(all.count == 1)
        return all.first
    }

    @Test("SF: a FIN pair, with data both ways; D once per direction")
    func graceful() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 5)
        c.data(.client, 5)
        c.data(.server, 5)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        #expect(only(c)?.zeekState == .sf)
        #expect(only(c)?.history == "ShADdFf")
    }

    @Test("a reset is checked before a FIN: originator FIN then originator RST is RSTO")
    func finThenReset() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.data(.server, 9)
        c.rst(.client, withAck: false)
        #expect(only(c)?.zeekState == .rsto)
        #expect(only(c)?.history == "ShAFdR")
    }

    @Test("a reset after both FINs leaves SF; the R is still in the history")
    func resetAfterFINPair() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.fin(.server)
        c.rst(.client)
        #expect(only(c)?.zeekState == .sf)
        #expect(only(c)?.history == "ShAFfR")
    }

    @Test("FIN, RST, then the peer's FIN: Zeek undoes the reset and logs SF")
    func finResetFinUndo() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 3)
        c.data(.server, 3)
        c.fin(.client)
        c.rst(.client)
        c.fin(.server)
        #expect(only(c)?.zeekState == .sf)
        #expect(only(c)?.history == "ShADdFRf")
    }

    @Test("REJ, S0, RSTOS0, S2, S3 and S1")
    func otherStates() {
        var refused = Conversation()
        refused.syn()
        refused.send(.server, [.rst, .ack], seq: 0)
        #expect(only(refused)?.zeekState == .rej)
        #expect(only(refused)?.history == "Sr")

        var attempt = Conversation()
        attempt.syn()
        attempt.retransmit(0)
        #expect(only(attempt)?.zeekState == .s0)
        #expect(only(attempt)?.history == "S")

        var abandoned = Conversation()
        abandoned.syn()
        abandoned.rst(.client, withAck: false)
        #expect(only(abandoned)?.zeekState == .rstos0)

        var halfOpen = Conversation()
        halfOpen.handshake()
        halfOpen.fin(.client)
        #expect(only(halfOpen)?.zeekState == .s2)
        var serverClosed = Conversation()
        serverClosed.handshake()
        serverClosed.fin(.server)
        #expect(only(serverClosed)?.zeekState == .s3)
        var established = Conversation()
        established.handshake()
        established.data(.server, 10)
        #expect(only(established)?.zeekState == .s1)
    }

    @Test("mid-stream: 'inactive' includes partial endpoints (SF, SH, OTH)")
    func partial() {
        var both = Conversation()
        both.data(.client, 4)
        both.ack(.server)
        both.fin(.client)
        both.fin(.server)
        #expect(only(both)?.zeekState == .sf)
        #expect(only(both)?.history == "DaFf")
        var one = Conversation()
        one.data(.client, 4)
        one.fin(.client)
        #expect(only(one)?.zeekState == .sh)
        var reset = Conversation()
        reset.rst(.client)
        #expect(only(reset)?.zeekState == .oth)
        #expect(only(reset)?.history == "R")
    }

    @Test("a connection whose first packet is the SYN-ACK is flipped: '^' first")
    func flipped() {
        var c = Conversation()
        c.synAck()
        c.ack(.client)
        c.fin(.server)
        #expect(only(c)?.history == "^hAf")
        #expect(only(c)?.zeekState == .s3)
    }

    @Test("retransmitted payload and zero windows: logarithmic letters at 1, 10, 100 events")
    func logarithmic() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 100)
        for _ in 0..<10 { c.retransmit(3) }
        c.send(.server, .ack, window: 0)
        c.send(.server, .ack, window: 0)
        #expect(only(c)?.history == "ShADTTaw")
    }

    @Test("a FIN retransmitted at the same sequence is not a second F; a new RST sequence is")
    func repeats() {
        var c = Conversation()
        c.handshake()
        c.fin(.client)
        c.retransmit(3)
        c.rst(.server)
        c.rst(.server, seq: c.next.server &+ 100)
        #expect(only(c)?.history == "ShAFrr")
    }

    @Test("a history is cut at 23 letters, however many resets with new sequence numbers follow")
    func capped() {
        var c = Conversation()
        c.handshake()
        for step in 0..<40 { c.rst(.server, seq: c.next.server &+ UInt32(step * 1000)) }
        let history = only(c)?.history ?? ""
        #expect(history.count == 23)
        #expect(history.hasPrefix("ShArrr"))
    }

    @Test("Zeek's rows: a retried SYN after a refusal is a new row; our connection stays one")
    func rowsPerConnection() {
        var c = Conversation()
        c.syn()
        c.send(.server, [.rst, .ack], seq: 0)
        c.retransmit(0)
        c.send(.server, [.rst, .ack], seq: 0)
        let connection = only(c)
        #expect(connection?.verdict == .refused)
        #expect(connection?.zeekRecords.map(\.state) == [.rej, .rej])
        #expect(connection?.zeekRecords.map(\.history) == ["Sr", "Sr"])
    }

    @Test("sizes count sequence space without SYN and FIN, as Zeek's orig_bytes and resp_bytes")
    func sizes() {
        var c = Conversation()
        c.handshake()
        c.data(.client, 12)
        c.data(.server, 30)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let record = only(c)?.zeekRecords.last
        #expect(record?.bytes == PerSide(client: 12, server: 30))
        #expect(record?.packets == PerSide(client: 5, server: 3))
    }
}
