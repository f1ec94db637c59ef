import TeardownAnalysis
import TeardownReport
import TeardownWire

/// Builds an ``Explanation`` from a connection's result and its segments in capture order, as the
/// analysis saw them (``SegmentFact``: the side that sent each, and its sequence and
/// acknowledgement positions in the tracker's sequence spaces), so the ladder and the verdict come
/// from one view of the connection.
///
/// The annotations follow the wire shapes of contract section 3.2 and the kernel behaviours the
/// scenarios reproduce: a FIN (no more data from that side), data after the peer's FIN (a
/// half-close in use), crossing FINs (simultaneous close), the reset that ended the connection and
/// what its shape says about its cause, the active closer entering TIME_WAIT.
public enum Explainer {
    /// Runs of at least this many ordinary segments (no SYN, FIN or RST, nothing to say about them)
    /// are folded into one line.
    public static let foldThreshold = 6

    /// - Parameter unfold: draw every segment, folding no run (`explain --unfold`).
    public static func explain(_ connection: Connection, segments: [SegmentFact], unfold: Bool = false) -> Explanation {
        var walk = Walk(connection: connection, segments: segments, foldThreshold: unfold ? .max : foldThreshold)
        walk.run()
        var explanation = Explanation(
            connection: connection, steps: walk.steps, hints: walk.hints, summary: summary(connection))
        explanation.stateLines = stateLines(connection.states)
        // 1.6 What the capture missed, as the acknowledgements prove it.
        if let notCaptured = connection.notCaptured { explanation.stateLines.append("not captured: \(notCaptured.text)") }
        return explanation
    }

    /// `client: SYN_SENT → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT`, the same for the
    /// server, then what the last states mean and what the capture did not show.
    public static func stateLines(_ states: ConnectionStates) -> [String] {
        var lines: [String] = []
        for side in Side.allCases where !states[side].isEmpty {
            lines.append("\(side) states: " + states[side].map(\.state.rawValue).joined(separator: " → "))
        }
        for side in Side.allCases {
            switch states.final(side) {
            case .timeWait?:
                lines.append("the \(side) waits in TIME_WAIT (it closed first); the \(side.peer) is done")
            case .closeWait?:
                lines.append("the \(side) was left in CLOSE_WAIT when the capture ended: it acknowledged the \(side.peer)'s FIN but had not closed")
            case .finWait2?:
                lines.append("the \(side) was left in FIN_WAIT_2 when the capture ended: the \(side.peer) had not closed its side")
            default:
                break
            }
        }
        for text in states.notSeen { lines.append("not seen: \(text)") }
        return lines
    }

    /// Every connection of `analysis` whose segments were recorded (``AnalysisOptions/recording``),
    /// in order of first packet.
    public static func explanations(of analysis: CaptureAnalysis, unfold: Bool = false) -> [Explanation] {
        analysis.connections.compactMap { connection in
            analysis.segments[connection.id].map { explain(connection, segments: $0, unfold: unfold) }
        }
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
    let segments: [SegmentFact]
    var steps: [LadderStep] = []
    var hints: [CauseHint] = []
    /// Pending ordinary segments, not yet emitted (they may be folded).
    var pending: [(fact: SegmentFact, step: LadderStep)] = []

    /// Highest position of payload sent, per side.
    var payloadEnd = PerSide<Int64>(client: 0, server: 0)
    /// Position of each side's first FIN.
    var fin = PerSide<Int64?>(client: nil, server: nil)
    var highestAck = PerSide<Int64>(client: 0, server: 0)
    /// The next state change of each side not yet put on a row.
    var nextState = PerSide(client: 0, server: 0)
    var notedHalfClose = false
    var notedTimeWait = false
    var notedEndingReset = false

    /// Runs of this many ordinary segments or more are folded into one line.
    let foldThreshold: Int

    init(connection: Connection, segments: [SegmentFact], foldThreshold: Int) {
        self.connection = connection
        self.segments = segments
        self.foldThreshold = foldThreshold
    }

    mutating func run() {
        guard let first = segments.first?.segment else { return }
        for fact in segments {
            let segment = fact.segment, side = fact.side
            let flags = segment.flags
            let sequence = fact.sequencePosition + (flags.contains(.syn) ? 1 : 0)
            let length = Int64(segment.payloadLength)
            var notes: [String] = []
            let name = side.rawValue
            let peer = side.peer.rawValue

            if flags.contains(.rst) {
                notes += resetNotes(fact)
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
                    notes.append(finNote(fact))
                    fin[side] = sequence + length
                }
                // The first closer enters TIME_WAIT when it acknowledges the second FIN.
                let closedFirst = connection.firstCloser == .both || connection.firstCloser?.rawValue == name
                if flags.contains(.ack), !notedTimeWait, closedFirst, connection.resetBy == nil,
                    let peerFIN = fin[side.peer], fin[side] != nil,
                    fact.acknowledgmentPosition > peerFIN
                {
                    notedTimeWait = true
                    notes.append(timeWaitNote())
                }
            }
            if length > 0 && !flags.contains(.rst) { payloadEnd[side] = max(payloadEnd[side], sequence + length) }
            if flags.contains(.ack) {
                highestAck[side] = max(highestAck[side], fact.acknowledgmentPosition)
            }

            var step = LadderStep(
                time: segment.timestamp.nanoseconds(since: first.timestamp),
                direction: side == .client ? .toServer : .toClient,
                label: label(fact), kind: kind(flags), notes: notes)
            // The states each side entered by the time of this segment (each change is dated by
            // the segment that proves it).
            for side in Side.allCases {
                var entered: [String] = []
                let changes = connection.states[side]
                while nextState[side] < changes.count, changes[nextState[side]].at <= segment.timestamp {
                    entered.append(changes[nextState[side]].state.rawValue)
                    nextState[side] += 1
                }
                // Several changes at once (the segment proved them all): the first and the last.
                if entered.count > 2 { entered = [entered[0], "…", entered[entered.count - 1]] }
                if !entered.isEmpty { step.states[side] = entered.joined(separator: "→") }
            }
            if notes.isEmpty && step.kind == .plain && step.states.client == nil && step.states.server == nil {
                pending.append((fact, step))
            } else {
                flushRun()
                steps.append(step)
            }
        }
        flushRun()
    }

