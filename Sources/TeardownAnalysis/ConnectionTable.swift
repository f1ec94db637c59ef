import CPrefetch
import TeardownWire

/// How long connections stay in the table: these bound memory by concurrent connections, not by
/// the size of the capture.
public struct TrackingLimits: Sendable, Hashable {
    /// Capture-time seconds a connection stays after its teardown ended (FIN pair or reset), so late
    /// segments (retransmitted FINs, answers from TIME_WAIT) still find it.
    public var linger: Double = 5
    /// Capture-time seconds without a packet after which a connection is reported as it stands
    /// (`open`, `half-closed`, ...) and forgotten, and the next packet on its tuple starts a new
    /// one: Zeek's `tcp_inactivity_timeout`. `nil` (the default): time alone never ends a
    /// connection (contract 1.1).
    public var idleTimeout: Double?
    /// Most connections held after each expiry round; beyond it, the least recently active ones
    /// (ended and lingering or not) are reported as they stand, a few hundred a round.
    public var maximumConnections = 65_536

    public init(linger: Double = 5, idleTimeout: Double? = nil, maximumConnections: Int = 65_536) {
        self.linger = linger
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
    }

    /// Zeek's own row boundaries (`tcp_close_delay` 5 s, `tcp_inactivity_timeout` 300 s): a packet
    /// that comes after them starts a new connection, as it starts a new conn.log row in Zeek.
    public static let zeek = TrackingLimits(linger: 5, idleTimeout: 300)

    /// Whether time ends connections (an idle timeout is set): then a packet after the idle
    /// timeout, or after the linger of a connection that ended, starts a new connection, whatever
    /// its sequence numbers say.
    var timeEndsConnections: Bool { idleTimeout != nil }
}

/// Every TCP connection of a capture, found by 4-tuple in a flat open-addressing table.
///
/// The index is an array of `UInt64` slots (a hash tag and an index into `states`; linear probing,
/// load factor at most 1/2, grown by doubling, backward-shift deletion), so a lookup is one hash,
/// usually one probe, and no allocation. A SYN that reuses the tuple of an ended connection starts a new one
/// (contract 1.1); the slot then points at the newest use of the tuple.
///
/// Connections leave the table when their teardown ended and the linger passed, under pressure
/// (`evicted`), or, only when an idle timeout is set, when they were idle for it
/// (``TrackingLimits``). Time alone never ends a connection otherwise: a packet after any silence
/// continues its connection when its sequence numbers do (contract 1.1), and one that comes after
/// its connection left is recognised by ``RecentConnections`` (a late segment of an ended
/// connection, or the `resumed` continuation of an evicted one).
///
/// The table knows only connections and time. What happens to a connection's packets and to the
/// connection when it leaves is up to a ``ConnectionObserver``, called with the state in place
/// (borrowed, never copied): building results, emulating other tools, handing work to other
/// threads and recording the ladder's facts are all observers (`Observers.swift`).
struct ConnectionTable: ~Copyable, Sendable {
    /// `(hash >> 32) << 32 | (index + 1)`; 0 is empty. The hash tag rejects most wrong entries
    /// without touching their state (a cache miss each).
    private var slots: [UInt64]
    private var mask: Int
    private var states: StateBuffer
    /// Indexes in `states` that are free for reuse.
    private var free: [Int32] = []
    /// Ended connections in the order they ended.
    private var ended = LingerQueue()
    private var nextID: Int
    /// Which of ``shardCount`` tables this is (``ShardedTable``): connection ids are
    /// `shard + 1` plus multiples of the count, and observers see slot `index * shardCount + shard`,
    /// so that ids and slots of all the shards differ. 0 of 1 for a table on its own.
    private let shard: Int
    private let shardCount: Int
    private var lastIdleSweep: Int64 = .min
    /// An eviction under way: the connections last seen at or before `cutoff` go, in index order
    /// from `next` on, a few each round (``evictLeastRecentlyActive(observer:)``).
    private var eviction: Eviction?
    private struct Eviction { var cutoff: Int64; var next: Int }
    private let limits: TrackingLimits
    private let lingerNanoseconds: Int64
    /// `Int64.max` without an idle timeout.
    private let idleNanoseconds: Int64
    /// The silence below which a packet continues its connection without further checks.
    private let quietNanoseconds: Int64
    private var recent: RecentConnections

