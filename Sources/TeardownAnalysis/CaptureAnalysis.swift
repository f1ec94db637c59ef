import Synchronization
import TeardownWire

/// Decides which packets are analysed (a compiled tcpdump expression, for example).
public protocol PacketFilter: AnyObject {
    /// Whether `record` is analysed.
    func matches(_ record: PacketRecord) -> Bool
}

/// Everything learned from one capture file (contract 4.1).
public struct CaptureAnalysis: Sendable {
    /// The file as named on the command line.
    public var file: String
    public var format: CaptureFileFormat?
    public var linkTypes: [LinkType] = []
    /// Fractional digits of the capture's timestamps.
    public var timestampDigits = 6
    /// Records read.
    public var packets = 0
    /// Records decoded as TCP (and passing the filter).
    public var tcpPackets = 0
    /// Records not analysed: not TCP, later IP fragments, headers cut short or impossible.
    public var skippedPackets: Int { notTCPPackets + fragmentPackets + undecodablePackets }
    public var notTCPPackets = 0
    public var fragmentPackets = 0
    public var undecodablePackets = 0
    /// Records the filter rejected.
    public var filteredPackets = 0
    /// TCP segments that came after their connection had ended and was reported (a retransmitted
    /// reset, an answer from TIME_WAIT): counted here, never a connection of their own
    /// (contract 1.1).
    public var lateSegments = 0
    /// Packets the kernel dropped during a live capture (libpcap's `ps_drop`); 0 for files.
    public var droppedPackets = 0
    /// Packets on interfaces whose link type is not supported (pcapng).
    public var unsupportedLinkPackets = 0
    /// The last record was cut short; `truncation` says where.
    public var truncated: Bool { truncation != nil }
    public var truncation: String?
    /// The error that stopped reading early (exit 65); connections before it are still reported.
    public var error: CaptureFileError?
    /// The connections, in order of first packet, when they were collected
    /// (``ResultDelivery/collect``); empty when they were streamed, counted or batched.
    public var connections: [Connection] = []
    /// Connections per verdict, counted as they finish (also when they are streamed, not kept).
    public var verdictCounts: [Verdict: Int] = [:]
    /// Connections finished in all, and the payload bytes they lost.
    public var connectionCount = 0
    public var totalLostBytes: Int64 = 0
    /// With a selector: the ids of the connections at least one of whose packets it matched.
    public var selectedIDs: Set<Int>?
    /// With ``AnalysisOptions/recording``: the recorded connections' segments, by connection id.
    public var segments: [Int: [SegmentFact]] = [:]
    /// The files of a capture cut into pieces (contract 1.6, `--continuous`), in time order, each
    /// with its first timestamp; empty for a single file.
    public var pieces: [CapturePiece] = []
    /// A few of the connections still going when the capture ended, and of those that began
    /// mid-stream near its start (their tuples' hashes): where the first of one file meet the
    /// second of the next, the files look like pieces of one capture.
    public var heldAtEnd: Set<UInt64> = []
    public var startedMidStream: Set<UInt64> = []

    public init(file: String) { self.file = file }

    /// The connections the selector matched (all of them without a selector).
    public var selectedConnections: [Connection] {
        guard let selectedIDs else { return connections }
        return connections.filter { selectedIDs.contains($0.id) }
    }

    /// Adds `other`'s counts to these (a total over several files): packets, connections per
    /// verdict, lost bytes, skipped, filtered and late packets.
    public mutating func add(_ other: CaptureAnalysis) {
        packets += other.packets
        tcpPackets += other.tcpPackets
        notTCPPackets += other.notTCPPackets
        fragmentPackets += other.fragmentPackets
        undecodablePackets += other.undecodablePackets
        filteredPackets += other.filteredPackets
        lateSegments += other.lateSegments
        connectionCount += other.connectionCount
        totalLostBytes += other.totalLostBytes
        for (verdict, count) in other.verdictCounts { verdictCounts[verdict, default: 0] += count }
    }

