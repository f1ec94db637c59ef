import TeardownTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// The teardowns the generator makes, with the verdict each must get.
enum Teardown: CaseIterable {
    case gracefulClientFirst, gracefulServerFirst, halfCloseCompleted, simultaneous
    case clientResetUnacked, serverResetUnacked, refused, open, halfOpen, attempt

    var verdict: String {
        switch self {
        case .gracefulClientFirst, .gracefulServerFirst, .simultaneous: return "graceful"
        case .halfCloseCompleted, .halfOpen: return "half-closed"
        case .clientResetUnacked, .serverResetUnacked: return "abortive"
        case .refused: return "refused"
        case .open: return "open"
        case .attempt: return "attempt"
        }
    }
}

/// One step of a scripted connection: who sends what.
struct Step {
    var fromClient: Bool
    var flags: UInt8  // FIN 1, SYN 2, RST 4, PSH 8, ACK 16
    var payload: Int
    /// The sender's ACK does not cover the peer's latest (crossing FINs, unacknowledged data).
    var stale = false
    /// RST+ACK of a refusal: sequence 0.
    var zeroSequence = false
}

/// A connection being generated: its script, sequence state and expected result.
struct SyntheticConnection {
    var kind: Teardown
    var client: (address: [UInt8], port: UInt16)
    var server: (address: [UInt8], port: UInt16)
    var steps: [Step]
    var position = 0
    var next: (client: UInt32, server: UInt32)
    var acked: (client: UInt32, server: UInt32)  // what each side acknowledges
    var bytes = (client: 0, server: 0)
    var lost = (client: 0, server: 0)
    var afterFirstFin = 0
    var firstCloser = "null"
    var resetBy = "null"

    var done: Bool { position >= steps.count }

