/// One packet record of a capture file, borrowed from the file's bytes.
public struct PacketRecord {
    public var timestamp: Timestamp
    /// Bytes captured (`incl_len`), equal to `bytes.count`.
    public var capturedLength: Int { bytes.count }
    /// Bytes on the wire (`orig_len`).
    public var originalLength: Int
    public var linkType: LinkType
    /// The interface (pcapng) the packet was captured on; 0 for pcap.
    public var interfaceIndex: Int
    /// 1-based position of the record in the file.
    public var index: Int
    /// The captured bytes; valid only until the reader moves on.
    public var bytes: ByteView

    @inlinable
    init(timestamp: Timestamp, originalLength: Int, linkType: LinkType, interfaceIndex: Int, index: Int, bytes: ByteView) {
        self.timestamp = timestamp
        self.originalLength = originalLength
        self.linkType = linkType
        self.interfaceIndex = interfaceIndex
        self.index = index
        self.bytes = bytes
    }
}

/// The container format of a capture file.
public enum CaptureFileFormat: String, Sendable, Hashable {
    case pcap, pcapNanosecond = "pcap-ns", pcapng
}

/// Reads pcap (micro- and nanosecond, either byte order) and pcapng (several sections, interfaces
/// with their own link types and timestamp resolutions, enhanced/simple/obsolete packet blocks,
/// unknown blocks skipped) from bytes in memory, without copying them.
///
/// Every length field is compared with what is left of the file before it is used. A last record
/// cut short (a plausible length, but the file ends first) ends reading with ``truncation`` set; an
/// impossible length throws ``CaptureFileError``. The layout follows libpcap's `sf-pcap.c` and
/// `sf-pcapng.c` and draft-ietf-opsawg-pcapng.
///
/// The bytes may come a window at a time (a file read into a buffer of fixed size): a record that
/// runs past the end of a window that is not the file's last makes ``next()`` return `nil` with
/// ``needsMoreData`` set, and ``resume(with:isLastWindow:)`` goes on with the next window, which
/// starts with the bytes not yet consumed (``windowOffset``).
public struct CaptureReader {
    /// The most a record may claim to hold: libpcap's `MAXIMUM_SNAPLEN`.
    @inlinable public static var maximumCapturedLength: Int { 262_144 }

    struct Interface: Sendable {
        var linkType: LinkType
        var snapshotLength: Int
        /// Timestamp units: 10^-exponent s, or 2^-exponent s when `binary`.
        var exponent: Int
        var binary: Bool
        var offsetSeconds: Int64
    }

    // The per-record path (`next()` for classic pcap) is inlined into the caller's loop: returning
    // a record through memory from a call cost a store-forwarding stall per packet.
    /// The bytes of the current window; `offset` is relative to it.
    @usableFromInline var file: ByteView
    @usableFromInline var offset: Int
    /// Where the window starts in the file.
    @usableFromInline var windowStart = 0
    /// Whether the window reaches the end of the file (records cut short there are truncations).
    @usableFromInline var isLastWindow: Bool
    /// The size of the whole file, for messages.
    let fileSize: Int
    /// The file is being fetched into the cache up to here, `readAhead` bytes ahead of `offset`.
    @usableFromInline var prefetched = 0
    @inlinable static var readAhead: Int { 4096 }
    @usableFromInline var recordIndex = 0
    /// Byte order of the current pcap file or pcapng section.
    @usableFromInline var bigEndian: Bool
    var interfaces: [Interface] = []
    /// A classic pcap file's one link type, kept apart from `interfaces` for the per-record path.
    @usableFromInline var classicLinkType = LinkType(rawValue: 0)
    /// Whether the file is classic pcap with nanosecond timestamps, read per record: comparing
    /// `format` with `.pcapNanosecond` there cost 10 instructions a packet (callgrind).
    @usableFromInline let isNanosecondPcap: Bool

