import CPrefetch

/// A borrowed, read-only view of packet or file bytes with big- and little-endian integer loads.
///
/// This file is the only place in the package that reads raw memory. The contract, stated once:
/// every caller checks `offset + size <= count` (one check per header, before any field is read)
/// and only then calls a load. Debug builds re-check every load; release builds rely on that one
/// check, which is what keeps decoding at memory speed. A `ByteView` never outlives the buffer it
/// borrows: it is created for one record and dropped before the next.
public struct ByteView {
    @usableFromInline let base: UnsafeRawPointer?

    /// Number of readable bytes.
    public let count: Int

    /// Wraps `buffer` for the duration of one call.
    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer) {
        self.base = buffer.baseAddress
        self.count = buffer.count
    }

    @inlinable
    init(base: UnsafeRawPointer?, count: Int) {
        self.base = base
        self.count = count
    }

    /// True when `size` bytes starting at `offset` are readable. Written so that no addition can
    /// overflow: `offset` and `size` are compared against `count` separately.
    @inlinable
    public func has(_ size: Int, at offset: Int) -> Bool {
        offset >= 0 && size >= 0 && offset <= count && size <= count - offset
    }

    /// The view of `size` bytes starting at `offset`; the caller checked `has(size, at: offset)`.
    @inlinable
    /// The bytes as an array (a copy: for writing them out again).
    public func copiedBytes() -> [UInt8] {
        guard let base, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }

    public func subview(at offset: Int, count size: Int) -> ByteView {
        assert(has(size, at: offset))
        // Safe because the caller checked the range lies inside this view.
        return ByteView(base: base.map { $0 + offset }, count: size)
    }

    /// The view from `offset` to the end; the caller checked `offset <= count`.
    @inlinable
    public func suffix(from offset: Int) -> ByteView {
        subview(at: offset, count: count - offset)
    }

    /// Asks the CPU to fetch the cache lines of bytes `start ..< end` (clamped to the view) before
    /// they are read. Only a hint: it reads nothing, so any range is safe.
    @inlinable
    public func prefetch(from start: Int, to end: Int) {
        guard let base else { return }
        var offset = max(start, 0)
        let end = min(end, count)
        while offset < end {
            teardown_prefetch(base + offset)
            offset += 64
        }
    }

    /// The raw buffer behind this view, for handing to C APIs (BPF filters) that read it.
    @inlinable
    public var rawBuffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: count)
    }

    @inlinable
    public func u8(_ offset: Int) -> UInt8 {
        assert(has(1, at: offset))
        return base.unsafelyUnwrapped.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable
    public func u16(_ offset: Int) -> UInt16 {
        assert(has(2, at: offset))
        return UInt16(bigEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable
    public func u32(_ offset: Int) -> UInt32 {
        assert(has(4, at: offset))
        return UInt32(bigEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable
    public func u64(_ offset: Int) -> UInt64 {
        assert(has(8, at: offset))
        return UInt64(bigEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// A 16-bit value in the given byte order (`bigEndian == false`: little-endian).
    @inlinable
    public func u16(_ offset: Int, bigEndian: Bool) -> UInt16 {
        let value = u16(offset)
        return bigEndian ? value : value.byteSwapped
    }

    /// A 32-bit value in the given byte order (`bigEndian == false`: little-endian).
    @inlinable
    public func u32(_ offset: Int, bigEndian: Bool) -> UInt32 {
        let value = u32(offset)
        return bigEndian ? value : value.byteSwapped
    }
}
