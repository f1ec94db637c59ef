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
    /// Packets the kernel dropped during a live capture (libpcap's `ps_drop`); 0 for files.
    public var droppedPackets = 0
    /// Packets on interfaces whose link type is not supported (pcapng).
    public var unsupportedLinkPackets = 0
    /// The last record was cut short; `truncation` says where.
    public var truncated: Bool { truncation != nil }
    public var truncation: String?
    /// The error that stopped reading early (exit 65); connections before it are still reported.
    public var error: CaptureFileError?
    public var connections: [Connection] = []
    /// Connections per verdict, counted as they finish (also when they are streamed, not kept).
    public var verdictCounts: [Verdict: Int] = [:]
    /// Connections finished in all, and the payload bytes they lost.
    public var connectionCount = 0
    public var totalLostBytes: Int64 = 0
    /// With a selector: the ids of the connections at least one of whose packets it matched.
    public var selectedIDs: Set<Int>?

    public init(file: String) { self.file = file }

    /// The connections the selector matched (all of them without a selector).
    public var selectedConnections: [Connection] {
        guard let selectedIDs else { return connections }
        return connections.filter { selectedIDs.contains($0.id) }
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

/// How to run an analysis.
public struct AnalysisOptions {
    /// Packets it rejects are not analysed.
    public var filter: PacketFilter?
    /// A connection is selected when it matches at least one of its packets
    /// (``CaptureAnalysis/selectedIDs``); every connection is still analysed.
    public var selector: PacketFilter?
    public var limits = TrackingLimits()
    /// Called with each connection as soon as it is finished (teardown plus linger, or idle),
    /// instead of collecting them in ``CaptureAnalysis/connections``: memory then depends on
    /// concurrent connections only.
    public var onConnection: ((Connection) -> Void)?
    /// Called instead of `onConnection` with the finished connections in batches, their results
    /// not built yet and Zeek's view of their packets not computed yet: a caller that formats
    /// results on another thread completes the batches there, in order, with one
    /// ``BatchCompleter``, and the analysing thread is spared that work (each batch covers a few
    /// thousand packets). It may return a batch it was given earlier, completed and emptied
    /// (``FinishedBatch/removeAll()``), for the analysis to fill again: batches then circulate
    /// instead of being allocated, touched and freed one after another.
    public var onFinishedBatch: ((consuming FinishedBatch) -> FinishedBatch?)?
    /// Called every 512 KiB of file with the bytes read so far and the packets read.
    public var onProgress: ((_ bytesRead: Int, _ packets: Int) -> Void)?
    /// Whether to compute Zeek's `conn_state` and `history` for each connection (on by default;
    /// reports that do not print them save the work).
    public var tracksZeek = true
    /// Whether only the counts are wanted (``CaptureAnalysis/verdictCounts``, `connectionCount`,
    /// `totalLostBytes`): no ``Connection`` is built, `onConnection` is not called and
    /// `connections` stays empty, so memory depends on concurrent connections only.
    public var countsOnly = false
    /// Bytes read from a file at a time (the buffer grows for a single record larger than this):
    /// memory for the file does not grow with its size.
    public var readSize = 1 << 20
    /// Whether the next `readSize` bytes are read on a thread of their own while the analysis works
    /// through the current ones (the kernel's copy then runs on another core): worth it when a core
    /// would otherwise be idle, i.e. not when as many files are analysed at once as there are cores.
    public var readsAhead = false
    /// Called with every TCP segment, in capture order, and the id of the connection it joined
    /// (for tools that show a connection packet by packet, such as `explain`).
    public var onSegment: ((_ segment: TCPSegment, _ connectionID: Int) -> Void)?

    public init(filter: PacketFilter? = nil, selector: PacketFilter? = nil) {
        self.filter = filter
        self.selector = selector
    }
}

/// Runs a capture through reader → decoder → filter → connection table → classifier.
public enum CaptureAnalyzer {
    /// Bytes between two progress calls.
    static let progressInterval = 1 << 19

    /// Analyses the capture in `bytes`.
    /// - Parameter name: the file name to report.
    public static func analyze(_ bytes: ByteView, name: String, filter: PacketFilter? = nil, selector: PacketFilter? = nil)
        -> CaptureAnalysis
    {
        analyze(bytes, name: name, options: AnalysisOptions(filter: filter, selector: selector))
    }

    /// Analyses the capture in `bytes` with `options`.
    public static func analyze(_ bytes: ByteView, name: String, options: AnalysisOptions) -> CaptureAnalysis {
        // All of the file in one window: no next one is ever asked for.
        analyze(name: name, options: options, firstWindow: bytes, fileSize: bytes.count) { _ throws(CaptureFileError) in
            (bytes, true)
        }
    }

    /// The analysis of a file that comes a window at a time: `nextWindow` is called with the bytes
    /// of the current window consumed, and returns the next window (starting with the rest of the
    /// current one) and whether it reaches the end of the file.
    private static func analyze(
        name: String, options: AnalysisOptions, firstWindow: ByteView, fileSize: Int,
        nextWindow: (_ consumed: Int) throws(CaptureFileError) -> (view: ByteView, isLast: Bool)
    ) -> CaptureAnalysis {
        var analysis = CaptureAnalysis(file: name)
        let onFinishedBatch = options.onFinishedBatch
        let zeek: ZeekTracking = !options.tracksZeek ? .off : onFinishedBatch != nil ? .deferred : .inline
        var table = ConnectionTable(limits: options.limits, zeek: zeek, batches: onFinishedBatch != nil)
        var selected = Set<Int>()
        var delivery = Delivery(
            onConnection: options.onConnection, onFinishedBatch: onFinishedBatch,
            countsOnly: options.countsOnly || onFinishedBatch != nil)
        let filter = options.filter, selector = options.selector
        // Decoded segments wait in a small ring so that their slots and states can be prefetched
        // before they are ingested, in capture order (memory-level parallelism: the table is far
        // larger than the caches, so each lookup would otherwise be a stall).
        var ring = PrefetchRing()
        let onSegment = options.onSegment
        do {
            var reader = try CaptureReader(window: firstWindow, fileSize: fileSize)
            analysis.format = reader.format
            defer {
                analysis.linkTypes = reader.linkTypes
                analysis.timestampDigits = reader.timestampDigits
                analysis.truncation = reader.truncation
            }
            var nextProgress = progressInterval
            // Records of one window, then the next window, until the file ends.
            while true {
                while let record = try reader.next() {
                    analysis.packets += 1
                    if analysis.packets % ConnectionTable.expiryInterval == 0 {
                        while let pending = ring.popOldest() {
                            ingest(pending, into: &table, selected: &selected, onSegment)
                        }
                        table.expire(into: &delivery)
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
                            entry.pointee.packetNumber = record.index
                            entry.pointee.selected = selector?.matches(record) ?? false
                            table.prefetchSlot(for: lookup)
                            if let middle = ring.push() { table.prefetchState(hash: middle) }
                            if ring.isFull, let pending = ring.popOldest() {
                                ingest(pending, into: &table, selected: &selected, onSegment)
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
                guard reader.needsMoreData else { break }
                let window = try nextWindow(reader.windowOffset)
                reader.resume(with: window.view, isLastWindow: window.isLast)
            }
        } catch {
            analysis.error = error
        }
        // Whatever ended the loop (end of file, a cut-short record, an impossible one), the
        // segments still waiting belong to the analysis.
        while let pending = ring.popOldest() { ingest(pending, into: &table, selected: &selected, onSegment) }
        if analysis.error == nil, analysis.unsupportedLinkPackets > 0,
            let unsupported = analysis.linkTypes.first(where: { !$0.isSupported }),
            !analysis.linkTypes.contains(where: \.isSupported)
        {
            analysis.error = .unsupportedLinkType(unsupported)
        }
        table.finishAll(into: &delivery)
        for verdict in Verdict.allCases where delivery.counts[verdict.ordinal] > 0 {
            analysis.verdictCounts[verdict] = delivery.counts[verdict.ordinal]
        }
        analysis.connectionCount = delivery.connectionCount
        analysis.totalLostBytes = delivery.totalLostBytes
        if options.onConnection == nil && !delivery.countsOnly {
            delivery.collected.sort { $0.id < $1.id }
            analysis.connections = delivery.collected
        }
        if selector != nil { analysis.selectedIDs = selected }
        return analysis
    }

    /// Adds a segment waiting in the ring to its connection. A static function with `inout`
    /// arguments, not a closure over the table: a closure's captures are checked for exclusive
    /// access at run time, a cost per packet once it is inlined.
    @inline(__always)
    private static func ingest(
        _ pending: UnsafePointer<PrefetchRing.Pending>, into table: inout ConnectionTable, selected: inout Set<Int>,
        _ onSegment: ((_ segment: TCPSegment, _ connectionID: Int) -> Void)?
    ) {
        let id = table.ingest(pending.pointee.segment, lookup: pending.pointee.lookup, packetNumber: pending.pointee.packetNumber)
        if pending.pointee.selected { selected.insert(id) }
        onSegment?(pending.pointee.segment, id)
    }

    /// Opens and analyses the capture file at `path` (`-`: standard input).
    /// - Throws: `FileAccessError` when the file cannot be opened (exit 66).
    public static func analyze(
        fileAt path: String, filter: PacketFilter? = nil, selector: PacketFilter? = nil
    ) throws(FileAccessError) -> CaptureAnalysis {
        try analyze(fileAt: path, options: AnalysisOptions(filter: filter, selector: selector))
    }

    /// Opens and analyses the file at `path` with `options`. The file is read a buffer at a time,
    /// so memory does not grow with its size.
    public static func analyze(fileAt path: String, options: AnalysisOptions) throws(FileAccessError) -> CaptureAnalysis {
        analyze(file: try CaptureFile(path: path), name: path, options: options)
    }

    /// Analyses an opened file (see ``analyze(fileAt:options:)``), reading it ``AnalysisOptions/readSize``
    /// bytes at a time.
    public static func analyze(file: CaptureFile, name path: String, options: AnalysisOptions) -> CaptureAnalysis {
        var window = CaptureWindow(file: file, size: options.readSize, readsAhead: options.readsAhead)
        do {
            try window.fill()
        } catch {
            var analysis = CaptureAnalysis(file: path)
            analysis.error = error
            return analysis
        }
        return analyze(name: path, options: options, firstWindow: window.view, fileSize: file.count) {
            consumed throws(CaptureFileError) in
            try window.slide(from: consumed)
            return (window.view, window.isLast)
        }
    }

    /// The precision of the timestamps of the file, as its header states it (see
    /// ``CaptureReader/timestampDigits``); 6 when the header cannot be read.
    public static func timestampDigits(of file: CaptureFile) -> Int {
        var window = CaptureWindow(file: file, size: 4096)
        guard (try? window.fill()) != nil else { return 6 }
        return (try? CaptureReader(window: window.view, fileSize: file.count))?.timestampDigits ?? 6
    }
}

/// Where the table hands finished connections: counted, then streamed to `onConnection` or kept.
/// A value passed `inout` rather than a closure: a closure capturing the analysis cost a dynamic
/// exclusivity check per connection, and a dictionary of counts a hash of the verdict's name.
struct Delivery: ConnectionSink {
    let onConnection: ((Connection) -> Void)?
    let onFinishedBatch: ((consuming FinishedBatch) -> FinishedBatch?)?
    /// Whether only the counts are wanted here (no ``Connection`` is built: not at all, or on
    /// another thread from a ``FinishedBatch``).
    let countsOnly: Bool
    var collected: [Connection] = []
    /// Connections per verdict, indexed by ``Verdict/ordinal``.
    var counts = [Int](repeating: 0, count: Verdict.allCases.count)
    var connectionCount = 0
    var totalLostBytes: Int64 = 0

    mutating func receive(_ state: UnsafePointer<ConnectionState>, zeek: UnsafePointer<ZeekTracker>?) {
        connectionCount += 1
        if countsOnly {
            let outcome = TeardownClassifier.outcome(state)
            counts[outcome.verdict.ordinal] += 1
            totalLostBytes += outcome.lostBytes.client + outcome.lostBytes.server
            return
        }
        let connection = TeardownClassifier.classify(state, zeek: zeek)
        counts[connection.verdict.ordinal] += 1
        totalLostBytes += connection.totalLostBytes
        if let onConnection {
            onConnection(connection)
        } else {
            collected.append(connection)
        }
    }

    mutating func receive(_ batch: consuming FinishedBatch) -> FinishedBatch? { onFinishedBatch?(consume batch) }
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
    }

    static let capacity = 16
    /// Slots outside `head ..< head + count` hold stale entries that are never read.
    private let items: UnsafeMutablePointer<Pending>
    private var head = 0
    private var count = 0

    var isFull: Bool { count == Self.capacity }

    init() {
        let placeholder = TCPSegment(
            timestamp: Timestamp(nanoseconds: 0), source: IPAddress(ipv4: 0), destination: IPAddress(ipv4: 0),
            sourcePort: 0, destinationPort: 0, sequenceNumber: 0, acknowledgmentNumber: 0, flags: TCPFlags())
        items = .allocate(capacity: Self.capacity)
        items.initialize(
            repeating: Pending(segment: placeholder, lookup: FlowLookup(placeholder), packetNumber: 0, selected: false),
            count: Self.capacity)
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
