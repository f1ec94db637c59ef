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
        var junit = JUnitReport(expectation: expectation.summary)
        var lines: [String] = []
        var failedConnections = 0
        var captureFailures = 0
        var selectedTotal = 0
        let named = analyses.count > 1
        for analysis in analyses {
            let label = named ? "\(analysis.file): " : ""
            let captureProblems = problems(of: analysis)
            var cases: [JUnitReport.Case] = []
            let selected = analysis.selectedConnections
            selectedTotal += selected.count
            for connection in selected {
                let problems = expectation.violations(connection)
                if !problems.isEmpty {
                    failedConnections += 1
                    lines += TextWrap.lines(
                        "\(label)#\(connection.id) \(Evidence.endpoints(connection)) \(connection.verdict): \(Evidence.phrase(connection)); \(problems.joined(separator: "; "))",
                        width: width, indent: 2)
                    if showsExplainCommand {
                        // The pieces of a capture read --continuous number their connections as one.
                        let capture = analysis.pieces.isEmpty
                            ? ShellWords.quoted(analysis.file) : "--continuous " + ShellWords.command(analysis.pieces.map(\.name))
                        let command = "teardown explain \(capture) --connection \(connection.id)"
                        lines += 11 + command.count <= width ? ["  see it: " + command] : ["  see it:", "  " + command]
                    }
                }
                cases.append(JUnitReport.Case(connection: connection, problems: problems))
            }
            for problem in captureProblems { lines += TextWrap.lines("\(label)\(problem)", width: width, indent: 2) }
            if !captureProblems.isEmpty { captureFailures += 1 }
            junit.suites.append(JUnitReport.Suite(file: analysis.file, cases: cases, captureProblems: captureProblems))
        }
        var passed = failedConnections == 0 && captureFailures == 0
        if !analyses.isEmpty, let problem = expectation.countViolation(selectedTotal) {
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
