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
        let first = json.written { $0.append(connection.firstSeen, digits: timestampDigits) }
        json.fragment(#","lastSeen":"#)
        let last = json.written { $0.append(connection.lastSeen, digits: timestampDigits) }
        json.fragment(#","zeekState":"#)
        json.append(connection.zeekState?.rawValue)
        json.fragment(#","history":"#)
        json.append(connection.history)
        json.beginArray("notes")
        for note in connection.notes { json.element(note.rawValue) }
        json.endArray()
        writeNotCaptured(connection.notCaptured, into: &json)
        writeCause(connection.cause, into: &json)
        writeStates(
            connection.states, timestampDigits: timestampDigits,
            written: (connection.firstSeen.nanoseconds, first, connection.lastSeen.nanoseconds, last), into: &json)
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

    /// Where the line's `firstSeen` and `lastSeen` were written: two of the times states mostly
    /// have (a third of the 10 M capture's state changes), copied rather than formatted again.
    typealias WrittenTimes = (first: Int64, firstText: Range<Int>, last: Int64, lastText: Range<Int>)

    /// Contract 4.1 `states`: `{"client": [{"state", "at"}...], "server": [...], "source", "notSeen"}`.
    /// Written as literal fragments (after other members: a comma first), like the connection's
    /// own members: every connection has them.
    static func writeStates(
        _ states: ConnectionStates, timestampDigits: Int, written: WrittenTimes, into json: inout JSONWriter
    ) {
        json.fragment(#","states":{"client":["#)
        writeChanges(states.client, timestampDigits: timestampDigits, written: written, into: &json)
        json.fragment(#"],"server":["#)
        writeChanges(states.server, timestampDigits: timestampDigits, written: written, into: &json)
        switch states.source {
        case .wire: json.fragment(#"],"source":"wire","notSeen":["#)
        case .kernel: json.fragment(#"],"source":"kernel","notSeen":["#)
        }
        for (index, text) in states.notSeen.enumerated() {
            if index > 0 { json.fragment(",") }
            json.appendString(text)
        }
        json.fragment("]}")
    }

    /// One side's `{"state", "at"}` objects, comma-separated.
    @inline(__always)
    private static func writeChanges(
        _ changes: StateSequence, timestampDigits: Int, written: WrittenTimes, into json: inout JSONWriter
    ) {
        var first = true
        changes.forEachChange { state, nanoseconds in
            json.stateMember(state, first: first)
            if nanoseconds == written.first {
                json.repeatText(written.firstText)
            } else if nanoseconds == written.last {
                json.repeatText(written.lastText)
            } else {
                json.append(Timestamp(nanoseconds: nanoseconds), digits: timestampDigits)
            }
            json.fragment("}")
            first = false
        }
    }
}

/// The streaming path of `--format jsonl`: lines collect in one buffer, handed over whenever it
/// holds `flushSize` bytes or more (whole lines only) and at ``flush()``.
public final class JSONLinesStream {
    private var json: JSONWriter
    private let flushSize: Int
    private let exchange: (UnsafeMutableBufferPointer<UInt8>, Int) -> UnsafeMutableBufferPointer<UInt8>

    /// - Parameter sink: receives whole lines, each ending in a newline (copied out of the
    ///   stream's buffer, which is reused).
    public convenience init(flushSize: Int = 1 << 16, sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.init(flushSize: flushSize) { buffer, count in
            sink(UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
            return buffer
        }
    }

    /// - Parameter exchange: takes over a buffer whose first `count` bytes are whole lines, each
    ///   ending in a newline, and returns a buffer for the next lines (allocated as
    ///   `UnsafeMutableBufferPointer<UInt8>`; the stream frees the one it holds last). The lines
    ///   are then never copied between formatting and their owner.
    public init(
        flushSize: Int = 1 << 16,
        exchange: @escaping (_ full: UnsafeMutableBufferPointer<UInt8>, _ count: Int) -> UnsafeMutableBufferPointer<UInt8>
    ) {
        self.flushSize = flushSize
        self.exchange = exchange
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
        json.exchangeBuffer(exchange)
    }
}

extension JSONWriter {
    /// `{"state":"NAME","at":` for `state`, after a comma unless `first`.
    mutating func stateMember(_ state: TCPState, first: Bool) {
        let index: Int
        switch state {
        case .synSent: index = 0
        case .synReceived: index = 1
        case .established: index = 2
        case .finWait1: index = 3
        case .finWait2: index = 4
        case .closing: index = 5
        case .timeWait: index = 6
        case .closeWait: index = 7
        case .lastAck: index = 8
        case .closed: index = 9
        }
        put(slot: index, of: Self.stateMembers, after: first ? nil : UInt8(ascii: ","))
    }

    /// The members of ``stateMember(_:first:)`` in 32-byte slots, in ``TCPState/allCases`` order:
    /// each padded with spaces to 31 bytes, then its length.
    private static let stateMembers: StaticString = """
        {"state":"SYN_SENT","at":      \u{19}{"state":"SYN_RECEIVED","at":  \u{1d}{"state":"ESTABLISHED","at":   \u{1c}\
        {"state":"FIN_WAIT_1","at":    \u{1b}{"state":"FIN_WAIT_2","at":    \u{1b}{"state":"CLOSING","at":       \u{18}\
        {"state":"TIME_WAIT","at":     \u{1a}{"state":"CLOSE_WAIT","at":    \u{1b}{"state":"LAST_ACK","at":      \u{19}\
        {"state":"CLOSED","at":        \u{17}
        """
}
