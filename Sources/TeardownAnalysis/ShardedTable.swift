import CPrefetch
import TeardownWire

/// The connections of a capture in ``shardCount`` independent ``ConnectionTable``s, chosen by the
/// low bits of the tuple's hash, each with an equal part of ``TrackingLimits/maximumConnections``
/// and its own record of recent connections, linger and eviction.
///
/// What a shard does depends only on its own segments, in capture order, and on the capture's
/// clock at each expiry round (the latest time of all segments before it). So the shards can be
/// split between two threads: the one that reads the capture keeps some (``ownedShards``) and hands
/// the others' segments, and a mark per round with the clock, to a helper through a
/// ``SegmentHandOff``; the helper's table (the other shards) takes them in ``track(from:observer:)``.
/// Every connection, verdict and count is then exactly what one thread with all the shards finds.
///
/// Connection ids are unique but not in order of first packet across shards, and connections
/// leave shard by shard: this table is for analyses that count (``ResultDelivery/countOnly``).
/// Only which connections an eviction picks differs from one ``ConnectionTable`` (each shard
/// evicts from its own part).
struct ShardedTable: ~Copyable {
    static let shardCount = 8

    /// The shards this table keeps, `first ..< first + count` of the ``shardCount``.
    let ownedShards: Range<Int>
    private let shards: UnsafeMutablePointer<ConnectionTable>
    /// The latest capture time of all segments seen (kept or handed over), in nanoseconds.
    private var now: Int64 = .min
    /// Where the segments of the shards not kept go (the reading thread's table only). Not
    /// retained: the caller keeps it alive while the table lives (a retain and a release per
    /// segment handed over, which even an `unowned(unsafe)` reference costs, took a third of the
    /// reading thread's time).
    private let handOff: Unmanaged<SegmentHandOff>?
    /// Items written into `handOff`, and the consumer's count as last seen.
    private var handedOver = 0
    private var consumedSeen = 0

    /// A table of `ownedShards` (all by default); the segments of the others go to `handOff`.
    init(limits: TrackingLimits, ownedShards: Range<Int> = 0..<shardCount, handOff: SegmentHandOff? = nil) {
        precondition(ownedShards.lowerBound >= 0 && ownedShards.upperBound <= Self.shardCount && !ownedShards.isEmpty)
        self.ownedShards = ownedShards
        self.handOff = handOff.map { Unmanaged.passUnretained($0) }
        var shardLimits = limits
        shardLimits.maximumConnections = max(1, limits.maximumConnections / Self.shardCount)
        shards = .allocate(capacity: ownedShards.count)
        for (offset, shard) in ownedShards.enumerated() {
            (shards + offset).initialize(
                to: ConnectionTable(limits: shardLimits, shard: shard, shardCount: Self.shardCount))
        }
    }

    deinit {
        shards.deinitialize(count: ownedShards.count)
        shards.deallocate()
    }

    /// The shard a tuple's hash belongs to.
    @inline(__always)
    static func shard(of hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & (shardCount - 1) }

    /// The kept shard of `hash` (the caller checked it is kept).
    @inline(__always)
    private func table(for hash: UInt64) -> UnsafeMutablePointer<ConnectionTable> {
        shards + (Self.shard(of: hash) - ownedShards.lowerBound)
    }

    /// Moves the clock to `time` if it is later.
    @inline(__always)
    private mutating func advanceClock(to time: Int64) {
        if time > now { now = time }
    }

    /// Whether this table keeps the shard of `hash`.
    @inline(__always)
    func keeps(_ hash: UInt64) -> Bool { ownedShards.contains(Self.shard(of: hash)) }

    /// Hands a mark to the helper, visible at once.
    private mutating func handOver(_ mark: SegmentHandOff.Mark) {
        guard let handOff else { return }
        let item = nextItem(handOff)
        item.pointee.mark = mark
        item.pointee.value = UInt64(bitPattern: now)
        handOff._withUnsafeGuaranteedRef { $0.publishWritten(handedOver) }
    }

    /// The next item to hand over (counted as handed over), once there is room for it.
    @inline(__always)
    private mutating func nextItem(_ handOff: Unmanaged<SegmentHandOff>) -> UnsafeMutablePointer<SegmentHandOff.Item> {
        let position = handedOver
        handedOver += 1
        return handOff._withUnsafeGuaranteedRef { ring in
            ring.waitForRoom(at: position, consumedSeen: &consumedSeen)
            return ring.item(at: position)
        }
    }

    private mutating func expireOwned<Observer: ConnectionObserver>(observer: inout Observer) {
        for offset in 0..<ownedShards.count {
            shards[offset].advanceClock(to: now)
            shards[offset].expire(observer: &observer)
        }
    }

