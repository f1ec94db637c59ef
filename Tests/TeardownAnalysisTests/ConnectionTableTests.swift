import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// The limits that keep the connection table bounded (issue 6).
@Suite("Connection table limits")
struct ConnectionTableTests {
    /// The address of conversation `n` in ``maximumConnections()``: one client host each.
    static func client(_ n: Int) -> IPAddress { IPAddress("10.0.\(n / 250).\(n % 250 + 1)")! }

    @Test("beyond the maximum, the least recently active connections are handed over, and never more than the maximum stay held")
    func maximumConnections() {
        let maximum = 200, conversations = 3000
        // One after another, 10 ms apart: every third closes at once, the others are left open and
        // never heard from again, so they pile up far beyond the maximum.
        var segments: [TCPSegment] = []
        for n in 0..<conversations {
            var c = Conversation()
            c.clientAddress = SocketAddress(address: Self.client(n), port: 40000)
            c.time += Int64(n) * 10_000_000
            c.handshake()
            c.data(.client, 10)
            c.ack(.server)
            if n % 3 == 0 {
                c.fin(.client)
                c.fin(.server)
                c.ack(.client)
            }
            segments += c.segments
        }
        var table = ConnectionTable(limits: TrackingLimits(linger: 0.002, maximumConnections: maximum))
        var handed: [Connection] = []
        for (number, segment) in segments.enumerated() {
            table.ingest(segment, packetNumber: number + 1)
            if number % 16 == 15 {
                table.expire { handed.append($0) }
                #expect(table.count <= maximum, "after packet \(number + 1)")
            }
        }
        let held = Set(table.connections().map(\.client.address))
        table.finishAll { handed.append($0) }

        #expect(handed.count == conversations)
        #expect(Set(handed.map(\.id)).count == conversations)
        var verdicts: [IPAddress: Verdict] = [:]
        for connection in handed { verdicts[connection.client.address] = connection.verdict }
        for n in 0..<conversations {
            #expect(verdicts[Self.client(n)] == (n % 3 == 0 ? .graceful : .open), "conversation \(n)")
        }
        // The most recent conversations left open were not evicted: the oldest went first.
        for n in (conversations - 150)..<conversations where n % 3 != 0 {
            #expect(held.contains(Self.client(n)), "conversation \(n)")
        }
    }
}