    /// Warnings a person should see (on standard error), besides `error`.
    public var warnings: [String] {
        var list: [String] = []
        if let truncation { list.append("capture cut short: \(truncation); analysed up to there") }
        if unsupportedLinkPackets > 0 {
            let names = linkTypes.filter { !$0.isSupported }.map(\.description).joined(separator: ", ")
            list.append("\(unsupportedLinkPackets) packets on interfaces with unsupported link types (\(names)) were skipped")
        }
        if undecodablePackets > 0 { list.append("\(undecodablePackets) packets with headers cut short or impossible were skipped") }
        return list
    }
}

/// One file of a capture cut into pieces (contract 1.6).
public struct CapturePiece: Sendable, Hashable {
    public var name: String
    /// Its first record's time, in nanoseconds (nil: it holds none).
    public var start: Int64?

    public init(name: String, start: Int64?) {
        self.name = name
        self.start = start
    }
}

/// The pieces of a capture read as one, as far as the analysis got: which pieces a connection's
/// packets came from. Shared with the threads that complete results (``BatchCompleter``).
public final class PieceTimeline: Sendable {
    private let pieces = Mutex<[CapturePiece]>([])

    public init() {}

    func append(_ piece: CapturePiece) { pieces.withLock { $0.append(piece) } }

    /// The names of the pieces that held packets from `first` to `last` (times in nanoseconds):
    /// each time belongs to the last piece that started at or before it.
    public func names(from first: Timestamp, to last: Timestamp) -> [String] {
        pieces.withLock { pieces in
            // The pieces are in time order: a binary search for the last start at or before `time`.
            func index(_ time: Int64) -> Int {
                var low = 0, high = pieces.count
                while low < high {
                    let middle = (low + high) / 2
                    if (pieces[middle].start ?? .min) <= time { low = middle + 1 } else { high = middle }
                }
                return max(0, low - 1)
            }
            guard !pieces.isEmpty else { return [] }
            let from = index(first.nanoseconds), to = max(from, index(last.nanoseconds))
            return pieces[from...to].map(\.name)
        }
    }
}

/// The next piece of a capture cut into pieces: its name, first window and size.
public struct CaptureInputPiece {
    public var name: String
    public var firstWindow: CaptureInputWindow
    public var size: Int

    public init(name: String, firstWindow: CaptureInputWindow, size: Int) {
        self.name = name
        self.firstWindow = firstWindow
        self.size = size
    }
}

/// What happens to each connection as it finishes.
public enum ResultDelivery {
    /// Kept in ``CaptureAnalysis/connections``, in order of first packet.
    case collect
    /// Handed to the closure as soon as it finishes (teardown plus linger, or idle), with the
    /// number of fractional digits of the capture's timestamps, and not kept: memory then depends
    /// on concurrent connections only. With a ``AnalysisOptions/selector``, only the connections
    /// it matched by the time they finish are handed on.
    case stream((_ connection: Connection, _ timestampDigits: Int) -> Void)
    /// Only counted (``CaptureAnalysis/verdictCounts``, `connectionCount`, `totalLostBytes`): no
    /// ``Connection`` is built.
    case countOnly
    /// Handed over in batches, their results not built yet and Zeek's view of their packets not
    /// computed yet: a caller that formats results on another thread completes the batches there,
    /// in order, with one ``BatchCompleter``, and the analysing thread is spared that work (each
    /// batch covers a few thousand packets). The closure may return a batch it was given earlier,
    /// completed and emptied (``FinishedBatch/removeAll()``), for the analysis to fill again:
    /// batches then circulate instead of being allocated, touched and freed one after another.
    case batches((consuming FinishedBatch) -> FinishedBatch?)
}

/// The connections whose segments ``CaptureAnalyzer`` records (``SegmentFact``), for tools that
/// show a connection packet by packet, such as `explain`.
public enum SegmentRecording: Sendable {
    /// Every connection.
    case all
    /// The connections with these ids.
    case connections(Set<Int>)
    /// The connections the selector matched (``AnalysisOptions/selector``).
    case selected
}