    /// Segments that came after their connection had ended and lingered (or left): counted, never
    /// made into a connection of their own (contract 1.1).
    private(set) var lateSegments = 0
    /// The first connections whose first packet was no SYN (at most ``midStreamSample``), with the
    /// number of that packet and their tuples' hashes: near the start of a capture, those that
    /// began before it.
    private(set) var midStreamStarts: [(packetNumber: Int, hash: UInt64)] = []
    static let midStreamSample = 256

    /// The latest capture time seen, in nanoseconds.
    private(set) var now: Int64 = .min
    /// Connections currently held.
    private(set) var count = 0

    /// Creates an empty table; `shard` of `shardCount` for one of the tables of a ``ShardedTable``.
    init(limits: TrackingLimits = TrackingLimits(), expectedConnections: Int = 1024, shard: Int = 0, shardCount: Int = 1) {
        self.limits = limits
        self.shard = shard
        self.shardCount = shardCount
        nextID = shard + 1
        // Clamped to [0, 10^9 s] so that no setting can overflow the nanosecond arithmetic.
        lingerNanoseconds = Int64(min(max(limits.linger, 0), 1e9) * 1e9)
        idleNanoseconds = limits.idleTimeout.map { Int64(min(max($0, 0), 1e9) * 1e9) } ?? .max
        quietNanoseconds = min(lingerNanoseconds, idleNanoseconds &- 1)
        recent = RecentConnections(capacity: limits.timeEndsConnections ? 0 : max(8192, limits.maximumConnections))
        var size = 16
        while size < expectedConnections * 2 { size <<= 1 }
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        states = StateBuffer(capacity: expectedConnections)
    }

    /// The capacity to grow the states to when they are full: doubling up to 8 192, then straight to
    /// the maximum (plus the slack of the packets between two expiry rounds), so the last move holds
    /// a small old buffer and the final one, never two large ones.
    private var grownCapacity: Int {
        let ceiling = limits.maximumConnections + Self.expiryInterval
        return states.count >= 8192 && states.count < ceiling ? ceiling : states.capacity * 2
    }

    /// Packets between two calls of ``expire(_:)`` by the analyzer: at most this many connections
    /// are added beyond the maximum before it is enforced again.
    static let expiryInterval = 1024

    @inline(__always) static func tag(_ hash: UInt64) -> UInt64 { hash & 0xffff_ffff_0000_0000 }
    @inline(__always) static func entry(_ hash: UInt64, _ index: Int) -> UInt64 { tag(hash) | UInt64(index + 1) }
    @inline(__always) static func index(_ entry: UInt64) -> Int { Int(truncatingIfNeeded: entry & 0xffff_ffff) - 1 }
    /// The slot observers know the connection at `index` by.
    @inline(__always) private func observedSlot(_ index: Int) -> Int { index &* shardCount &+ shard }

    /// Moves the capture's clock to `time` if it is later: a ``ShardedTable`` keeps its shards'
    /// clocks at the latest time of all their segments before each expiry round.
    @inline(__always)
    mutating func advanceClock(to time: Int64) {
        if time > now { now = time }
    }

    /// First stage of a prefetch pipeline: asks the CPU for the slot a segment will probe. Calling
    /// it a few packets ahead of ``ingest(_:packetNumber:)`` hides the cache miss; it changes nothing.
    @inline(__always)
    func prefetchSlot(for lookup: FlowLookup) { prefetchSlot(hash: lookup.hash) }

    /// ``prefetchSlot(for:)`` by the tuple's hash alone.
    @inline(__always)
    func prefetchSlot(hash: UInt64) {
        let slot = Int(truncatingIfNeeded: hash >> 32) & mask
        slots.withUnsafeBufferPointer { teardown_prefetch($0.baseAddress! + slot) }
    }

