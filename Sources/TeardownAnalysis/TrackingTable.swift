import TeardownWire

/// What ``CaptureAnalyzer`` needs of a table of connections: one ``ConnectionTable``, or a
/// ``ShardedTable`` whose shards may be split between two threads. The analysis is specialised
/// for each, so these calls cost what the table's own do.
protocol TrackingTable: ~Copyable {
    /// First stage of the prefetch pipeline (``ConnectionTable/prefetchSlot(for:)``).
    func prefetchSlot(for lookup: FlowLookup)
    /// Second stage (``ConnectionTable/prefetchState(hash:)``).
    func prefetchState(hash: UInt64)
    /// Whether the decoded segment at `pending` is tracked by another thread, and was handed to it
    /// (the caller then forgets it).
    mutating func handsOver(_ pending: UnsafeMutablePointer<PrefetchRing.Pending>) -> Bool
    /// Adds one segment to its connection (``ConnectionTable/ingest(_:lookup:packetNumber:observer:)``).
    mutating func ingest<Observer: ConnectionObserver>(
        _ segment: TCPSegment, lookup: FlowLookup, packetNumber: Int, observer: inout Observer
    ) -> Int
    /// An expiry round (``ConnectionTable/expire(observer:)``).
    mutating func expire<Observer: ConnectionObserver>(observer: inout Observer)
    /// The end of the capture (``ConnectionTable/finishAll(observer:)``).
    mutating func finishAll<Observer: ConnectionObserver>(observer: inout Observer)
    /// Late segments counted (``ConnectionTable/lateSegments``).
    var lateSegments: Int { get }
    /// The first connections that began without a SYN (``ConnectionTable/midStreamStarts``).
    var midStreamStarts: [(packetNumber: Int, hash: UInt64)] { get }
    /// A sample of the connections still going (``ConnectionTable/goingKeyHashes(limit:)``).
    func goingKeyHashes(limit: Int) -> [UInt64]
}

extension ConnectionTable: TrackingTable {
    @inline(__always)
    mutating func handsOver(_ pending: UnsafeMutablePointer<PrefetchRing.Pending>) -> Bool { false }
}

/// How the connections still going at the end of a capture, and those that began mid-stream near
/// its start, are sampled (for ``CaptureAnalysis/heldAtEnd`` and ``CaptureAnalysis/startedMidStream``):
/// the same whether one table or several kept them.
enum ContinuitySample {
    /// Tuples' hashes of going connections kept: the lowest.
    static let goingLimit = 4096

    /// The first ``ConnectionTable/midStreamSample`` of several tables' mid-stream starts, in
    /// capture order.
    static func firstMidStreamStarts(_ lists: [[(packetNumber: Int, hash: UInt64)]]) -> [(packetNumber: Int, hash: UInt64)] {
        Array(lists.joined().sorted { $0.packetNumber < $1.packetNumber }.prefix(ConnectionTable.midStreamSample))
    }

    /// The lowest `limit` of several tables' going hashes.
    static func lowestGoing(_ lists: [[UInt64]], limit: Int) -> [UInt64] {
        Array(lists.joined().sorted().prefix(limit))
    }
}