/// How to run an analysis.
public struct AnalysisOptions {
    /// Packets it rejects are not analysed.
    public var filter: PacketFilter?
    /// A connection is selected when it matches at least one of its packets
    /// (``CaptureAnalysis/selectedIDs``); every connection is still analysed.
    public var selector: PacketFilter?
    public var limits = TrackingLimits()
    /// Where the finished connections go (kept by default).
    public var delivery = ResultDelivery.collect
    /// Whether to compute Zeek's `conn_state` and `history` for each connection (on by default;
    /// reports that do not print them save the work). Not with ``ResultDelivery/countOnly``, which
    /// builds no result.
    public var tracksZeek = true
    /// Whether to infer each side's TCP states (``Connection/states``, contract 2.6; on by
    /// default): reports that do not print them (Zeek's log) save the work, and their
    /// connections' states are then empty. Not with ``ResultDelivery/countOnly``, which builds no
    /// result.
    public var infersStates = true
    /// Whose segments to record (``CaptureAnalysis/segments``); none by default.
    public var recording: SegmentRecording?
    /// Called every 512 KiB of input with the bytes read so far and the packets read.
    public var onProgress: ((_ bytesRead: Int, _ packets: Int) -> Void)?
    /// Called with the data of each pcapng custom block of teardown's (the kernel's account of a
    /// live capture, written before the packets), before any connection after it is handed on.
    public var onCustomBlock: ((_ data: [UInt8]) -> Void)?
    /// Called when a live input paused (``CaptureInputWindow/inputPaused``), after the connections
    /// finished so far were handed on: a caller that buffers its output writes it out now.
    public var onInputPause: (() -> Void)?
    /// Starts work on another thread and returns a function that waits for it to finish: with
    /// ``ResultDelivery/countOnly``, the tracking of connections is then shared between the thread
    /// that reads the capture and this helper (``ShardedTable``), with the same counts as on one
    /// thread. nil (the default): one thread does all.
    public var helperThread: ((_ work: @escaping @Sendable () -> Void) -> () -> Void)?
    /// For a capture cut into pieces (`--continuous`): filled with each piece as the analysis
    /// reaches it, and each result's ``Connection/files`` taken from it.
    public var timeline: PieceTimeline?
    /// A packet of a piece earlier than the latest of the pieces before it by more than this
    /// (nanoseconds) shows that they overlap: not one capture, an error. Packets of `-i any`
    /// captures come out of order by microseconds, so a little overlap is normal.
    public static let pieceOverlapTolerance: Int64 = 1_000_000

    public init(filter: PacketFilter? = nil, selector: PacketFilter? = nil) {
        self.filter = filter
        self.selector = selector
    }
}

/// A window of a capture's bytes, as the analysis is handed them.
public struct CaptureInputWindow {
    public var view: ByteView
    /// Whether the capture ends with this window.
    public var isLast: Bool
    /// Whether the input had nothing more to give when this window was read (a live stream the
    /// analysis caught up with): once through it, the analysis hands on what is finished instead
    /// of holding it until more comes.
    public var inputPaused: Bool

    public init(view: ByteView, isLast: Bool, inputPaused: Bool = false) {
        self.view = view
        self.isLast = isLast
        self.inputPaused = inputPaused
    }
}

/// Runs a capture through reader → decoder → filter → connection table → observers → results.
///
/// Pure: the capture's bytes come from the caller, a window at a time (`TeardownIO` reads files
/// and standard input into windows), and the results go where ``AnalysisOptions/delivery`` says.
public enum CaptureAnalyzer {
    /// Bytes between two progress calls.
    static let progressInterval = 1 << 19

    /// Analyses the capture held whole in `bytes`.
    /// - Parameter name: the file name to report.
    public static func analyze(_ bytes: ByteView, name: String, options: AnalysisOptions = AnalysisOptions())
        -> CaptureAnalysis
    {
        // All of the capture in one window: no next one is ever asked for.
        analyze(name: name, options: options, firstWindow: CaptureInputWindow(view: bytes, isLast: true), size: bytes.count) {
            _ throws(CaptureFileError) in CaptureInputWindow(view: bytes, isLast: true)
        }
    }

