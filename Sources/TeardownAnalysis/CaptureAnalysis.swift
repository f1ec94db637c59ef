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

/// Runs a capture through reader → decoder → filter → connection table → classifier.
public enum CaptureAnalyzer {
    /// Analyses the capture in `bytes`.
    /// - Parameters:
    ///   - name: the file name to report.
    ///   - filter: packets it rejects are not analysed.
    ///   - selector: a connection is selected when it matches at least one of its packets
    ///     (``CaptureAnalysis/selectedIDs``); every connection is still analysed.
    public static func analyze(
        _ bytes: ByteView, name: String, filter: PacketFilter? = nil, selector: PacketFilter? = nil
    ) -> CaptureAnalysis {
        var analysis = CaptureAnalysis(file: name)
        var selected = Set<Int>()
        var table = ConnectionTable()
        do {
            var reader = try CaptureReader(bytes)
            analysis.format = reader.format
            defer {
                analysis.linkTypes = reader.linkTypes
                analysis.timestampDigits = reader.timestampDigits
                analysis.truncation = reader.truncation
            }
            while let record = try reader.next() {
                analysis.packets += 1
                guard record.linkType.isSupported else {
                    analysis.unsupportedLinkPackets += 1
                    continue
                }
                if let filter, !filter.matches(record) {
                    analysis.filteredPackets += 1
                    continue
                }
                do {
                    switch try PacketDecoder.decode(
                        record.bytes, linkType: record.linkType, originalLength: record.originalLength,
                        timestamp: record.timestamp)
                    {
                    case .tcp(let segment):
                        analysis.tcpPackets += 1
                        let id = table.ingest(segment, packetNumber: record.index)
                        if let selector, selector.matches(record) { selected.insert(id) }
                    case .notTCP:
                        analysis.notTCPPackets += 1
                    case .laterFragment:
                        analysis.fragmentPackets += 1
                    }
                } catch {
                    analysis.undecodablePackets += 1
                }
            }
        } catch {
            analysis.error = error
        }
        if analysis.error == nil, analysis.unsupportedLinkPackets > 0,
            let unsupported = analysis.linkTypes.first(where: { !$0.isSupported }),
            !analysis.linkTypes.contains(where: \.isSupported)
        {
            analysis.error = .unsupportedLinkType(unsupported)
        }
        analysis.connections = table.connections()
        if selector != nil { analysis.selectedIDs = selected }
        return analysis
    }

    /// Opens (memory-maps) and analyses the capture file at `path` (`-`: standard input).
    /// - Throws: `FileAccessError` when the file cannot be opened (exit 66).
    public static func analyze(
        fileAt path: String, filter: PacketFilter? = nil, selector: PacketFilter? = nil
    ) throws(FileAccessError) -> CaptureAnalysis {
        let file = try MappedFile(path: path)
        return file.withBytes { analyze($0.view, name: path, filter: filter, selector: selector) }
    }
}
