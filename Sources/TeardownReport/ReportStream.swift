import TeardownAnalysis
import TeardownWire

/// A report written as the analysis goes, so that memory does not grow with the capture: the
/// connections are given as they finish (in the order they finished, as Zeek writes its
/// conn.log), each file's counts at its end. Output goes to `write` in pieces.
public protocol ReportStream: AnyObject {
    /// The analysis of the `index`-th file given, named `name`, begins.
    func beginFile(_ name: String, index: Int)
    /// A connection of the current file finished.
    func connection(_ connection: Connection, timestampDigits: Int)
    /// The current file's analysis ended; its counts, warnings and error are final (its
    /// connections, if it kept them, are not given again).
    func endFile(_ analysis: CaptureAnalysis)
    /// Every file was given: writes what ends the report.
    func finish()
}

extension ReportStream {
    /// Writes the report of `analyses` whose connections were kept (``ResultDelivery/collect``).
    func write(_ analyses: [CaptureAnalysis]) {
        for (index, analysis) in analyses.enumerated() {
            beginFile(analysis.file, index: index)
            for connection in analysis.connections { self.connection(connection, timestampDigits: analysis.timestampDigits) }
            endFile(analysis)
        }
        finish()
    }
}

/// Contract 4.1's JSON document, streamed: `{"file": ..., "connections": [...], "linkTypes": ...,
/// "packets": ..., ...}` for one file, an array of them for several. The connections come before
/// the counts, which are known only at the end.
public final class JSONDocumentStream: ReportStream {
    private var json = JSONWriter(capacity: 1 << 16)
    private let asArray: Bool
    private let write: (UnsafeRawBufferPointer) -> Void

    /// - Parameter asArray: whether the report is an array of documents (several files given).
    public init(asArray: Bool, write: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.asArray = asArray
        self.write = write
        if asArray { json.beginArray() }
    }

    public func beginFile(_ name: String, index: Int) {
        json.beginObject()
        json.field("file", name)
        json.beginArray("connections")
    }

    public func connection(_ connection: Connection, timestampDigits: Int) {
        JSONReport.write(connection, timestampDigits: timestampDigits, file: nil, into: &json)
        if json.count >= 1 << 16 { json.drain(write) }
    }

    public func endFile(_ analysis: CaptureAnalysis) {
        json.endArray()
        json.beginArray("linkTypes")
        for type in analysis.linkTypes { json.element(type.name) }
        json.endArray()
        json.field("packets", analysis.packets)
        json.field("tcpPackets", analysis.tcpPackets)
        json.field("skippedPackets", analysis.skippedPackets)
        json.field("filteredPackets", analysis.filteredPackets)
        json.field("lateSegments", analysis.lateSegments)
        if !analysis.pieces.isEmpty {
            json.beginArray("files")
            for piece in analysis.pieces { json.element(piece.name) }
            json.endArray()
        }
        json.field("truncated", analysis.truncated)
        json.field("error", analysis.error.map(\.description))
        json.endObject()
        json.drain(write)
    }

    public func finish() {
        if asArray { json.endArray() }
        json.newline()
        json.drain(write)
    }
}

/// A Zeek conn.log (``ZeekLog``), streamed: the header, then each connection's rows as it finishes.
public final class ZeekLogStream: ReportStream {
    private let write: (String) -> Void
    private var fileIndex = 0
    private var lines = ""

    public init(write: @escaping (String) -> Void) {
        self.write = write
        write(ZeekLog.header + "#open\t\(ZeekLog.logTime())\n")
    }

    public func beginFile(_ name: String, index: Int) { fileIndex = index }

    public func connection(_ connection: Connection, timestampDigits: Int) {
        for (rowIndex, record) in connection.zeekRecords.enumerated() {
            // What the capture missed (1.6) goes with the connection's last row, as Zeek counts
            // content gaps when it removes a connection.
            let missed = rowIndex == connection.zeekRecords.count - 1 ? connection.notCaptured.map { $0.bytes.client + $0.bytes.server } ?? 0 : 0
            lines += ZeekLog.row(
                record, of: connection, missedBytes: missed,
                uid: ZeekLog.uid(file: fileIndex, connection: connection.id, row: rowIndex))
            lines += "\n"
        }
        if lines.utf8.count >= 1 << 16 { flush() }
    }

