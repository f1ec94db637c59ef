import TeardownAnalysis
import TeardownReport
import TeardownWire

/// Builds an ``Explanation`` from a connection's result and its segments in capture order.
///
/// The annotations follow the wire shapes of contract section 3.2 and the kernel behaviours the
/// scenarios reproduce: a FIN (no more data from that side), data after the peer's FIN (a
/// half-close in use), crossing FINs (simultaneous close), the reset that ended the connection and
/// what its shape says about its cause, the active closer entering TIME_WAIT.
public enum Explainer {
    /// Runs of at least this many ordinary segments (no SYN, FIN or RST, nothing to say about them)
    /// are folded into one line.
    public static let foldThreshold = 6

    public static func explain(_ connection: Connection, segments: [TCPSegment]) -> Explanation {
        var walk = Walk(connection: connection, segments: segments)
        walk.run()
        return Explanation(
            connection: connection, steps: walk.steps, hints: walk.hints, summary: summary(connection))
    }

    /// `abortive — client reset after its FIN; 9 server bytes lost. First closer: client. Reset by:
    /// client. Lost bytes: client 0, server 9.`
    public static func summary(_ connection: Connection) -> String {
        var text = connection.verdict.rawValue
        if connection.verdict == .halfClosed { text += connection.completed ? " (completed)" : " (not completed)" }
        let phrase = Evidence.phrase(connection)
        if !phrase.isEmpty { text += " — " + phrase }
        text += ". First closer: \(connection.firstCloser?.rawValue ?? "none")."
        text += " Reset by: \(connection.resetBy?.rawValue ?? "none")."
        text += " Lost bytes: client \(connection.lostBytes.client), server \(connection.lostBytes.server)."
        return text
    }
}

/// One pass over the segments, keeping what each side has done so far.
private struct Walk {
    let connection: Connection
    let segments: [TCPSegment]
    var steps: [LadderStep] = []
    var hints: [CauseHint] = []
    /// Pending ordinary segments, not yet emitted (they may be folded).
    var pending: [(segment: TCPSegment, step: LadderStep)] = []

    var base = PerSide<UInt32>(client: 0, server: 0)
    /// Highest relative end of payload sent, per side.
    var payloadEnd = PerSide<Int64>(client: 0, server: 0)
    /// Relative position of each side's first FIN.
    var fin = PerSide<Int64?>(client: nil, server: nil)
    var highestAck = PerSide<Int64>(client: 0, server: 0)
    var notedHalfClose = false
    var notedTimeWait = false
    var notedEndingReset = false

    init(connection: Connection, segments: [TCPSegment]) {
        self.connection = connection
        self.segments = segments
        base = Self.bases(connection, segments)
    }

    /// The sequence number each side counts from: its SYN, else one before its first segment (the
    /// reset itself when that comes first), else one before the first acknowledgement of it.
    static func bases(_ connection: Connection, _ segments: [TCPSegment]) -> PerSide<UInt32> {
        var result = PerSide<UInt32?>(client: nil, server: nil)
        var fromAcks = PerSide<UInt32?>(client: nil, server: nil)
        for segment in segments {
            let side = self.side(of: segment, connection)
            if segment.flags.contains(.syn) && !segment.flags.contains(.rst) {
                if result[side] == nil || !(segment.flags.contains(.ack) && side == .client) {
                    result[side] = segment.sequenceNumber
                }
            } else if result[side] == nil {
                // A reset as the first segment (a refusal) is shown at its own number, data at 1.
                result[side] = segment.sequenceNumber &- (segment.flags.contains(.rst) ? 0 : 1)
            }
            if segment.flags.contains(.ack), fromAcks[side.peer] == nil {
                fromAcks[side.peer] = segment.acknowledgmentNumber &- 1
            }
        }
        return PerSide(
            client: result.client ?? fromAcks.client ?? 0, server: result.server ?? fromAcks.server ?? 0)
    }

    static func side(of segment: TCPSegment, _ connection: Connection) -> Side {
        segment.source == connection.client.address && segment.sourcePort == connection.client.port ? .client : .server
    }

    func relative(_ number: UInt32, of side: Side) -> Int64 {
        Int64(number &- base[side])
    }