    /// Analyses a capture that comes a window at a time.
    /// - Parameters:
    ///   - name: the file name to report.
    ///   - firstWindow: the capture's first bytes.
    ///   - size: the capture's size in bytes (for the reader's checks of lengths near the end).
    ///   - nextWindow: called with the bytes of the current window consumed; returns the next
    ///     window (starting with the rest of the current one) and whether it reaches the end.
    ///   - nextPiece: for a capture cut into pieces (contract 1.6), called when a piece ended;
    ///     returns the next one (whose windows `nextWindow` then gives), or nil at the end.
    public static func analyze(
        name: String, options: AnalysisOptions, firstWindow: CaptureInputWindow, size: Int,
        nextWindow: (_ consumed: Int) throws(CaptureFileError) -> CaptureInputWindow,
        nextPiece: () throws(CaptureFileError) -> CaptureInputPiece? = { nil }
    ) -> CaptureAnalysis {
        let input = Input(name: name, options: options, firstWindow: firstWindow, size: size)
        if let recording = options.recording {
            let selection = Selection()
            let wanted: (Int) -> Bool
            let keep: (Int) -> Bool
            switch recording {
            case .all:
                wanted = { _ in true }
                keep = wanted
            case .connections(let ids):
                wanted = { ids.contains($0) }
                keep = wanted
            case .selected:
                wanted = { _ in true }
                keep = { selection.ids.contains($0) }
            }
            var observer = SegmentRecorder(
                base: ResultObserver(tracksZeek: options.tracksZeek, infersStates: options.infersStates, onConnection: nil), wanted: wanted, keep: keep)
            var analysis = run(input, nextWindow, nextPiece, observer: &observer, selection: selection)
            observer.base.tally.store(in: &analysis)
            analysis.connections = observer.base.collected.sorted { $0.id < $1.id }
            analysis.segments = observer.kept
            return analysis
        }
        switch options.delivery {
        case .collect, .stream:
            let selection = Selection()
            var onConnection: ((Connection, Int) -> Void)?
            if case .stream(let body) = options.delivery {
                onConnection = body
                if options.selector != nil {
                    // Only the matched connections go on (all their segments were read before
                    // they finish), and each id is forgotten as it goes.
                    onConnection = { connection, digits in
                        if selection.ids.remove(connection.id) != nil { body(connection, digits) }
                    }
                }
            }
            var observer = ResultObserver(tracksZeek: options.tracksZeek, infersStates: options.infersStates, onConnection: onConnection)
            var analysis = run(input, nextWindow, nextPiece, observer: &observer, selection: selection)
            observer.tally.store(in: &analysis)
            if onConnection == nil { analysis.connections = observer.collected.sorted { $0.id < $1.id } }
            return analysis
        case .countOnly:
            return countConnections(input, nextWindow, nextPiece)
        case .batches(let handOver):
            var observer = BatchingObserver(handOver: handOver)
            var analysis = run(input, nextWindow, nextPiece, observer: &observer, selection: Selection())
            observer.flush()
            observer.tally.store(in: &analysis)
            return analysis
        }
    }

    /// Counts the connections per verdict (``ResultDelivery/countOnly``), in a ``ShardedTable``;
    /// with a helper thread, the thread reading the capture keeps ``readerShards`` of the shards and
    /// the helper the others.
    private static func countConnections(
        _ input: Input, _ nextWindow: (_ consumed: Int) throws(CaptureFileError) -> CaptureInputWindow,
        _ nextPiece: () throws(CaptureFileError) -> CaptureInputPiece?
    ) -> CaptureAnalysis {
        var observer = CountingObserver()
        // A selector needs the id of each segment's connection where the segment is read.
        guard let startHelper = input.options.helperThread, input.options.selector == nil else {
            var table = ShardedTable(limits: input.options.limits)
            var analysis = run(input, nextWindow, nextPiece, table: &table, observer: &observer, selection: Selection())
            observer.tally.store(in: &analysis)
            return analysis
        }
        struct HelperResult: Sendable {
            var tally = VerdictTally()
            var lateSegments = 0
            var going: [UInt64] = []
            var midStreamStarts: [(packetNumber: Int, hash: UInt64)] = []
        }
        let handOff = SegmentHandOff()
        let helped = Mutex(HelperResult())
        let limits = input.options.limits
        let wait = startHelper {
            var table = ShardedTable(limits: limits, ownedShards: readerShards.upperBound..<ShardedTable.shardCount)
            var observer = CountingObserver()
            let going = table.track(from: handOff, observer: &observer)
            let result = HelperResult(
                tally: observer.tally, lateSegments: table.lateSegments, going: going, midStreamStarts: table.midStreamStarts)
            helped.withLock { $0 = result }
        }
        var table = ShardedTable(limits: limits, ownedShards: readerShards, handOff: handOff)
        var analysis = run(input, nextWindow, nextPiece, table: &table, observer: &observer, selection: Selection())
        wait()
        let helper = helped.withLock { $0 }
        observer.tally.add(helper.tally)
        observer.tally.store(in: &analysis)
        analysis.lateSegments += helper.lateSegments
        analysis.heldAtEnd = Set(
            ContinuitySample.lowestGoing([Array(analysis.heldAtEnd), helper.going], limit: ContinuitySample.goingLimit))
        analysis.startedMidStream = Set(
            ContinuitySample.firstMidStreamStarts([table.midStreamStarts, helper.midStreamStarts]).map(\.hash))
        return analysis
    }

