import TeardownAnalysis

/// Checks analysed captures against a ``TeardownExpectation`` and says why in words: the logic of
/// `teardown check`, usable from test suites too.
public struct CheckReport: Sendable {
    public var expectation: TeardownExpectation
    /// Accept a capture whose last record is cut short.
    public var allowTruncated: Bool
    /// Accept a live capture in which the kernel dropped packets.
    public var allowDrops: Bool
    /// Whether each failure line gives the `teardown explain` command that shows the connection
    /// (not for a capture that is not kept).
    public var showsExplainCommand: Bool
    /// The most columns a line may take: longer lines wrap at spaces (a command stays whole on a
    /// line of its own).
    public var width: Int

    public init(
        expectation: TeardownExpectation, allowTruncated: Bool = false, allowDrops: Bool = false,
        showsExplainCommand: Bool = true, width: Int = .max
    ) {
        self.width = width
        self.expectation = expectation
        self.allowTruncated = allowTruncated
        self.allowDrops = allowDrops
        self.showsExplainCommand = showsExplainCommand
    }

    /// The result of a check.
    public struct Outcome: Sendable {
        /// One line per connection or capture that broke the expectation, then a summary line.
        public var text: String
        public var junit: JUnitReport
        public var passed: Bool
    }

    /// Checks the selected connections of every analysis (counts are over all of them together).
    public func evaluate(_ analyses: [CaptureAnalysis]) -> Outcome {
        let captures = analyses.map { analysis in
            let capture = CheckedCapture(report: self, label: analyses.count > 1 ? "\(analysis.file): " : "", keepsCases: true)
            for connection in analysis.selectedConnections { capture.add(connection) }
            capture.end(analysis)
            return capture
        }
        return outcome(of: captures)
    }

    /// The check of captures whose selected connections were given to each as they finished
    /// (counts are over all of them together); a capture whose analysis did not end is left out.
    public func outcome(of captures: [CheckedCapture]) -> Outcome {
        var junit = JUnitReport(expectation: expectation.summary)
        var lines: [String] = []
        var failedConnections = 0
        var captureFailures = 0
        var selectedTotal = 0
        for capture in captures {
            guard let analysis = capture.analysis else { continue }
            let captureProblems = problems(of: analysis)
            selectedTotal += capture.selected
            failedConnections += capture.failures.count
            // The pieces of a capture read --continuous number their connections as one.
            let explained = analysis.pieces.isEmpty
                ? ShellWords.quoted(analysis.file) : "--continuous " + ShellWords.command(analysis.pieces.map(\.name))
            for failure in capture.failures.sorted(by: { $0.id < $1.id }) {
                lines += TextWrap.lines(failure.text, width: width, indent: 2)
                if showsExplainCommand {
                    let command = "teardown explain \(explained) --connection \(failure.id)"
                    lines += 11 + command.count <= width ? ["  see it: " + command] : ["  see it:", "  " + command]
                }
            }
            for problem in captureProblems { lines += TextWrap.lines("\(capture.label)\(problem)", width: width, indent: 2) }
            if !captureProblems.isEmpty { captureFailures += 1 }
            let cases = capture.cases.sorted { $0.id < $1.id }
            junit.suites.append(JUnitReport.Suite(file: analysis.file, cases: cases, captureProblems: captureProblems))
        }
        var passed = failedConnections == 0 && captureFailures == 0
        if !junit.suites.isEmpty, let problem = expectation.countViolation(selectedTotal) {
            lines += TextWrap.lines(problem, width: width, indent: 2)
            passed = false
            junit.suites[junit.suites.count - 1].captureProblems.append(problem)
        }
        let noun = selectedTotal == 1 ? "connection" : "connections"
        if passed {
            lines += TextWrap.lines("check passed: \(selectedTotal) \(noun) checked (\(expectation.summary))", width: width, indent: 2)
        } else if failedConnections > 0 {
            lines += TextWrap.lines("check failed: \(failedConnections) of \(selectedTotal) \(noun) broke the expectation (\(expectation.summary))", width: width, indent: 2)
        } else {
            lines += TextWrap.lines("check failed: \(selectedTotal) \(noun) checked (\(expectation.summary))", width: width, indent: 2)
        }
        return Outcome(text: lines.joined(separator: "\n") + "\n", junit: junit, passed: passed)
    }

    /// Problems with the capture itself: unreadable to the end, cut short, kernel drops.
    func problems(of analysis: CaptureAnalysis) -> [String] {
        var problems: [String] = []
        switch analysis.error {
        case nil: break
        case .cannotOpen(let reason)?: problems.append("the capture could not be opened: \(reason)")
        case .interrupted?: problems.append("the check was interrupted: \(analysis.error!)")
        case let error?: problems.append("the capture could not be read to the end: \(error)")
        }
        if let truncation = analysis.truncation, !allowTruncated {
            problems.append("the capture is cut short (\(truncation)); --allow-truncated accepts it")
        }
        if analysis.droppedPackets > 0 && !allowDrops {
            problems.append(
                "the kernel dropped packets during the capture (ps_drop \(analysis.droppedPackets)); --allow-drops accepts it")
        }
        return problems
    }
}

/// One capture's part of a check, built from its selected connections as they finish, in any
/// order (``CheckReport/outcome(of:)`` puts them in id order): what a failing connection broke is
/// kept in words, and each connection only for a JUnit report, so that memory grows with the
/// failures, not with the connections checked. Used by one thread at a time.
public final class CheckedCapture: @unchecked Sendable {
    let report: CheckReport
    /// Put before each failure and capture problem: the file's name when several are checked.
    let label: String
    let keepsCases: Bool
    /// The connections given.
    private(set) var selected = 0
    /// The failing connections' ids and what they broke, in words.
    private(set) var failures: [(id: Int, text: String)] = []
    /// Every connection given with what it broke (with `keepsCases`), for the JUnit report.
    private(set) var cases: [JUnitReport.Case] = []
    /// The capture's analysis, once it ended.
    private(set) var analysis: CaptureAnalysis?

    /// - Parameter keepsCases: keep every connection for the JUnit report (``CheckReport/Outcome/junit``
    ///   then lists them); without, its suites hold no connection cases.
    public init(report: CheckReport, label: String, keepsCases: Bool) {
        self.report = report
        self.label = label
        self.keepsCases = keepsCases
    }

    /// A selected connection of the capture finished.
    public func add(_ connection: Connection) {
        selected += 1
        let problems = report.expectation.violations(connection)
        if !problems.isEmpty {
            failures.append((connection.id, label + Evidence.failure(connection, problems: problems)))
        }
        if keepsCases { cases.append(JUnitReport.Case(connection: connection, problems: problems)) }
    }

    /// The capture's analysis ended (its counts, warnings and error are final).
    public func end(_ analysis: CaptureAnalysis) { self.analysis = analysis }
}
