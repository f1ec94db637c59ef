/// What a frame holds, as ``PacketDecoder/decode(_:linkType:originalLength:timestamp:into:)`` found it.
public enum PacketKind: Sendable, Hashable {
    /// A TCP segment (written to the `into` argument).
    case tcp
    /// Not TCP over IP: skipped and counted.
    case notTCP
    /// An IP fragment other than the first: skipped and counted.
    case laterFragment
}

/// Link → network → transport dispatch: one frame in, its ``PacketKind`` (and its TCP segment) out.
///
/// Pure and allocation-free: every header is a fixed-size value and every length is checked
/// before it is used.
public enum PacketDecoder {
    /// The TCP segment in `frame`, or `nil` when it holds none (not TCP, or an IP fragment other
    /// than the first).
    /// - Parameters:
    ///   - frame: the captured bytes (possibly cut short by the snaplen).
    ///   - linkType: the link type of the interface the frame came from.
    ///   - originalLength: the frame's length on the wire (the record's `orig_len`).
    ///   - timestamp: copied into the segment.
    /// - Throws: `DecodeError` when a header that must be read is cut short or impossible.
    @inlinable
    public static func segment(
        in frame: ByteView, linkType: LinkType, originalLength: Int, timestamp: Timestamp
    ) throws(DecodeError) -> TCPSegment? {
        var segment = TCPSegment(
            timestamp: timestamp, source: IPAddress(ipv4: 0), destination: IPAddress(ipv4: 0), sourcePort: 0,
            destinationPort: 0, sequenceNumber: 0, acknowledgmentNumber: 0, flags: TCPFlags())
        let kind = try decode(frame, linkType: linkType, originalLength: originalLength, timestamp: timestamp, into: &segment)
        return kind == .tcp ? segment : nil
    }

    /// Decodes `frame`, writing a TCP segment straight into `segment` (a per-packet loop decodes
    /// into the place the segment waits in, without copying it there); `segment` is changed only
    /// when the result is ``PacketKind/tcp``.
    @inlinable @inline(__always)
    public static func decode(
        _ frame: ByteView, linkType: LinkType, originalLength: Int, timestamp: Timestamp,
        into segment: inout TCPSegment
    ) throws(DecodeError) -> PacketKind {
        guard let (offset, network) = try LinkLayer.networkOffset(in: frame, linkType: linkType) else {
            return .notTCP
        }
        let ip = frame.suffix(from: offset)
        let wireLength = max(originalLength, frame.count) - offset
        var version = network
        if version == .ipAnyVersion {
            guard ip.has(1, at: 0) else { throw .truncated(.ipv4, needed: 1, available: 0) }
            switch ip.u8(0) >> 4 {
            case 4: version = .ipv4
            case 6: version = .ipv6
            default: return .notTCP
            }
        }
        let source: IPAddress, destination: IPAddress
        let transportOffset: Int, segmentLength: Int
        var identification: UInt16 = 0
        if version == .ipv4 {
            let header = try IPv4Header(parsing: ip, wireLength: wireLength)
            guard header.fragmentOffset == 0 else { return .laterFragment }
            guard header.protocolNumber == 6 else { return .notTCP }
            source = IPAddress(ipv4: header.source)
            destination = IPAddress(ipv4: header.destination)
            transportOffset = header.headerLength
            segmentLength = header.totalLength - header.headerLength
            identification = header.identification
        } else {
            let header = try IPv6Header(parsing: ip, wireLength: wireLength)
            guard !header.isLaterFragment else { return .laterFragment }
            guard header.upperLayerProtocol == 6 else { return .notTCP }
            source = IPAddress(ipv6High: header.sourceHigh, low: header.sourceLow)
            destination = IPAddress(ipv6High: header.destinationHigh, low: header.destinationLow)
            transportOffset = header.headerLength
            segmentLength = header.upperLayerLength
        }
        let tcp = try TCPHeader(parsing: ip.suffix(from: transportOffset), segmentLength: segmentLength)
        let payloadLength = segmentLength - tcp.headerLength
        segment = TCPSegment(
            timestamp: timestamp, source: source, destination: destination,
            sourcePort: tcp.sourcePort, destinationPort: tcp.destinationPort,
            sequenceNumber: tcp.sequenceNumber, acknowledgmentNumber: tcp.acknowledgmentNumber,
            flags: tcp.flags, window: tcp.window,
            payloadLength: UInt32(truncatingIfNeeded: payloadLength),
            options: tcp.options, ipIdentification: identification,
            payloadCaptured: ip.count - transportOffset - tcp.headerLength >= payloadLength)
        return .tcp
    }
}