    /// The shards of a ``ShardedTable`` the reading thread keeps when a helper tracks the others:
    /// reading and decoding every packet and tracking a quarter of the connections takes it about
    /// as long as the other three quarters take the helper (measured in `bench/RESULTS.md`,
    /// session 16: one eighth, a quarter and three eighths).
    static let readerShards = 0..<2

    /// A capture and how to analyse it, for ``run(_:_:_:table:observer:selection:)``.
    private struct Input {
        let name: String
        let options: AnalysisOptions
        let firstWindow: CaptureInputWindow
        let size: Int
    }

    /// The ids of the connections the selector matched, shared with an observer that needs them.
    private final class Selection {
        var ids = Set<Int>()
    }

    /// The analysis proper, specialised for each observer: records of one window, then the next
    /// window, until the capture ends.
    private static func run<Observer: ConnectionObserver>(
        _ input: Input, _ nextWindow: (_ consumed: Int) throws(CaptureFileError) -> CaptureInputWindow,
        _ nextPiece: () throws(CaptureFileError) -> CaptureInputPiece?,
        observer: inout Observer, selection: Selection
    ) -> CaptureAnalysis {
        var table = ConnectionTable(limits: input.options.limits)
        return run(input, nextWindow, nextPiece, table: &table, observer: &observer, selection: selection)
    }

