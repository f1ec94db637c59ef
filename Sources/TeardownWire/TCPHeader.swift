/// The fields of a TCP header (RFC 9293 §3.1).
///
/// ```
/// |          Source Port          |       Destination Port        |
/// |                        Sequence Number                        |
/// |                    Acknowledgment Number                      |
/// | Offset| Rsrvd |N|C|E|U|A|P|R|S|F|            Window           |
/// |           Checksum            |         Urgent Pointer        |
/// |                    Options (Offset > 5) ...                   |
/// ```
public struct TCPHeader: Sendable, Hashable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var headerLength: Int
    public var flags: TCPFlags
    public var window: UInt16
    public var options: TCPOptions

    /// Parses the header at the start of `view`.
    /// - Parameter segmentLength: TCP header plus payload, from the IP header's lengths.
    /// - Throws: `.truncated(.tcp, ...)` when fewer than 20 bytes were captured;
    ///   `.malformed(.tcp, ...)` when the data offset is below 5 or beyond the segment.
    @inlinable @inline(__always)
    public init(parsing view: ByteView, segmentLength: Int) throws(DecodeError) {
        guard view.has(20, at: 0) else { throw .truncated(.tcp, needed: 20, available: view.count) }
        headerLength = Int(view.u8(12) >> 4) * 4
        guard headerLength >= 20 else { throw .malformed(.tcp, .headerLengthTooSmall) }
        guard headerLength <= segmentLength else { throw .malformed(.tcp, .headerLengthBeyondPacket) }
        sourcePort = view.u16(0)
        destinationPort = view.u16(2)
        sequenceNumber = view.u32(4)
        acknowledgmentNumber = view.u32(8)
        flags = TCPFlags(rawValue: UInt16(view.u8(13)) | UInt16(view.u8(12) & 1) << 8)
        window = view.u16(14)
        // Options are read only as far as they were captured (a small snaplen cuts them off).
        let optionBytes = min(headerLength, view.count) - 20
        options = optionBytes > 0 ? TCPOptions(parsing: view.subview(at: 20, count: optionBytes)) : TCPOptions()
    }
}
