import ArgumentParser
import Synchronization
import TeardownIO
import TeardownAnalysis
import TeardownCapture
import TeardownReport

#if canImport(Glibc)
import Glibc
#endif

/// A comma-separated list of verdicts: `graceful,half-closed`.
struct VerdictList: ExpressibleByArgument {
    var verdicts: Set<Verdict>
    /// Verdicts qualified by completion: `half-closed:completed`, `half-closed:not-completed`.
    var completion: [Verdict: Bool] = [:]

    init?(argument: String) {
        var verdicts = Set<Verdict>()
        for item in argument.split(separator: ",") {
            let parts = item.trimmingCharacters(in: " ").split(separator: ":", maxSplits: 1).map(String.init)
            guard let verdict = Verdict(rawValue: parts[0]) else { return nil }
            verdicts.insert(verdict)
            if parts.count == 2 {
                switch parts[1] {
                case "completed": completion[verdict] = true
                case "not-completed": completion[verdict] = false
                default: return nil
                }
            }
        }
        if verdicts.isEmpty { return nil }
        self.verdicts = verdicts
    }

    static var allValueStrings: [String] {
        Verdict.allCases.map(\.rawValue) + ["half-closed:completed", "half-closed:not-completed"]
    }
}

extension Side: ExpressibleByArgument {}

extension FirstCloser: ExpressibleByArgument {}

/// A comma-separated list of cause codes: `data_after_close,linger_zero`.
struct CauseList: ExpressibleByArgument {
    var codes: Set<Cause.Code>

    init?(argument: String) {
        var codes = Set<Cause.Code>()
        for name in argument.split(separator: ",") {
            guard let code = Cause.Code(rawValue: String(name)) else { return nil }
            codes.insert(code)
        }
        if codes.isEmpty { return nil }
        self.codes = codes
    }

    static var allValueStrings: [String] { Cause.Code.allCases.map(\.rawValue) }
}

/// `server=CLOSE_WAIT` or `client=TIME_WAIT,CLOSED`: states a side may end in (contract 2.6).
struct FinalStates: ExpressibleByArgument {
    var side: Side
    var states: Set<TCPState>

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let side = Side(rawValue: String(parts[0])) else { return nil }
        var states = Set<TCPState>()
        for name in parts[1].split(separator: ",") {
            guard let state = TCPState(rawValue: name.uppercased().replacingDashes()) else { return nil }
            states.insert(state)
        }
        guard !states.isEmpty else { return nil }
        self.side = side
        self.states = states
    }

    static var defaultValueDescription: String { "side=STATE[,STATE...]" }
}

extension String {
    /// `FIN-WAIT-1` as `FIN_WAIT_1`.
    func replacingDashes() -> String { String(map { $0 == "-" ? "_" : $0 }) }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop { $0 == set }.reversed().drop { $0 == set }.reversed())
    }
}