    /// The container format.
    public let format: CaptureFileFormat
    /// Fractional digits the timestamps really carry (6 for µs pcap, 9 for ns, pcapng's `if_tsresol`).
    public private(set) var timestampDigits: Int
    /// Link types of the file (pcap) or of every interface described so far (pcapng), in order.
    public private(set) var linkTypes: [LinkType] = []
    /// Set when reading stopped at a record cut short; says where and how.
    public private(set) var truncation: String?
    /// Set when ``next()`` returned `nil` because the next record runs past the window.
    public private(set) var needsMoreData = false
    /// The data of the pcapng custom blocks of teardown's (``PcapngWriter/privateEnterprise``) read
    /// so far, in file order (the kernel's account of a live capture).
    public private(set) var customBlocks: [[UInt8]] = []

    /// Bytes of the file consumed so far.
    public var bytesRead: Int { windowStart + offset }
    /// Bytes of the current window consumed so far.
    public var windowOffset: Int { offset }

    /// Checks the file header and prepares to read records.
    /// - Throws: `CaptureFileError` for an empty file, bad magic, a bad header or (pcap) an
    ///   unsupported link type.
    public init(_ file: ByteView) throws(CaptureFileError) {
        try self.init(window: file, fileSize: file.count)
    }

    /// Prepares to read a file of `fileSize` bytes whose first bytes are `window` (all of them,
    /// or at least the file header).
    public init(window file: ByteView, fileSize: Int) throws(CaptureFileError) {
        self.file = file
        self.fileSize = max(fileSize, file.count)
        isLastWindow = file.count >= fileSize
        guard file.count > 0 else { throw .empty }
        guard file.has(4, at: 0) else { throw .notACapture(magic: 0) }
        let magic = file.u32(0)
        switch magic {
        case 0xa1b2_c3d4, 0xd4c3_b2a1, 0xa1b2_3c4d, 0x4d3c_b2a1:
            bigEndian = magic == 0xa1b2_c3d4 || magic == 0xa1b2_3c4d
            let nano = magic == 0xa1b2_3c4d || magic == 0x4d3c_b2a1
            format = nano ? .pcapNanosecond : .pcap
            isNanosecondPcap = nano
            timestampDigits = nano ? 9 : 6
            guard file.has(24, at: 0) else {
                throw .badHeader("the 24-byte pcap file header is cut short (\(file.count) bytes)")
            }
            let major = file.u16(4, bigEndian: bigEndian)
            guard major == 2 else { throw .badHeader("pcap version \(major) (expected 2)") }
            let linkType = LinkType(rawValue: file.u32(20, bigEndian: bigEndian) & 0x03ff_ffff)
            guard linkType.isSupported else { throw .unsupportedLinkType(linkType) }
            linkTypes = [linkType]
            classicLinkType = linkType
            interfaces = [
                Interface(
                    linkType: linkType, snapshotLength: Int(file.u32(16, bigEndian: bigEndian)),
                    exponent: nano ? 9 : 6, binary: false, offsetSeconds: 0)
            ]
            offset = 24
        case 0x0a0d_0d0a:
            format = .pcapng
            isNanosecondPcap = false
            timestampDigits = 6
            bigEndian = true
            offset = 0
            guard file.has(12, at: 0) else { throw .badHeader("the pcapng section header block is cut short") }
            let byteOrder = file.u32(8)
            guard byteOrder == 0x1a2b_3c4d || byteOrder == 0x4d3c_2b1a else {
                throw .badHeader("bad pcapng byte-order magic 0x\(String(byteOrder, radix: 16))")
            }
        default:
            throw .notACapture(magic: magic)
        }
    }

