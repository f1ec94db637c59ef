/// A libpcap link-layer header type (the `LINKTYPE_`/`DLT_` value of a file or interface).
public struct LinkType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// BSD loopback: a 4-byte address family in the capturing host's byte order (macOS `lo0`).
    public static let null = LinkType(rawValue: 0)
    /// Ethernet II, with optional 802.1Q / 802.1ad tags.
    public static let ethernet = LinkType(rawValue: 1)
    /// Raw IP; the version nibble tells IPv4 from IPv6 (also 12 and 14 on some systems).
    public static let raw = LinkType(rawValue: 101)
    /// OpenBSD loopback: a 4-byte address family in network byte order.
    public static let loop = LinkType(rawValue: 108)
    /// Linux cooked capture, version 1 (16-byte header).
    public static let linuxSLL = LinkType(rawValue: 113)
    /// Raw IPv4 only.
    public static let ipv4 = LinkType(rawValue: 228)
    /// Raw IPv6 only.
    public static let ipv6 = LinkType(rawValue: 229)
    /// Linux cooked capture, version 2 (20-byte header).
    public static let linuxSLL2 = LinkType(rawValue: 276)

    /// Whether the decoder understands this link type.
    @inlinable public var isSupported: Bool {
        switch rawValue {
        case 0, 1, 12, 14, 101, 108, 113, 228, 229, 276: return true
        default: return false
        }
    }

    /// The libpcap name, as `tcpdump -L` prints it (`EN10MB`, `LINUX_SLL2`, ...).
    public var name: String {
        switch rawValue {
        case 0: return "NULL"
        case 1: return "EN10MB"
        case 10: return "FDDI"
        case 12, 14, 101: return "RAW"
        case 105: return "IEEE802_11"
        case 108: return "LOOP"
        case 113: return "LINUX_SLL"
        case 127: return "IEEE802_11_RADIO"
        case 228: return "IPV4"
        case 229: return "IPV6"
        case 239: return "NFLOG"
        case 276: return "LINUX_SLL2"
        default: return "LINKTYPE_\(rawValue)"
        }
    }

    public var description: String { "\(name) (\(rawValue))" }
}
