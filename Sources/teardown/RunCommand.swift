import ArgumentParser
import TeardownAnalysis
import TeardownCapture
import TeardownExplain
import TeardownIO
import TeardownReport
import TeardownScenarios
import TeardownWire

/// `teardown run`: run the built-in scenarios under capture and check what they put on the wire.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run built-in socket scenarios on loopback under capture and check each teardown.",
        usage: "teardown run [<options>] [<scenario> ...]",
        discussion: """
            Each scenario is a real client and server on 127.0.0.1 (::1 with --ipv6), captured with \
            libpcap on a port of its own. The capture is analysed and compared with the scenario's \
            expected verdict; the applications' own view (bytes written and read, errors, data \
            acknowledged but never read) is printed beside the wire's. Needs root or CAP_NET_RAW.

            Exit status: 0 when every expectation held, 1 otherwise, 77 when capture is not permitted.

            EXAMPLES
              teardown run --list
              teardown run --all
              teardown run close half-close --write captures/
              teardown run close --explain
            """
    )

    @Argument(help: ArgumentHelp("Scenarios to run (see --list).", valueName: "scenario"))
    var scenarios: [String] = []

    @Flag(help: "Run every scenario.")
    var all = false

    @Flag(help: "List the scenarios with what they do and what they must show.")
    var list = false

    @Option(help: ArgumentHelp("Keep each capture as DIR/NAME.pcap.", valueName: "dir"))
    var write: String?

    @Flag(help: "Draw each scenario's teardown as a ladder diagram after the results (as `teardown explain`).")
    var explain = false

    @Flag(help: "Use ::1 instead of 127.0.0.1.")
    var ipv6 = false

    @Option(name: [.customShort("i"), .long], help: "Capture interface.")
    var interface = "lo"

    @Option(name: .customLong("link-type"), help: "Ask the interface for this link type (sll2 on 'any').")
    var linkType: LinkTypeChoice?

    @OptionGroup var report: ReportOptions

    @OptionGroup var kernelEvents: KernelEventOptions

    func validate() throws {
        if list { return }
        if scenarios.isEmpty && !all { throw ValidationError("Name scenarios to run, or use --all (see --list).") }
        if explain && report.format != .text { throw ValidationError("--explain draws text diagrams; use it with --format text.") }
        for name in scenarios where Scenario.named(name) == nil {
            throw ValidationError("No scenario named '\(name)'. Known: \(Scenario.all.map(\.name).joined(separator: ", ")).")
        }
    }

    func run() throws {
        StandardOutput.prepare()
        if list {
            Console.write(Self.listing())
            return
        }
        let selected = all ? Scenario.all : scenarios.compactMap(Scenario.named)
        var options = ScenarioRunOptions()
        options.ipv6 = ipv6
        options.interface = interface
        options.linkType = linkType?.value
        if let write {
            guard Directories.ensure(write) else {
                Console.error("cannot create the directory \(write)")
                throw ExitCode.cannotOpen
            }
            options.outputDirectory = write
        }
        // The diagrams are drawn from the captures, so they are kept until then.
        var scratch: String?
        if explain && write == nil {
            guard let directory = Directories.makeTemporary(prefix: "teardown-explain") else {
                Console.error("cannot create a temporary directory in \(temporaryDirectory); set TMPDIR or use --write DIR")
                throw ExitCode.cannotOpen
            }
            scratch = directory
            options.outputDirectory = directory
        }
        defer { if let scratch { Directories.remove(scratch) } }
        // The kernel's account of each reset and state change, beside the captures.
        options.kernel = kernelEvents.start()
        defer { options.kernel?.stop() }
        let progress = Progress(enabled: Console.stderrIsTerminal && report.format == .text)
        var results: [ScenarioResult] = []
        for scenario in selected {
            // Ctrl-C or SIGTERM: the scenarios that ran are reported, the rest are not started.
            if TerminationSignals.received != nil { break }
            progress.show("running \(scenario.name)…")
            do {
                results.append(try ScenarioRunner.run(scenario, options: options))
            } catch {
                progress.clear()
                throw fail(error)
            }
        }
        progress.clear()
        Console.write(
            ScenarioReport.render(
                results, format: report.format, color: Console.useColor(report.color), columns: TerminalWidth.columns))
        if explain { Console.write(diagrams(results)) }
        if let signal = TerminationSignals.received {
            Console.error("interrupted: \(results.count) of \(selected.count) scenarios ran")
            throw ExitCode(TerminationSignals.exitCode(for: signal))
        }
        if results.contains(where: { !$0.passed }) { throw ExitCode.expectationFailed }
    }

    /// Each scenario's ladder, drawn from its capture.
    func diagrams(_ results: [ScenarioResult]) -> String {
        let renderer = LadderText(color: Console.useColor(report.color), columns: TerminalWidth.columns)
        var text = ""
        for result in results {
            let heading = TextWrap.lines("== \(result.scenario.name): \(result.scenario.summary)", width: renderer.columns, indent: 3)
            text += "\n" + heading.joined(separator: "\n") + "\n\n"
            var options = AnalysisOptions()
            options.recording = .all
            guard var analysis = try? CaptureAnalyzer.analyze(fileAt: result.capturePath, options: options) else {
                text += "(the capture \(result.capturePath) could not be read back)\n"
                continue
            }
            // The same capture as the result's: its causes and states, the kernel's where it gave them.
            for (index, connection) in result.analysis.connections.enumerated() where index < analysis.connections.count {
                analysis.connections[index].cause = connection.cause
                analysis.connections[index].states = connection.states
            }
            text += Explainer.explanations(of: analysis).map(renderer.render).joined(separator: "\n")
        }
        return text
    }

    /// Every scenario, its expectation and what it does, within `columns`.
    static func listing(columns: Int = TerminalWidth.columns) -> String {
        let width = Scenario.all.map(\.name.count).max() ?? 0
        let margin = String(repeating: " ", count: width + 2)
        var lines: [String] = []
        for scenario in Scenario.all {
            let name = scenario.name + String(repeating: " ", count: width - scenario.name.count)
            lines += TextWrap.lines(name + "  expect: \(scenario.expectation.summary)", width: columns, indent: width + 10)
            lines += TextWrap.lines(scenario.summary, width: columns - margin.count, indent: 2).map { margin + $0 }
        }
        return lines.map { $0 + "\n" }.joined()
    }
}
