/// Where the network-layer header starts inside a frame, and which protocol it is.
public enum NetworkProtocol: Sendable, Hashable {
    case ipv4, ipv6
    /// The version nibble decides (raw IP, MPLS payloads).
    case ipAnyVersion
}

/// Link-layer decoding: from a frame of a given link type to the offset of its IP header.
///
/// Layouts (all multi-byte fields big-endian unless noted):
/// - Ethernet (1): dst MAC 6, src MAC 6, EtherType 2; 802.1Q (0x8100), 802.1ad (0x88a8) and the old
///   QinQ 0x9100 tags add 4 bytes each; Cisco FabricPath (0x8903) 16 bytes before the inner frame's
///   EtherType; MPLS (0x8847/0x8848) labels 4 bytes each up to bottom-of-stack;
///   PPPoE session (0x8864) 6 bytes plus a 2-byte PPP protocol.
/// - NULL (0): 4-byte address family in the *capturing host's* byte order. LOOP (108): the same in
///   network byte order. AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 on the BSDs, 10 on Linux.
/// - Linux SLL (113): type 2, ARPHRD 2, address length 2, address 8, protocol 2 = 16 bytes.
/// - Linux SLL2 (276): protocol 2, reserved 2, interface index 4, ARPHRD 2, packet type 1, address
///   length 1, address 8 = 20 bytes.
/// - Raw IP (101, 12, 14), IPv4 (228), IPv6 (229): no link header.
public enum LinkLayer {
    /// Upper bound on stacked VLAN tags and MPLS labels, so a hostile frame cannot loop long.
    static let maximumTags = 8

    /// Returns the IP header's offset and protocol, or `nil` when the frame carries no IP.
    /// - Throws: `DecodeError.truncated(.link, ...)` when the link header itself is cut short.
    @inlinable @inline(__always)
    public static func networkOffset(
        in frame: ByteView, linkType: LinkType
    ) throws(DecodeError) -> (offset: Int, protocol: NetworkProtocol)? {
        // Untagged Ethernet, by far the most common frame, is decided inline; the rest in a call.
        if linkType.rawValue == 1 && frame.has(14, at: 0) {
            switch frame.u16(12) {
            case 0x0800: return (14, .ipv4)
            case 0x86dd: return (14, .ipv6)
            default: break
            }
        }
        return try anyNetworkOffset(in: frame, linkType: linkType)
    }

    /// ``networkOffset(in:linkType:)`` for every link type and tag.
    @usableFromInline
    static func anyNetworkOffset(
        in frame: ByteView, linkType: LinkType
    ) throws(DecodeError) -> (offset: Int, protocol: NetworkProtocol)? {
        switch linkType.rawValue {
        case 1:
            guard frame.has(14, at: 0) else { throw .truncated(.link, needed: 14, available: frame.count) }
            return try etherType(frame.u16(12), payloadAt: 14, in: frame)
        case 113:
            guard frame.has(16, at: 0) else { throw .truncated(.link, needed: 16, available: frame.count) }
            return try etherType(frame.u16(14), payloadAt: 16, in: frame)
        case 276:
            guard frame.has(20, at: 0) else { throw .truncated(.link, needed: 20, available: frame.count) }
            return try etherType(frame.u16(0), payloadAt: 20, in: frame)
        case 0, 108:
            guard frame.has(4, at: 0) else { throw .truncated(.link, needed: 4, available: frame.count) }
            let family = frame.u32(0, bigEndian: linkType.rawValue == 108)
            // NULL's byte order is the writer's, not ours: accept the family in either order.
            let swapped = family.byteSwapped
            if family == 2 || (linkType.rawValue == 0 && swapped == 2) { return (4, .ipv4) }
            if isInet6(family) || (linkType.rawValue == 0 && isInet6(swapped)) { return (4, .ipv6) }
            return nil
        case 12, 14, 101: return (0, .ipAnyVersion)
        case 228: return (0, .ipv4)
        case 229: return (0, .ipv6)
        default: return nil
        }
    }

    /// AF_INET6 on Linux (10), NetBSD/OpenBSD (24), FreeBSD (28) and macOS (30).
    @usableFromInline
    static func isInet6(_ family: UInt32) -> Bool {
        family == 10 || family == 24 || family == 28 || family == 30
    }

    @usableFromInline
    static func etherType(
        _ first: UInt16, payloadAt start: Int, in frame: ByteView
    ) throws(DecodeError) -> (offset: Int, protocol: NetworkProtocol)? {
        var type = first
        var offset = start
        for _ in 0...maximumTags {
            switch type {
            case 0x0800: return (offset, .ipv4)
            case 0x86dd: return (offset, .ipv6)
            case 0x8100, 0x88a8, 0x9100:
                guard frame.has(4, at: offset) else {
                    throw .truncated(.link, needed: offset + 4, available: frame.count)
                }
                type = frame.u16(offset + 2)
                offset += 4
            case 0x8847, 0x8848:
                for _ in 0..<maximumTags {
                    guard frame.has(4, at: offset) else {
                        throw .truncated(.link, needed: offset + 4, available: frame.count)
                    }
                    let bottomOfStack = frame.u8(offset + 2) & 1 == 1
                    offset += 4
                    if bottomOfStack { return (offset, .ipAnyVersion) }
                }
                return nil
            case 0x8903:
                // Cisco FabricPath: FTag/TTL (2 bytes), then the original frame's MACs and EtherType.
                guard frame.has(16, at: offset) else {
                    throw .truncated(.link, needed: offset + 16, available: frame.count)
                }
                type = frame.u16(offset + 14)
                offset += 16
            case 0x8864:
                guard frame.has(8, at: offset) else {
                    throw .truncated(.link, needed: offset + 8, available: frame.count)
                }
                let pppProtocol = frame.u16(offset + 6)
                offset += 8
                switch pppProtocol {
                case 0x0021: return (offset, .ipv4)
                case 0x0057: return (offset, .ipv6)
                default: return nil
                }
            default:
                return nil
            }
        }
        return nil
    }
}