    /// The next packet record, or `nil` at the end of the file (or of its readable part: see
    /// ``truncation``), or at the end of a window (see ``needsMoreData``).
    @inlinable @inline(__always)
    public mutating func next() throws(CaptureFileError) -> PacketRecord? {
        if prefetched < offset + Self.readAhead { prefetchAhead() }
        if format == .pcapng { return try nextPcapngRecord() }
        let remaining = file.count - offset
        guard remaining >= 16 else { return endOfClassicWindow(remaining: remaining) }
        recordIndex += 1
        let seconds = Int64(file.u32(offset, bigEndian: bigEndian))
        let fraction = Int64(file.u32(offset + 4, bigEndian: bigEndian))
        let captured = Int(file.u32(offset + 8, bigEndian: bigEndian))
        let original = Int(file.u32(offset + 12, bigEndian: bigEndian))
        let left = remaining - 16
        guard captured <= left, captured <= Self.maximumCapturedLength else {
            return try endAtBadLength(captured: captured, left: left)
        }
        let bytes = file.subview(at: offset + 16, count: captured)
        offset += 16 + captured
        let nanoseconds = isNanosecondPcap ? fraction : fraction &* 1000
        return PacketRecord(
            timestamp: Timestamp(seconds: seconds, nanoseconds: nanoseconds),
            originalLength: max(original, captured), linkType: classicLinkType, interfaceIndex: 0,
            index: recordIndex, bytes: bytes)
    }

    /// Asks for the bytes up to `readAhead` past the reader. Each record's place comes from the one
    /// before, so without fetching ahead every header would be a cache miss. Called for every
    /// record, it asks for the one or two lines the window moved by: a steady trickle of prefetches
    /// (asking for a large block at once filled the CPU's miss buffers and stalled the loop).
    @inlinable @inline(__always)
    mutating func prefetchAhead() {
        let end = offset + Self.readAhead
        file.prefetch(from: max(prefetched, offset), to: end)
        prefetched = end
    }

    /// Goes on with the next window of the file, which starts with the bytes of this one from
    /// ``windowOffset`` on.
    public mutating func resume(with window: ByteView, isLastWindow: Bool) {
        windowStart += offset
        file = window
        offset = 0
        prefetched = 0
        self.isLastWindow = isLastWindow
        needsMoreData = false
    }

    /// Stops at the end of a window that is not the file's last, to be resumed with the next.
    @usableFromInline
    mutating func waitForMoreData() -> PacketRecord? {
        needsMoreData = true
        return nil
    }

    /// Ends a classic pcap window: the file's end, a record header cut short, or more data needed.
    @usableFromInline
    mutating func endOfClassicWindow(remaining: Int) -> PacketRecord? {
        guard isLastWindow else { return waitForMoreData() }
        guard remaining > 0 else { return nil }
        recordIndex += 1
        truncation = "record \(recordIndex): its 16-byte header is cut short (\(remaining) bytes remain)"
        offset = file.count
        return nil
    }

    /// Ends a classic pcap file at a record whose captured length does not fit: impossible (throws)
    /// or cut short by the end of the file (a truncation).
    @usableFromInline
    mutating func endAtBadLength(captured: Int, left: Int) throws(CaptureFileError) -> PacketRecord? {
        guard captured <= Self.maximumCapturedLength else {
            throw .impossibleCapturedLength(
                record: recordIndex, claimed: UInt64(captured), remaining: fileSize - (bytesRead + 16))
        }
        guard isLastWindow else {
            recordIndex -= 1
            return waitForMoreData()
        }
        truncation = "record \(recordIndex) claims \(captured) bytes, only \(left) remain"
        offset = file.count
        return nil
    }

    // MARK: pcapng

    /// Largest non-packet block accepted; a longer one is judged impossible rather than "cut short".
    static let maximumBlockLength = 16 << 20