    public func endFile(_ analysis: CaptureAnalysis) { flush() }

    public func finish() {
        lines += "#close\t\(ZeekLog.logTime())\n"
        flush()
    }

    private func flush() {
        guard !lines.isEmpty else { return }
        write(lines)
        lines = ""
    }
}

/// Contract 4.2's table (``TextReport``), streamed: the first ``screenful`` rows are held to fit
/// the columns to them (and to the report's width), then printed, and later rows use the same
/// layout (a longer cell widens only its own row); the summary lines of every file come last.
public final class TextTableStream: ReportStream {
    /// Rows held back to fix the column widths.
    public static let screenful = 500
    private let report: TextReport
    private let showFile: Bool
    private let write: (String) -> Void
    private var file = ""
    private var held: [(cells: [String], verdict: Verdict)] = []
    private var layout: TextReport.Layout?
    private var summaries: [String] = []
    private var anyFile = false
    /// The files' counts added up, for the total line of several files.
    private var total = CaptureAnalysis(file: "total")
    private var files = 0
    /// Whether a row was marked partial (`*`), or a verdict written short (`+`): their legends
    /// follow the summaries.
    private var sawPartial = false
    private var sawShortVerdict = false
    /// The file the last heading named (tables too narrow for a FILE column).
    private var headedFile: String?

    /// - Parameter showFile: whether a `FILE` column names each connection's file (several files).
    public init(report: TextReport, showFile: Bool, write: @escaping (String) -> Void) {
        self.report = report
        self.showFile = showFile
        self.write = write
    }

    public func beginFile(_ name: String, index: Int) { file = name }

    public func connection(_ connection: Connection, timestampDigits: Int) {
        let cells = TextReport.cells(connection, file: file, timed: layout?.isTimed ?? true)
        if connection.partial { sawPartial = true }
        if connection.verdict == .halfClosed && connection.completed { sawShortVerdict = true }
        if let layout {
            write(fileHeading(cells, layout) + report.line(cells, layout: layout, verdict: connection.verdict) + "\n")
            return
        }
        held.append((cells, connection.verdict))
        if held.count >= Self.screenful { printHeld() }
    }

    public func endFile(_ analysis: CaptureAnalysis) {
        // A file that could not be opened has no summary: its error says why (exit 66).
        if case .cannotOpen = analysis.error { return }
        anyFile = true
        summaries.append(TextReport.summary(analysis, named: showFile))
        total.add(analysis)
        files += 1
    }

    public func finish() {
        if layout == nil && (anyFile || !held.isEmpty) { printHeld() }
        if let line = TextReport.total(total, files: files) { summaries.append(line) }
        if sawPartial { summaries.append(TextReport.partialLegend) }
        if sawShortVerdict && layout?.shortVerdicts == true { summaries.append(TextReport.completedLegend) }
        let width = report.width ?? .max
        write(summaries.flatMap { TextWrap.lines($0, width: width, indent: 2) }.map { $0 + "\n" }.joined())
    }

    /// The file whose rows follow, on a line of its own, when the table is too narrow for a FILE
    /// column and the row is the first of its file (empty otherwise).
    private func fileHeading(_ cells: [String], _ layout: TextReport.Layout) -> String {
        let name = cells[TextReport.Column.file.rawValue]
        guard showFile, !layout.columns.contains(.file), name != headedFile else { return "" }
        headedFile = name
        return name + ":\n"
    }

    /// Fixes the layout from the header and the rows held, and prints them.
    private func printHeld() {
        let layout = report.layout(held.map(\.cells), showFile: showFile)
        var text = report.header(layout) + "\n"
        for row in held { text += fileHeading(row.cells, layout) + report.line(row.cells, layout: layout, verdict: row.verdict) + "\n" }
        write(text)
        held = []
        self.layout = layout
    }
}
