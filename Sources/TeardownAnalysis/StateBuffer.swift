/// The connection table's states, in memory of their own and accessed in place.
///
/// An `Array` puts its elements next to each other 32 bytes after a 16-byte-aligned allocation, so
/// a state would straddle one cache line more than it fills; here every state starts on a cache
/// line (``stride``). Elements are read and written through addressors: nothing copies a
/// whole state. Sendable as an `Array` is: the memory has exactly one owner, since the buffer
/// cannot be copied.
struct StateBuffer: ~Copyable, @unchecked Sendable {
    /// Bytes from one state to the next: the state's size rounded up to whole cache lines.
    static let stride = (MemoryLayout<ConnectionState>.size + 63) & ~63

    private var base: UnsafeMutableRawPointer
    /// States initialised, at indexes `0 ..< count`.
    private(set) var count = 0
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
        base = Self.allocate(self.capacity)
    }

    deinit {
        for index in indices { element(index).deinitialize(count: 1) }
        base.deallocate()
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

    /// Calls `body` with the state at `index` in place. A state lent from here is not copied (one
    /// passed on from the subscript would be, since nothing proves the memory unchanged meanwhile).
    mutating func withElement<Result>(at index: Int, _ body: (inout ConnectionState) -> Result) -> Result {
        assert(index >= 0 && index < count)
        return body(&element(index).pointee)
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
        old.deallocate()
        capacity = newCapacity
    }

    private static func allocate(_ capacity: Int) -> UnsafeMutableRawPointer {
        .allocate(byteCount: capacity * stride, alignment: 64)
    }
}