/// `teardown check`: fail a pipeline when a teardown is not what it should be.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that every selected connection ended as expected (for CI).",
        usage: "teardown check [<options>] (<file> ... | --live -- <command> ...)",
        discussion: """
            Prints one line per connection that broke the expectation, saying why, then a summary. \
            A selection that matches nothing fails unless --connections 0. A capture cut short fails \
            unless --allow-truncated; a live capture with kernel drops fails unless --allow-drops.

            Exit status: 0 when every expectation held, 1 when one did not, 64 for bad arguments, \
            65 for input that is not a readable capture, 66 for a file that cannot be opened (or a \
            --junit path that cannot be written, checked before anything runs), 74 when the report \
            cannot be written, 77 when live capture is not permitted, 130/143 when interrupted (what \
            was analysed is checked and the JUnit report says it was interrupted). With --live, a \
            failing command's exit status is passed on (after the check result is printed).

            EXAMPLES
              teardown check capture.pcap --expect graceful,half-closed
              teardown check x.pcap --forbid abortive --junit teardown.xml
              teardown check x.pcap --where 'tcp port 8080' --reset-by client
              teardown check x.pcap --forbid-final-state server=CLOSE_WAIT
              sudo teardown check --live --expect graceful -- ./integration-tests.sh
            """
    )

    @Argument(help: ArgumentHelp("Capture files to check; with --live, the command to run (after '--').", valueName: "file|command"))
    var arguments: [String] = []

    @OptionGroup var input: InputFiles

    @Flag(help: ArgumentHelp("Read the files as one capture cut into pieces (tcpdump rotation), in time order: a connection that spans pieces is checked once."))
    var continuous = false

    /// Without --live the arguments are files; with it, the command.
    var files: [String] { live ? [] : input.read + arguments }
    var command: [String] { live ? arguments : [] }

    @Option(help: ArgumentHelp("Every selected connection must have one of these verdicts; half-closed:completed or half-closed:not-completed also asks whether the second FIN came.", valueName: "kind,..."))
    var expect: VerdictList?

    @Option(name: .customLong("reset-by"), help: "The side whose reset must have ended each selected connection: client or server.")
    var resetBy: Side?

    @Option(help: ArgumentHelp("No selected connection may have one of these verdicts.", valueName: "kind,..."))
    var forbid: VerdictList?

    @Option(name: .customLong("where"), help: ArgumentHelp("Check only connections with a packet matching this tcpdump expression.", valueName: "expression"))
    var selection: String?

    @Option(help: ArgumentHelp("Exactly this many connections must be selected.", valueName: "n"))
    var connections: Int?

    @Option(name: .customLong("at-least"), help: ArgumentHelp("At least this many connections must be selected.", valueName: "n"))
    var atLeast: Int?

    @Option(name: .customLong("first-closer"), help: "The side that must close first: client, server or both.")
    var firstCloser: FirstCloser?

    @Option(name: .customLong("max-lost-bytes"), help: ArgumentHelp("At most this many bytes may be lost per connection.", valueName: "n"))
    var maxLostBytes: Int64?

    @Option(name: .customLong("final-state"), help: ArgumentHelp("The state a side must end in: client=TIME_WAIT, server=CLOSED,TIME_WAIT (repeatable).", valueName: "side=state,..."))
    var finalStates: [FinalStates] = []

    @Option(name: .customLong("forbid-final-state"), help: ArgumentHelp("A state a side must not be left in: server=CLOSE_WAIT (repeatable).", valueName: "side=state,..."))
    var forbiddenFinalStates: [FinalStates] = []

    @Flag(name: .customLong("allow-truncated"), help: "Accept a capture whose last record is cut short.")
    var allowTruncated = false

    @Flag(name: .customLong("allow-drops"), help: "Accept a live capture in which the kernel dropped packets.")
    var allowDrops = false

    @Option(help: ArgumentHelp("Also write a JUnit XML report here.", valueName: "file"))
    var junit: String?

    @Option(name: .customLong("expect-cause"), help: ArgumentHelp("Every reset must have one of these causes (contract 2.5: data_after_close, close_with_unread_data, linger_zero, no_listener, foreign_reset, ...).", valueName: "code,..."))
    var expectCause: CauseList?

    @Option(name: .customLong("forbid-cause"), help: ArgumentHelp("No reset may have one of these causes.", valueName: "code,..."))
    var forbidCause: CauseList?

    @OptionGroup var kernelEvents: KernelEventOptions

    @Flag(help: "Capture live while the command after '--' runs, then check that capture.")
    var live = false

    @Option(name: [.customShort("i"), .long], help: "With --live: the interface.")
    var interface = "lo"

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("Analyse only packets matching this tcpdump expression; with --live, the capture filter (default: tcp).", valueName: "expression"))
    var filter: String?

    func validate() throws {
        if arguments.isEmpty && (live || input.read.isEmpty) {
            throw ValidationError(live ? "--live needs a command after '--'." : "Name at least one capture file, or use --live -- COMMAND.")
        }
        if !live, let error = TrailingFilter.error(files, command: "check", option: "--filter") { throw error }
        if continuous && (live || files.contains("-")) {
            throw ValidationError("--continuous reads capture files in the order of their timestamps: not with --live or standard input ('-').")
        }
        if expect == nil && forbid == nil && connections == nil && atLeast == nil && firstCloser == nil && resetBy == nil
            && maxLostBytes == nil
            && finalStates.isEmpty && forbiddenFinalStates.isEmpty && expectCause == nil && forbidCause == nil
        {
            throw ValidationError(
                "Say what to check: --expect, --forbid, --connections, --at-least, --first-closer, --reset-by, --max-lost-bytes, --final-state, --forbid-final-state, --expect-cause or --forbid-cause.")
        }
        if connections != nil && atLeast != nil { throw ValidationError("Use --connections or --at-least, not both.") }
        for value in [connections, atLeast].compactMap({ $0 }) where value < 0 {
            throw ValidationError("Connection counts cannot be negative.")
        }
        if let maxLostBytes, maxLostBytes < 0 { throw ValidationError("--max-lost-bytes cannot be negative.") }
    }

    var expectation: TeardownExpectation {
        var expectation = TeardownExpectation(
            allowed: expect?.verdicts ?? [], forbidden: forbid?.verdicts ?? [], firstCloser: firstCloser,
            resetBy: resetBy, maximumLostBytes: maxLostBytes, exactCount: connections, minimumCount: atLeast)
        expectation.allowedCompletion = expect?.completion ?? [:]
        for item in finalStates { expectation.finalStates[item.side].formUnion(item.states) }
        for item in forbiddenFinalStates { expectation.forbiddenFinalStates[item.side].formUnion(item.states) }
        expectation.causes = expectCause?.codes ?? []
        expectation.forbiddenCauses = forbidCause?.codes ?? []
        return expectation
    }

    func run() throws {
        StandardOutput.prepare()
        let selector: BPFFilter?
        let packetFilter: BPFFilter?
        do {
            selector = try selection.map(BPFFilter.init)
            packetFilter = live ? nil : try filter.map(BPFFilter.init)
        } catch {
            Console.error(error.description)
            throw ExitCode.usage
        }
        // Every output path is checked before anything runs (a live command can take long).
        if let junit, !Console.canWrite(to: junit) {
            Console.error("cannot write the JUnit report to \(junit): \(String(cString: strerror(errno))); choose a writable path with --junit")
            throw ExitCode.cannotOpen
        }
        var exitCode = ExitCode.success
        var commandStatus: Int32 = 0
        // A live capture is not kept: no `teardown explain` command to give for it.
        let report = CheckReport(
            expectation: expectation, allowTruncated: allowTruncated, allowDrops: allowDrops, showsExplainCommand: !live,
            width: TerminalWidth.columns)
        let outcome: CheckReport.Outcome
        if live {
            let (analysis, status) = try captureLive(selector: selector)
            commandStatus = status
            if let signal = TerminationSignals.received { exitCode = ExitCode(TerminationSignals.exitCode(for: signal)) }
            outcome = report.evaluate([analysis])
        } else {
            // Each connection is checked as it finishes and dropped (memory stays with the
            // connections held, whatever the capture's size), the files in parallel. States are
            // inferred only for an expectation that judges them: the report prints none.
            let named = !continuous && files.count > 1
            let captures = Mutex<[Int: CheckedCapture]>([:])
            let keepsCases = junit != nil
            (_, exitCode) = analyzeFiles(
                files, filter: packetFilter, selector: selector,
                mode: .each { index in
                    let capture = CheckedCapture(report: report, label: named ? "\(files[index]): " : "", keepsCases: keepsCases)
                    captures.withLock { $0[index] = capture }
                    return capture
                },
                continuous: continuous, infersStates: expectation.judgesStates)
            let ended = captures.withLock { $0 }
            outcome = report.outcome(of: ended.keys.sorted().map { ended[$0]! })
        }
        Console.write(outcome.text)
        if let junit {
            guard Console.writeFile(outcome.junit.render(), to: junit) else {
                Console.error("cannot write the JUnit report to \(junit): \(String(cString: strerror(errno)))")
                throw ExitCode.cannotOpen
            }
        }
        if TerminationSignals.received != nil { throw exitCode }
        if commandStatus != 0 { throw ExitCode(commandStatus) }
        if exitCode != .success { throw exitCode }
        if !outcome.passed { throw ExitCode.expectationFailed }
    }

    /// Captures while the command runs; returns the analysis and the command's exit status.
    func captureLive(selector: BPFFilter?) throws -> (CaptureAnalysis, Int32) {
        let path = TemporaryFile.make(prefix: "check")
        defer { unlink(path) }
        var configuration = CaptureConfiguration(outputPath: path)
        configuration.interface = interface
        configuration.filter = filter ?? "tcp"
        let capture: LiveCapture
        do {
            capture = try LiveCapture(configuration)
        } catch {
            throw fail(error)
        }
        let kernel = kernelEvents.start()
        defer { kernel?.stop() }
        capture.start()
        let child: ChildProcess
        do {
            child = try ChildProcess(command)
        } catch {
            _ = try? capture.stop(quietPeriod: 0)
            Console.error(error.description)
            throw ExitCode(error.exitStatus)
        }
        let (status, interrupted) = child.waitForwardingSignals()
        let statistics: CaptureStatistics
        do {
            statistics = try capture.stop()
        } catch {
            throw fail(error)
        }
        var options = AnalysisOptions(selector: selector)
        options.infersStates = expectation.judgesStates
        var analysis = try CaptureAnalyzer.analyze(fileAt: path, options: options)
        kernel?.finish(into: &analysis, loopback: interface == "lo")
        analysis.file = "live capture on \(interface)"
        analysis.droppedPackets = statistics.dropped
        if let interrupted, analysis.error == nil { analysis.error = .interrupted(signal: interrupted) }
        if status != 0 && interrupted == nil { Console.error("the command exited with status \(status)") }
        return (analysis, status)
    }
}
