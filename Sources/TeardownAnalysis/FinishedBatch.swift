import CPrefetch

/// Part of an analysis left for another thread: connections that finished, and what Zeek's view
/// of their packets still needs (``ResultDelivery/batches(_:)``).
///
/// Zeek's state machine costs about as much per packet as the tracking itself; with it left here,
/// the analysing thread only records a few fields of each packet, and a ``BatchCompleter`` on
/// another core replays them into the same view the analysis would have computed inline, then
/// builds each connection's result.
public struct FinishedBatch: Sendable {
    /// A connection that finished after the first `position` inputs of the batch.
    struct Finished: Sendable {
        var position: Int
        /// The table index it had: the index of its Zeek inputs.
        var slot: Int32
        var state: ConnectionState
    }

    /// Zeek's inputs, in capture order.
    var events: [ZeekEvent] = []
    /// In the order they finished.
    var finished: [Finished] = []
    /// Indexes the table had room for: the completer makes room for as many views at once, so
    /// that it grows as the table does (straight to its maximum) and never holds two copies.
    var indexCapacity = 0
    /// Whether the results should be passed on at once, not gathered with later ones (the input
    /// paused, or ended).
    public internal(set) var flushes = false
    /// Fractional digits of the capture's timestamps, for formatting the results.
    public internal(set) var timestampDigits = 6

    /// An empty batch without room, for a caller to hand to the analysis before it has one of its
    /// own to give back (``ResultDelivery/batches(_:)``): the analysis makes the room.
    public init() {}

    /// Connections in the batch.
    public var connectionCount: Int { finished.count }

    /// Forgets the connections and packets, keeping the room, so that the batch can go back to
    /// the analysis to be filled again (``ResultDelivery/batches(_:)``).
    public mutating func removeAll() {
        events.removeAll(keepingCapacity: true)
        finished.removeAll(keepingCapacity: true)
        indexCapacity = 0
        flushes = false
    }
}

/// One packet for Zeek's view of the connection whose table index is `slot`.
struct ZeekEvent: Sendable {
    var input: ZeekInput
    var slot: Int32
}

/// Completes the ``FinishedBatch``es of one analysis, which must be given to it in the order they
/// were handed over: Zeek's view of every connection carries over from one batch to the next.
public struct BatchCompleter {
    /// Zeek's view of the connection at each table index, as far as the inputs so far go.
    private var trackers: [ZeekTracker] = []

    public init() {}

    /// Applies the batch's Zeek inputs and hands each of its connections to `body`, with its
    /// result built, in the order they finished.
    /// (`inout` only so that each connection is lent to the classification in place, not copied.)
    public mutating func complete(_ batch: inout FinishedBatch, _ body: (Connection) -> Void) {
        // A view for every index in the batch first; then the loop works on the views in place
        // (through the array, each packet cost a uniqueness check of it).
        let highest = max(batch.events.lazy.map(\.slot).max() ?? -1, batch.finished.lazy.map(\.slot).max() ?? -1)
        guard highest >= 0 else { return }
        if Int(highest) >= trackers.count {
            trackers.reserveCapacity(max(batch.indexCapacity, Int(highest) + 1))
            trackers.append(contentsOf: repeatElement(ZeekTracker(), count: Int(highest) + 1 - trackers.count))
        }
        trackers.withUnsafeMutableBufferPointer { trackers in
            let views = trackers.baseAddress!
            batch.events.withUnsafeBufferPointer { events in
                batch.finished.withUnsafeMutableBufferPointer { finished in
                    var next = 0
                    for position in events.indices {
                        while next < finished.count && finished[next].position == position {
                            Self.deliver(&finished[next], view: &views[Int(finished[next].slot)], body)
                            next += 1
                        }
                        // The views are spread over megabytes, in no order: ask for the one a few
                        // packets ahead needs, so that this one is not a wait on memory.
                        if position + Self.prefetchDistance < events.count {
                            Self.prefetch(views + Int(events[position + Self.prefetchDistance].slot))
                        }
                        views[Int(events[position].slot)].ingest(events[position].input)
                    }
                    while next < finished.count {
                        Self.deliver(&finished[next], view: &views[Int(finished[next].slot)], body)
                        next += 1
                    }
                }
            }
        }
    }

    /// Packets ahead whose view is asked for (a view is fetched in about the time 8 packets take).
    private static let prefetchDistance = 8

    /// Asks for the cache lines of `view`.
    @inline(__always)
    private static func prefetch(_ view: UnsafeMutablePointer<ZeekTracker>) {
        let start = UnsafeRawPointer(view)
        for offset in stride(from: 0, to: MemoryLayout<ZeekTracker>.size + 63, by: 64) { teardown_prefetch(start + offset) }
    }

    /// Builds the result of `connection` with `view`, Zeek's view at its index, which then starts
    /// over for the next connection there.
    private static func deliver(
        _ connection: inout FinishedBatch.Finished, view: inout ZeekTracker, _ body: (Connection) -> Void
    ) {
        var result = TeardownClassifier.classify(connection.state)
        result.zeekRecords = view.records(for: connection.state)
        body(result)
        view = ZeekTracker()
    }
}