    /// Second stage: reads the (now cached) slot and asks for the connection state it points at.
    /// The probe run is followed a few slots (they share the cache line, mostly): at a load factor
    /// near 1/2, a third of the connections are not in their home slot, and their lookups missed
    /// the cache on the state's key.
    @inline(__always)
    func prefetchState(hash: UInt64) {
        let tag = Self.tag(hash)
        var slot = Int(truncatingIfNeeded: hash >> 32) & mask
        for _ in 0..<4 {
            let entry = slots[slot]
            if entry == 0 { return }
            if Self.tag(entry) == tag {
                prefetchState(at: Self.index(entry))
                return
            }
            slot = (slot + 1) & mask
        }
    }

    /// Asks for the cache lines of the state at `index` (those a packet uses).
    @inline(__always)
    private func prefetchState(at index: Int) {
        let start = states.address(of: index)
        var offset = 0
        while offset < MemoryLayout<ConnectionState>.size {
            teardown_prefetch(start + offset)
            offset += 64
        }
    }

    /// Adds one segment to its connection, creating the connection when needed, and tells
    /// `observer`.
    /// - Parameters:
    ///   - lookup: the segment's flow key and hash (computed once, for the prefetch stages too).
    ///   - packetNumber: the segment's position in the capture (1-based), for ordering facts.
    /// - Returns: the id of the connection the segment belongs to.
    @inline(__always)
    mutating func ingest<Observer: ConnectionObserver>(
        _ segment: TCPSegment, lookup: FlowLookup, packetNumber: Int, observer: inout Observer
    ) -> Int {
        let time = segment.timestamp.nanoseconds
        advanceClock(to: time)
        let key = lookup.key, fromA = lookup.fromA, hash = lookup.hash
        let tag = Self.tag(hash)
        var slot = Int(truncatingIfNeeded: hash >> 32) & mask
        while true {
            let entry = slots[slot]
            if entry == 0 { break }
            let index = Self.index(entry)
            if Self.tag(entry) == tag && states[index].key == key {
                let isSYN = segment.flags.contains(.syn) && !segment.flags.contains(.ack) && !segment.flags.contains(.rst)
                let reused = isSYN && states[index].isReuse(bySYN: segment, fromA: fromA)
                if !reused {
                    switch continuity(index, segment, fromA: fromA, at: time) {
                    case .continues:
                        return update(index, segment, fromA: fromA, packetNumber: packetNumber, observer: &observer)
                    case .late:
                        lateSegments += 1
                        return states[index].id
                    case .startsAnother:
                        break
                    }
                }
                // The old connection stays in `states` (no longer in a slot) until it expires.
                let newIndex = insert(
                    key: key, segment, fromA: fromA, packetNumber: packetNumber, reused: reused, observer: &observer)
                slots[slot] = Self.entry(hash, newIndex)
                return states[newIndex].id
            }
            slot = (slot + 1) & mask
        }
        var resumed: RecentConnections.Entry?
        if let earlier = recent.entry(for: key, hash: hash), earlier.isContinued(by: segment, fromA: fromA) {
            if earlier.ended {
                lateSegments += 1
                return earlier.id
            }
            resumed = earlier
            recent.forget(key, hash: hash)
        }
        let index = insert(
            key: key, segment, fromA: fromA, packetNumber: packetNumber, reused: false, resuming: resumed,
            observer: &observer)
        slots[slot] = Self.entry(hash, index)
        if count * 2 > mask { grow() }
        return states[index].id
    }

    /// What a segment (not a SYN that reuses the tuple) is to the connection at `index`.
    private enum Continuity {
        /// It belongs to the connection.
        case continues
        /// It continues the connection, which had ended and lingered: a late segment, counted only
        /// (the connection is reported as it stood, whether it left the table yet or not).
        case late
        /// It starts another connection on the tuple.
        case startsAnother
    }

