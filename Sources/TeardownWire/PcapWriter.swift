/// Writes TCP segments as a classic pcap file (nanosecond, little-endian, Ethernet framing) into
/// memory: the inverse of ``CaptureReader`` plus ``PacketDecoder``, used by tests and by the
/// benchmark's synthetic capture generator.
///
/// IPv4 segments get a 20-byte IP header, IPv6 a 40-byte one; TCP headers carry the options of the
/// segment (MSS, window scale, SACK permitted, timestamps). Payload bytes are zeros and only
/// `snapshotLength` bytes of each frame are stored; the IP lengths always give the true size.
public struct PcapWriter {
    /// The file so far.
    public private(set) var bytes: [UInt8] = []
    public let snapshotLength: Int

    public init(snapshotLength: Int = 256) {
        self.snapshotLength = snapshotLength
        append32(0xa1b2_3c4d)
        append16(2)
        append16(4)
        append32(0)
        append32(0)
        append32(UInt32(snapshotLength))
        append32(1)
    }

    /// Appends one segment as an Ethernet frame.
    public mutating func append(_ segment: TCPSegment) {
        let frame = Self.frame(segment)
        let captured = min(frame.count, snapshotLength)
        let nanoseconds = segment.timestamp.nanoseconds
        append32(UInt32(truncatingIfNeeded: nanoseconds / 1_000_000_000))
        append32(UInt32(truncatingIfNeeded: nanoseconds % 1_000_000_000))
        append32(UInt32(captured))
        append32(UInt32(frame.count))
        bytes += frame.prefix(captured)
    }

    /// Appends a record whose bytes are given as is (for hand-built malformed frames).
    public mutating func appendRaw(_ frame: [UInt8], originalLength: Int? = nil, timestamp: Timestamp = Timestamp(nanoseconds: 0)) {
        append32(UInt32(truncatingIfNeeded: timestamp.nanoseconds / 1_000_000_000))
        append32(UInt32(truncatingIfNeeded: timestamp.nanoseconds % 1_000_000_000))
        append32(UInt32(frame.count))
        append32(UInt32(originalLength ?? frame.count))
        bytes += frame
    }

    /// The full Ethernet frame of `segment` (payload as zeros).
    public static func frame(_ segment: TCPSegment) -> [UInt8] {
        var options: [UInt8] = []
        if segment.options.maximumSegmentSize != 0 {
            options += [2, 4] + be16(segment.options.maximumSegmentSize)
        }
        if segment.options.sackPermitted { options += [4, 2] }
        if let timestamp = segment.options.timestamp {
            options += [8, 10] + be32(timestamp.value) + be32(timestamp.echo)
        }
        if let scale = segment.options.windowScale { options += [1, 3, 3, scale] }
        while options.count % 4 != 0 { options.append(0) }
        let tcpLength = 20 + options.count
        var tcp = be16(segment.sourcePort) + be16(segment.destinationPort)
        tcp += be32(segment.sequenceNumber) + be32(segment.acknowledgmentNumber)
        tcp.append(UInt8(tcpLength / 4) << 4 | UInt8(segment.flags.rawValue >> 8 & 1))
        tcp.append(UInt8(truncatingIfNeeded: segment.flags.rawValue))
        tcp += be16(segment.window) + [0, 0, 0, 0] + options
        let payload = [UInt8](repeating: 0, count: Int(segment.payloadLength))
        var frame: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        if segment.source.isIPv6 {
            frame += [0x86, 0xdd, 0x60, 0, 0, 0] + be16(UInt16(truncatingIfNeeded: tcpLength + payload.count)) + [6, 64]
            frame += be64(segment.source.high) + be64(segment.source.low)
            frame += be64(segment.destination.high) + be64(segment.destination.low)
        } else {
            frame += [0x08, 0x00, 0x45, 0] + be16(UInt16(truncatingIfNeeded: 20 + tcpLength + payload.count))
            frame += be16(segment.ipIdentification) + [0x40, 0, 64, 6, 0, 0]
            frame += be32(UInt32(truncatingIfNeeded: segment.source.low))
            frame += be32(UInt32(truncatingIfNeeded: segment.destination.low))
        }
        return frame + tcp + payload
    }

    private mutating func append16(_ value: UInt16) { bytes += [UInt8(value & 0xff), UInt8(value >> 8)] }
    private mutating func append32(_ value: UInt32) {
        bytes += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
    }
    private static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xff)] }
    private static func be32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
    private static func be64(_ value: UInt64) -> [UInt8] { be32(UInt32(value >> 32)) + be32(UInt32(value & 0xffff_ffff)) }
}
