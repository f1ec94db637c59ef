import TeardownAnalysis
import TeardownWire

/// Contract 4.2: an aligned table with one row per connection and a one-line summary per file.
public struct TextReport {
    /// Whether to colour verdicts with ANSI escapes (only for a terminal, and never with `NO_COLOR`).
    public var color: Bool

    public init(color: Bool) { self.color = color }

    /// The table for one or more analysed files whose connections were kept. With several files,
    /// a `FILE` column names each connection's file.
    public func render(_ analyses: [CaptureAnalysis]) -> String {
        var output = ""
        let stream = TextTableStream(report: self, showFile: analyses.count > 1) { output += $0 }
        stream.write(analyses)
        return output
    }

    /// The column names.
    static func header(showFile: Bool) -> [String] {
        var header = ["ID", "CLIENT", "SERVER", "VERDICT", "CLOSER", "RESET", "BYTES C/S", "LOST C/S", "PKTS", "STATES C/S", "CAUSE", "NOTES"]
        if showFile { header.insert("FILE", at: 0) }
        return header
    }

    /// One connection's cells (without the file).
    static func cells(_ connection: Connection) -> [String] {
        [
            String(connection.id), connection.client.description, connection.server.description,
            verdictText(connection), connection.firstCloser?.rawValue ?? "-", connection.resetBy?.rawValue ?? "-",
            "\(connection.bytes.client)/\(connection.bytes.server)",
            "\(connection.lostBytes.client)/\(connection.lostBytes.server)",
            String(connection.packets),
            "\(connection.states.final(.client)?.rawValue ?? "-")/\(connection.states.final(.server)?.rawValue ?? "-")",
            connection.cause.map { $0.code.rawValue + ($0.source == .kernel ? "" : "?") } ?? "-",
            connection.notes.isEmpty ? "-" : connection.notes.map(\.rawValue).joined(separator: ","),
        ]
    }

    /// One row, padded to `widths` (numbers right-aligned, the last column not padded).
    func line(_ cells: [String], widths: [Int], showFile: Bool, verdict: Verdict?) -> String {
        let verdictColumn = showFile ? 4 : 3
        let rightAligned: Set<Int> = showFile ? [1, 9] : [0, 8]
        var parts: [String] = []
        for (column, cell) in cells.enumerated() {
            let pad = String(repeating: " ", count: max(0, widths[column] - cell.count))
            var text = rightAligned.contains(column) ? pad + cell : cell + pad
            if column == cells.count - 1 { text = cell }
            if column == verdictColumn, let verdict, color { text = Self.colored(text, verdict) }
            parts.append(text)
        }
        return parts.joined(separator: "  ")
    }

    /// The verdict, `(completed)` for a half-close whose second FIN came, and `*` when the start of
    /// the connection was not captured (contract 1.2, `partial`).
    static func verdictText(_ connection: Connection) -> String {
        let text = connection.verdict == .halfClosed && connection.completed ? "half-closed (completed)" : connection.verdict.rawValue
        return connection.partial ? text + "*" : text
    }

    /// The line under the summaries when a verdict is marked `*`.
    static let partialLegend = "* the start of the connection was not captured (partial): its opening, and what it says about the client, is not known"

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
