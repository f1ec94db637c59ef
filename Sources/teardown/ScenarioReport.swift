import TeardownAnalysis
import TeardownReport
import TeardownScenarios

/// How `teardown run` prints its results: the wire's view beside the applications'.
enum ScenarioReport {
    static func render(_ results: [ScenarioResult], format: OutputFormat, color: Bool, columns: Int = .max) -> String {
        switch format {
        case .text, .summary: return text(results, color: color, columns: columns)
        case .json: return "[" + results.map(json).joined(separator: ",") + "]\n"
        case .jsonl: return results.map { json($0) + "\n" }.joined()
        case .zeek: return ZeekLog.render(results.map(\.analysis))
        }
    }

    /// The text report, each line within `columns` (wrapped at spaces under its value).
    static func text(_ results: [ScenarioResult], color: Bool, columns: Int = .max) -> String {
        var output = ""
        /// `label` and `value` as lines of at most `columns`, later ones under the value.
        func field(_ label: String, _ value: String) {
            let head = "    " + label + String(repeating: " ", count: max(0, 13 - label.count))
            for line in TextWrap.lines(head + value, width: columns, indent: head.count) { output += line + "\n" }
        }
        for result in results {
            let mark = result.passed ? (color ? "\u{1B}[32m✔\u{1B}[0m" : "✔") : (color ? "\u{1B}[1;31m✘\u{1B}[0m" : "✘")
            let title = TextWrap.lines("\(result.scenario.name): \(result.scenario.summary)", width: columns - 2, indent: 2)
            output += "\(mark) " + title.joined(separator: "\n  ") + "\n"
            field("expected:", result.scenario.expectation.summary)
            if let connection = result.connection {
                field("wire:", wireSummary(connection))
            } else {
                field("wire:", "\(counted(result.analysis.connections.count, "connection")) captured")
            }
            field("application:", applicationSummary(result.application))
            for remark in result.application.remarks { field("", remark) }
            for failure in result.failures { field("FAILED:", failure) }
        }
        let passed = results.filter(\.passed).count
        let seconds = Double(results.reduce(0) { $0 + $1.elapsedNanoseconds }) / 1e9
        output += "\(counted(results.count, "scenario")): \(passed) passed, \(results.count - passed) failed"
        output += " (\((seconds * 100).rounded() / 100) s)\n"
        return output
    }

    static func wireSummary(_ connection: Connection) -> String {
        var parts = [connection.verdict.rawValue]
        if connection.verdict == .halfClosed { parts.append(connection.completed ? "completed" : "not completed") }
        if let closer = connection.firstCloser {
            parts.append(closer == .both ? "both closed at once (FINs crossed)" : "\(closer) closed first")
        }
        if let reset = connection.resetBy { parts.append("reset by \(reset)") }
        if let cause = connection.cause {
            parts.append("cause \(cause.code) (\(cause.source == .kernel ? "kernel: \(cause.kernelReason ?? "none")" : "\(cause.certainty), from the wire"))")
        }
        parts.append("bytes client \(connection.bytes.client) / server \(connection.bytes.server)")
        if connection.bytesAfterFirstFin > 0 { parts.append("\(connection.bytesAfterFirstFin) after the first FIN") }
        if connection.totalLostBytes > 0 {
            parts.append("lost client \(connection.lostBytes.client) / server \(connection.lostBytes.server)")
        }
        if !connection.notes.isEmpty { parts.append("notes: " + connection.notes.map(\.rawValue).joined(separator: ", ")) }
        return parts.joined(separator: "; ")
    }

    static func applicationSummary(_ view: ApplicationView) -> String {
        var text = "client wrote \(view.clientWrote) B, read \(view.clientRead) B; server wrote \(view.serverWrote) B, read \(view.serverRead) B"
        let errors = view.clientErrors.map { "client \($0)" } + view.serverErrors.map { "server \($0)" }
        if !errors.isEmpty { text += "; errors: " + errors.joined(separator: ", ") }
        if view.clientUnread > 0 { text += "; client never read \(view.clientUnread) B the kernel had acknowledged" }
        if view.serverUnread > 0 { text += "; server never read \(view.serverUnread) B the kernel had acknowledged" }
        return text
    }

    static func json(_ result: ScenarioResult) -> String {
        let view = result.application
        func list(_ items: [String]) -> String { "[" + items.map { quoted($0) }.joined(separator: ",") + "]" }
        var text = "{\"scenario\":\(quoted(result.scenario.name)),\"expected\":\(quoted(result.scenario.expectation.summary))"
        text += ",\"passed\":\(result.passed),\"failures\":\(list(result.failures))"
        text += ",\"application\":{\"clientWrote\":\(view.clientWrote),\"clientRead\":\(view.clientRead)"
        text += ",\"serverWrote\":\(view.serverWrote),\"serverRead\":\(view.serverRead)"
        text += ",\"clientErrors\":\(list(view.clientErrors)),\"serverErrors\":\(list(view.serverErrors))"
        text += ",\"clientUnread\":\(view.clientUnread),\"serverUnread\":\(view.serverUnread),\"remarks\":\(list(view.remarks))}"
        text += ",\"connections\":["
        text += result.analysis.connections.map {
            JSONReport.line($0, timestampDigits: result.analysis.timestampDigits, file: nil)
        }.joined(separator: ",")
        text += "]}"
        return text
    }

    static func quoted(_ text: String) -> String { JSONReport.quoted(text) }
}
