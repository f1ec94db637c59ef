/// The layer a decoding problem was found in.
public enum Layer: String, Sendable, Hashable, CustomStringConvertible {
    case link, ipv4, ipv6, tcp
    case pcapHeader = "pcap header"
    case pcapRecord = "pcap record"
    case pcapngBlock = "pcapng block"

    public var description: String { rawValue }
}

/// Why a header was judged impossible.
public enum MalformedReason: String, Sendable, Hashable {
    case headerLengthTooSmall = "header length below the minimum"
    case headerLengthBeyondPacket = "header length beyond the packet"
    case totalLengthBelowHeader = "total length below the header length"
    case extensionChainTooLong = "extension-header chain too long"
    case extensionChainBeyondPacket = "extension-header chain runs past the packet"
    case badVersion = "IP version does not match the link type"
}

/// A packet whose headers cannot be decoded.
///
/// Three buckets are kept apart (STYLE 5.4): a header cut short by the capture (`truncated`), a
/// header that contradicts itself (`malformed`), and a packet that is simply not TCP, which is not
/// an error at all (the decoder returns `nil`). No case carries a `String`, so throwing costs nothing.
public enum DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `needed` bytes of `layer` were required, `available` were captured.
    case truncated(Layer, needed: Int, available: Int)
    /// A length or version field is impossible.
    case malformed(Layer, MalformedReason)

    public var description: String {
        switch self {
        case .truncated(let layer, let needed, let available):
            return "\(layer) header cut short: needs \(needed) bytes, \(available) captured"
        case .malformed(let layer, let reason):
            return "malformed \(layer) header: \(reason.rawValue)"
        }
    }
}