    /// Whether a segment at `time` continues the connection at `index` (contract 1.1). Only after
    /// a silence longer than the linger is there anything to decide. (Reads fields in place:
    /// passing the state by value would copy it.)
    @inline(__always)
    private func continuity(_ index: Int, _ segment: TCPSegment, fromA: Bool, at time: Int64) -> Continuity {
        let quiet = Self.elapsed(from: states[index].lastSeen.nanoseconds, to: time)
        return quiet <= quietNanoseconds ? .continues : continuity(index, segment, fromA: fromA, after: quiet)
    }

    @inline(never)
    private func continuity(_ index: Int, _ segment: TCPSegment, fromA: Bool, after quiet: Int64) -> Continuity {
        let ended = states[index].hasEnded
        if limits.timeEndsConnections {
            // Zeek's boundaries: time decides alone.
            return quiet >= idleNanoseconds || (quiet > lingerNanoseconds && ended) ? .startsAnother : .continues
        }
        // A connection that has not ended goes on through any gap in its numbers (the capture may
        // have missed its packets, 1.6); only a SYN whose numbers cannot be its own starts another.
        // After an end, any segment must continue the numbers to be a late one.
        if !ended && !segment.flags.contains(.syn) { return .continues }
        guard states[index].isContinued(by: segment, fromA: fromA) else { return .startsAnother }
        return ended ? .late : .continues
    }

    @inline(__always)
    private mutating func update<Observer: ConnectionObserver>(
        _ index: Int, _ segment: TCPSegment, fromA: Bool, packetNumber: Int, observer: inout Observer
    ) -> Int {
        let previousLastSeen = states[index].lastSeen
        states[index].ingest(segment, fromA: fromA, packetNumber: packetNumber)
        // A small value for the observer, read from the state in place (the state itself passed
        // along would be copied for every packet).
        var update = SegmentUpdate(
            connectionID: states[index].id, slot: observedSlot(index), fromA: fromA, clientIsA: states[index].facts.clientIsA,
            previousLastSeen: previousLastSeen)
        if Observer.readsPositions {
            update.sequencePosition =
                fromA ? states[index].a.position(of: segment.sequenceNumber) : states[index].b.position(of: segment.sequenceNumber)
            update.acknowledgmentPosition =
                fromA
                ? states[index].b.position(of: segment.acknowledgmentNumber)
                : states[index].a.position(of: segment.acknowledgmentNumber)
        }
        observer.segment(segment, update)
        if !states[index].facts.queuedAsEnded && states[index].hasEnded {
            states[index].facts.queuedAsEnded = true
            ended.append(.init(index: Int32(index), id: states[index].id, at: segment.timestamp.nanoseconds))
        }
        return states[index].id
    }

    /// Adds a new connection for `segment`; `resuming` is the evicted connection it continues.
    private mutating func insert<Observer: ConnectionObserver>(
        key: FlowKey, _ segment: TCPSegment, fromA: Bool, packetNumber: Int, reused: Bool,
        resuming: RecentConnections.Entry? = nil, observer: inout Observer
    ) -> Int {
        let id = nextID
        nextID += shardCount
        // Built straight into its place: a 376-byte state assembled elsewhere and then copied in
        // cost several copies per new connection.
        let index: Int
        if let reusable = free.popLast() {
            index = Int(reusable)
            // The next new connection takes the next free entry: ask for its lines now, so that
            // building it there does not wait on memory (a freed entry has long left the caches).
            if let next = free.last { prefetchState(at: Int(next)) }
            states[index] = ConnectionState(key: key, id: id, timestamp: segment.timestamp)
        } else {
            index = states.count
            states.append(ConnectionState(key: key, id: id, timestamp: segment.timestamp), growingTo: grownCapacity)
        }
        if reused { states[index].facts.notes.insert(.portReused) }
        if midStreamStarts.count < Self.midStreamSample && !segment.flags.contains(.syn) {
            midStreamStarts.append((packetNumber, key.fastHash))
        }
        if let resuming {
            states[index].facts.notes.insert(.resumed)
            states[index].facts.clientIsA = resuming.clientIsA
            states[index].facts.clientEvidence = .resumed
        }
        count += 1
        _ = update(index, segment, fromA: fromA, packetNumber: packetNumber, observer: &observer)
        return index
    }