    mutating func run() {
        guard let first = segments.first else { return }
        for segment in segments {
            let side = Self.side(of: segment, connection)
            let flags = segment.flags
            let sequence = relative(segment.sequenceNumber, of: side) + (flags.contains(.syn) ? 1 : 0)
            let length = Int64(segment.payloadLength)
            var notes: [String] = []
            let name = side.rawValue
            let peer = side.peer.rawValue

            if flags.contains(.rst) {
                notes += resetNotes(segment, from: side)
            } else {
                if length > 0, fin[side.peer] != nil, sequence + length > payloadEnd[side], !notedHalfClose {
                    notedHalfClose = true
                    if connection.resetBy == side.peer && connection.verdict == .abortive {
                        // The closer reset in answer: it had closed both ways, not half-closed.
                        notes.append("\(name) keeps sending after the \(peer)'s FIN")
                    } else {
                        notes.append("\(name) keeps sending after the \(peer)'s FIN: half-close")
                        hints.append(CauseHint(
                            confidence: .certain,
                            text: "The \(peer) half-closed (shutdown(SHUT_WR)) and the \(name) went on sending: \(connection.bytesAfterFirstFin) bytes after the FIN."))
                    }
                }
                if flags.contains(.fin), fin[side] == nil {
                    notes.append(finNote(segment, from: side))
                    fin[side] = sequence + length
                }
                // The first closer enters TIME_WAIT when it acknowledges the second FIN.
                let closedFirst = connection.firstCloser == .both || connection.firstCloser?.rawValue == name
                if flags.contains(.ack), !notedTimeWait, closedFirst, connection.resetBy == nil,
                    let peerFIN = fin[side.peer], fin[side] != nil,
                    relative(segment.acknowledgmentNumber, of: side.peer) > peerFIN
                {
                    notedTimeWait = true
                    notes.append(timeWaitNote())
                }
            }
            if length > 0 && !flags.contains(.rst) { payloadEnd[side] = max(payloadEnd[side], sequence + length) }
            if flags.contains(.ack) {
                highestAck[side] = max(highestAck[side], relative(segment.acknowledgmentNumber, of: side.peer))
            }

            let step = LadderStep(
                time: segment.timestamp.nanoseconds(since: first.timestamp),
                direction: side == .client ? .toServer : .toClient,
                label: label(segment, from: side), kind: kind(flags), notes: notes)
            if notes.isEmpty && step.kind == .plain {
                pending.append((segment, step))
            } else {
                flushRun()
                steps.append(step)
            }
        }
        flushRun()
    }

    /// Emits the pending ordinary segments, folded into one line when there are many.
    mutating func flushRun() {
        defer { pending.removeAll() }
        guard pending.count >= Explainer.foldThreshold else {
            steps += pending.map(\.step)
            return
        }
        var bytes = PerSide<Int64>(client: 0, server: 0)
        for (segment, _) in pending { bytes[Self.side(of: segment, connection)] += Int64(segment.payloadLength) }
        let toServer = bytes.client >= bytes.server
        var label = "… \(pending.count) segments, \(toServer ? bytes.client : bytes.server) bytes"
        let other = toServer ? bytes.server : bytes.client
        if other > 0 { label += " (\(other) the other way)" }
        steps.append(LadderStep(
            time: pending[0].step.time, direction: toServer ? .toServer : .toClient, label: label + " …", kind: .folded,
            notes: []))
    }

    func label(_ segment: TCPSegment, from side: Side) -> String {
        let flags = segment.flags
        var names: [String] = []
        if flags.contains(.syn) { names.append("SYN") }
        if flags.contains(.fin) { names.append("FIN") }
        if flags.contains(.rst) { names.append("RST") }
        if flags.contains(.psh) { names.append("PSH") }
        if flags.contains(.ack) { names.append("ACK") }
        var text = names.isEmpty ? "(no flags)" : names.joined(separator: ",")
        text += " seq \(relative(segment.sequenceNumber, of: side))"
        if flags.contains(.ack) { text += " ack \(relative(segment.acknowledgmentNumber, of: side.peer))" }
        if segment.payloadLength > 0 { text += " len \(segment.payloadLength)" }
        return text
    }

    func kind(_ flags: TCPFlags) -> LadderStep.Kind {
        if flags.contains(.rst) { return .reset }
        if flags.contains(.fin) { return .fin }
        if flags.contains(.syn) { return .syn }
        return .plain
    }

    mutating func finNote(_ segment: TCPSegment, from side: Side) -> String {
        let name = side.rawValue, peer = side.peer.rawValue
        guard let peerFIN = fin[side.peer] else {
            return "\(name) FIN — no more data from the \(name) (shutdown or close)"
        }
        let acknowledgesPeerFIN =
            segment.flags.contains(.ack) && relative(segment.acknowledgmentNumber, of: side.peer) > peerFIN
        if !acknowledgesPeerFIN && connection.firstCloser == .both {
            hints.append(CauseHint(
                confidence: .certain,
                text: "Both sides closed at once: each FIN left before the other's arrived (simultaneous close); both enter TIME_WAIT."))
            return "\(name) FIN crosses the \(peer)'s FIN: simultaneous close"
        }
        return "\(name) FIN — the \(name) is done too"
    }

