import TeardownAnalysis
import TeardownWire

/// Contract 4.1: the JSON (`--format json`) and JSON Lines (`--format jsonl`) reports.
public enum JSONReport {
    /// One JSON object for a file; with several files, callers print an array of these.
    public static func document(_ analysis: CaptureAnalysis) -> String {
        var json = JSONWriter()
        writeDocument(analysis, into: &json)
        return json.text
    }

    /// `[doc, doc, ...]` for several files.
    public static func documents(_ analyses: [CaptureAnalysis]) -> String {
        var json = JSONWriter()
        json.beginArray()
        for analysis in analyses { writeDocument(analysis, into: &json) }
        json.endArray()
        return json.text
    }

    /// One line per connection; `file` is included when given (several input files).
    public static func line(_ connection: Connection, timestampDigits: Int, file: String?) -> String {
        var json = JSONWriter()
        write(connection, timestampDigits: timestampDigits, file: file, into: &json)
        return json.text
    }

    /// `text` as a JSON string literal.
    public static func quoted(_ text: String) -> String {
        var json = JSONWriter()
        json.appendString(text)
        return json.text
    }

    static func writeDocument(_ analysis: CaptureAnalysis, into json: inout JSONWriter) {
        json.beginObject()
        json.field("file", analysis.file)
        json.beginArray("linkTypes")
        for type in analysis.linkTypes { json.element(type.name) }
        json.endArray()
        json.field("packets", analysis.packets)
        json.field("tcpPackets", analysis.tcpPackets)
        json.field("skippedPackets", analysis.skippedPackets)
        json.field("filteredPackets", analysis.filteredPackets)
        json.field("truncated", analysis.truncated)
        json.field("error", analysis.error.map(\.description))
        json.beginArray("connections")
        for connection in analysis.connections {
            write(connection, timestampDigits: analysis.timestampDigits, file: nil, into: &json)
        }
        json.endArray()
        json.endObject()
    }

    static func write(_ connection: Connection, timestampDigits: Int, file: String?, into json: inout JSONWriter) {
        json.beginObject()
        if let file { json.field("file", file) }
        json.field("id", connection.id)
        json.field("client", endpoint: connection.client)
        json.field("server", endpoint: connection.server)
        json.field("verdict", connection.verdict.rawValue)
        json.field("completed", connection.completed)
        json.field("firstCloser", connection.firstCloser?.rawValue)
        json.field("resetBy", connection.resetBy?.rawValue)
        json.field("partial", connection.partial)
        json.beginObject("bytes")
        json.field("client", connection.bytes.client)
        json.field("server", connection.bytes.server)
        json.endObject()
        json.field("bytesAfterFirstFin", connection.bytesAfterFirstFin)
        json.beginObject("lostBytes")
        json.field("client", connection.lostBytes.client)
        json.field("server", connection.lostBytes.server)
        json.endObject()
        json.field("packets", connection.packets)
        json.field("firstSeen", timestamp: connection.firstSeen, digits: timestampDigits)
        json.field("lastSeen", timestamp: connection.lastSeen, digits: timestampDigits)
        json.field("zeekState", connection.zeekState?.rawValue)
        json.field("history", connection.history)
        json.beginArray("notes")
        for note in connection.notes { json.element(note.rawValue) }
        json.endArray()
        json.endObject()
    }
}

/// The streaming path of `--format jsonl`: lines collect in one buffer, handed to `sink` whenever
/// it holds `flushSize` bytes or more (whole lines only) and at ``flush()``.
public final class JSONLinesStream {
    private var json: JSONWriter
    private let flushSize: Int
    private let sink: (UnsafeRawBufferPointer) -> Void

    /// - Parameter sink: receives whole lines, each ending in a newline.
    public init(flushSize: Int = 1 << 16, sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.flushSize = flushSize
        self.sink = sink
        json = JSONWriter(capacity: flushSize + 4096)
    }

    /// Adds the line of `connection`; `file` is included when given (several input files).
    public func append(_ connection: Connection, timestampDigits: Int, file: String?) {
        JSONReport.write(connection, timestampDigits: timestampDigits, file: file, into: &json)
        json.newline()
        if json.count >= flushSize { flush() }
    }

    /// Hands over the lines not yet handed over.
    public func flush() {
        guard json.count > 0 else { return }
        json.withBytes(sink)
        json.removeAll()
    }
}
