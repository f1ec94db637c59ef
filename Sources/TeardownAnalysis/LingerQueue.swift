/// The connections that ended, in the order they ended, waiting out their linger.
///
/// A ring whose capacity doubles when it is full and never shrinks: its memory follows the most
/// connections lingering at once (to the next power of two), and once the ring has gone round it
/// does not change with the length of the capture. (An array compacted from time to time touched
/// a little more of its memory whenever a longer capture reached a slightly higher peak.)
struct LingerQueue {
    /// A connection that ended: its index in the table, its id (the index may since hold another
    /// connection) and the capture time it ended, in nanoseconds.
    struct Entry {
        var index: Int32
        var id: Int
        var at: Int64
    }

    private var ring: [Entry] = []
    /// Position in `ring` of the oldest entry.
    private var head = 0
    /// Entries held.
    private var count = 0

    /// The entry `offset` places after the oldest, if there is one.
    subscript(offset offset: Int) -> Entry? {
        offset < count ? ring[(head + offset) & (ring.count - 1)] : nil
    }

    mutating func append(_ entry: Entry) {
        if count == ring.count { grow() }
        ring[(head + count) & (ring.count - 1)] = entry
        count += 1
    }

    /// Forgets the oldest entry; there must be one.
    mutating func removeFirst() {
        head = (head + 1) & (ring.count - 1)
        count -= 1
    }

    /// Doubles the ring (at least 1 024 entries), keeping the entries in order from its start.
    private mutating func grow() {
        let capacity = max(ring.count * 2, 1024)
        var larger = [Entry]()
        larger.reserveCapacity(capacity)
        for offset in 0..<count { larger.append(ring[(head + offset) & (ring.count - 1)]) }
        larger.append(contentsOf: repeatElement(Entry(index: 0, id: 0, at: 0), count: capacity - count))
        ring = larger
        head = 0
    }
}
