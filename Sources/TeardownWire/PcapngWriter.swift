/// Writes a pcapng file (little-endian, nanosecond timestamps) into memory (all of it, or piece by
/// piece with ``takeBytes()``): a section header,
/// interface descriptions, enhanced packet blocks with an optional comment (which Wireshark shows,
/// `tshark -T fields -e frame.comment`), and custom blocks of this project's (``privateEnterprise``)
/// that other tools skip and keep.
public struct PcapngWriter {
    /// The file so far.
    public private(set) var bytes: [UInt8] = []
    private var interfaces = 0

    /// The private enterprise number of teardown's custom blocks: 32473, the one RFC 5612 sets
    /// aside for documentation and examples (no number of its own is registered).
    public static let privateEnterprise: UInt32 = 32473

    /// The bytes appended since the last call (or since the start), handed over and cleared: a
    /// long file is written out as it is made instead of held whole.
    public mutating func takeBytes() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    /// Starts the file with a section header naming `application`.
    public init(application: String = "teardown") {
        var options: [UInt8] = []
        Self.option(4, Array(application.utf8), into: &options)  // shb_userappl
        Self.option(0, [], into: &options)
        var body: [UInt8] = []
        Self.append32(0x1a2b_3c4d, to: &body)  // byte-order magic
        Self.append16(1, to: &body)
        Self.append16(0, to: &body)
        Self.append32(0xffff_ffff, to: &body)  // section length unknown
        Self.append32(0xffff_ffff, to: &body)
        block(0x0a0d_0d0a, body + options)
    }

    /// Describes an interface of `linkType` with nanosecond timestamps; returns its number.
    public mutating func addInterface(linkType: UInt32, snapshotLength: Int) -> Int {
        var body: [UInt8] = []
        Self.append16(UInt16(truncatingIfNeeded: linkType), to: &body)
        Self.append16(0, to: &body)
        Self.append32(UInt32(truncatingIfNeeded: snapshotLength), to: &body)
        Self.option(9, [9], into: &body)  // if_tsresol: 10^-9
        Self.option(0, [], into: &body)
        block(1, body)
        interfaces += 1
        return interfaces - 1
    }

    /// Appends a captured frame of `interface`.
    public mutating func appendPacket(
        interface: Int, timestamp: Timestamp, captured: [UInt8], originalLength: Int, comment: String? = nil
    ) {
        let nanoseconds = UInt64(bitPattern: timestamp.nanoseconds)
        var body: [UInt8] = []
        Self.append32(UInt32(truncatingIfNeeded: interface), to: &body)
        Self.append32(UInt32(truncatingIfNeeded: nanoseconds >> 32), to: &body)
        Self.append32(UInt32(truncatingIfNeeded: nanoseconds), to: &body)
        Self.append32(UInt32(captured.count), to: &body)
        Self.append32(UInt32(truncatingIfNeeded: originalLength), to: &body)
        body += captured
        while body.count % 4 != 0 { body.append(0) }
        if let comment {
            Self.option(1, Array(comment.utf8), into: &body)  // opt_comment
            Self.option(0, [], into: &body)
        }
        block(6, body)
    }

    /// Appends a custom block of teardown's holding `data` (copied with the file by other tools).
    public mutating func appendCustom(_ data: [UInt8]) {
        var body: [UInt8] = []
        Self.append32(Self.privateEnterprise, to: &body)
        body += data
        while body.count % 4 != 0 { body.append(0) }
        block(0x0000_0BAD, body)
    }

    private mutating func block(_ type: UInt32, _ body: [UInt8]) {
        let length = UInt32(12 + body.count)
        Self.append32(type, to: &bytes)
        Self.append32(length, to: &bytes)
        bytes += body
        Self.append32(length, to: &bytes)
    }

    private static func option(_ code: UInt16, _ value: [UInt8], into body: inout [UInt8]) {
        append16(code, to: &body)
        append16(UInt16(value.count), to: &body)
        body += value
        while body.count % 4 != 0 { body.append(0) }
    }

    private static func append16(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes += [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
    }

    private static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
}