    private mutating func grow() {
        let size = slots.count * 2
        var newSlots = [UInt64](repeating: 0, count: size)
        let newMask = size - 1
        for entry in slots where entry != 0 {
            var slot = Int(truncatingIfNeeded: entry >> 32) & newMask
            while newSlots[slot] != 0 { slot = (slot + 1) & newMask }
            newSlots[slot] = entry
        }
        slots = newSlots
        mask = newMask
    }

    /// Tells `observer` that the connection at `index` finished, and removes it from the table;
    /// with `remembering`, ``RecentConnections`` keeps what later segments need to find it.
    private mutating func remove<Observer: ConnectionObserver>(
        _ index: Int, remembering: Bool = false, observer: inout Observer
    ) {
        let observed = observedSlot(index)
        states.withElement(at: index) { observer.finished($0, at: observed) }
        let hash = states[index].key.fastHash
        if remembering && !limits.timeEndsConnections {
            states.withElement(at: index) { recent.remember($0, hash: hash) }
        }
        // Find the slot that points at it (none when a reuse of the tuple replaced it) and close
        // the gap by shifting later entries of the probe run back (no tombstones).
        var slot = Int(truncatingIfNeeded: hash >> 32) & mask
        while slots[slot] != 0 && Self.index(slots[slot]) != index { slot = (slot + 1) & mask }
        if slots[slot] != 0 {
            var hole = slot
            slots[hole] = 0
            var probe = hole
            while true {
                probe = (probe + 1) & mask
                let entry = slots[probe]
                if entry == 0 { break }
                let home = Int(truncatingIfNeeded: entry >> 32) & mask
                // Move the entry into the hole unless its home lies cyclically in (hole, probe].
                let distanceToProbe = (probe - home) & mask
                let distanceToHole = (hole - home) & mask
                if distanceToHole < distanceToProbe {
                    slots[hole] = entry
                    slots[probe] = 0
                    hole = probe
                }
            }
        }
        states[index].id = 0
        states[index].releaseStorage()
        free.append(Int32(index))
        count -= 1
    }

    /// Removes the connections whose time is up at capture time ``now``, handing each to
    /// `observer` as it is removed: ended longer than the linger ago, or (only with an idle
    /// timeout) idle longer than it. Beyond the maximum, the least recently active eighth goes too,
    /// whatever its age (a connection that went quiet long ago is the one least likely to see
    /// another packet), a few each round (``evictLeastRecentlyActive(observer:)``); after the call,
    /// at most the maximum are held.
    mutating func expire<Observer: ConnectionObserver>(observer: inout Observer) {
        while let entry = ended[offset: 0], Self.elapsed(from: entry.at, to: now) > lingerNanoseconds {
            // Ended connections are cold by the time their linger is over: fetch a few ahead.
            if let ahead = ended[offset: 4] { prefetchState(at: Int(ahead.index)) }
            ended.removeFirst()
            if states[Int(entry.index)].id == entry.id {
                remove(Int(entry.index), remembering: true, observer: &observer)
            }
        }
        if limits.timeEndsConnections && Self.elapsed(from: lastIdleSweep, to: now) > idleNanoseconds / 8 {
            lastIdleSweep = now
            let idleCutoff = Self.elapsed(from: idleNanoseconds, to: now)
            for index in states.indices where holdsConnection(index, lastSeenBy: idleCutoff) {
                remove(index, observer: &observer)
            }
        }
        evictLeastRecentlyActive(observer: &observer)
        observer.roundEnded(slotCapacity: states.capacity * shardCount)
    }

