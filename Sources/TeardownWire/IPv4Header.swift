/// The fields of an IPv4 header (RFC 791) that the analysis needs.
///
/// ```
///  0       4       8              16     19                      31
/// |Version|  IHL  |   DSCP/ECN    |          Total Length          |
/// |        Identification         |Flags|    Fragment Offset       |
/// |     TTL       |   Protocol    |        Header Checksum         |
/// |                       Source Address                           |
/// |                    Destination Address                         |
/// |                    Options (IHL > 5) ...                       |
/// ```
public struct IPv4Header: Sendable, Hashable {
    public var headerLength: Int
    /// Total length as the header says, or (TSO, total length 0) as the wire length says.
    public var totalLength: Int
    public var protocolNumber: UInt8
    /// Fragment offset in 8-byte units; non-zero means a later fragment with no TCP header.
    public var fragmentOffset: UInt16
    public var identification: UInt16
    public var source: UInt32
    public var destination: UInt32

    /// Parses the header at the start of `view`.
    /// - Parameter wireLength: bytes from this header to the end of the frame on the wire (from the
    ///   record's original length); bounds the total length so a lying header cannot inflate counts.
    /// - Throws: `.truncated(.ipv4, ...)` or `.malformed(.ipv4, ...)`.
    @inlinable @inline(__always)
    public init(parsing view: ByteView, wireLength: Int) throws(DecodeError) {
        guard view.has(20, at: 0) else { throw .truncated(.ipv4, needed: 20, available: view.count) }
        let versionAndLength = view.u8(0)
        guard versionAndLength >> 4 == 4 else { throw .malformed(.ipv4, .badVersion) }
        headerLength = Int(versionAndLength & 0x0f) * 4
        guard headerLength >= 20 else { throw .malformed(.ipv4, .headerLengthTooSmall) }
        guard view.has(headerLength, at: 0) else {
            throw .truncated(.ipv4, needed: headerLength, available: view.count)
        }
        var total = Int(view.u16(2))
        if total == 0 {
            // TCP segmentation offload captures leave the total length 0 (gopacket's repair).
            total = wireLength
        }
        guard total >= headerLength else { throw .malformed(.ipv4, .totalLengthBelowHeader) }
        totalLength = min(total, max(wireLength, headerLength))
        identification = view.u16(4)
        fragmentOffset = view.u16(6) & 0x1fff
        protocolNumber = view.u8(9)
        source = view.u32(12)
        destination = view.u32(16)
    }
}