    /// ``run(_:_:_:observer:selection:)`` with a table of the caller's.
    private static func run<Observer: ConnectionObserver, Table: TrackingTable & ~Copyable>(
        _ input: Input, _ nextWindow: (_ consumed: Int) throws(CaptureFileError) -> CaptureInputWindow,
        _ nextPiece: () throws(CaptureFileError) -> CaptureInputPiece?,
        table: inout Table, observer: inout Observer, selection: Selection
    ) -> CaptureAnalysis {
        let options = input.options
        var analysis = CaptureAnalysis(file: input.name)
        let filter = options.filter, selector = options.selector
        // Decoded segments wait in a small ring so that their slots and states can be prefetched
        // before they are ingested, in capture order (memory-level parallelism: the table is far
        // larger than the caches, so each lookup would otherwise be a stall).
        var ring = PrefetchRing()
        do throws(CaptureFileError) {
            var reader = try CaptureReader(window: input.firstWindow.view, fileSize: input.size)
            var paused = input.firstWindow.inputPaused
            observer.started(timestampDigits: reader.timestampDigits)
            analysis.format = reader.format
            /// What the reader of a piece learned, kept when the next piece takes over.
            func keep(_ reader: CaptureReader, of piece: String) {
                for type in reader.linkTypes where !analysis.linkTypes.contains(type) { analysis.linkTypes.append(type) }
                analysis.timestampDigits = max(analysis.timestampDigits, reader.timestampDigits)
                if let truncation = reader.truncation {
                    analysis.truncation = options.timeline == nil ? truncation : "\(piece): \(truncation)"
                }
            }
            analysis.timestampDigits = reader.timestampDigits
            var piece = input.name, pieceStarted = false
            if options.timeline != nil { analysis.pieces = [CapturePiece(name: piece, start: nil)] }
            /// The latest record time of the pieces before the current one.
            var latest = Int64.min, latestOfEarlierPieces = Int64.min
            defer { keep(reader, of: piece) }
            var nextProgress = progressInterval
            var customBlocksHandedOn = 0
            /// Hands on the custom blocks read since the last call (before connections finish).
            func handOnCustomBlocks() {
                while customBlocksHandedOn < reader.customBlocks.count {
                    options.onCustomBlock?(reader.customBlocks[customBlocksHandedOn])
                    customBlocksHandedOn += 1
                }
            }
            defer { handOnCustomBlocks() }
            while true {
                while let record = try reader.next() {
                    analysis.packets += 1
                    let time = record.timestamp.nanoseconds
                    // 1.6 The pieces of one capture follow each other in time.
                    if latestOfEarlierPieces != .min && time < latestOfEarlierPieces &- AnalysisOptions.pieceOverlapTolerance {
                        throw CaptureFileError.piecesOverlap(
                            earlier: analysis.pieces[analysis.pieces.count - 2].name, later: piece)
                    }
                    if !pieceStarted {
                        pieceStarted = true
                        if let timeline = options.timeline {
                            analysis.pieces[analysis.pieces.count - 1].start = time
                            timeline.append(analysis.pieces[analysis.pieces.count - 1])
                        }
                    }
                    if time > latest { latest = time }
                    if analysis.packets % ConnectionTable.expiryInterval == 0 {
                        handOnCustomBlocks()
                        while let pending = ring.popOldest() {
                            ingest(pending, into: &table, observer: &observer, selection: selection)
                        }
                        table.expire(observer: &observer)
                        if reader.bytesRead >= nextProgress {
                            nextProgress = reader.bytesRead + progressInterval
                            options.onProgress?(reader.bytesRead, analysis.packets)
                        }
                    }
                    guard record.linkType.isSupported else {
                        analysis.unsupportedLinkPackets += 1
                        continue
                    }
                    if let filter, !filter.matches(record) {
                        analysis.filteredPackets += 1
                        continue
                    }
                    do {
                        // Decoded straight into the ring entry it waits in.
                        let entry = ring.nextEntry
                        switch try PacketDecoder.decode(
                            record.bytes, linkType: record.linkType, originalLength: record.originalLength,
                            timestamp: record.timestamp, into: &entry.pointee.segment)
                        {
                        case .tcp:
                            analysis.tcpPackets += 1
                            let lookup = FlowLookup(entry.pointee.segment)
                            entry.pointee.lookup = lookup
                            entry.pointee.packetNumber = analysis.packets
                            entry.pointee.selected = selector?.matches(record) ?? false
                            if !table.handsOver(entry) {
                                table.prefetchSlot(for: lookup)
                                if let middle = ring.push() { table.prefetchState(hash: middle) }
                                if ring.isFull, let pending = ring.popOldest() {
                                    ingest(pending, into: &table, observer: &observer, selection: selection)
                                }
                            }
                        case .notTCP:
                            analysis.notTCPPackets += 1
                        case .laterFragment:
                            analysis.fragmentPackets += 1
                        }
                    } catch {
                        analysis.undecodablePackets += 1
                    }
                }
                if !reader.needsMoreData {
                    // The end of a piece: the next piece of a capture cut into pieces, if any.
                    handOnCustomBlocks()
                    guard let next = try nextPiece() else { break }
                    keep(reader, of: piece)
                    reader = try CaptureReader(window: next.firstWindow.view, fileSize: next.size)
                    customBlocksHandedOn = 0
                    paused = next.firstWindow.inputPaused
                    piece = next.name
                    pieceStarted = false
                    latestOfEarlierPieces = latest
                    if analysis.pieces.isEmpty { analysis.pieces = [CapturePiece(name: input.name, start: nil)] }
                    analysis.pieces.append(CapturePiece(name: next.name, start: nil))
                    continue
                }
                handOnCustomBlocks()
                if paused {
                    // The input has nothing more for now: hand on what is finished before waiting.
                    while let pending = ring.popOldest() {
                        ingest(pending, into: &table, observer: &observer, selection: selection)
                    }
                    table.expire(observer: &observer)
                    observer.flush()
                    options.onInputPause?()
                }
                let window = try nextWindow(reader.windowOffset)
                paused = window.inputPaused
                reader.resume(with: window.view, isLastWindow: window.isLast)
            }
        } catch {
            analysis.error = error
        }
        // Whatever ended the loop (end of file, a cut-short record, an impossible one), the
        // segments still waiting belong to the analysis.
        while let pending = ring.popOldest() { ingest(pending, into: &table, observer: &observer, selection: selection) }
        if analysis.error == nil, analysis.unsupportedLinkPackets > 0,
            let unsupported = analysis.linkTypes.first(where: { !$0.isSupported }),
            !analysis.linkTypes.contains(where: \.isSupported)
        {
            analysis.error = .unsupportedLinkType(unsupported)
        }
        analysis.heldAtEnd = Set(table.goingKeyHashes(limit: ContinuitySample.goingLimit))
        analysis.startedMidStream = Set(table.midStreamStarts.map(\.hash))
        table.finishAll(observer: &observer)
        analysis.lateSegments = table.lateSegments
        if selector != nil { analysis.selectedIDs = selection.ids }
        return analysis
    }