    /// Emits the pending ordinary segments, folded into one line when there are many, whose note
    /// says the payload of each direction and when the run ended (it began at the row's time).
    mutating func flushRun() {
        defer { pending.removeAll() }
        guard pending.count >= foldThreshold else {
            steps += pending.map(\.step)
            return
        }
        var bytes = PerSide<Int64>(client: 0, server: 0)
        for (fact, _) in pending { bytes[fact.side] += Int64(fact.segment.payloadLength) }
        var parts: [String] = []
        if bytes.client > 0 { parts.append("\(bytes.client) B client→server") }
        if bytes.server > 0 { parts.append("\(bytes.server) B server→client") }
        parts.append("until \(LadderText.milliseconds(pending[pending.count - 1].step.time)) ms")
        let direction: LadderStep.Direction =
            bytes.client > 0 && bytes.server > 0 ? .both : bytes.server > 0 ? .toClient : .toServer
        // The arrow stays short (it must fit between the sides); what the run carried is its note.
        steps.append(LadderStep(
            time: pending[0].step.time, direction: direction, label: "\(pending.count) segments", kind: .folded,
            notes: [parts.joined(separator: ", ")]))
    }

    func label(_ fact: SegmentFact) -> String {
        let segment = fact.segment, flags = segment.flags
        var names: [String] = []
        if flags.contains(.syn) { names.append("SYN") }
        if flags.contains(.fin) { names.append("FIN") }
        if flags.contains(.rst) { names.append("RST") }
        if flags.contains(.psh) { names.append("PSH") }
        if flags.contains(.ack) { names.append("ACK") }
        var text = names.isEmpty ? "(no flags)" : names.joined(separator: ",")
        text += " seq \(fact.sequencePosition)"
        if flags.contains(.ack) { text += " ack \(fact.acknowledgmentPosition)" }
        if segment.payloadLength > 0 { text += " len \(segment.payloadLength)" }
        return text
    }

    func kind(_ flags: TCPFlags) -> LadderStep.Kind {
        if flags.contains(.rst) { return .reset }
        if flags.contains(.fin) { return .fin }
        if flags.contains(.syn) { return .syn }
        return .plain
    }

    mutating func finNote(_ fact: SegmentFact) -> String {
        let side = fact.side, name = side.rawValue, peer = side.peer.rawValue
        guard let peerFIN = fin[side.peer] else {
            return "\(name) FIN — no more data from the \(name) (shutdown or close)"
        }
        let acknowledgesPeerFIN =
            fact.segment.flags.contains(.ack) && fact.acknowledgmentPosition > peerFIN
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
    mutating func resetNotes(_ fact: SegmentFact) -> [String] {
        let segment = fact.segment, side = fact.side, name = side.rawValue, peer = side.peer.rawValue
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
        // The kernel that sent the reset said why (contract 2.5, source kernel): no guessing.
        if let cause = connection.cause, cause.source == .kernel {
            hints.append(CauseHint(confidence: .confirmedByKernel, text: cause.text))
            return ["\(name) RST: \(cause.code) (the kernel: \(cause.kernelReason ?? "no reset sent"))\(lostText)"]
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
            let matchesPeerAck = fact.sequencePosition == highestAck[side.peer]
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
                text: "The \(name) reset right after its own data was acknowledged, without a FIN: close() with SO_LINGER {1, 0} (an abortive close), or close() with part of the \(peer)'s data still unread (a server that answers before reading the whole request): the wire shows both the same way."))
            return ["\(name) RST+ACK after its data was acknowledged: SO_LINGER 0, or close() with data unread\(lostText)"]
        }
        return ["\(name) RST ends the connection\(lostText)"]
    }
}
