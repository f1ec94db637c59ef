import ArgumentParser
import TeardownAnalysis
import TeardownCapture
import TeardownReport
import TeardownScenarios
import TeardownWire

/// `teardown run`: run the built-in scenarios under capture and check what they put on the wire.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run built-in socket scenarios on loopback under capture and check each teardown.",
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

    @Flag(help: "Use ::1 instead of 127.0.0.1.")
    var ipv6 = false

    @Option(name: [.customShort("i"), .long], help: "Capture interface.")
    var interface = "lo"

    @Option(name: .customLong("link-type"), help: "Ask the interface for this link type (sll2 on 'any').")
    var linkType: LinkTypeChoice?

    @OptionGroup var report: ReportOptions

    func validate() throws {
        if list { return }
        if scenarios.isEmpty && !all { throw ValidationError("Name scenarios to run, or use --all (see --list).") }
        for name in scenarios where Scenario.named(name) == nil {
            throw ValidationError("No scenario named '\(name)'. Known: \(Scenario.all.map(\.name).joined(separator: ", ")).")
        }
    }

    func run() throws {
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
        let progress = Progress(enabled: Console.stderrIsTerminal && report.format == .text)
        var results: [ScenarioResult] = []
        for scenario in selected {
            progress.show("running \(scenario.name)…")
            do {
                results.append(try ScenarioRunner.run(scenario, options: options))
            } catch {
                progress.clear()
                throw fail(error)
            }
        }
        progress.clear()
        Console.write(ScenarioReport.render(results, format: report.format, color: Console.useColor(report.color)))
        if results.contains(where: { !$0.passed }) { throw ExitCode.expectationFailed }
    }

    static func listing() -> String {
        let width = Scenario.all.map(\.name.count).max() ?? 0
        var text = ""
        for scenario in Scenario.all {
            text += scenario.name + String(repeating: " ", count: width - scenario.name.count)
            text += "  expect: \(scenario.expectation)\n"
            text += String(repeating: " ", count: width + 2) + scenario.summary + "\n"
        }
        return text
    }
}
