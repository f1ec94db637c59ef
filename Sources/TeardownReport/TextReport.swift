import TeardownAnalysis
import TeardownWire

/// Contract 4.2: an aligned table with one row per connection and a one-line summary per file,
/// fitted to the width of the terminal: where the table is wider, its least important columns go
/// first (start, duration, and the file, which then heads its rows), then the gaps narrow, the
/// states and packets go, a completed half-close shows as `half-closed+`, the bytes and the cause
/// go, and the notes are cut with `…`. Always left: the id, the
/// endpoints, the verdict, who closed, who reset, what was lost and the notes.
public struct TextReport {
    /// Whether to colour verdicts with ANSI escapes (only for a terminal, and never with `NO_COLOR`).
    public var color: Bool
    /// The most columns a line may take (nil: as wide as the cells need).
    public var width: Int?

    public init(color: Bool, width: Int? = nil) {
        self.color = color
        self.width = width
    }

    /// The table for one or more analysed files whose connections were kept. With several files,
    /// a `FILE` column names each connection's file.
    public func render(_ analyses: [CaptureAnalysis]) -> String {
        var output = ""
        let stream = TextTableStream(report: self, showFile: analyses.count > 1) { output += $0 }
        stream.write(analyses)
        return output
    }

    /// The table's columns, in their order on the line.
    enum Column: Int, CaseIterable {
        case file, id, client, server, verdict, closer, reset, bytes, lost, packets, start, duration, states, cause, notes

        var header: String {
            switch self {
            case .file: return "FILE"
            case .id: return "ID"
            case .client: return "CLIENT"
            case .server: return "SERVER"
            case .verdict: return "VERDICT"
            case .closer: return "CLOSER"
            case .reset: return "RESET"
            case .bytes: return "BYTES C/S"
            case .lost: return "LOST C/S"
            case .packets: return "PKTS"
            case .start: return "START"
            case .duration: return "SECONDS"
            case .states: return "STATES C/S"
            case .cause: return "CAUSE"
            case .notes: return "NOTES"
            }
        }

        var rightAligned: Bool { self == .id || self == .packets || self == .duration }


    }

    /// Every column's cell for one connection, in ``Column`` order; with `timed` false the start
    /// and duration cells are left empty (a layout without them need not format them).
    static func cells(_ connection: Connection, file: String = "", timed: Bool = true) -> [String] {
        let duration = max(0, connection.lastSeen.nanoseconds(since: connection.firstSeen))
        return [
            file, String(connection.id), connection.client.description, connection.server.description,
            verdictText(connection), connection.firstCloser?.rawValue ?? "-", connection.resetBy?.rawValue ?? "-",
            "\(connection.bytes.client)/\(connection.bytes.server)",
            "\(connection.lostBytes.client)/\(connection.lostBytes.server)",
            String(connection.packets), timed ? timeOfDay(connection.firstSeen) : "",
            timed ? Timestamp(nanoseconds: duration).formatted(digits: 3) : "",
            "\(connection.states.final(.client)?.rawValue ?? "-")/\(connection.states.final(.server)?.rawValue ?? "-")",
            connection.cause.map { $0.code.rawValue + ($0.source == .kernel ? "" : "?") } ?? "-",
            connection.notes.isEmpty ? "-" : connection.notes.map(\.rawValue).joined(separator: ","),
        ]
    }

