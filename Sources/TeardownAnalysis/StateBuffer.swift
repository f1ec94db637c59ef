#if canImport(Glibc)
import Glibc
#endif

/// The connection table's states, in memory of their own and accessed in place.
///
/// An `Array` puts its elements next to each other 32 bytes after a 16-byte-aligned allocation, so
/// a state would straddle one cache line more than it fills; here every state starts on a cache
/// line (``stride``), and a large buffer starts on a 2 MiB boundary with the kernel asked for huge
/// pages under it (lookups land anywhere in tens of megabytes, and with 4 KiB pages nearly every
/// one also misses the TLB). Elements are read and written through addressors: nothing copies a
/// whole state. Sendable as an `Array` is: the memory has exactly one owner, since the buffer
/// cannot be copied.
struct StateBuffer: ~Copyable, @unchecked Sendable {
    /// Bytes from one state to the next: the state's size rounded up to whole cache lines.
    static let stride = (MemoryLayout<ConnectionState>.size + 63) & ~63

    private var base: UnsafeMutableRawPointer
    /// States initialised, at indexes `0 ..< count`.
    private(set) var count = 0
    private(set) var capacity: Int

    static let hugePage = 2 << 20

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = Self.allocate(self.capacity)
    }

    deinit {
        for index in indices { element(index).deinitialize(count: 1) }
        free(base)
    }

    /// The state at `index`, which must be initialised.
    @inline(__always)
    private func element(_ index: Int) -> UnsafeMutablePointer<ConnectionState> {
        (base + index &* Self.stride).assumingMemoryBound(to: ConnectionState.self)
    }

    var indices: Range<Int> { 0..<count }

    subscript(index: Int) -> ConnectionState {
        unsafeAddress {
            assert(index >= 0 && index < count)
            return UnsafePointer(element(index))
        }
        unsafeMutableAddress {
            assert(index >= 0 && index < count)
            return element(index)
        }
    }

    /// The state at `index`, for reading in place while the buffer is not changed.
    func pointer(at index: Int) -> UnsafePointer<ConnectionState> {
        assert(index >= 0 && index < count)
        return UnsafePointer(element(index))
    }

    /// The address of the state at `index` as raw memory, for prefetching.
    func address(of index: Int) -> UnsafeRawPointer { UnsafeRawPointer(element(index)) }

    /// Appends `state`; when full, first grows to `minimumCapacity` (at least double the capacity).
    mutating func append(_ state: consuming ConnectionState, growingTo minimumCapacity: Int) {
        if count == capacity { reserve(max(minimumCapacity, capacity * 2)) }
        (base + count * Self.stride).initializeMemory(as: ConnectionState.self, to: state)
        count += 1
    }

    /// Moves the states into a new buffer of `newCapacity` (nothing when it is not larger).
    mutating func reserve(_ newCapacity: Int) {
        guard newCapacity > capacity else { return }
        let old = base
        base = Self.allocate(newCapacity)
        for index in indices {
            let offset = index * Self.stride
            (base + offset).moveInitializeMemory(
                as: ConnectionState.self, from: (old + offset).assumingMemoryBound(to: ConnectionState.self), count: 1)
        }
        free(old)
        capacity = newCapacity
    }

    private static func allocate(_ capacity: Int) -> UnsafeMutableRawPointer {
        let bytes = capacity * stride
        let alignment = bytes >= 2 * hugePage ? hugePage : 64
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, alignment, bytes) == 0, let memory else {
            fatalError("out of memory for \(capacity) connection states")
        }
        #if os(Linux)
        if alignment == hugePage { _ = madvise(memory, bytes / hugePage * hugePage, MADV_HUGEPAGE) }
        #endif
        return memory
    }
}
