import TeardownWire

/// What a ``ConnectionTable`` tells about its connections as it goes: each segment that reached a
/// connection (with what the tracker made of it), and each connection that finished and leaves the
/// table, lent for the call (borrowed in place, never copied). `slot` is where the table keeps the
/// connection, so that an observer can keep its own per-connection data beside it, in an array
/// indexed the same way (a slot is reused once its connection finished).
///
/// Methods are called directly on a concrete observer (the table is generic over it), without a
/// closure's context and dynamic exclusivity checks per packet.
protocol ConnectionObserver {
    /// The capture's header was read: its timestamps have this many fractional digits.
    mutating func started(timestampDigits: Int)
    /// Whether ``segment(_:_:)`` reads the segment's positions (``SegmentUpdate/sequencePosition``,
    /// ``SegmentUpdate/acknowledgmentPosition``): they cost a little per packet, so only the
    /// observers that use them have them computed.
    static var readsPositions: Bool { get }
    /// `segment` updated the connection `update` describes.
    mutating func segment(_ segment: TCPSegment, _ update: SegmentUpdate)
    /// `connection` finished (its teardown and linger, idle, evicted, or the capture ended) and
    /// leaves the table.
    mutating func finished(_ connection: borrowing ConnectionState, at slot: Int)
    /// The table ended an expiry round or the capture; it has room for `slotCapacity` slots.
    mutating func roundEnded(slotCapacity: Int)
    /// The input paused: hand on at once whatever is held back.
    mutating func flush()
}

extension ConnectionObserver {
    mutating func started(timestampDigits: Int) {}
    static var readsPositions: Bool { false }
    mutating func segment(_ segment: TCPSegment, _ update: SegmentUpdate) {}
    mutating func roundEnded(slotCapacity: Int) {}
    mutating func flush() {}
}

/// What the tracker made of one segment (a small value, so that no observer needs the state
/// itself for every packet).
struct SegmentUpdate {
    /// The connection's id and where the table keeps it.
    var connectionID: Int
    var slot: Int
    /// Whether the segment came from endpoint `a` of the flow key, and whether `a` is the client
    /// (contract 1.2, with this segment applied).
    var fromA: Bool
    var clientIsA: Bool
    /// The connection's latest packet time before this segment.
    var previousLastSeen: Timestamp
    /// The segment's sequence and acknowledgement numbers as positions in the sender's and the
    /// receiver's sequence space (contract 1.3); 0 unless the observer ``ConnectionObserver/readsPositions``.
    var sequencePosition: Int64 = 0
    var acknowledgmentPosition: Int64 = 0
}

/// Connections per verdict and the payload bytes they lost, counted as they finish.
struct VerdictTally {
    /// Connections per verdict, indexed by ``Verdict/ordinal`` (no hashing per connection).
    var counts = [Int](repeating: 0, count: Verdict.allCases.count)
    var connectionCount = 0
    var totalLostBytes: Int64 = 0

    /// Adds the counts of another tally (of connections another thread finished).
    mutating func add(_ other: VerdictTally) {
        for ordinal in counts.indices { counts[ordinal] += other.counts[ordinal] }
        connectionCount += other.connectionCount
        totalLostBytes += other.totalLostBytes
    }

    mutating func count(_ verdict: Verdict, lost: Int64) {
        counts[verdict.ordinal] += 1
        connectionCount += 1
        totalLostBytes += lost
    }

    /// Writes the tally into `analysis`.
    func store(in analysis: inout CaptureAnalysis) {
        for verdict in Verdict.allCases where counts[verdict.ordinal] > 0 {
            analysis.verdictCounts[verdict] = counts[verdict.ordinal]
        }
        analysis.connectionCount = connectionCount
        analysis.totalLostBytes = totalLostBytes
    }
}

/// Only counts: the verdict and lost bytes of each connection, no ``Connection`` built.
struct CountingObserver: ConnectionObserver {
    var tally = VerdictTally()

    mutating func finished(_ connection: borrowing ConnectionState, at slot: Int) {
        let outcome = TeardownClassifier.outcome(connection)
        tally.count(outcome.verdict, lost: outcome.lostBytes.client + outcome.lostBytes.server)
    }
}

/// Zeek's view of every connection held, by table slot (``Connection/zeekRecords``), fed packet
/// by packet: inline by ``ResultObserver``, or replayed on another thread by ``BatchCompleter``.
struct ZeekEmulation {
    private var trackers: [ZeekTracker] = []

