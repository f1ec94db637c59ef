/// Why a capture file cannot be read (further). Every case but three maps to exit code 65 (contract §5:
/// `cannotOpen` 66, `interrupted` 130 or 143, `piecesOverlap` 64);
/// the packets read before the problem are still analysed.
public enum CaptureFileError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file could not be opened (exit 66); the reason in words.
    case cannotOpen(String)
    /// The file is empty.
    case empty
    /// The first four bytes are no pcap or pcapng magic number.
    case notACapture(magic: UInt32)
    /// The file header is cut short or contradicts itself.
    case badHeader(String)
    /// The link type cannot be decoded.
    case unsupportedLinkType(LinkType)
    /// Record `index` (1-based) claims a captured length above the 256 KiB libpcap accepts.
    case impossibleCapturedLength(record: Int, claimed: UInt64, remaining: Int)
    /// A pcapng block at `offset` has a length that cannot be (below 12, not a multiple of 4, ...).
    case badBlock(offset: Int, reason: String)
    /// A pcapng packet block names an interface the file never described.
    case unknownInterface(record: Int, interface: UInt32, known: Int)
    /// The system failed to read the file (an I/O error) after it was opened.
    case readFailed(String)
    /// Reading stopped at SIGINT or SIGTERM (`signal`): what came before is analysed.
    case interrupted(signal: Int32)
    /// Files read as the pieces of one capture (`--continuous`) overlap in time: `later` starts
    /// before `earlier` ended (exit 64: they are not one capture).
    case piecesOverlap(earlier: String, later: String)

    public var description: String {
        switch self {
        case .cannotOpen(let reason):
            return reason
        case .empty:
            return "the file is empty"
        case .notACapture(let magic):
            let hex = String(magic, radix: 16)
            return "not a pcap or pcapng capture (magic number 0x\(String(repeating: "0", count: max(0, 8 - hex.count)) + hex))"
        case .badHeader(let reason):
            return "bad capture file header: \(reason)"
        case .unsupportedLinkType(let type):
            return "unsupported link type \(type.description); teardown decodes EN10MB (1), NULL (0), LOOP (108), RAW (101, 228, 229), LINUX_SLL (113) and LINUX_SLL2 (276)"
        case .impossibleCapturedLength(let record, let claimed, let remaining):
            return "record \(record) claims \(claimed) bytes, only \(remaining) remain (at most 262144 are possible)"
        case .badBlock(let offset, let reason):
            return "pcapng block at byte \(offset): \(reason)"
        case .unknownInterface(let record, let interface, let known):
            return "record \(record) names interface \(interface), but the file describes \(known)"
        case .readFailed(let reason):
            return "cannot read the file further: \(reason)"
        case .piecesOverlap(let earlier, let later):
            return "\(later) starts before \(earlier) ends: the files overlap in time, so they are not pieces of one capture (analyse them without --continuous)"
        case .interrupted(let signal):
            return "interrupted by \(signal == 15 ? "SIGTERM" : signal == 2 ? "SIGINT" : "signal \(signal)"); analysed up to there"
        }
    }
}