    /// Removes connections of the least recently active eighth of the table, estimated from an
    /// evenly spaced sample when the table first holds more than the maximum: at least
    /// ``evictionStep`` each round while that eighth lasts, and always enough to be back at the
    /// maximum. Spread over rounds, the evicted connections (thousands, without a packet between
    /// them) reach the observer among the others instead of in one burst that a consumer on another
    /// thread has to take at once.
    private mutating func evictLeastRecentlyActive<Observer: ConnectionObserver>(observer: inout Observer) {
        var removed = 0
        while true {
            if eviction == nil {
                guard count > limits.maximumConnections else { return }
                eviction = Eviction(cutoff: leastRecentlyActiveEighth(), next: 0)
            }
            let cutoff = eviction!.cutoff
            var index = eviction!.next
            while index < states.count && (removed < Self.evictionStep || count > limits.maximumConnections) {
                if holdsConnection(index, lastSeenBy: cutoff) {
                    // Reported before its end: a later packet finds it as `resumed`.
                    if !states[index].hasEnded { states[index].facts.notes.insert(.evicted) }
                    remove(index, remembering: true, observer: &observer)
                    removed += 1
                }
                index += 1
            }
            eviction = index < states.count ? Eviction(cutoff: cutoff, next: index) : nil
            // Done for this round, unless the eighth ran out with the table still over the maximum.
            if eviction != nil || count <= limits.maximumConnections { return }
        }
    }

    /// Whether the entry at `index` holds a connection last seen at or before `cutoff`. The time is
    /// read first: for most entries of a scan it decides alone, and the scan touches one cache line
    /// of the state instead of two.
    @inline(__always)
    private func holdsConnection(_ index: Int, lastSeenBy cutoff: Int64) -> Bool {
        states[index].lastSeen.nanoseconds <= cutoff && states[index].id != 0
    }

    /// The last-seen time at or before which the least recently active eighth of the connections
    /// was last seen, estimated from an evenly spaced sample of about a thousand (any time, when
    /// the sample found none: each eviction then removes at least one connection).
    private func leastRecentlyActiveEighth() -> Int64 {
        let step = max(1, states.count / 1024)
        var sample: [Int64] = []
        for index in stride(from: 0, to: states.count, by: step) where states[index].id != 0 {
            sample.append(states[index].lastSeen.nanoseconds)
        }
        sample.sort()
        return sample.isEmpty ? .max : sample[sample.count / 8]
    }

    /// Connections an eviction removes per round at least, once it started (``evictLeastRecentlyActive(observer:)``).
    static let evictionStep = 128

    /// `to - from`, saturating: capture timestamps are hostile input and may be anything.
    static func elapsed(from: Int64, to: Int64) -> Int64 {
        Timestamp(nanoseconds: to).nanoseconds(since: Timestamp(nanoseconds: from))
    }

    /// Removes every connection still held, in order of first packet, handing each to `observer`
    /// as it is removed.
    mutating func finishAll<Observer: ConnectionObserver>(observer: inout Observer) {
        // One array of 32-bit indexes, sorted in place: with tens of thousands of connections
        // left, a filtered array and a sorted copy of it were a megabyte at the very end.
        var remaining: [Int32] = []
        remaining.reserveCapacity(count)
        for index in states.indices where states[index].id != 0 { remaining.append(Int32(index)) }
        remaining.sort { states[Int($0)].id < states[Int($1)].id }
        for index in remaining { remove(Int(index), observer: &observer) }
        observer.roundEnded(slotCapacity: states.capacity * shardCount)
    }

    /// The tuples' hashes of the connections still held that have not ended: the `limit` lowest
    /// of them (a sample that does not depend on where the connections are kept, so the shards of
    /// a ``ShardedTable`` give the same as one table).
    func goingKeyHashes(limit: Int) -> [UInt64] {
        var hashes: [UInt64] = []
        for index in states.indices where states[index].id != 0 && !states[index].hasEnded {
            hashes.append(states[index].key.fastHash)
        }
        return Array(hashes.sorted().prefix(limit))
    }

    /// Calls `body` with every connection still held and its index, in order of first packet,
    /// leaving them in the table.
    func forEachHeld(_ body: (borrowing ConnectionState, _ slot: Int) -> Void) {
        for index in states.indices.filter({ states[$0].id != 0 }).sorted(by: { states[$0].id < states[$1].id }) {
            body(states[index], index)
        }
    }
}
