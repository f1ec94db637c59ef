import TeardownAnalysis
import TeardownReport

/// Draws an ``Explanation`` as a standalone SVG for documentation and bug reports: the client and
/// server as two vertical lines, one arrow per step (client→server blue, server→client green, RST
/// red, FIN thick amber, folded runs dashed), each side's TCP state where it changes (purple, beside
/// its line), the notes to the right, the causes, the states and the verdict below.
public enum LadderSVG {
    static let rowHeight = 34
    /// The time column's right edge: room for times of a million milliseconds and more.
    static let timeX = 110
    static let clientX = 290
    static let serverX = 730
    static let notesX = 900
    static let top = 80
    static let stateColor = "#6e40c9"

    public static func render(_ explanation: Explanation) -> String {
        let connection = explanation.connection
        var rows = 0
        var body: [String] = []
        for step in explanation.steps {
            let y = top + 20 + rows * rowHeight
            body.append(arrow(step, y: y))
            if let state = step.states.client {
                body.append(text(state, x: clientX - 12, y: y + 4, size: 12, fill: stateColor, anchor: "end"))
            }
            if let state = step.states.server {
                body.append(text(state, x: serverX + 12, y: y + 4, size: 12, fill: stateColor))
            }
            for (index, note) in step.notes.enumerated() {
                body.append(text(note, x: notesX, y: y + 4 + index * 16, size: 13, fill: noteColor(step)))
            }
            rows += max(1, (step.notes.count + 1) / 2)
        }
        let laneBottom = top + 20 + rows * rowHeight
        var footer: [String] = []
        var y = laneBottom + 30
        for hint in explanation.hints {
            for line in TextWrap.lines("cause (\(hint.confidence.rawValue)): \(hint.text)", width: 130) {
                footer.append(text(line, x: 20, y: y, size: 13, fill: "#57606a"))
                y += 18
            }
        }
        for state in explanation.stateLines {
            for line in TextWrap.lines(state, width: 130) {
                footer.append(text(line, x: 20, y: y, size: 13, fill: stateColor))
                y += 18
            }
        }
        y += 6
        for line in TextWrap.lines("verdict: \(explanation.summary)", width: 120) {
            footer.append(text(line, x: 20, y: y, size: 14, fill: "#1f2328", weight: "bold"))
            y += 20
        }
        let longestNote = explanation.steps.flatMap(\.notes).map(\.count).max() ?? 0
        let width = max(1300, notesX + longestNote * 7 + 20)
        let height = y + 10
        var svg = [
            ##"<?xml version="1.0" encoding="UTF-8"?>"##,
            ##"<svg xmlns="http://www.w3.org/2000/svg" width="\##(width)" height="\##(height)" viewBox="0 0 \##(width) \##(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">"##,
            ##"<defs>"##,
        ]
        for (name, color) in [("blue", "#0969da"), ("green", "#1a7f37"), ("red", "#cf222e"), ("amber", "#9a6700"), ("gray", "#57606a")] {
            svg.append(
                ##"<marker id="head-\##(name)" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="\##(color)"/></marker>"##)
        }
        svg.append("</defs>")
        svg.append(##"<rect width="100%" height="100%" fill="#ffffff"/>"##)
        svg.append(text("connection \(connection.id): \(connection.client) → \(connection.server)", x: 20, y: 28, size: 16, fill: "#1f2328", weight: "bold"))
        svg.append(text("client \(connection.client)", x: clientX, y: top - 12, size: 13, fill: "#0969da", anchor: "middle"))
        svg.append(text("server \(connection.server)", x: serverX, y: top - 12, size: 13, fill: "#1a7f37", anchor: "middle"))
        svg.append(text("ms", x: timeX, y: top - 12, size: 12, fill: "#57606a", anchor: "end"))
        for x in [clientX, serverX] {
            svg.append(##"<line x1="\##(x)" y1="\##(top)" x2="\##(x)" y2="\##(laneBottom)" stroke="#8c959f" stroke-width="2"/>"##)
        }
        svg += body
        svg += footer
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    static func arrow(_ step: LadderStep, y: Int) -> String {
        let (color, marker) = colors(step)
        let (x1, x2) = step.direction == .toClient ? (serverX, clientX) : (clientX, serverX)
        // A folded run both ways has a head at each end.
        let start = step.direction == .both ? ##" marker-start="url(#head-\##(marker))""## : ""
        let strokeWidth = step.kind == .fin || step.kind == .reset ? 3 : 1.5
        let dash = step.kind == .folded ? ##" stroke-dasharray="6 4""## : ""
        let time = text(LadderText.milliseconds(step.time), x: timeX, y: y + 4, size: 12, fill: "#57606a", anchor: "end")
        let line =
            ##"<line x1="\##(x1)" y1="\##(y)" x2="\##(x2)" y2="\##(y)" stroke="\##(color)" stroke-width="\##(strokeWidth)"\##(dash)\##(start) marker-end="url(#head-\##(marker))"/>"##
        let label = text(step.label, x: (clientX + serverX) / 2, y: y - 6, size: 12, fill: color, anchor: "middle")
        return [time, line, label].joined(separator: "\n")
    }

    static func colors(_ step: LadderStep) -> (String, String) {
        switch step.kind {
        case .reset: return ("#cf222e", "red")
        case .fin: return ("#9a6700", "amber")
        default:
            switch step.direction {
            case .toServer: return ("#0969da", "blue")
            case .toClient: return ("#1a7f37", "green")
            case .both: return ("#57606a", "gray")
            }
        }
    }

    static func noteColor(_ step: LadderStep) -> String {
        step.kind == .reset ? "#cf222e" : "#1f2328"
    }

    static func text(
        _ content: String, x: Int, y: Int, size: Int, fill: String, anchor: String = "start", weight: String = "normal"
    ) -> String {
        ##"<text x="\##(x)" y="\##(y)" font-size="\##(size)" fill="\##(fill)" text-anchor="\##(anchor)" font-weight="\##(weight)">\##(escape(content))</text>"##
    }

    /// XML-escapes text content.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