    /// Makes room for views at slots up to `capacity` at once, so the array grows straight there.
    mutating func reserve(_ capacity: Int) {
        if capacity > trackers.count {
            trackers.reserveCapacity(capacity)
            trackers.append(contentsOf: repeatElement(ZeekTracker(), count: capacity - trackers.count))
        }
    }

    @inline(__always)
    mutating func ingest(_ input: ZeekInput, at slot: Int) {
        // Doubling while small; past that, as the table grows (``roundEnded``'s capacity), so that
        // no more views are made (and their memory touched) than the table has slots.
        if slot >= trackers.count { reserve(max(slot + 1, min(trackers.count * 2, 8192))) }
        trackers[slot].ingest(input)
    }

    /// Zeek's rows for `connection` so far.
    func records(for connection: borrowing ConnectionState, at slot: Int) -> [ZeekRecord] {
        slot < trackers.count ? trackers[slot].records(for: connection) : []
    }

    /// Zeek's rows for `connection`, which leaves its slot to the next connection there.
    mutating func finish(_ connection: borrowing ConnectionState, at slot: Int) -> [ZeekRecord] {
        guard slot < trackers.count else { return [] }
        let rows = trackers[slot].records(for: connection)
        trackers[slot] = ZeekTracker()
        return rows
    }
}

extension ZeekInput {
    /// Zeek's input for `segment`, as the tracker's `update` describes it.
    @inline(__always)
    init(_ segment: TCPSegment, _ update: SegmentUpdate) {
        self.init(
            segment, fromA: update.fromA, originatorIsA: update.clientIsA, previousLastSeen: update.previousLastSeen)
    }
}

/// Builds each finished connection's ``Connection`` (with Zeek's rows when it emulates Zeek),
/// counts it, and keeps it or hands it to a callback.
struct ResultObserver: ConnectionObserver {
    var zeek: ZeekEmulation?
    let infersStates: Bool
    /// Called with each connection as it finishes (and the capture's timestamp digits); when
    /// `nil`, they are kept in `collected`.
    let onConnection: ((Connection, Int) -> Void)?
    var collected: [Connection] = []
    var tally = VerdictTally()
    private var timestampDigits = 6

    init(tracksZeek: Bool, infersStates: Bool = true, onConnection: ((Connection, Int) -> Void)?) {
        zeek = tracksZeek ? ZeekEmulation() : nil
        self.infersStates = infersStates
        self.onConnection = onConnection
    }

    mutating func started(timestampDigits: Int) { self.timestampDigits = timestampDigits }

    @inline(__always)
    mutating func segment(_ segment: TCPSegment, _ update: SegmentUpdate) {
        zeek?.ingest(ZeekInput(segment, update), at: update.slot)
    }

    mutating func roundEnded(slotCapacity: Int) { zeek?.reserve(slotCapacity) }

    mutating func finished(_ connection: borrowing ConnectionState, at slot: Int) {
        var result = TeardownClassifier.classify(connection, infersStates: infersStates)
        if zeek != nil { result.zeekRecords = zeek!.finish(connection, at: slot) }
        tally.count(result.verdict, lost: result.totalLostBytes)
        if let onConnection { onConnection(result, timestampDigits) } else { collected.append(result) }
    }
}

/// Hands the finished connections over in ``FinishedBatch``es, with what Zeek's view of their
/// packets needs, for another thread to complete (``BatchCompleter``); counts them here.
struct BatchingObserver: ConnectionObserver {
    /// Receives each full batch; may return an emptied one to fill next.
    let handOver: (consuming FinishedBatch) -> FinishedBatch?
    private var batch = FinishedBatch()
    private var slotCapacity = 0
    private var timestampDigits = 6
    var tally = VerdictTally()

    /// Connections and Zeek inputs (packets) a batch gathers before it is handed over: enough that
    /// handing over costs next to nothing per packet, few enough that the batches in flight stay in
    /// the caches.
    static let batchConnections = 256
    static let batchInputs = 4096

    init(handOver: @escaping (consuming FinishedBatch) -> FinishedBatch?) {
        self.handOver = handOver
        reserveBatch()
    }

    @inline(__always)
    mutating func segment(_ segment: TCPSegment, _ update: SegmentUpdate) {
        batch.events.append(ZeekEvent(input: ZeekInput(segment, update), slot: Int32(update.slot)))
    }

    mutating func finished(_ connection: borrowing ConnectionState, at slot: Int) {
        let outcome = TeardownClassifier.outcome(connection)
        tally.count(outcome.verdict, lost: outcome.lostBytes.client + outcome.lostBytes.server)
        batch.finished.append(
            FinishedBatch.Finished(position: batch.events.count, slot: Int32(slot), state: copy connection))
        if batch.finished.count >= Self.batchConnections { handOverBatch() }
    }