    init(kind: Teardown, id: Int, ipv6: Bool, random: inout SplitMix64) {
        self.kind = kind
        let clientNumber = id
        if ipv6 {
            client = ([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 8)
                + [UInt8(clientNumber >> 24 & 0xff), UInt8(clientNumber >> 16 & 0xff), UInt8(clientNumber >> 8 & 0xff), UInt8(clientNumber & 0xff)],
                UInt16(1024 + clientNumber % 60000))
            server = ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 443)
        } else {
            client = ([10, UInt8(clientNumber >> 16 & 0xff), UInt8(clientNumber >> 8 & 0xff), UInt8(clientNumber & 0xff)],
                UInt16(1024 + clientNumber % 60000))
            server = ([192, 168, 0, UInt8(1 + clientNumber % 8)], 80)
        }
        next = (UInt32(truncatingIfNeeded: random.next()), UInt32(truncatingIfNeeded: random.next()))
        acked = (next.server, next.client)
        let rounds = 1 + random.below(4)
        var script: [Step] = []
        func handshake() {
            script += [
                Step(fromClient: true, flags: 2, payload: 0), Step(fromClient: false, flags: 18, payload: 0),
                Step(fromClient: true, flags: 16, payload: 0),
            ]
        }
        func exchange() {
            for _ in 0..<rounds {
                script.append(Step(fromClient: true, flags: 24, payload: 100 + random.below(400)))
                script.append(Step(fromClient: false, flags: 24, payload: 200 + random.below(1200)))
                script.append(Step(fromClient: true, flags: 16, payload: 0))
            }
        }
        switch kind {
        case .gracefulClientFirst:
            handshake(); exchange()
            script += [Step(fromClient: true, flags: 17, payload: 0), Step(fromClient: false, flags: 17, payload: 0), Step(fromClient: true, flags: 16, payload: 0)]
            firstCloser = "client"
        case .gracefulServerFirst:
            handshake(); exchange()
            script += [Step(fromClient: false, flags: 17, payload: 0), Step(fromClient: true, flags: 16, payload: 0),
                       Step(fromClient: true, flags: 17, payload: 0), Step(fromClient: false, flags: 16, payload: 0)]
            firstCloser = "server"
        case .halfCloseCompleted:
            handshake(); exchange()
            script.append(Step(fromClient: true, flags: 17, payload: 0))
            for _ in 0..<(1 + random.below(3)) {
                script.append(Step(fromClient: false, flags: 24, payload: 500 + random.below(1000)))
                script.append(Step(fromClient: true, flags: 16, payload: 0))
            }
            script += [Step(fromClient: false, flags: 17, payload: 0), Step(fromClient: true, flags: 16, payload: 0)]
            firstCloser = "client"
        case .simultaneous:
            handshake(); exchange()
            script += [Step(fromClient: true, flags: 17, payload: 0), Step(fromClient: false, flags: 17, payload: 0, stale: true),
                       Step(fromClient: true, flags: 16, payload: 0), Step(fromClient: false, flags: 16, payload: 0)]
            firstCloser = "both"
        case .clientResetUnacked:
            handshake(); exchange()
            script += [Step(fromClient: false, flags: 24, payload: 300 + random.below(700)),
                       Step(fromClient: true, flags: 4, payload: 0, stale: true)]
            resetBy = "client"
        case .serverResetUnacked:
            handshake(); exchange()
            script += [Step(fromClient: true, flags: 24, payload: 300 + random.below(700)),
                       Step(fromClient: false, flags: 20, payload: 0, stale: true)]
            resetBy = "server"
        case .refused:
            script += [Step(fromClient: true, flags: 2, payload: 0), Step(fromClient: false, flags: 20, payload: 0, zeroSequence: true)]
            resetBy = "server"
        case .open:
            handshake(); exchange()
        case .halfOpen:
            handshake(); exchange()
            script += [Step(fromClient: true, flags: 17, payload: 0), Step(fromClient: false, flags: 16, payload: 0)]
            firstCloser = "client"
        case .attempt:
            script += [Step(fromClient: true, flags: 2, payload: 0), Step(fromClient: true, flags: 2, payload: 0)]
        }
        steps = script
    }

    /// Emits the next step into `out` as an Ethernet frame record (caplen at most `snaplen`).
    mutating func emit(into out: inout [UInt8], time: Int64, snaplen: Int) {
        let step = steps[position]
        position += 1
        let fromClient = step.fromClient
        var sequence = fromClient ? next.client : next.server
        if step.flags & 2 != 0 && step.flags & 16 == 0 && kind == .attempt && position == 2 {
            sequence = next.client &- 1  // the retransmitted SYN reuses the ISN
        }
        if !step.stale {
            if fromClient { acked.client = next.server } else { acked.server = next.client }
        }
        var ack = fromClient ? acked.client : acked.server
        if step.zeroSequence {
            sequence = 0
            ack = next.client
        }
        let peerFinSent = fromClient ? serverFinSent : clientFinSent
        if step.payload > 0 {
            if fromClient { bytes.client += step.payload } else { bytes.server += step.payload }
            if peerFinSent && firstCloser != "null" { afterFirstFin += step.payload }
        }
        var advance = UInt32(step.payload)
        if step.flags & 3 != 0 { advance += 1 }
        if !(kind == .attempt && position == 2) {
            if fromClient { next.client &+= advance } else { next.server &+= advance }
        }
        if step.flags & 1 != 0 { if fromClient { clientFinSent = true } else { serverFinSent = true } }
        // Lost bytes: payload the peer never acknowledged, settled at the reset.
        if step.flags & 4 != 0 {
            let clientAcked = acked.client  // client's ack of server data
            let serverAcked = acked.server
            lost.server = Int(next.server &- clientAcked)
            lost.client = Int(next.client &- serverAcked)
            if step.flags & 16 != 0 && !fromClient { lost.client = Int(next.client &- ack) }
        }
        SyntheticConnection.writeFrame(
            into: &out, time: time, snaplen: snaplen, from: fromClient ? client : server, to: fromClient ? server : client,
            sequence: sequence, ack: step.flags & 16 != 0 ? ack : 0, flags: step.flags, payload: step.payload)
    }

    var clientFinSent = false
    var serverFinSent = false

    static func writeFrame(
        into out: inout [UInt8], time: Int64, snaplen: Int, from: (address: [UInt8], port: UInt16),
        to: (address: [UInt8], port: UInt16), sequence: UInt32, ack: UInt32, flags: UInt8, payload: Int
    ) {
        let ipv6 = from.address.count == 16
        let tcpHeader = flags & 2 != 0 ? 24 : 20
        let ipHeader = ipv6 ? 40 : 20
        let wire = 14 + ipHeader + tcpHeader + payload
        let captured = min(wire, snaplen)
        func le32(_ value: UInt32) { out += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)] }
        le32(UInt32(truncatingIfNeeded: time / 1_000_000_000))
        le32(UInt32(truncatingIfNeeded: time % 1_000_000_000))
        le32(UInt32(captured))
        le32(UInt32(wire))
        let start = out.count
        out += [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6]
        if ipv6 {
            let length = tcpHeader + payload
            out += [0x86, 0xdd, 0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xff), 6, 64]
        } else {
            let length = 20 + tcpHeader + payload
            out += [0x08, 0x00, 0x45, 0, UInt8(length >> 8), UInt8(length & 0xff), 0, 0, 0x40, 0, 64, 6, 0, 0]
        }
        out += from.address
        out += to.address
        out += [UInt8(from.port >> 8), UInt8(from.port & 0xff), UInt8(to.port >> 8), UInt8(to.port & 0xff)]
        out += [UInt8(sequence >> 24), UInt8(sequence >> 16 & 0xff), UInt8(sequence >> 8 & 0xff), UInt8(sequence & 0xff)]
        out += [UInt8(ack >> 24), UInt8(ack >> 16 & 0xff), UInt8(ack >> 8 & 0xff), UInt8(ack & 0xff)]
        out += [UInt8(tcpHeader / 4) << 4, flags, 0xff, 0xff, 0, 0, 0, 0]
        if tcpHeader == 24 { out += [2, 4, 0x05, 0xb4] }
        let written = out.count - start
        if written < captured { out += [UInt8](repeating: 0, count: captured - written) } else if written > captured {
            out.removeLast(written - captured)
        }
    }

    /// The ground-truth line: client, server, verdict, firstCloser, resetBy, bytes and lost per side.
    var truth: String {
        func text(_ endpoint: (address: [UInt8], port: UInt16)) -> String {
            if endpoint.address.count == 4 {
                return endpoint.address.map(String.init).joined(separator: ".") + ":\(endpoint.port)"
            }
            var groups: [String] = []
            for i in stride(from: 0, to: 16, by: 2) {
                groups.append(String(UInt16(endpoint.address[i]) << 8 | UInt16(endpoint.address[i + 1]), radix: 16))
            }
            return "[" + groups.joined(separator: ":") + "]:\(endpoint.port)"
        }
        let completed = kind == .halfCloseCompleted || kind.verdict == "graceful"
        return [text(client), text(server), kind.verdict, String(completed), firstCloser, resetBy,
                String(bytes.client), String(bytes.server), String(lost.client), String(lost.server),
                String(afterFirstFin)].joined(separator: "\t")
    }
}
