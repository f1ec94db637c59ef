import TeardownWire

/// The connections the table reported lately, by 4-tuple, so that a segment that comes after its
/// connection left the table is still known as that connection's (contract 1.1): a late segment of
/// one that ended, or the continuation of one that was evicted.
///
/// A set-associative cache: each tuple has a set of four places, and when they are all taken an
/// ended connection gives way before an evicted one, in turn. Each set's four 16-bit tags share
/// one word of a small array (64 KiB for 32 768 places), so a lookup that finds nothing (nearly
/// every new connection) reads that word only, not the entries. Its memory is fixed, allocated
/// when the first connection is remembered.
struct RecentConnections {
    /// What is remembered of a connection that left the table.
    struct Entry {
        var key: FlowKey
        var id: Int
        var a: SequenceSpace
        var b: SequenceSpace
        var clientIsA: Bool
        /// Whether its teardown had ended (else it was evicted, idle, before its end).
        var ended: Bool

        init(_ state: borrowing ConnectionState) {
            key = state.key
            id = state.id
            clientIsA = state.facts.clientIsA
            ended = state.hasEnded
            a = SequenceSpace(state.a, peer: state.b)
            b = SequenceSpace(state.b, peer: state.a)
        }

        /// Whether `segment` continues the connection's sequence spaces.
        func isContinued(by segment: TCPSegment, fromA: Bool) -> Bool {
            SequenceSpace.continues(a: a, b: b, segment, fromA: fromA)
        }
    }

    private static let ways = 4
    /// A place's tag: `taken | ended? | 14 bits of the hash`; 0 is a free place.
    private static let taken: UInt16 = 0x8000, endedBit: UInt16 = 0x4000, hashBits: UInt16 = 0x3fff

    /// Per set, the tags of its four places, 16 bits each.
    private var tags: [UInt64] = []
    /// Per set, the place to give way next.
    private var turns: [UInt8] = []
    private var entries: [Entry] = []
    private let sets: Int

    /// - Parameter capacity: the number of connections remembered at most (rounded up).
    init(capacity: Int) {
        var sets = 1
        while sets * Self.ways < capacity { sets <<= 1 }
        self.sets = sets
    }

    /// A tuple's set, and its tag without the flags: hash bits the table's own slots do not use.
    @inline(__always)
    private func locate(_ hash: UInt64) -> (set: Int, tag: UInt16) {
        (Int(truncatingIfNeeded: hash >> 8) & (sets - 1), UInt16(truncatingIfNeeded: hash >> 40) & Self.hashBits)
    }

    @inline(__always)
    private func tag(_ set: Int, _ way: Int) -> UInt16 { UInt16(truncatingIfNeeded: tags[set] >> UInt64(16 * way)) }

    private mutating func setTag(_ set: Int, _ way: Int, _ value: UInt16) {
        let shift = UInt64(16 * way)
        tags[set] = tags[set] & ~(0xffff << shift) | UInt64(value) << shift
    }

    /// The way of `set` that holds `key`, if any.
    @inline(__always)
    private func way(of key: FlowKey, in set: Int, tag: UInt16) -> Int? {
        for way in 0..<Self.ways {
            let placed = self.tag(set, way)
            if placed & Self.taken != 0 && placed & Self.hashBits == tag && entries[set * Self.ways + way].key == key {
                return way
            }
        }
        return nil
    }

    /// Remembers the connection `state`, which is leaving the table: in place of an earlier
    /// connection on its tuple, or in a free place, or in that of an ended connection, or in turn.
    mutating func remember(_ state: borrowing ConnectionState, hash: UInt64) {
        if entries.isEmpty {
            entries = [Entry](repeating: Entry(state), count: sets * Self.ways)
            tags = [UInt64](repeating: 0, count: sets)
            turns = [UInt8](repeating: 0, count: sets)
        }
        let (set, tag) = locate(hash)
        var chosen = way(of: state.key, in: set, tag: tag) ?? (0..<Self.ways).first { self.tag(set, $0) == 0 }
        if chosen == nil {
            let turn = Int(turns[set])
            chosen = (0..<Self.ways).lazy.map { (turn + $0) % Self.ways }.first { self.tag(set, $0) & Self.endedBit != 0 }
                ?? turn
            turns[set] = UInt8((chosen! + 1) % Self.ways)
        }
        let entry = Entry(state)
        entries[set * Self.ways + chosen!] = entry
        setTag(set, chosen!, Self.taken | (entry.ended ? Self.endedBit : 0) | tag)
    }

    /// The connection last remembered on `key`, if it is still remembered.
    @inline(__always)
    func entry(for key: FlowKey, hash: UInt64) -> Entry? {
        guard !tags.isEmpty else { return nil }
        let (set, tag) = locate(hash)
        return way(of: key, in: set, tag: tag).map { entries[set * Self.ways + $0] }
    }

    /// Forgets the connection on `key` (it was resumed: the table holds it again).
    mutating func forget(_ key: FlowKey, hash: UInt64) {
        guard !tags.isEmpty else { return }
        let (set, tag) = locate(hash)
        if let way = way(of: key, in: set, tag: tag) { setTag(set, way, 0) }
    }
}