    mutating func started(timestampDigits: Int) { self.timestampDigits = timestampDigits }

    mutating func roundEnded(slotCapacity: Int) {
        self.slotCapacity = slotCapacity
        if batch.events.count >= Self.batchInputs { handOverBatch() }
    }

    /// Hands over what is held (the capture ended or paused), marked for the completer to pass its
    /// lines on at once.
    mutating func flush() {
        if !batch.events.isEmpty || !batch.finished.isEmpty {
            batch.flushes = true
            handOverBatch()
        }
    }

    /// Room for a whole batch: the packets between two expiry rounds past the threshold, and the
    /// connections.
    private mutating func reserveBatch() {
        batch.events.reserveCapacity(Self.batchInputs + ConnectionTable.expiryInterval)
        batch.finished.reserveCapacity(Self.batchConnections)
    }

    /// Hands the batch over and starts the next, with the same room: in a batch handed back
    /// emptied, or a new one.
    private mutating func handOverBatch() {
        var taken = FinishedBatch()
        swap(&taken, &batch)
        taken.indexCapacity = slotCapacity
        taken.timestampDigits = timestampDigits
        if let emptied = handOver(consume taken) { batch = emptied }
        // Every batch gets the same room: blocks of one size are reused exactly (grown to whatever
        // size and freed on another thread, the heap fragmented: peak RSS rose by half a megabyte a
        // second over a 10 M-packet run). A batch handed back has it already.
        reserveBatch()
    }
}

/// Records, for the connections it is asked about, each segment with the tracker's own view of it
/// (which side sent it, its sequence and acknowledgement positions), for the ladder diagrams of
/// `explain`: the ladder then shows what the analysis saw, from the same pass over the file.
struct SegmentRecorder<Base: ConnectionObserver>: ConnectionObserver {
    var base: Base
    /// Whether to record the connection with this id (decided at its first packet).
    let wanted: (Int) -> Bool
    /// Whether to keep a finished connection's record (with the connection's id).
    let keep: (Int) -> Bool
    private var recording: [Int: [RecordedSegment]] = [:]
    /// The records kept, by connection id.
    private(set) var kept: [Int: [SegmentFact]] = [:]

    init(base: Base, wanted: @escaping (Int) -> Bool, keep: @escaping (Int) -> Bool) {
        self.base = base
        self.wanted = wanted
        self.keep = keep
    }

    static var readsPositions: Bool { true }

    mutating func started(timestampDigits: Int) { base.started(timestampDigits: timestampDigits) }

    mutating func segment(_ segment: TCPSegment, _ update: SegmentUpdate) {
        base.segment(segment, update)
        let id = update.connectionID
        guard recording[id] != nil || wanted(id) else { return }
        recording[id, default: []].append(RecordedSegment(segment, update))
    }

    mutating func finished(_ connection: borrowing ConnectionState, at slot: Int) {
        base.finished(connection, at: slot)
        if let record = recording.removeValue(forKey: connection.id), keep(connection.id) {
            kept[connection.id] = record.map { $0.resolved(clientIsA: connection.facts.clientIsA) }
        }
    }

    mutating func roundEnded(slotCapacity: Int) { base.roundEnded(slotCapacity: slotCapacity) }
    mutating func flush() { base.flush() }
}

/// One segment as the tracker saw it (``SegmentFact``), before the connection's client is final.
struct RecordedSegment {
    var fact: SegmentFact
    var fromA: Bool

    init(_ segment: TCPSegment, _ update: SegmentUpdate) {
        fact = SegmentFact(
            segment: segment, side: .client, sequencePosition: update.sequencePosition,
            acknowledgmentPosition: update.acknowledgmentPosition)
        fromA = update.fromA
    }

    func resolved(clientIsA: Bool) -> SegmentFact {
        var fact = fact
        fact.side = fromA == clientIsA ? .client : .server
        return fact
    }
}

/// A segment of a connection with the tracker's view of it: which side sent it, and its sequence
/// and acknowledgement numbers as positions in the sender's and the receiver's sequence space
/// (unwrapped, relative to each side's initial sequence number, or to the first number seen when
/// the SYN was not captured; contract 1.3).
public struct SegmentFact: Sendable, Hashable {
    public var segment: TCPSegment
    public var side: Side
    public var sequencePosition: Int64
    public var acknowledgmentPosition: Int64
}
