import TeardownAnalysis
import TeardownReport

/// Draws an ``Explanation`` for a terminal: a time column, the client and server columns with one
/// arrow per step between them, the notes beside the arrows, then the causes and the verdict.
///
/// ```
///        ms  client                                server
///     0.000  │──SYN seq 0─────────────────────────▶│
///     0.061  │◀──────────────SYN,ACK seq 0 ack 1───│
/// ```
public struct LadderText {
    /// ANSI colours: client→server blue, server→client green, RST red, FIN yellow.
    public var color: Bool

    /// Columns every line fits in: arrows narrow, and notes and paragraphs wrap at spaces, to stay
    /// within it (as far as the labels allow).
    public var columns: Int

    public init(color: Bool, columns: Int = 100) {
        self.color = color
        self.columns = columns
    }

    public func render(_ explanation: Explanation) -> String {
        var explanation = explanation
        let connection = explanation.connection
        let times = explanation.steps.map { Self.milliseconds($0.time) }
        let timeWidth = max(10, times.map(\.count).max() ?? 0)
        let longest = explanation.steps.map(\.label.count).max() ?? 0
        // A state column on each side, as wide as its longest label; where that leaves no room
        // for the arrows, several states entered at once (`SYN_SENT→…→TIME_WAIT`) show the last.
        func stateWidths() -> (client: Int, server: Int) {
            (explanation.steps.compactMap(\.states.client).map(\.count).max() ?? 0,
             explanation.steps.compactMap(\.states.server).map(\.count).max() ?? 0)
        }
        if timeWidth + 2 + stateWidths().client + 1 + longest + 4 + 2 + stateWidths().server + 1 > columns {
            for index in explanation.steps.indices {
                for side in Side.allCases {
                    if let state = explanation.steps[index].states[side], let last = state.split(separator: "→").last,
                        state.contains("→")
                    {
                        explanation.steps[index].states[side] = "→" + last
                    }
                }
            }
        }
        let (clientStates, serverStates) = stateWidths()
        let left = clientStates > 0 ? clientStates + 1 : 0
        // Arrows 40 columns wide or as the longest label needs, narrower when the row would not
        // fit in ``columns`` otherwise (never narrower than a label).
        let room = columns - (timeWidth + 2 + left + 2 + (serverStates > 0 ? serverStates + 1 : 0))
        let width = max(longest + 4, min(max(40, longest + 8), room))
        var lines = wrap(
            "connection \(connection.id): \(connection.client) → \(connection.server), \(connection.packets) packets", indent: 2)
        lines.append("")
        lines.append(pad("ms", timeWidth) + "  " + String(repeating: " ", count: left) + "client"
            + String(repeating: " ", count: max(1, width - 5)) + "server")
        // Notes that do not fit beside the row go below it, from the client's line on.
        let noteIndent = String(repeating: " ", count: timeWidth + 2 + left) + "│  "
        for (step, time) in zip(explanation.steps, times) {
            let clientState = (step.states.client ?? "").padding(to: clientStates)
            var line = pad(time, timeWidth) + "  " + (left > 0 ? clientState + " " : "") + "│" + arrow(step, width: width) + "│"
            if let state = step.states.server { line += " " + state }
            let visible = timeWidth + 2 + left + width + 2 + (step.states.server.map { $0.count + 1 } ?? 0)
            var notes = step.notes[...]
            if let first = notes.first, visible + 2 + first.count <= columns {
                line += "  " + first
                notes = notes.dropFirst()
            }
            lines.append(line)
            for note in notes {
                for part in TextWrap.lines(note, width: columns - noteIndent.count, indent: 2) {
                    lines.append(noteIndent + part)
                }
            }
        }
        lines.append("")
        for hint in explanation.hints { lines += wrap("cause (\(hint.confidence.rawValue)): \(hint.text)", indent: 2) }
        for text in explanation.stateLines { lines += wrap(text, indent: 2) }
        lines += wrap("verdict: \(explanation.summary)", indent: 2)
        return lines.joined(separator: "\n") + "\n"
    }

    /// `text` as a paragraph of at most ``columns`` columns, later lines indented by `indent`.
    func wrap(_ text: String, indent: Int) -> [String] { TextWrap.lines(text, width: columns, indent: indent) }

    /// `──LABEL────▶`, `◀────LABEL──` or (a folded run both ways) `◀─LABEL───▶`, exactly `width`
    /// columns.
    func arrow(_ step: LadderStep, width: Int) -> String {
        let fill = String(repeating: "─", count: max(0, width - step.label.count - 4))
        let body: String
        switch step.direction {
        case .toServer: body = "──" + step.label + fill + "─▶"
        case .toClient: body = "◀─" + fill + step.label + "──"
        case .both: body = "◀─" + step.label + fill + "─▶"
        }
        guard color else { return body }
        let code: String
        switch step.kind {
        case .reset: code = "1;31"
        case .fin: code = "1;33"
        default: code = step.direction == .toServer ? "34" : step.direction == .toClient ? "32" : "2"
        }
        return "\u{1B}[\(code)m" + body + "\u{1B}[0m"
    }

    /// `12.345` milliseconds with three decimals (`-0.250` before the first packet, which a
    /// capture out of time order can have).
    static func milliseconds(_ nanoseconds: Int64) -> String {
        let magnitude = nanoseconds.magnitude
        let micro = magnitude / 1000 + (magnitude % 1000 >= 500 ? 1 : 0)
        let fraction = String(micro % 1000)
        let sign = nanoseconds < 0 && micro > 0 ? "-" : ""
        return "\(sign)\(micro / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

extension String {
    /// Padded with spaces on the right to `width` characters.
    func padding(to width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
}
