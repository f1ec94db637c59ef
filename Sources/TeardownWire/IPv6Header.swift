/// The fields of an IPv6 header (RFC 8200) and its extension-header chain that the analysis needs.
///
/// ```
/// |Version| Traffic Class |           Flow Label                  |   (4 bytes)
/// |         Payload Length        |  Next Header  |   Hop Limit   |   (4 bytes)
/// |                 Source Address (16 bytes)                     |
/// |               Destination Address (16 bytes)                  |
/// ```
public struct IPv6Header: Sendable, Hashable {
    /// Bytes from the start of the fixed header to the upper-layer header.
    public var headerLength: Int
    /// Bytes of the upper-layer header and payload.
    public var upperLayerLength: Int
    /// The final next-header value (6 is TCP).
    public var upperLayerProtocol: UInt8
    /// True when a fragment header with a non-zero offset was found (no TCP header here).
    public var isLaterFragment: Bool
    public var sourceHigh: UInt64, sourceLow: UInt64
    public var destinationHigh: UInt64, destinationLow: UInt64

    /// At most this many extension headers are walked; a longer chain is malformed.
    public static let maximumExtensionHeaders = 8

    /// Parses the fixed header and walks hop-by-hop (0), routing (43), fragment (44), destination
    /// options (60), AH (51), mobility (135), HIP (139) and shim6 (140) headers.
    /// - Parameter wireLength: bytes from this header to the end of the frame on the wire.
    @inlinable
    public init(parsing view: ByteView, wireLength: Int) throws(DecodeError) {
        guard view.has(40, at: 0) else { throw .truncated(.ipv6, needed: 40, available: view.count) }
        guard view.u8(0) >> 4 == 6 else { throw .malformed(.ipv6, .badVersion) }
        var payload = Int(view.u16(4))
        if payload == 0 {
            // Jumbograms and segmentation offload: the wire length is the only length there is.
            payload = max(wireLength - 40, 0)
        }
        payload = min(payload, max(wireLength - 40, 0))
        sourceHigh = view.u64(8)
        sourceLow = view.u64(16)
        destinationHigh = view.u64(24)
        destinationLow = view.u64(32)
        var next = view.u8(6)
        var offset = 40
        var laterFragment = false
        var walked = 0
        while true {
            let length: Int
            switch next {
            case 0, 43, 60, 135, 139, 140:
                guard view.has(2, at: offset) else { throw .truncated(.ipv6, needed: offset + 2, available: view.count) }
                length = (Int(view.u8(offset + 1)) + 1) * 8
            case 44:
                guard view.has(8, at: offset) else { throw .truncated(.ipv6, needed: offset + 8, available: view.count) }
                length = 8
                if view.u16(offset + 2) >> 3 != 0 { laterFragment = true }
            case 51:
                guard view.has(2, at: offset) else { throw .truncated(.ipv6, needed: offset + 2, available: view.count) }
                length = (Int(view.u8(offset + 1)) + 2) * 4
            default:
                headerLength = offset
                upperLayerLength = payload
                upperLayerProtocol = next
                isLaterFragment = laterFragment
                return
            }
            walked += 1
            guard walked <= Self.maximumExtensionHeaders else { throw .malformed(.ipv6, .extensionChainTooLong) }
            guard length <= payload else { throw .malformed(.ipv6, .extensionChainBeyondPacket) }
            guard view.has(length, at: offset) else {
                throw .truncated(.ipv6, needed: offset + length, available: view.count)
            }
            next = view.u8(offset)
            payload -= length
            offset += length
            if laterFragment {
                headerLength = offset
                upperLayerLength = payload
                upperLayerProtocol = next
                isLaterFragment = true
                return
            }
        }
    }
}