    @usableFromInline
    mutating func nextPcapngRecord() throws(CaptureFileError) -> PacketRecord? {
        while true {
            let start = offset
            // Where the block is in the file, for messages.
            let position = windowStart + start
            let remaining = file.count - start
            guard remaining >= 12 || isLastWindow else { return waitForMoreData() }
            guard remaining > 0 else { return nil }
            guard remaining >= 12 else {
                truncation = "the block at byte \(position) is cut short (\(remaining) bytes remain)"
                offset = file.count
                return nil
            }
            let type = file.u32(start, bigEndian: bigEndian)
            if type == 0x0a0d_0d0a {
                // A section header sets the byte order for itself and everything after it.
                let byteOrder = file.u32(start + 8)
                guard byteOrder == 0x1a2b_3c4d || byteOrder == 0x4d3c_2b1a else {
                    throw .badBlock(offset: position, reason: "bad byte-order magic in a section header")
                }
                bigEndian = byteOrder == 0x1a2b_3c4d
            }
            let length = Int(file.u32(start + 4, bigEndian: bigEndian))
            guard length >= 12, length % 4 == 0 else {
                throw .badBlock(offset: position, reason: "impossible block length \(length)")
            }
            let isPacket = type == 6 || type == 3 || type == 2
            guard length <= remaining else {
                let plausible = isPacket ? Self.maximumCapturedLength + 64 : Self.maximumBlockLength
                let left = fileSize - position
                guard length <= plausible else {
                    // Past the end of the file, or (read a window at a time) larger than a block
                    // is allowed to be: not held in memory.
                    let reason = length > left ? "only \(left) remain" : "more than the \(plausible) read for such a block"
                    throw .badBlock(offset: position, reason: "block claims \(length) bytes, \(reason)")
                }
                guard isLastWindow else { return waitForMoreData() }
                if isPacket { recordIndex += 1 }
                truncation = "the block at byte \(position) claims \(length) bytes, only \(remaining) remain"
                offset = file.count
                return nil
            }
            guard file.u32(start + length - 4, bigEndian: bigEndian) == UInt32(length) else {
                throw .badBlock(offset: position, reason: "its trailing length differs from its leading length \(length)")
            }
            offset = start + length
            let body = file.subview(at: start + 8, count: length - 12)
            switch type {
            case 0x0a0d_0d0a:
                guard body.has(16, at: 0) else { throw .badBlock(offset: position, reason: "section header too short") }
                interfaces.removeAll(keepingCapacity: true)
            case 1:
                try describeInterface(body, at: position)
            case 6, 2:
                recordIndex += 1
                return try packetBlock(body, type: type, at: position)
            case 3:
                recordIndex += 1
                return try simplePacketBlock(body, at: position)
            case 0x0000_0BAD, 0x4000_0BAD:
                // A custom block: teardown's own (its enterprise number) are kept for the caller.
                if body.has(4, at: 0), body.u32(0, bigEndian: bigEndian) == PcapngWriter.privateEnterprise {
                    let data = body.subview(at: 4, count: body.count - 4)
                    customBlocks.append((0..<data.count).map { data.u8($0) })
                }
                continue
            default:
                continue  // name resolution, statistics, decryption secrets, ...: not needed
            }
        }
    }

    mutating func describeInterface(_ body: ByteView, at start: Int) throws(CaptureFileError) {
        guard body.has(8, at: 0) else { throw .badBlock(offset: start, reason: "interface description too short") }
        let linkType = LinkType(rawValue: UInt32(body.u16(0, bigEndian: bigEndian)))
        var interface = Interface(
            linkType: linkType, snapshotLength: Int(body.u32(4, bigEndian: bigEndian)),
            exponent: 6, binary: false, offsetSeconds: 0)
        var option = 8
        while body.has(4, at: option) {
            let code = body.u16(option, bigEndian: bigEndian)
            let length = Int(body.u16(option + 2, bigEndian: bigEndian))
            if code == 0 { break }
            guard body.has(length, at: option + 4) else { break }
            if code == 9, length >= 1 {
                let resolution = body.u8(option + 4)
                interface.binary = resolution & 0x80 != 0
                interface.exponent = Int(resolution & 0x7f)
            } else if code == 14, length >= 8 {
                let first = UInt64(body.u32(option + 4, bigEndian: bigEndian))
                let second = UInt64(body.u32(option + 8, bigEndian: bigEndian))
                interface.offsetSeconds = Int64(bitPattern: bigEndian ? first << 32 | second : second << 32 | first)
            }
            option += 4 + (length + 3) & ~3
        }
        interfaces.append(interface)
        if !linkTypes.contains(linkType) { linkTypes.append(linkType) }
        let digits = interface.binary ? min(9, (interface.exponent * 30103 + 99_999) / 100_000) : min(9, interface.exponent)
        timestampDigits = max(timestampDigits, digits)
    }