    /// Adds a segment waiting in the ring to its connection. A static function with `inout`
    /// arguments, not a closure over the table: a closure's captures are checked for exclusive
    /// access at run time, a cost per packet once it is inlined.
    @inline(__always)
    private static func ingest<Observer: ConnectionObserver, Table: TrackingTable & ~Copyable>(
        _ pending: UnsafePointer<PrefetchRing.Pending>, into table: inout Table, observer: inout Observer,
        selection: Selection
    ) {
        let id = table.ingest(
            pending.pointee.segment, lookup: pending.pointee.lookup, packetNumber: pending.pointee.packetNumber,
            observer: &observer)
        if pending.pointee.selected { selection.ids.insert(id) }
    }
}

/// A fixed ring of decoded segments waiting to be ingested: slots are prefetched on entry, states
/// halfway through, and segments leave in the order they came. The entries live in a buffer of
/// its own: every packet writes one and reads one, without an `Array`'s uniqueness and bounds checks
/// (the index is masked into range).
struct PrefetchRing: ~Copyable {
    struct Pending {
        var segment: TCPSegment
        var lookup: FlowLookup
        var packetNumber: Int
        var selected: Bool

        /// An entry that holds no segment yet.
        static var placeholder: Pending {
            let segment = TCPSegment(
                timestamp: Timestamp(nanoseconds: 0), source: IPAddress(ipv4: 0), destination: IPAddress(ipv4: 0),
                sourcePort: 0, destinationPort: 0, sequenceNumber: 0, acknowledgmentNumber: 0, flags: TCPFlags())
            return Pending(segment: segment, lookup: FlowLookup(segment), packetNumber: 0, selected: false)
        }
    }

    static let capacity = 16
    /// Slots outside `head ..< head + count` hold stale entries that are never read.
    private let items: UnsafeMutablePointer<Pending>
    private var head = 0
    private var count = 0

    var isFull: Bool { count == Self.capacity }

    init() {
        items = .allocate(capacity: Self.capacity)
        items.initialize(repeating: .placeholder, count: Self.capacity)
    }

    deinit {
        items.deinitialize(count: Self.capacity)
        items.deallocate()
    }

    /// The entry the next ``push()`` adds, to be filled in place first (it is not one of the
    /// waiting entries until then).
    var nextEntry: UnsafeMutablePointer<Pending> {
        @inline(__always) get { items + ((head + count) & (Self.capacity - 1)) }
    }

    /// Adds the entry filled at ``nextEntry``; returns the flow hash of the one halfway back in the
    /// ring, whose state is due for prefetching (only the hash: copying whole entries shows up as
    /// `memmove` per packet).
    @inline(__always)
    mutating func push() -> UInt64? {
        count += 1
        guard count > Self.capacity / 2 else { return nil }
        return items[(head + count - Self.capacity / 2 - 1) & (Self.capacity - 1)].lookup.hash
    }

    /// Removes the oldest segment and returns where it lies (no copy of the entry); the pointer is
    /// valid until the next ``push()``.
    @inline(__always)
    mutating func popOldest() -> UnsafePointer<Pending>? {
        guard count > 0 else { return nil }
        let index = head
        head = (head + 1) & (Self.capacity - 1)
        count -= 1
        return UnsafePointer(items + index)
    }
}
