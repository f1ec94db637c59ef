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
        let times = explanation.steps.map { Self.milliseconds($0.time) }
        let timeWidth = max(10, times.map(\.count).max() ?? 0)
        var lines = [
            "connection \(connection.id): \(connection.client) → \(connection.server), \(connection.packets) packets",
            "",
            pad("ms", timeWidth) + "  client" + String(repeating: " ", count: max(1, width - 5)) + "server",
        ]
        for (step, time) in zip(explanation.steps, times) {
            let arrow = self.arrow(step, width: width)
            var line = pad(time, timeWidth) + "  │" + arrow + "│"
            if let first = step.notes.first { line += "  " + first }
            lines.append(line)
            for note in step.notes.dropFirst() {
                lines.append(String(repeating: " ", count: timeWidth + 2) + "│" + String(repeating: " ", count: width) + "│  " + note)
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
