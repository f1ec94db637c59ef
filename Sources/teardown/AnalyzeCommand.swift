import ArgumentParser
import TeardownIO
import TeardownAnalysis
import TeardownCapture
import TeardownReport
import Synchronization
import TeardownWire

/// `teardown analyze FILE...`: classify every TCP connection's teardown.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify how every TCP connection in pcap/pcapng files ended.",
        discussion: """
            Reads pcap (micro- or nanosecond, either byte order) and pcapng files with Ethernet, \
            BSD loopback, raw IP or Linux cooked (SLL, SLL2) framing.

            A file that ends in the middle of a record is analysed up to there, with a warning. A file \
            that is not a capture exits 65; one that cannot be opened exits 66. With several files the \
            exit code is the highest of them, and every readable file is still reported.

            EXAMPLES
              teardown analyze fixtures/pcap/lo-ipv4/close.pcap
              teardown analyze --format jsonl a.pcap b.pcapng
              teardown analyze --filter 'tcp port 8080' capture.pcap
              teardown analyze --format zeek capture.pcap | zeek-cut id.orig_p conn_state history
            """
    )

    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng); '-' reads standard input.", valueName: "file"))
    var files: [String]

    @OptionGroup var report: ReportOptions

    @Option(help: ArgumentHelp("Analyse only packets matching this tcpdump expression.", valueName: "expression"))
    var filter: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("Name at least one capture file.") }
        if !(0...1e9).contains(linger) { throw ValidationError("--linger must be between 0 and 10^9 seconds.") }
        if !(0...1e9).contains(idleTimeout) { throw ValidationError("--idle-timeout must be between 0 and 10^9 seconds.") }
    }

    @Option(help: ArgumentHelp("Capture-time seconds a finished connection is kept for late segments.", valueName: "seconds"))
    var linger: Double = 5

    @Option(name: .customLong("idle-timeout"), help: ArgumentHelp("Report a connection idle this many capture-time seconds as it stands (e.g. open) and forget it.", valueName: "seconds"))
    var idleTimeout: Double = 300

    func run() throws {
        var packetFilter: BPFFilter?
        if let filter {
            do {
                packetFilter = try BPFFilter(filter)
            } catch {
                throw ValidationError(error.description)
            }
        }
        let limits = TrackingLimits(linger: linger, idleTimeout: idleTimeout)
        let mode: StreamMode = report.format == .jsonl ? .jsonLines : report.format == .summary ? .countOnly : .collect
        let (analyses, exitCode) = analyzeFiles(files, filter: packetFilter, limits: limits, mode: mode)
        if report.format != .jsonl { Console.write(Reports.render(analyses, options: report)) }
        if exitCode != .success { throw exitCode }
    }
}

/// What happens to each connection as it finishes.
enum StreamMode {
    /// Kept in the analysis (for tables and JSON documents, sorted at the end).
    case collect
    /// Written as a JSON Lines line at once and dropped: memory stays constant.
    case jsonLines
    /// Only counted: memory stays constant.
    case countOnly
}

/// Analyses `files` on as many worker threads as the process has cores (one file each at a time),
/// printing warnings and errors on standard error.
/// - Returns: the analyses of the files that could be opened, in the order given, and the exit
///   code: 66 if a file could not be opened, else 65 if one was not a readable capture, else 0.
func analyzeFiles(
    _ files: [String], filter: PacketFilter? = nil, selector: PacketFilter? = nil,
    limits: TrackingLimits = TrackingLimits(), mode: StreamMode = .collect
) -> ([CaptureAnalysis], ExitCode) {
    HeapTuning.fixLargeBlockThreshold()
    // Open every file first: sizes for the progress line, and errors in a stable order.
    var opened: [(index: Int, file: CaptureFile)] = []
    var failed = false
    for (index, path) in files.enumerated() {
        do {
            opened.append((index, try CaptureFile(path: path)))
        } catch {
            Console.error("\(path): \(error)")
            failed = true
        }
    }
    let meter = ProgressMeter(sizes: opened.map(\.file.count))
    // Room for a flush and its last line (a line is far shorter than 64 KiB).
    let output = mode == .jsonLines ? BackgroundOutput(chunkCapacity: BackgroundJSONLines.flushSize + (1 << 16)) : nil
    let results = Mutex<[Int: CaptureAnalysis]>([:])
    let queue = Mutex(opened.indices.makeIterator())
    let named = files.count > 1
    let cores = availableProcessors
    let work = UncheckedSendable((opened, filter, selector))
    @Sendable func worker() {
        let (opened, filter, selector) = work.value
        while let position = queue.withLock({ $0.next() }) {
            let (index, file) = opened[position]
            let path = files[index]
            var options = AnalysisOptions(filter: filter, selector: selector)
            options.limits = limits
            // A core without a file of its own has room for reading ahead.
            let reading = WindowedReading(readsAhead: opened.count < cores)
            options.onProgress = { bytes, packets in meter?.update(file: position, bytes: bytes, packets: packets) }
            var lines: BackgroundJSONLines?
            if mode == .countOnly {
                options.delivery = .countOnly
                options.tracksZeek = false
            }
            if mode == .jsonLines {
                // The precision is known once the file header is read; peek at it first.
                let digits = CaptureAnalyzer.timestampDigits(of: file)
                let stream = BackgroundJSONLines(output: output!, timestampDigits: digits, file: named ? path : nil)
                lines = stream
                options.delivery = .batches(stream.append)
            }
            let analysis = CaptureAnalyzer.analyze(file: file, name: path, options: options, reading: reading)
            lines?.finish()
            results.withLock { $0[index] = analysis }
        }
    }
    let threads = (0..<min(cores, opened.count)).map { _ in OSThread(worker) }
    for thread in threads { thread.join() }
    output?.finish()
    meter?.finish()
    var analyses: [CaptureAnalysis] = []
    var exitCode = failed ? ExitCode.cannotOpen : .success
    let collected = results.withLock { $0 }
    for index in files.indices {
        guard let analysis = collected[index] else { continue }
        for warning in analysis.warnings { Console.error("\(files[index]): warning: \(warning)") }
        if let error = analysis.error {
            Console.error("\(files[index]): \(error)")
            if exitCode == .success { exitCode = .badCapture }
        }
        analyses.append(analysis)
    }
    return (analyses, exitCode)
}

/// Renders analyses in the chosen format.
enum Reports {
    static func render(_ analyses: [CaptureAnalysis], options: ReportOptions) -> String {
        switch options.format {
        case .text:
            return TextReport(color: Console.useColor(options.color)).render(analyses)
        case .json:
            return (analyses.count == 1 ? JSONReport.document(analyses[0]) : JSONReport.documents(analyses)) + "\n"
        case .summary:
            return analyses.map { TextReport.summary($0, named: analyses.count > 1) + "\n" }.joined()
        case .zeek:
            return ZeekLog.render(analyses)
        case .jsonl:
            var text = ""
            for analysis in analyses {
                for connection in analysis.connections {
                    text += JSONReport.line(
                        connection, timestampDigits: analysis.timestampDigits,
                        file: analyses.count > 1 ? analysis.file : nil) + "\n"
                }
            }
            return text
        }
    }
}
