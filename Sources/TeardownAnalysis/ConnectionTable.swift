import TeardownWire

/// Every TCP connection of a capture, found by 4-tuple in a flat open-addressing table.
///
/// The index is an array of `Int32` slots pointing into `states` (linear probing, load factor at
/// most 1/2, grown by doubling), so a lookup is one hash, usually one probe, and no allocation.
/// A SYN that reuses the tuple of an ended connection starts a new one (contract 1.1); the slot
/// then points at the newest use of the tuple, and the older one stays in `states`.
public struct ConnectionTable: Sendable {
    private var slots: [Int32]
    private var mask: Int
    private var states: [ConnectionState] = []

    /// Creates an empty table sized for about `expectedConnections` connections.
    public init(expectedConnections: Int = 1024) {
        var size = 16
        while size < expectedConnections * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// Number of connections seen so far.
    public var count: Int { states.count }

    /// Adds one segment to its connection, creating the connection when needed.
    /// - Parameter packetNumber: the segment's position in the capture (1-based), for ordering facts.
    /// - Returns: the id of the connection the segment belongs to.
    @discardableResult
    public mutating func ingest(_ segment: TCPSegment, packetNumber: Int) -> Int {
        var fromA = true
        let key = FlowKey(segment, fromA: &fromA)
        var slot = Int(truncatingIfNeeded: key.fastHash >> 32) & mask
        while true {
            let index = Int(slots[slot])
            if index < 0 { break }
            if states[index].key == key {
                if segment.flags.contains(.syn) && !segment.flags.contains(.ack) && !segment.flags.contains(.rst)
                    && states[index].isReuse(bySYN: segment, fromA: fromA)
                {
                    slots[slot] = Int32(states.count)
                    append(key: key, segment, fromA: fromA, packetNumber: packetNumber, reused: true)
                    return states.count
                }
                states[index].ingest(segment, fromA: fromA, packetNumber: packetNumber)
                return states[index].id
            }
            slot = (slot + 1) & mask
        }
        slots[slot] = Int32(states.count)
        append(key: key, segment, fromA: fromA, packetNumber: packetNumber, reused: false)
        if states.count * 2 > mask { grow() }
        return states.count
    }

    private mutating func append(key: FlowKey, _ segment: TCPSegment, fromA: Bool, packetNumber: Int, reused: Bool) {
        var state = ConnectionState(key: key, id: states.count + 1, timestamp: segment.timestamp)
        if reused { state.facts.notes.insert(.portReused) }
        state.ingest(segment, fromA: fromA, packetNumber: packetNumber)
        states.append(state)
    }

    private mutating func grow() {
        let size = slots.count * 2
        var newSlots = [Int32](repeating: -1, count: size)
        let newMask = size - 1
        for index in slots where index >= 0 {
            var slot = Int(truncatingIfNeeded: states[Int(index)].key.fastHash >> 32) & newMask
            while newSlots[slot] >= 0 { slot = (slot + 1) & newMask }
            newSlots[slot] = index
        }
        slots = newSlots
        mask = newMask
    }

    /// Every connection's result, in order of first packet.
    public func connections() -> [Connection] {
        states.map(TeardownClassifier.classify)
    }
}
