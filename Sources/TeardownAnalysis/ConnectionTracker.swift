import TeardownWire

/// Segments in, ``Connection`` results out: the connection table with the results built as
/// connections finish (and Zeek's view of them, unless turned off). For tests and tools that feed
/// segments themselves; ``CaptureAnalyzer`` does the same for whole captures.
public struct ConnectionTracker: ~Copyable {
    private var table: ConnectionTable
    private var results: ResultObserver

    /// - Parameter tracksZeek: whether to compute Zeek's `conn_state` and `history` (``Connection/zeekRecords``).
    public init(limits: TrackingLimits = TrackingLimits(), tracksZeek: Bool = true) {
        table = ConnectionTable(limits: limits)
        results = ResultObserver(tracksZeek: tracksZeek, onConnection: nil)
    }

    /// The latest capture time seen, in nanoseconds.
    public var now: Int64 { table.now }
    /// Connections currently held.
    public var count: Int { table.count }
    /// Segments that came after their connection had ended and lingered (contract 1.1).
    public var lateSegments: Int { table.lateSegments }

    /// Adds one segment to its connection, creating the connection when needed.
    /// - Parameter packetNumber: the segment's position in the capture (1-based), for ordering facts.
    /// - Returns: the id of the connection the segment belongs to.
    @discardableResult
    public mutating func ingest(_ segment: TCPSegment, packetNumber: Int) -> Int {
        table.ingest(segment, lookup: FlowLookup(segment), packetNumber: packetNumber, observer: &results)
    }

    /// Reports and removes the connections whose time is up (see ``TrackingLimits``), handing each
    /// to `body` as it is removed.
    public mutating func expire(_ body: (Connection) -> Void) {
        table.expire(observer: &results)
        handOver(body)
    }

    /// Reports and removes every connection still held, in order of first packet.
    public mutating func finishAll(_ body: (Connection) -> Void) {
        table.finishAll(observer: &results)
        handOver(body)
    }

    /// Every connection still held, classified as it stands, in order of first packet.
    public func connections() -> [Connection] {
        var all: [Connection] = []
        table.forEachHeld { state, slot in
            var connection = TeardownClassifier.classify(state)
            if let zeek = results.zeek { connection.zeekRecords = zeek.records(for: state, at: slot) }
            all.append(connection)
        }
        return all
    }

    private mutating func handOver(_ body: (Connection) -> Void) {
        for connection in results.collected { body(connection) }
        results.collected.removeAll(keepingCapacity: true)
    }
}