    func timeWaitNote() -> String {
        switch connection.firstCloser {
        case .both?: return "both sides enter TIME_WAIT (simultaneous close)"
        case let closer?: return "\(closer.rawValue) enters TIME_WAIT (it closed first)"
        case nil: return "TIME_WAIT"
        }
    }

    /// What a reset means: the one that ended the connection gets its cause; later ones are noise.
    mutating func resetNotes(_ segment: TCPSegment, from side: Side) -> [String] {
        let name = side.rawValue, peer = side.peer.rawValue
        if connection.notes.contains(.trailingRST) && fin.client != nil && fin.server != nil && connection.resetBy == nil {
            guard !notedEndingReset else { return [] }
            notedEndingReset = true
            hints.append(CauseHint(
                confidence: .likely,
                text: "A reset after the teardown had finished: a late segment reached a socket already closed or in TIME_WAIT. It destroyed nothing."))
            return ["\(name) RST after the teardown finished: changes nothing (trailing reset)"]
        }
        guard connection.resetBy == side, !notedEndingReset else { return [] }
        notedEndingReset = true
        let lost = connection.lostBytes
        var lostText = ""
        if lost.client > 0 || lost.server > 0 {
            var parts: [String] = []
            if lost.client > 0 { parts.append("\(lost.client) client bytes") }
            if lost.server > 0 { parts.append("\(lost.server) server bytes") }
            lostText = " — " + parts.joined(separator: " and ") + " lost"
        }
        let acknowledged = segment.flags.contains(.ack)
        if connection.verdict == .refused {
            hints.append(CauseHint(
                confidence: .certain,
                text: "The SYN was answered by a reset: nothing listened on \(connection.server) (connection refused)."))
            return ["\(name) RST answers the SYN: nothing listens there (refused)"]
        }
        if connection.verdict == .attempt {
            return ["\(name) RST gives up its own unanswered SYN"]
        }
        if fin[side] != nil && connection.bytesAfterFirstFin > 0 && connection.firstCloser?.rawValue == name {
            let matchesPeerAck = relative(segment.sequenceNumber, of: side) == highestAck[side.peer]
            hints.append(CauseHint(
                confidence: .likely,
                text: "The \(name) called close() while the \(peer) was still sending; data that reaches a closed socket is answered with a reset (RFC 1122 4.2.2.13)\(matchesPeerAck ? ", and this reset's sequence number is the \(peer)'s acknowledgement, the shape Linux sends" : "")."))
            return ["\(name) RST: data arrived after the \(name) closed\(lostText)"]
        }
        if connection.notes.contains(.unreadDataSuspected) {
            hints.append(CauseHint(
                confidence: .suspected,
                text: "The \(name) closed with data it had received but never read: Linux then sends a reset instead of a FIN (RFC 2525 2.17). The wire cannot show unread data; the reset acknowledging all of the \(peer)'s data with no answer is its shape."))
            return ["\(name) RST acknowledges all received data while the application never answered: close() with unread data suspected (RFC 2525)\(lostText)"]
        }
        if acknowledged && fin[side] == nil && payloadEnd[side] <= highestAck[side.peer] {
            hints.append(CauseHint(
                confidence: .likely,
                text: "The \(name) reset right after its own data was acknowledged, without a FIN: close() with SO_LINGER {1, 0} (an abortive close) or an application abort."))
            return ["\(name) RST+ACK after its data was acknowledged: SO_LINGER 0 or abort\(lostText)"]
        }
        return ["\(name) RST ends the connection\(lostText)"]
    }
}

extension Explainer {
    /// Explains the connections of an opened capture that `choose` picks from its analysis: the
    /// file is read twice, once to analyse it and once to collect the chosen connections' segments
    /// (memory grows with those connections only).
    public static func explain(
        file: CaptureFile, name: String, options: AnalysisOptions, choose: (CaptureAnalysis) -> [Int]
    ) -> (analysis: CaptureAnalysis, explanations: [Explanation]) {
        let analysis = CaptureAnalyzer.analyze(file: file, name: name, options: options)
        let chosen = choose(analysis)
        let wanted = Set(chosen)
        var segments: [Int: [TCPSegment]] = [:]
        var second = AnalysisOptions(filter: options.filter)
        second.limits = options.limits
        second.onConnection = { _ in }
        second.onSegment = { segment, id in
            if wanted.contains(id) { segments[id, default: []].append(segment) }
        }
        _ = CaptureAnalyzer.analyze(file: file, name: name, options: second)
        let byID = Dictionary(analysis.connections.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let explanations = chosen.compactMap { id in
            byID[id].map { explain($0, segments: segments[id] ?? []) }
        }
        return (analysis, explanations)
    }
}
