import TeardownAnalysis
import TeardownWire

/// Contract 4.1: the JSON (`--format json`) and JSON Lines (`--format jsonl`) reports.
public enum JSONReport {
    /// One JSON object for a file whose connections were kept.
    public static func document(_ analysis: CaptureAnalysis) -> String { render([analysis], asArray: false) }

    /// `[doc, doc, ...]` for several files.
    public static func documents(_ analyses: [CaptureAnalysis]) -> String { render(analyses, asArray: true) }

    private static func render(_ analyses: [CaptureAnalysis], asArray: Bool) -> String {
        var bytes: [UInt8] = []
        let stream = JSONDocumentStream(asArray: asArray) { bytes.append(contentsOf: $0) }
        stream.write(analyses)
        bytes.removeLast()  // the newline that ends the report on a terminal
        return String(decoding: bytes, as: UTF8.self)
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

    /// One connection's object. Every object has the same members in the same order, so after
    /// the first member the punctuation and names between values are written as literal fragments
    /// (a key at a time, the writer's comma bookkeeping cost more than the values).
    static func write(_ connection: Connection, timestampDigits: Int, file: String?, into json: inout JSONWriter) {
        json.beginObject()
        if let file { json.field("file", file) }
        json.field("id", connection.id)
        json.fragment(#","client":"#)
        json.endpoint(connection.client)
        json.fragment(#","server":"#)
        json.endpoint(connection.server)
        json.fragment(#","verdict":"#)
        json.appendString(connection.verdict.rawValue)
        json.fragment(#","completed":"#)
        json.append(connection.completed)
        json.fragment(#","firstCloser":"#)
        json.append(connection.firstCloser?.rawValue)
        json.fragment(#","resetBy":"#)
        json.append(connection.resetBy?.rawValue)
        json.fragment(#","partial":"#)
        json.append(connection.partial)
        json.fragment(#","bytes":{"client":"#)
        json.appendInteger(connection.bytes.client)
        json.fragment(#","server":"#)
        json.appendInteger(connection.bytes.server)
        json.fragment(#"},"bytesAfterFirstFin":"#)
        json.appendInteger(connection.bytesAfterFirstFin)
        json.fragment(#","lostBytes":{"client":"#)
        json.appendInteger(connection.lostBytes.client)
        json.fragment(#","server":"#)
        json.appendInteger(connection.lostBytes.server)
        json.fragment(#"},"packets":"#)
        json.appendInteger(Int64(connection.packets))
        json.fragment(#","firstSeen":"#)
        json.append(connection.firstSeen, digits: timestampDigits)
        json.fragment(#","lastSeen":"#)
        json.append(connection.lastSeen, digits: timestampDigits)
        json.fragment(#","zeekState":"#)
        json.append(connection.zeekState?.rawValue)
        json.fragment(#","history":"#)
        json.append(connection.history)
        json.beginArray("notes")
        for note in connection.notes { json.element(note.rawValue) }
        json.endArray()
        writeNotCaptured(connection.notCaptured, into: &json)
        writeCause(connection.cause, into: &json)
        writeStates(connection.states, timestampDigits: timestampDigits, into: &json)
        if !connection.files.isEmpty {
            json.beginArray("files")
            for file in connection.files { json.element(file) }
            json.endArray()
        }
        json.endObject()
    }

    /// Contract 1.6: `{"client", "server", "inferredFin", "text"}` (bytes not captured per side,
    /// the sides whose FIN is inferred, what was inferred in words), or null.
    static func writeNotCaptured(_ notCaptured: NotCaptured?, into json: inout JSONWriter) {
        guard let notCaptured else {
            json.fragment(#","notCaptured":null"#)
            return
        }
        json.beginObject("notCaptured")
        json.field("client", notCaptured.bytes.client)
        json.field("server", notCaptured.bytes.server)
        json.beginArray("inferredFin")
        for side in notCaptured.inferredFIN { json.element(side.rawValue) }
        json.endArray()
        json.field("text", notCaptured.text)
        json.endObject()
    }

    /// Contract 4.1 `cause`: `{"code", "source", "certainty", "kernelReason", "text"}` or null.
    static func writeCause(_ cause: Cause?, into json: inout JSONWriter) {
        guard let cause else {
            json.fragment(#","cause":null"#)
            return
        }
        json.beginObject("cause")
        json.field("code", cause.code.rawValue)
        json.field("source", cause.source.rawValue)
        json.field("certainty", cause.certainty.rawValue)
        json.field("kernelReason", cause.kernelReason)
        json.field("text", cause.text)
        json.endObject()
    }

    /// Contract 4.1 `states`: `{"client": [{"state", "at"}...], "server": [...], "source", "notSeen"}`.
    static func writeStates(_ states: ConnectionStates, timestampDigits: Int, into json: inout JSONWriter) {
        json.beginObject("states")
        for side in Side.allCases {
            if side == .client { json.beginArray("client") } else { json.beginArray("server") }
            for (index, change) in states[side].enumerated() {
                json.fragment(index == 0 ? #"{"state":""# : #",{"state":""#)
                json.fragment(change.state.jsonName)
                json.fragment(#"","at":"#)
                json.append(change.at, digits: timestampDigits)
                json.fragment("}")
            }
            json.endArray()
        }
        json.field("source", states.source.rawValue)
        json.beginArray("notSeen")
        for text in states.notSeen { json.element(text) }
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

extension TCPState {
    /// The name as a static string, written without escaping.
    var jsonName: StaticString {
        switch self {
        case .synSent: return "SYN_SENT"
        case .synReceived: return "SYN_RECEIVED"
        case .established: return "ESTABLISHED"
        case .finWait1: return "FIN_WAIT_1"
        case .finWait2: return "FIN_WAIT_2"
        case .closing: return "CLOSING"
        case .timeWait: return "TIME_WAIT"
        case .closeWait: return "CLOSE_WAIT"
        case .lastAck: return "LAST_ACK"
        case .closed: return "CLOSED"
        }
    }
}
