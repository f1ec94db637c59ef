import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// The limits that keep the connection table bounded (issue 6).
@Suite("Connection table limits")
struct ConnectionTrackerTests {
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
        var table = ConnectionTracker(limits: TrackingLimits(linger: 0.002, maximumConnections: maximum))
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

    @Test("a connection evicted while idle is reported `evicted`; its later packets, `resumed`, with the same client and server (1.1)")
    func evictedThenResumed() {
        let maximum = 200, conversations = 1000
        // Each conversation opens, sends 10 bytes and goes quiet; an hour later every one closes
        // with a FIN pair. Most were evicted in between.
        var opened: [Conversation] = []
        var segments: [TCPSegment] = []
        for n in 0..<conversations {
            var c = Conversation()
            c.clientAddress = SocketAddress(address: Self.client(n), port: 40000)
            c.time += Int64(n) * 10_000_000
            c.handshake()
            c.data(.client, 10)
            c.ack(.server)
            segments += c.segments
            opened.append(c)
        }
        for n in 0..<conversations {
            var c = opened[n]
            let before = c.segments.count
            c.time += 3_600_000_000_000
            c.fin(.server)
            c.fin(.client)
            c.ack(.server)
            segments += c.segments[before...]
        }
        var table = ConnectionTracker(limits: TrackingLimits(maximumConnections: maximum))
        var handed: [Connection] = []
        for (number, segment) in segments.enumerated() {
            table.ingest(segment, packetNumber: number + 1)
            if number % 16 == 15 { table.expire { handed.append($0) } }
        }
        table.finishAll { handed.append($0) }
        let evicted = handed.filter { $0.notes.contains(.evicted) }
        let resumed = handed.filter { $0.notes.contains(.resumed) }
        #expect(evicted.count > conversations / 2, "the test must evict most conversations")
        #expect(handed.count == conversations + evicted.count)
        let notResumed = Set(evicted.map(\.client)).symmetricDifference(resumed.map(\.client))
        #expect(notResumed.isEmpty, "\(notResumed.count) evicted without a resumed part or the reverse, e.g. \(notResumed.first.map { "\($0)" } ?? "")")
        for connection in evicted {
            #expect(connection.verdict == .open && connection.bytes.client == 10 && !connection.partial)
        }
        for connection in resumed {
            // The server closed first: its FIN is the first packet the resumed part has.
            #expect(connection.client.port == 40000 && connection.server.port == 8080)
            #expect(connection.verdict == .graceful && connection.firstCloser == .server)
            #expect(connection.partial && !connection.notes.contains(.evicted))
        }
        #expect(table.lateSegments == 0)
    }

    @Test("thousands of ended connections linger at once: each is handed over once, in the order they ended, after its linger")
    func lingeringConnections() {
        // Graceful conversations of 7 segments, 1 ms apart. For the first 40 s one begins every
        // 20 ms: about 500 linger at once and the oldest leave as new ones end. Then one begins
        // every 2 ms, and the queue of ended connections grows past 1 024 and 2 048 entries while
        // its oldest entry is somewhere in the middle of it.
        let conversations = 5000, linger = 10.0
        var segments: [TCPSegment] = []
        var ends: [Int64] = []  // when each conversation's FIN pair completed
        var start: Int64 = 0
        for n in 0..<conversations {
            var c = Conversation()
            c.clientAddress = SocketAddress(address: Self.client(n), port: 40000)
            c.time += start
            start += n < 2000 ? 20_000_000 : 2_000_000
            c.handshake()
            c.data(.client, 10)
            c.fin(.client)
            c.fin(.server)
            ends.append(c.time)
            c.ack(.client)
            segments += c.segments
        }
        segments.sort { $0.timestamp.nanoseconds < $1.timestamp.nanoseconds }
        var table = ConnectionTracker(limits: TrackingLimits(linger: linger))
        var handed: [Connection] = []
        var mostLingering = 0
        var lastExpiry: Int64 = 0
        for (number, segment) in segments.enumerated() {
            table.ingest(segment, packetNumber: number + 1)
            if number % 16 == 15 {
                let now = table.now
                lastExpiry = now
                table.expire { connection in
                    let sinceEnd = now - ends[connection.id - 1]
                    #expect(sinceEnd > Int64(linger * 1e9), "connection \(connection.id) handed over \(sinceEnd) ns after its end")
                    handed.append(connection)
                }
                mostLingering = max(mostLingering, table.count)
            }
        }
        #expect(mostLingering > 2048, "the test must make the queue grow while it is in use")
        let beforeTheEnd = handed.count
        table.finishAll { handed.append($0) }

        // Every connection whose linger was over by the last round went then, none later.
        #expect(beforeTheEnd == ends.filter { lastExpiry - $0 > Int64(linger * 1e9) }.count)
        #expect(handed.count == conversations)
        #expect(handed.allSatisfy { $0.verdict == .graceful })
        // Connections end in the order they began here, so ids rise in the order handed over.
        #expect(handed.map(\.id) == Array(1...conversations))
    }
}
