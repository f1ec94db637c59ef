/// The TCP options that matter for teardown analysis, as a fixed-size summary (no array).
///
/// Options are read as far as the capture holds them: a small snaplen can cut them off, which is
/// not an error (the fixed 20-byte header is what the analysis needs).
public struct TCPOptions: Hashable, Sendable {
    /// Maximum segment size (kind 2), 0 when absent.
    public var maximumSegmentSize: UInt16 = 0
    /// Window scale shift (kind 3), `nil` when absent.
    public var windowScale: UInt8?
    /// SACK permitted (kind 4).
    public var sackPermitted = false
    /// Number of SACK blocks (kind 5).
    public var sackBlocks: UInt8 = 0
    /// Timestamps (kind 8): value and echo reply, `nil` when absent.
    public var timestamp: (value: UInt32, echo: UInt32)? {
        get { hasTimestamp ? (timestampValue, timestampEcho) : nil }
        set {
            hasTimestamp = newValue != nil
            timestampValue = newValue?.value ?? 0
            timestampEcho = newValue?.echo ?? 0
        }
    }
    @usableFromInline var hasTimestamp = false
    @usableFromInline var timestampValue: UInt32 = 0
    @usableFromInline var timestampEcho: UInt32 = 0

    @inlinable public init() {}

    /// Reads the option bytes in `view`; stops at end-of-list, at a bad length or where the view ends.
    @inlinable
    public init(parsing view: ByteView) {
        // The options of nearly every segment after the handshake: NOP, NOP, timestamps. Read in
        // place; everything else goes through the general walk.
        if view.count == 12 && view.u32(0) == 0x0101_080a {
            self.init()
            hasTimestamp = true
            timestampValue = view.u32(4)
            timestampEcho = view.u32(8)
            return
        }
        self.init(walking: view)
    }

    /// The general walk of ``init(parsing:)``.
    @usableFromInline
    init(walking view: ByteView) {
        var offset = 0
        while offset < view.count {
            let kind = view.u8(offset)
            if kind == 0 { break }
            if kind == 1 { offset += 1; continue }
            guard view.has(2, at: offset) else { break }
            let length = Int(view.u8(offset + 1))
            guard length >= 2, view.has(length, at: offset) else { break }
            switch (kind, length) {
            case (2, 4): maximumSegmentSize = view.u16(offset + 2)
            case (3, 3): windowScale = view.u8(offset + 2)
            case (4, 2): sackPermitted = true
            case (5, _): sackBlocks = UInt8(truncatingIfNeeded: (length - 2) / 8)
            case (8, 10):
                hasTimestamp = true
                timestampValue = view.u32(offset + 2)
                timestampEcho = view.u32(offset + 6)
            default: break
            }
            offset += length
        }
    }

    public static func == (lhs: TCPOptions, rhs: TCPOptions) -> Bool {
        lhs.maximumSegmentSize == rhs.maximumSegmentSize && lhs.windowScale == rhs.windowScale
            && lhs.sackPermitted == rhs.sackPermitted && lhs.sackBlocks == rhs.sackBlocks
            && lhs.hasTimestamp == rhs.hasTimestamp && lhs.timestampValue == rhs.timestampValue
            && lhs.timestampEcho == rhs.timestampEcho
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(maximumSegmentSize)
        hasher.combine(windowScale)
        hasher.combine(timestampValue)
    }
}
