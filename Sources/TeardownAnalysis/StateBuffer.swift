#if canImport(Glibc)
import Glibc
#endif

/// The connection table's states, in memory of their own and accessed in place.
///
/// An `Array` puts its elements 32 bytes after a 16-byte-aligned allocation, so every 512-byte
/// state straddles 9 cache lines; here the states start on a cache line (8 lines each), and a large
/// buffer starts on a 2 MiB boundary with the kernel asked for huge pages under it (lookups land
/// anywhere in tens of megabytes, and with 4 KiB pages nearly every one also misses the TLB).
/// Elements are read and written through addressors: nothing copies a whole state. Sendable as an
/// `Array` is: the memory has exactly one owner, since the buffer cannot be copied.
struct StateBuffer: ~Copyable, @unchecked Sendable {
    private var base: UnsafeMutablePointer<ConnectionState>
    /// States initialised, at indexes `0 ..< count`.
    private(set) var count = 0
    private(set) var capacity: Int

    static let hugePage = 2 << 20

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = Self.allocate(self.capacity)
    }

    deinit {
        base.deinitialize(count: count)
        free(base)
    }

    var indices: Range<Int> { 0..<count }

    subscript(index: Int) -> ConnectionState {
        unsafeAddress {
            assert(index >= 0 && index < count)
            return UnsafePointer(base + index)
        }
        unsafeMutableAddress {
            assert(index >= 0 && index < count)
            return base + index
        }
    }

    /// The state at `index`, for reading in place while the buffer is not changed.
    func pointer(at index: Int) -> UnsafePointer<ConnectionState> {
        assert(index >= 0 && index < count)
        return UnsafePointer(base + index)
    }

    /// The address of the state at `index` as raw memory, for prefetching.
    func address(of index: Int) -> UnsafeRawPointer { UnsafeRawPointer(base + index) }

    /// Appends `state`; when full, first grows to `minimumCapacity` (at least double the capacity).
    mutating func append(_ state: consuming ConnectionState, growingTo minimumCapacity: Int) {
        if count == capacity { reserve(max(minimumCapacity, capacity * 2)) }
        (base + count).initialize(to: state)
        count += 1
    }

    /// Moves the states into a new buffer of `newCapacity` (nothing when it is not larger).
    mutating func reserve(_ newCapacity: Int) {
        guard newCapacity > capacity else { return }
        let newBase = Self.allocate(newCapacity)
        newBase.moveInitialize(from: base, count: count)
        free(base)
        base = newBase
        capacity = newCapacity
    }

    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<ConnectionState> {
        let bytes = capacity * MemoryLayout<ConnectionState>.stride
        let alignment = bytes >= 2 * hugePage ? hugePage : 64
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, alignment, bytes) == 0, let memory else {
            fatalError("out of memory for \(capacity) connection states")
        }
        #if os(Linux)
        if alignment == hugePage { _ = madvise(memory, bytes / hugePage * hugePage, MADV_HUGEPAGE) }
        #endif
        return memory.bindMemory(to: ConnectionState.self, capacity: capacity)
    }
}
