import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// A random conversation: handshake (or not), data both ways, then one of the teardowns.
func randomConversation(seed: UInt64, client: String = "10.0.0.1", server: String = "10.0.0.2", port: UInt16 = 40000) -> Conversation {
    var random = SplitMix64(seed: seed)
    var c = Conversation(clientISN: UInt32.random(in: 0...UInt32.max, using: &random), serverISN: UInt32.random(in: 0...UInt32.max, using: &random))
    c.clientAddress = SocketAddress(address: IPAddress(client)!, port: port)
    c.serverAddress = SocketAddress(address: IPAddress(server)!, port: 8080)
    c.time += Int64.random(in: 0...1_000_000_000, using: &random)
    let shape = Int.random(in: 0..<9, using: &random)
    if shape == 0 {
        c.syn()
        if Bool.random(using: &random) { c.send(.server, [.rst, .ack], seq: 0) }
        return c
    }
    c.handshake()
    for _ in 0..<Int.random(in: 0...4, using: &random) {
        c.data(Bool.random(using: &random) ? .client : .server, UInt32.random(in: 1...3000, using: &random))
        c.ack(Bool.random(using: &random) ? .client : .server)
    }
    let first: Side = Bool.random(using: &random) ? .client : .server
    switch shape {
    case 1: c.fin(first); c.fin(first.peer); c.ack(first)
    case 2: c.fin(first); c.data(first.peer, 50); c.fin(first.peer); c.ack(first)
    case 3: c.fin(first); c.fin(first.peer, stale: true); c.ack(first); c.ack(first.peer)
    case 4: c.fin(first); c.data(first.peer, 9); c.rst(first, withAck: false)
    case 5: c.data(first.peer, 11); c.rst(first)
    case 6: c.fin(first); c.ack(first.peer)
    case 7: c.data(first, 100); c.send(first.peer, [.rst, .ack], stale: true)
    default: break
    }
    return c
}

/// The facts of a result that must not depend on presentation (ids and addresses aside).
func essence(_ c: Connection) -> String {
    "\(c.verdict) \(c.completed) \(c.firstCloser.map(\.rawValue) ?? "-") \(c.resetBy.map(\.rawValue) ?? "-") \(c.bytes.client)/\(c.bytes.server) \(c.lostBytes.client)/\(c.lostBytes.server) \(c.bytesAfterFirstFin) \(c.partial)"
}

/// Invariants of the tracker over random conversations (issue 7): each property over 300 seeds.
@Suite("Tracker properties")
struct PropertyTests {
    static let seeds: [UInt64] = Array(1...300)

    @Test("swapping which host is the client mirrors the result")
    func mirror() {
        for seed in Self.seeds {
            let a = randomConversation(seed: seed, client: "10.0.0.1", server: "10.0.0.2").connection()
            let b = randomConversation(seed: seed, client: "10.0.0.2", server: "10.0.0.1").connection()
            #expect(essence(a) == essence(b), "seed \(seed)")
            #expect(a.client.address == b.server.address, "seed \(seed)")
        }
    }

    @Test("interleaving independent connections changes no verdict")
    func interleave() {
        for seed in Self.seeds {
            let x = randomConversation(seed: seed, port: 1111)
            let y = randomConversation(seed: seed &* 7 &+ 3, port: 2222)
            var random = SplitMix64(seed: seed)
            var merged: [TCPSegment] = []
            var i = 0, j = 0
            while i < x.segments.count || j < y.segments.count {
                if j >= y.segments.count || (i < x.segments.count && Bool.random(using: &random)) {
                    merged.append(x.segments[i]); i += 1
                } else {
                    merged.append(y.segments[j]); j += 1
                }
            }
            var table = ConnectionTracker()
            for (number, segment) in merged.enumerated() { table.ingest(segment, packetNumber: number + 1) }
            let results = table.connections()
            #expect(results.count == 2)
            let byPort = Dictionary(uniqueKeysWithValues: results.map { ($0.client.port, essence($0)) })
            #expect(byPort[1111] == essence(x.connection()), "seed \(seed)")
            #expect(byPort[2222] == essence(y.connection()), "seed \(seed)")
        }
    }

    @Test("a table drained through its public closures (expire, finishAll) hands over what connections() shows")
    func drainedThroughClosures() {
        for seed in Self.seeds {
            let x = randomConversation(seed: seed, port: 1111)
            let y = randomConversation(seed: seed &* 7 &+ 3, port: 2222)
            var table = ConnectionTracker(limits: TrackingLimits(linger: 0, idleTimeout: 300))
            for (number, segment) in (x.segments + y.segments).enumerated() { table.ingest(segment, packetNumber: number + 1) }
            let expected = table.connections()
            var handed: [Connection] = []
            table.expire { handed.append($0) }
            table.finishAll { handed.append($0) }
            #expect(handed.sorted { $0.id < $1.id } == expected, "seed \(seed)")
            #expect(table.count == 0, "seed \(seed)")
        }
    }

    @Test("duplicating packets changes no verdict or byte count")
    func duplicates() {
        for seed in Self.seeds {
            var c = randomConversation(seed: seed)
            let original = c.connection()
            var random = SplitMix64(seed: seed)
            let count = c.segments.count
            for index in (0..<count).reversed() where Int.random(in: 0..<3, using: &random) == 0 {
                c.duplicate(index)
            }
            let result = c.connection()
            #expect(essence(result) == essence(original), "seed \(seed)")
        }
    }

    @Test("cutting a capture anywhere never traps and keeps the verdicts of connections finished before the cut")
    func cut() {
        for seed in Self.seeds.prefix(60) {
            let x = randomConversation(seed: seed, port: 1111)
            let y = randomConversation(seed: seed &+ 1000, port: 2222)
            var writer = PcapWriter()
            for segment in x.segments + y.segments { writer.append(segment) }
            let bytes = writer.bytes
            let full = Fixtures.analyze(bytes)
            let xResult = full.connections.first { $0.client.port == 1111 }
            // Every cut from the end of x's last record on must keep x's result.
            var xEnd = 24
            for segment in x.segments { xEnd += 16 + min(PcapWriter.frame(segment).count, 256) }
            for length in stride(from: 0, through: bytes.count, by: 7) {
                let analysis = Fixtures.analyze(Array(bytes.prefix(length)))
                if length >= xEnd, let xResult {
                    let kept = analysis.connections.first { $0.client.port == 1111 }
                    #expect(kept.map(essence) == essence(xResult), "seed \(seed) cut \(length)")
                }
            }
        }
    }
}
