import ArgumentParser
import TeardownAnalysis
import TeardownCapture
import TeardownExplain
import TeardownIO
import TeardownKernel
import TeardownReport

#if canImport(Glibc)
import Glibc
#endif

/// `teardown explain FILE`: the teardown of each selected connection as a ladder diagram, with
/// the cause in words.
struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw each connection's teardown as a ladder diagram and say what happened.",
        usage: "teardown explain [<options>] <file> ...",
        discussion: """
            One arrow per segment between a client and a server column, with its flags, relative \
            sequence and acknowledgement numbers and payload length; long runs of ordinary data are \
            folded into one line. The FINs, the data after a FIN, the reset and its likely cause are \
            annotated in words, and each diagram ends with the verdict, the first closer, who reset \
            and the bytes lost.

            Without --connection or --where, the first \(Explain.defaultLimit) connections are explained.

            EXAMPLES
              teardown explain fixtures/pcap/lo-ipv4/close.pcap
              teardown explain capture.pcap --where 'tcp port 8080'
              teardown explain capture.pcap --connection 3 --svg teardown.svg
              teardown explain --continuous capture-*.pcap.gz --where 'tcp port 8080'
            """
    )

    static let defaultLimit = 10

    @Argument(help: ArgumentHelp("A capture file (pcap or pcapng, also .gz or .zst), or with --continuous the pieces of one; '-' reads standard input.", valueName: "file"))
    var arguments: [String] = []

    @OptionGroup var input: InputFiles

    /// The capture files named with -r or as arguments: one, or the pieces of one with `--continuous`.
    var files: [String] { input.read + arguments }

    /// The capture, as messages name it: the file, or the pieces' command line.
    var file: String { continuous ? ShellWords.command(files) : files.first ?? "" }

    @Flag(help: ArgumentHelp("Read the files as one capture cut into pieces (tcpdump rotation), in the order of their first timestamps; ids are numbered across them, as `analyze --continuous` numbers them."))
    var continuous = false

    @Option(name: .customLong("connection"), help: ArgumentHelp("Explain the connection with this id (as `analyze` numbers them); repeatable.", valueName: "id"))
    var connections: [Int] = []

    @Option(name: .customLong("where"), help: ArgumentHelp("Explain the connections with a packet matching this tcpdump expression.", valueName: "expression"))
    var selection: String?

    @Option(help: ArgumentHelp("Analyse only packets matching this tcpdump expression (as analyze --filter).", valueName: "expression"))
    var filter: String?

    @Option(help: ArgumentHelp("Also write the diagram as a standalone SVG; with several connections, FILE-ID.svg for each; '-' writes the one SVG to standard output instead of the text diagram.", valueName: "file"))
    var svg: String?

    @Flag(help: "Draw every segment: fold no run of ordinary segments into one line.")
    var unfold = false

    @Option(help: "Colour the diagram: auto (only on a terminal, not with NO_COLOR set), always or never.")
    var color: ColorMode = .auto

    func validate() throws {
        if let error = TrailingFilter.error(files, command: "explain", option: "--where") { throw error }
        if files.isEmpty { throw ValidationError("Name the capture file to explain.") }
        if continuous && files.contains("-") {
            throw InputFiles.continuousFromStandardInput
        }
        if !continuous && files.count != 1 {
            throw ValidationError("explain reads one file; for the pieces of one capture, add --continuous.")
        }
        if let bad = connections.first(where: { $0 < 1 }) {
            throw ValidationError("--connection takes an id from 1 up (got \(bad)); `teardown analyze FILE` lists the ids.")
        }
    }

    func run() throws {
        StandardOutput.prepare()
        var options = AnalysisOptions()
        if let filter {
            do {
                options.filter = try BPFFilter(filter)
            } catch {
                Console.error("--filter: \(error.description)")
                throw ExitCode.usage
            }
        }
        if let selection {
            do {
                options.selector = try BPFFilter(selection)
            } catch {
                Console.error("--where: \(error.description)")
                throw ExitCode.usage
            }
        }
        let opened: CaptureFile?
        do {
            opened = continuous ? nil : try CaptureFile(path: file)
        } catch {
            Console.error("\(file): \(error)")
            throw ExitCode.cannotOpen
        }
        // One pass: the chosen connections' segments are recorded as the analysis sees them.
        if !connections.isEmpty {
            options.recording = .connections(Set(connections))
        } else if selection != nil {
            options.recording = .selected
        } else {
            options.recording = .connections(Set(1...Explain.defaultLimit))
        }
        let amendment = KernelAmendment()
        options.onCustomBlock = amendment.take
        var analysis: CaptureAnalysis
        if let opened {
            analysis = CaptureAnalyzer.analyze(file: opened, name: file, options: options)
        } else {
            do {
                analysis = try CaptureAnalyzer.analyze(piecesAt: files, options: options)
            } catch {
                Console.error("\(error.path): \(error.description)")
                throw ExitCode.cannotOpen
            }
        }
        // The kernel's account, when the file keeps one: causes confirmed, states from the kernel.
        for index in analysis.connections.indices { amendment.apply(to: &analysis.connections[index]) }
        let ids = analysis.connections.map(\.id)
        var missing: [Int] = []
        var limited: (shown: Int, of: Int)?
        let chosen: [Int]
        if !connections.isEmpty {
            missing = connections.filter { !ids.contains($0) }
            chosen = connections.filter(ids.contains)
        } else if selection != nil {
            chosen = ids.filter { analysis.selectedIDs?.contains($0) == true }
        } else {
            if ids.count > Explain.defaultLimit { limited = (Explain.defaultLimit, ids.count) }
            chosen = Array(ids.prefix(Explain.defaultLimit))
        }
        let byID = Dictionary(analysis.connections.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let explanations = chosen.compactMap { id in
            byID[id].map { Explainer.explain($0, segments: analysis.segments[id] ?? [], unfold: unfold) }
        }
        // A piece's warning names the piece itself.
        for warning in analysis.warnings { Console.error("\(continuous ? "" : file + ": ")warning: \(warning)") }
        // `--svg -`: the SVG on standard output instead of the text ladder.
        if svg == "-" && explanations.count > 1 {
            Console.error("--svg - writes one SVG to standard output, and \(explanations.count) connections were chosen; choose one with --connection ID, or give --svg a file name")
            throw ExitCode.usage
        }
        let renderer = LadderText(color: Console.useColor(color), columns: TerminalWidth.columns)
        if svg != "-" { Console.write(explanations.map(renderer.render).joined(separator: "\n")) }
        if let limited {
            Console.error("explained the first \(limited.shown) of \(limited.of) connections; choose others with --connection ID or --where EXPRESSION")
        }
        if explanations.isEmpty && missing.isEmpty && analysis.error == nil {
            Console.error(selection != nil ? "no connection has a packet matching '\(selection!)'" : continuous ? "the pieces \(file) hold no TCP connection" : "\(file) holds no TCP connection")
        }
        if let svg { try writeSVG(explanations, to: svg) }
        if case .interrupted(let signal) = analysis.error {
            Console.error("\(file): \(analysis.error!)")
            throw ExitCode(TerminationSignals.exitCode(for: signal))
        }
        if case .piecesOverlap = analysis.error {
            Console.error("error: \(analysis.error!)")
            throw ExitCode.usage
        }
        if let error = analysis.error {
            Console.error("\(analysis.pieces.last?.name ?? file): \(error)")
            throw ExitCode.badCapture
        }
        if !missing.isEmpty {
            let count = analysis.connections.count
            let capture = !continuous ? "\(file) has" : files.count == 1 ? "the piece has" : "the \(files.count) pieces have"
            Console.error("\(capture) no connection \(missing.map(String.init).joined(separator: ", ")) (the ids run from 1 to \(count)); `teardown analyze \(continuous ? "--continuous " : "")\(file)` lists them")
            throw ExitCode.usage
        }
    }

    /// Writes one SVG per explanation: `path` itself for one, `STEM-ID.svg` for several.
    func writeSVG(_ explanations: [Explanation], to path: String) throws {
        if path == "-" {
            for explanation in explanations { Console.write(LadderSVG.render(explanation)) }
            return
        }
        for explanation in explanations {
            var target = path
            if explanations.count > 1 {
                let stem = path.hasSuffix(".svg") ? String(path.dropLast(4)) : path
                target = "\(stem)-\(explanation.connection.id).svg"
            }
            guard Console.writeFile(LadderSVG.render(explanation), to: target) else {
                Console.error("cannot write the SVG to \(target): \(String(cString: strerror(errno))); choose a writable path with --svg")
                throw ExitCode.cannotOpen
            }
            if explanations.count > 1 { Console.error("wrote \(target)") }
        }
    }
}
