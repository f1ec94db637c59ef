import CSystemShims

/// Part of an analysis left for another thread: connections that finished, and what Zeek's view
/// of their packets still needs (``AnalysisOptions/onFinishedBatch``).
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

    /// Connections in the batch.
    public var connectionCount: Int { finished.count }
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
    public mutating func complete(_ batch: FinishedBatch, _ body: (Connection) -> Void) {
        // Room for every index in the batch first, so that views can be prefetched by address.
        if let highest = batch.events.lazy.map(\.slot).max(), Int(highest) >= trackers.count {
            trackers.append(contentsOf: repeatElement(ZeekTracker(), count: Int(highest) + 1 - trackers.count))
        }
        batch.finished.withUnsafeBufferPointer { finished in
            var next = 0
            for position in batch.events.indices {
                while next < finished.count && finished[next].position == position {
                    deliver(finished.baseAddress! + next, body)
                    next += 1
                }
                // The views are spread over megabytes, in no order: ask for the one a few packets
                // ahead needs, so that this one is not a wait on memory.
                if position + Self.prefetchDistance < batch.events.count {
                    prefetch(Int(batch.events[position + Self.prefetchDistance].slot))
                }
                let event = batch.events[position]
                trackers[Int(event.slot)].ingest(event.input)
            }
            while next < finished.count {
                deliver(finished.baseAddress! + next, body)
                next += 1
            }
        }
    }

    static let prefetchDistance = 8

    /// Asks for the cache lines of the view at `slot`.
    private func prefetch(_ slot: Int) {
        trackers.withUnsafeBufferPointer { trackers in
            let start = UnsafeRawPointer(trackers.baseAddress! + slot)
            for offset in stride(from: 0, to: MemoryLayout<ZeekTracker>.size + 63, by: 64) { teardown_prefetch(start + offset) }
        }
    }

    /// Builds the result of `connection` with the Zeek view at its index, which then starts over
    /// for the next connection there.
    private mutating func deliver(_ connection: UnsafePointer<FinishedBatch.Finished>, _ body: (Connection) -> Void) {
        let slot = Int(connection.pointee.slot)
        // Every connection had a packet, so it has a view unless it came from another analysis.
        guard slot < trackers.count else {
            body(TeardownClassifier.classify(connection.pointer(to: \.state)!, zeek: nil))
            return
        }
        trackers.withUnsafeBufferPointer { trackers in
            body(TeardownClassifier.classify(connection.pointer(to: \.state)!, zeek: trackers.baseAddress! + slot))
        }
        trackers[slot] = ZeekTracker()
    }
}