    /// `17:39:10.996`: the time of day (UTC) of `time`, to the millisecond.
    static func timeOfDay(_ time: Timestamp) -> String {
        let milliseconds = ((time.nanoseconds % 86_400_000_000_000) + 86_400_000_000_000) % 86_400_000_000_000 / 1_000_000
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let fraction = String(milliseconds % 1000)
        return "\(two(milliseconds / 3_600_000)):\(two(milliseconds / 60_000 % 60)):\(two(milliseconds / 1000 % 60))."
            + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// How a table is laid out: the columns shown, their widths, the gap between them, and
    /// whether a completed half-close is written short (`half-closed+`).
    struct Layout {
        var columns: [Column]
        /// By ``Column`` raw value.
        var widths: [Int]
        var gap = 2
        var shortVerdicts = false
        /// The notes' cells are cut to this many characters (nil: not cut).
        var notesWidth: Int?

        var total: Int { columns.reduce(0) { $0 + widths[$1.rawValue] } + gap * max(0, columns.count - 1) }

        /// Whether the start and duration columns are shown.
        var isTimed: Bool { columns.contains(.start) || columns.contains(.duration) }
    }

    /// The layout for `rows` (each a ``cells(_:file:)`` array) within ``width``.
    func layout(_ rows: [[String]], showFile: Bool) -> Layout {
        var columns = Column.allCases.filter { showFile || $0 != .file }
        func widths(short: Bool) -> [Int] {
            var widths = [Int](repeating: 0, count: Column.allCases.count)
            for column in columns {
                var widest = column.header.count
                for row in rows {
                    let cell = column == .verdict && short ? Self.shortened(row[column.rawValue]) : row[column.rawValue]
                    widest = max(widest, cell.count)
                }
                widths[column.rawValue] = widest
            }
            return widths
        }
        var layout = Layout(columns: columns, widths: widths(short: false))
        guard let width else { return layout }
        /// Drops `dropped`, first to last, while the table is too wide.
        func drop(_ dropped: [Column]) {
            for column in dropped where layout.total > width {
                columns.removeAll { $0 == column }
                layout.columns = columns
            }
        }
        // Least important first; the file then heads its rows instead.
        drop([.start, .duration, .file])
        if layout.total > width { layout.gap = 1 }
        drop([.states, .packets])
        if layout.total > width {
            layout.shortVerdicts = true
            layout.widths = widths(short: true)
        }
        drop([.bytes, .cause])
        if layout.total > width {
            let notes = max(Column.notes.header.count, width - (layout.total - layout.widths[Column.notes.rawValue]))
            layout.notesWidth = notes
            layout.widths[Column.notes.rawValue] = notes
        }
        return layout
    }

    /// The header line of `layout`.
    func header(_ layout: Layout) -> String {
        line(Column.allCases.map(\.header), layout: layout, verdict: nil)
    }

    /// One row, padded to the layout's widths (numbers right-aligned, the last column not padded).
    func line(_ cells: [String], layout: Layout, verdict: Verdict?) -> String {
        var parts: [String] = []
        for (index, column) in layout.columns.enumerated() {
            var cell = cells[column.rawValue]
            if column == .verdict && layout.shortVerdicts && verdict != nil { cell = Self.shortened(cell) }
            if column == .notes, let limit = layout.notesWidth, cell.count > limit { cell = String(cell.prefix(limit - 1)) + "…" }
            let pad = String(repeating: " ", count: max(0, layout.widths[column.rawValue] - cell.count))
            var text = column.rightAligned ? pad + cell : cell + pad
            if index == layout.columns.count - 1 { text = column.rightAligned ? text : cell }
            if column == .verdict, let verdict, color { text = Self.colored(text, verdict) }
            parts.append(text)
        }
        return parts.joined(separator: String(repeating: " ", count: layout.gap))
    }

    /// `half-closed (completed)` written short: `half-closed+`.
    static func shortened(_ verdict: String) -> String {
        let long = "half-closed (completed)"
        return verdict.hasPrefix(long) ? "half-closed+" + verdict.dropFirst(long.count) : verdict
    }

    /// The verdict, `(completed)` for a half-close whose second FIN came, and `*` when the start of
    /// the connection was not captured (contract 1.2, `partial`).
    static func verdictText(_ connection: Connection) -> String {
        let text = connection.verdict == .halfClosed && connection.completed ? "half-closed (completed)" : connection.verdict.rawValue
        return connection.partial ? text + "*" : text
    }

    /// The line under the summaries when a verdict is marked `*`.
    static let partialLegend = "* the start of the connection was not captured (partial): its opening, and what it says about the client, is not known"

    /// The line under the summaries when a verdict is written short.
    static let completedLegend = "+ completed: after the half-close, the second side closed too"

    /// `total, 3 files: 5 connections: ...`: the line under the summaries of several files,
    /// `total` their counts added up (``CaptureAnalysis/add(_:)``); nil for one file.
    public static func total(_ total: CaptureAnalysis, files: Int) -> String? {
        files > 1 ? "total, \(counted(files, "file")): " + summary(total, named: false) : nil
    }

    /// `6 connections: 2 graceful, 1 half-closed, 3 abortive (9 bytes lost); 41 packets, 41 TCP`.
    public static func summary(_ analysis: CaptureAnalysis, named: Bool) -> String {
        var parts: [String] = []
        for verdict in Verdict.allCases {
            let count = analysis.verdictCounts[verdict, default: 0]
            if count > 0 { parts.append("\(count) \(verdict.rawValue)") }
        }
        let lost = analysis.totalLostBytes
        let total = analysis.connectionCount
        var text = named ? "\(analysis.file): " : ""
        text += counted(total, "connection")
        if !parts.isEmpty { text += ": " + parts.joined(separator: ", ") }
        if lost > 0 { text += " (\(lost) bytes lost)" }
        text += "; \(counted(analysis.packets, "packet")), \(analysis.tcpPackets) TCP"
        if analysis.skippedPackets > 0 { text += ", \(analysis.skippedPackets) skipped" }
        if analysis.filteredPackets > 0 { text += ", \(analysis.filteredPackets) filtered out" }
        if analysis.lateSegments > 0 {
            text += ", \(analysis.lateSegments) late (after their connection ended)"
        }
        if analysis.truncated { text += ", capture cut short" }
        return text
    }

    static func colored(_ text: String, _ verdict: Verdict) -> String {
        let code: String
        switch verdict {
        case .graceful: code = "32"
        case .halfClosed: code = "36"
        case .abortive: code = "1;31"
        case .refused: code = "35"
        case .attempt: code = "2"
        case .open: code = "33"
        }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}
