import CPrefetch
import Synchronization
import TeardownWire

/// Decoded segments passed from the thread that reads a capture to one that tracks some of its
/// connections (``ShardedTable``): a single-producer, single-consumer ring, in capture order, with
/// a mark at each expiry round and one at the end.
///
/// The producer writes segments with non-temporal stores (``ShardedTable``'s hand-over, through
/// `teardown_stream_copy`): an ordinary store must first take the item's cache line back from the
/// consumer's core, which had read it one lap of the ring earlier (or pulled it in early with its
/// hardware prefetcher), and while such stores waited the producer's later stores stalled behind
/// them; its decoding took three times as long (measured in `bench/RESULTS.md`, session 16).
///
/// Each side keeps its own count of items and makes it visible to the other side only every
/// ``publishInterval`` items (and at every mark, one per expiry round), so the two cores rarely
/// touch the same cache line of the counts, and the consumer reads whole batches the producer is
/// done with. A side that finds nothing to do spins a little, then sleeps 50 µs at a time: on a
/// virtual machine whose two vCPUs may share one physical core, a side that spun or yielded on
/// (`sched_yield` returns at once when no other thread of the machine waits) took the core from the
/// side it waited for, and a run's CPU time nearly doubled.
final class SegmentHandOff: @unchecked Sendable {
    /// One entry: a segment, or a mark. Only what the helper cannot cheaply recompute crosses
    /// between the cores: the segment, its number and its tuple's hash (for prefetching), 112
    /// bytes; the flow key is made again from the segment (with the decoder's whole ring entry,
    /// 184 bytes, the copies in and out cost each side a tenth of its time).
    struct Item {
        var segment: TCPSegment
        var mark: Mark
        var packetNumber: Int
        /// The tuple's hash of a segment; with a round mark, the latest capture time of all
        /// segments before it, in nanoseconds.
        var value: UInt64
    }

    enum Mark: UInt8 {
        /// The item is a segment.
        case none
        /// An expiry round is due here, at `time`.
        case round
        /// The capture ended: no items follow.
        case end
    }

    static let capacity = 8192
    /// Items between two publications of a side's count (the producer publishes at every expiry
    /// round's mark too, every ``ConnectionTable/expiryInterval`` packets).
    static let publishInterval = 1024

    private let items: UnsafeMutablePointer<Item>
    /// Items the producer wrote (published).
    private let written = Atomic<Int>(0)
    // Keeps the two counts on different cache lines: each is written by one core only.
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    /// Items the consumer is done with (published).
    private let consumed = Atomic<Int>(0)

    init() {
        items = .allocate(capacity: Self.capacity)
        let placeholder = PrefetchRing.Pending.placeholder.segment
        items.initialize(repeating: Item(segment: placeholder, mark: .none, packetNumber: 0, value: 0), count: Self.capacity)
    }

    deinit {
        items.deinitialize(count: Self.capacity)
        items.deallocate()
    }

    /// The item at position `position` (counted from the first ever written).
    @inline(__always)
    func item(at position: Int) -> UnsafeMutablePointer<Item> { items + (position & (Self.capacity - 1)) }

    /// Producer: waits until the item at `position` may be written (the consumer is done with the
    /// one that was there); `consumedSeen` is the producer's last look at the consumer's count.
    @inline(__always)
    func waitForRoom(at position: Int, consumedSeen: inout Int) {
        guard position - consumedSeen >= Self.capacity else { return }
        var spins = 0
        while true {
            consumedSeen = consumed.load(ordering: .acquiring)
            if position - consumedSeen < Self.capacity { return }
            Self.relax(&spins)
        }
    }

    /// Producer: makes the items before `position` visible to the consumer (after the
    /// non-temporal stores that wrote them, which a release store alone does not order).
    @inline(__always)
    func publishWritten(_ position: Int) {
        teardown_store_fence()
        written.store(position, ordering: .releasing)
    }

    /// Consumer: waits until there are items at and after `position`; returns how many were
    /// written in all.
    @inline(__always)
    func waitForItems(after position: Int) -> Int {
        var spins = 0
        while true {
            let count = written.load(ordering: .acquiring)
            if count > position { return count }
            Self.relax(&spins)
        }
    }

    /// Consumer: tells the producer that the items before `position` may be overwritten.
    @inline(__always)
    func publishConsumed(_ position: Int) { consumed.store(position, ordering: .releasing) }

    /// One step of a wait: a thousand spins (the other side is usually a few items away), then
    /// 50 µs sleeps (the ring holds most of a millisecond of segments).
    @inline(__always)
    private static func relax(_ spins: inout Int) {
        spins += 1
        if spins < 1000 { teardown_spin_pause() } else { teardown_sleep_microseconds(50) }
    }
}