    mutating func packetBlock(_ body: ByteView, type: UInt32, at start: Int) throws(CaptureFileError) -> PacketRecord {
        guard body.has(20, at: 0) else { throw .badBlock(offset: start, reason: "packet block too short") }
        let interfaceID: UInt32
        if type == 6 {
            interfaceID = body.u32(0, bigEndian: bigEndian)
        } else {
            interfaceID = UInt32(body.u16(0, bigEndian: bigEndian))
        }
        guard Int(interfaceID) < interfaces.count else {
            throw .unknownInterface(record: recordIndex, interface: interfaceID, known: interfaces.count)
        }
        let interface = interfaces[Int(interfaceID)]
        let ticks = UInt64(body.u32(4, bigEndian: bigEndian)) << 32 | UInt64(body.u32(8, bigEndian: bigEndian))
        let captured = Int(body.u32(12, bigEndian: bigEndian))
        let original = Int(body.u32(16, bigEndian: bigEndian))
        let room = body.count - 20
        guard captured <= Self.maximumCapturedLength else {
            throw .impossibleCapturedLength(record: recordIndex, claimed: UInt64(captured), remaining: room)
        }
        guard captured <= room else {
            throw .badBlock(offset: start, reason: "packet claims \(captured) bytes but its block holds \(room)")
        }
        return PacketRecord(
            timestamp: Self.timestamp(ticks, interface), originalLength: max(original, captured),
            linkType: interface.linkType, interfaceIndex: Int(interfaceID), index: recordIndex,
            bytes: body.subview(at: 20, count: captured))
    }

    mutating func simplePacketBlock(_ body: ByteView, at start: Int) throws(CaptureFileError) -> PacketRecord {
        guard body.has(4, at: 0) else { throw .badBlock(offset: start, reason: "simple packet block too short") }
        guard let interface = interfaces.first else {
            throw .unknownInterface(record: recordIndex, interface: 0, known: 0)
        }
        let original = Int(body.u32(0, bigEndian: bigEndian))
        var captured = min(original, body.count - 4)
        if interface.snapshotLength > 0 { captured = min(captured, interface.snapshotLength) }
        return PacketRecord(
            timestamp: Timestamp(nanoseconds: 0), originalLength: max(original, captured),
            linkType: interface.linkType, interfaceIndex: 0, index: recordIndex,
            bytes: body.subview(at: 4, count: captured))
    }

    /// Converts pcapng timestamp ticks to nanoseconds, saturating instead of overflowing.
    static func timestamp(_ ticks: UInt64, _ interface: Interface) -> Timestamp {
        var nanoseconds: UInt64
        if interface.binary {
            let shift = UInt64(min(interface.exponent, 63))
            let whole = ticks >> shift
            let fraction = ticks & ((1 << shift) &- 1)
            // fraction < 2^shift, so scaling it by 10^9 fits when shift <= 34; beyond, drop low bits first.
            let extra = shift > 34 ? shift - 34 : 0
            let scaledFraction = ((fraction >> extra) &* 1_000_000_000) >> (shift - extra)
            let (product, overflow) = whole.multipliedReportingOverflow(by: 1_000_000_000)
            nanoseconds = overflow ? UInt64(Int64.max) : product &+ scaledFraction
        } else if interface.exponent <= 9 {
            var factor: UInt64 = 1
            for _ in interface.exponent..<9 { factor *= 10 }
            let (product, overflow) = ticks.multipliedReportingOverflow(by: factor)
            nanoseconds = overflow ? UInt64(Int64.max) : product
        } else {
            nanoseconds = ticks
            for _ in 9..<min(interface.exponent, 30) { nanoseconds /= 10 }
        }
        let signed = Int64(clamping: nanoseconds)
        let (withOffset, overflow) = signed.addingReportingOverflow(interface.offsetSeconds &* 1_000_000_000)
        return Timestamp(nanoseconds: overflow ? signed : withOffset)
    }
}
