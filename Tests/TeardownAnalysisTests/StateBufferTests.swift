import Testing
@testable import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// The buffer that holds the connection table's states keeps them intact as it grows; and (with
/// `TEARDOWN_PERF_TESTS=1`) the layout the table's speed was tuned for: a state is 6 cache lines
/// (5 until the states, causes and gaps of issues 20 and 23 took it from 320 to 376 bytes) and
/// starts on one. The layout is a private detail of the table's storage, not part of the
/// contract, so it is checked only when measuring speed.
@Suite("State buffer")
struct StateBufferTests {
    static func segment(port: UInt16, payload: UInt32, sequence: UInt32) -> TCPSegment {
        var segment = TCPSegment(
            timestamp: Timestamp(nanoseconds: Int64(port)), source: IPAddress(ipv4: 0x0a00_0001),
            destination: IPAddress(ipv4: 0x0a00_0002), sourcePort: port, destinationPort: 80,
            sequenceNumber: sequence, acknowledgmentNumber: 0, flags: [.ack])
        segment.payloadLength = payload
        return segment
    }

    @Test(
        "a connection state takes 6 cache lines, and every state starts on one",
        .enabled(if: Environment.performanceTests, "set TEARDOWN_PERF_TESTS=1 to check the table's tuned layout"))
    func layout() {
        #expect(StateBuffer.stride == 384)
        #expect(Note.allCases.count <= 16, "NoteSet holds 16 bits")
        for capacity in [1, 100, 20_000] {
            var buffer = StateBuffer(capacity: capacity)
            let segment = Self.segment(port: 1, payload: 0, sequence: 0)
            buffer.append(ConnectionState(key: FlowLookup(segment).key, id: 1, timestamp: segment.timestamp), growingTo: 2)
            #expect(Int(bitPattern: buffer.address(of: 0)) % 64 == 0)
        }
    }

    @Test("states keep their contents, heap storage included, through every growth")
    func growth() {
        var buffer = StateBuffer(capacity: 1)
        for index in 0..<3000 {
            let segment = Self.segment(port: UInt16(index), payload: 100, sequence: 1000)
            let lookup = FlowLookup(segment)
            var state = ConnectionState(key: lookup.key, id: index + 1, timestamp: segment.timestamp)
            // Two segments with a hole between them: the covered ranges move to the heap.
            state.ingest(segment, fromA: lookup.fromA, packetNumber: 1)
            state.ingest(Self.segment(port: UInt16(index), payload: 100, sequence: 5000), fromA: lookup.fromA, packetNumber: 2)
            buffer.append(state, growingTo: buffer.capacity * 2)
        }
        #expect(buffer.count == 3000)
        #expect(buffer.capacity >= 3000)
        for index in buffer.indices {
            #expect(buffer[index].id == index + 1)
            #expect(buffer[index].key.a.port == UInt16(index) || buffer[index].key.b.port == UInt16(index))
            #expect(buffer[index].a.bytes == 200)
            #expect(buffer[index].a.covered.hasGaps)
        }
    }
}