    private mutating func finishOwned<Observer: ConnectionObserver>(observer: inout Observer) {
        for offset in 0..<ownedShards.count { shards[offset].finishAll(observer: &observer) }
    }

    /// The helper's side: takes the segments and marks `handOff` brings, in order, until the end
    /// mark; then the connections still held are finished.
    /// - Returns: the sample of connections going at the end, taken before they were finished.
    mutating func track<Observer: ConnectionObserver>(from handOff: SegmentHandOff, observer: inout Observer) -> [UInt64] {
        // How far ahead of the segment being ingested its successors' slots and states are asked
        // for (as ``PrefetchRing`` does for one thread).
        let slotDistance = 16, stateDistance = 8
        var position = 0
        while true {
            let available = handOff.waitForItems(after: position)
            while position < available {
                if position + slotDistance < available {
                    let ahead = handOff.item(at: position + slotDistance)
                    if ahead.pointee.mark == .none { prefetchSlot(hash: ahead.pointee.value) }
                }
                if position + stateDistance < available {
                    let ahead = handOff.item(at: position + stateDistance)
                    if ahead.pointee.mark == .none { prefetchState(hash: ahead.pointee.value) }
                }
                let item = handOff.item(at: position)
                position += 1
                switch item.pointee.mark {
                case .none:
                    let lookup = FlowLookup(item.pointee.segment, hash: item.pointee.value)
                    _ = ingest(item.pointee.segment, lookup: lookup, packetNumber: item.pointee.packetNumber, observer: &observer)
                case .round:
                    advanceClock(to: Int64(bitPattern: item.pointee.value))
                    expireOwned(observer: &observer)
                case .end:
                    handOff.publishConsumed(position)
                    let going = goingKeyHashes(limit: ContinuitySample.goingLimit)
                    finishOwned(observer: &observer)
                    return going
                }
                if position % SegmentHandOff.publishInterval == 0 { handOff.publishConsumed(position) }
            }
            handOff.publishConsumed(position)
        }
    }
}

extension ShardedTable: TrackingTable {
    @inline(__always)
    func prefetchSlot(for lookup: FlowLookup) { prefetchSlot(hash: lookup.hash) }

    @inline(__always)
    private func prefetchSlot(hash: UInt64) { table(for: hash).pointee.prefetchSlot(hash: hash) }

    @inline(__always)
    func prefetchState(hash: UInt64) { table(for: hash).pointee.prefetchState(hash: hash) }

    @inline(__always)
    mutating func handsOver(_ pending: UnsafeMutablePointer<PrefetchRing.Pending>) -> Bool {
        guard let handOff, !keeps(pending.pointee.lookup.hash) else { return false }
        advanceClock(to: pending.pointee.segment.timestamp.nanoseconds)
        var item = SegmentHandOff.Item(
            segment: pending.pointee.segment, mark: .none, packetNumber: pending.pointee.packetNumber,
            value: pending.pointee.lookup.hash)
        teardown_stream_copy(nextItem(handOff), &item, MemoryLayout<SegmentHandOff.Item>.stride)
        if handedOver % SegmentHandOff.publishInterval == 0 {
            handOff._withUnsafeGuaranteedRef { $0.publishWritten(handedOver) }
        }
        return true
    }

    @inline(__always)
    mutating func ingest<Observer: ConnectionObserver>(
        _ segment: TCPSegment, lookup: FlowLookup, packetNumber: Int, observer: inout Observer
    ) -> Int {
        advanceClock(to: segment.timestamp.nanoseconds)
        return table(for: lookup.hash).pointee.ingest(segment, lookup: lookup, packetNumber: packetNumber, observer: &observer)
    }

    mutating func expire<Observer: ConnectionObserver>(observer: inout Observer) {
        handOver(.round)
        expireOwned(observer: &observer)
    }

    mutating func finishAll<Observer: ConnectionObserver>(observer: inout Observer) {
        handOver(.end)
        finishOwned(observer: &observer)
    }

    var lateSegments: Int {
        (0..<ownedShards.count).reduce(0) { $0 + shards[$1].lateSegments }
    }

    var midStreamStarts: [(packetNumber: Int, hash: UInt64)] {
        ContinuitySample.firstMidStreamStarts((0..<ownedShards.count).map { shards[$0].midStreamStarts })
    }

    func goingKeyHashes(limit: Int) -> [UInt64] {
        ContinuitySample.lowestGoing((0..<ownedShards.count).map { shards[$0].goingKeyHashes(limit: limit) }, limit: limit)
    }
}
