import TeardownAnalysis

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

    public init(color: Bool) { self.color = color }

    public func render(_ explanation: Explanation) -> String {
        let connection = explanation.connection
        let width = max(40, (explanation.steps.map(\.label.count).max() ?? 0) + 8)
        var lines = [
            "connection \(connection.id): \(connection.client) → \(connection.server), \(connection.packets) packets",
            "",
            pad("ms", 10) + "  client" + String(repeating: " ", count: max(1, width - 5)) + "server",
        ]
        for step in explanation.steps {
            let arrow = self.arrow(step, width: width)
            var line = pad(Self.milliseconds(step.time), 10) + "  │" + arrow + "│"
            if let first = step.notes.first { line += "  " + first }
            lines.append(line)
            for note in step.notes.dropFirst() {
                lines.append(String(repeating: " ", count: 12) + "│" + String(repeating: " ", count: width) + "│  " + note)
            }
        }
        lines.append("")
        for hint in explanation.hints { lines.append("cause (\(hint.confidence.rawValue)): \(hint.text)") }
        lines.append("verdict: \(explanation.summary)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `──LABEL────▶` or `◀────LABEL──`, exactly `width` columns.
    func arrow(_ step: LadderStep, width: Int) -> String {
        let fill = String(repeating: "─", count: max(0, width - step.label.count - 4))
        let body = step.direction == .toServer ? "──" + step.label + fill + "─▶" : "◀─" + fill + step.label + "──"
        guard color else { return body }
        let code: String
        switch step.kind {
        case .reset: code = "1;31"
        case .fin: code = "1;33"
        default: code = step.direction == .toServer ? "34" : "32"
        }
        return "\u{1B}[\(code)m" + body + "\u{1B}[0m"
    }

    /// `12.345` milliseconds with three decimals.
    static func milliseconds(_ nanoseconds: Int64) -> String {
        let micro = (nanoseconds + 500) / 1000
        let fraction = String(micro % 1000)
        return "\(micro / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
