import ArgumentParser
import TeardownIO
import TeardownKernel
import TeardownAnalysis
import TeardownCapture
import TeardownReport
import Synchronization
import TeardownWire

#if canImport(Glibc)
import Glibc
#endif

/// `teardown analyze FILE...`: classify every TCP connection's teardown.
struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify how every TCP connection in pcap/pcapng files ended.",
        usage: "teardown analyze [<options>] <file> ...",
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
              teardown analyze --format zeek x.pcap | zeek-cut conn_state history
              teardown analyze --continuous capture-*.pcap.gz
              teardown analyze --continuous --format summary --jobs 1 capture-*.pcap

            CONNECTIONS OVER TIME (contract 1.1)
              Time alone never ends a connection: a packet that continues its sequence numbers \
            belongs to it after any silence, and keepalive probes are noted `keepalive`, never \
            counted as data. Only a new SYN, or sequence numbers that cannot be its, start another. \
            A segment that comes after its connection was reported is counted as late, not as a \
            new connection. A connection forced out of a full table is noted `evicted`; its next \
            packet starts a continuation noted `resumed`.

            MISSING PACKETS (contract 1.6)
              When a side acknowledges bytes or a FIN the capture never showed, the connection is \
            noted `packets_missing` with the bytes not captured per side (`notCaptured` in JSON), \
            and the verdict and first closer follow what the acknowledgements prove.

            PIECES AND COMPRESSION
              --continuous reads the files of a rotated set (tcpdump -C, -G, -W) as one capture, \
            in the order of their first timestamps; overlapping files exit 64. Without it, files \
            whose connections visibly continue into the next get a hint on standard error. Files \
            compressed with gzip or zstd (recognised by their first bytes, on standard input too) \
            are read as they are decompressed, never unpacked whole.

            THREADS
              Files named separately are analysed at once, one per thread. A single file, or a \
            capture read --continuous, is read on one thread; with --format summary and a second \
            thread to spare, the connections are tracked on both (the counts are the same as on one). \
            --jobs sets the number of threads; the default is the cores this process may run on.
            """
    )

    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng, also .gz or .zst); '-' reads standard input.", valueName: "file"))
    var arguments: [String] = []

    @OptionGroup var input: InputFiles

    /// The files named with -r, then those named as arguments.
    var files: [String] { input.read + arguments }

    @OptionGroup var report: ReportOptions

    @Option(help: ArgumentHelp("Analyse only packets matching this tcpdump expression.", valueName: "expression"))
    var filter: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("Name at least one capture file.") }
        if let error = TrailingFilter.error(files, command: "analyze", option: "--filter") { throw error }
        if continuous && files.contains("-") {
            throw InputFiles.continuousFromStandardInput
        }
        if let jobs, !(1...1024).contains(jobs) { throw ValidationError("--jobs must be between 1 and 1024.") }
        if !(0...1e9).contains(linger) { throw ValidationError("--linger must be between 0 and 10^9 seconds.") }
        if let idleTimeout, !(0...1e9).contains(idleTimeout) {
            throw ValidationError("--idle-timeout must be between 0 and 10^9 seconds.")
        }
    }

    @Flag(help: ArgumentHelp("Read the files as one capture cut into pieces (tcpdump -C/-G/-W rotation), in the order of their first timestamps: a connection that spans pieces is reported once, with the files it spans."))
    var continuous = false

    @Option(
        name: [.short, .long], parsing: .unconditional,
        help: ArgumentHelp("Threads to analyse with (default: the cores this process may run on; see THREADS).", valueName: "n"))
    var jobs: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Capture-time seconds a finished connection is kept for late segments.", valueName: "seconds"))
    var linger: Double = 5

    @Option(
        name: .customLong("idle-timeout"), parsing: .unconditional,
        help: ArgumentHelp(
            "End a connection idle this many capture-time seconds (Zeek's cut): report it as it stands and start a new one with its next packet. Default: never (contract 1.1), 300 with --format zeek.",
            valueName: "seconds"))
    var idleTimeout: Double?

    func run() throws {
        StandardOutput.prepare()
        var packetFilter: BPFFilter?
        if let filter {
            do {
                packetFilter = try BPFFilter(filter)
            } catch {
                Console.error("--filter: \(error.description)")
                throw ExitCode.usage
            }
        }
        // Zeek's log keeps Zeek's own row boundaries: it emulates Zeek.
        let limits = TrackingLimits(
            linger: linger, idleTimeout: idleTimeout ?? (report.format == .zeek ? TrackingLimits.zeek.idleTimeout : nil))
        let mode: StreamMode
        switch report.format {
        case .jsonl: mode = .jsonLines
        case .summary: mode = .countOnly
        case .text, .json, .zeek: mode = .report(Reports.stream(for: report, files: continuous ? 1 : files.count))
        }
        let (analyses, exitCode) = analyzeFiles(
            files, filter: packetFilter, limits: limits, mode: mode, continuous: continuous,
            infersStates: report.format.printsStates, threads: jobs ?? availableProcessors)
        if report.format == .summary {
            let opened = analyses.filter(\.wasOpened)
            var lines = opened.map { TextReport.summary($0, named: analyses.count > 1) }
            var total = CaptureAnalysis(file: "total")
            for analysis in opened { total.add(analysis) }
            if let line = TextReport.total(total, files: opened.count) { lines.append(line) }
            Console.write(lines.map { $0 + "\n" }.joined())
        }
        StandardOutput.flush()
        if !continuous, let hint = StitchingHint(analyses) { Console.error(hint.text) }
        if exitCode != .success { throw exitCode }
    }
}

/// What happens to each connection as it finishes.
enum StreamMode {
    var isCountOnly: Bool {
        if case .countOnly = self { return true }
        return false
    }

    /// Kept in the analysis (for checks and explanations).
    case collect
    /// Written as a JSON Lines line at once and dropped: memory stays constant.
    case jsonLines
    /// Only counted: memory stays constant.
    case countOnly
    /// Written into a report as it finishes (text, json, zeek) and dropped; the files are analysed
    /// one after the other, so that each file's part of the report is whole.
    case report(ReportStream)
    /// Given, as it finishes, to a sink of its job's own (made for the job's index, on the thread
    /// that analyses it) and dropped; the sink gets the analysis when it ends. Jobs run in parallel.
    case each((_ job: Int) -> CaptureSink)
}

/// What a job of ``analyzeFiles`` with ``StreamMode/each(_:)`` hands its connections to.
protocol CaptureSink: AnyObject {
    /// A connection finished (with a selector, only those it matched).
    func add(_ connection: Connection)
    /// The analysis ended; its counts, warnings and error are final.
    func end(_ analysis: CaptureAnalysis)
}

extension CheckedCapture: CaptureSink {}

extension CaptureAnalysis {
    /// Whether the file could be opened (an entry for one that could not carries the reason).
    var wasOpened: Bool {
        if case .cannotOpen = error { return false }
        return true
    }
}

/// Analyses `files`, each opened only when its turn comes (any number of files works under a low
/// limit of open files), on up to `threads` worker threads (one file each at a time; one thread
/// in all when a report is streamed in order). A thread without a file of its own reads ahead, or,
/// when only counting, shares a file's tracking (``AnalysisOptions/helperThread``). Warnings and
/// errors go to standard error, in the order of the files.
/// - Returns: one analysis per file, in the order given (one that could not be opened has the
///   reason as its error), and the exit code: 130/143 when interrupted, else 66 if a file could
///   not be opened, else 65 if one was not a readable capture, else 0.
/// - Parameter continuous: read the files as one capture cut into pieces (contract 1.6), in time
///   order; one analysis then covers them all.
func analyzeFiles(
    _ files: [String], filter: PacketFilter? = nil, selector: PacketFilter? = nil,
    limits: TrackingLimits = TrackingLimits(), mode: StreamMode = .collect, continuous: Bool = false,
    infersStates: Bool = true, threads: Int = availableProcessors
) -> ([CaptureAnalysis], ExitCode) {
    HeapTuning.fixLargeBlockThreshold()
    // One job per file, or one for all of them read as pieces of one capture.
    let jobs: [[String]] = continuous ? [files] : files.map { [$0] }
    let sizes = files.map(regularFileSize)
    // Built once: each job's progress looks its pieces' sizes up in it.
    let sizeByPath = Dictionary(zip(files, sizes)) { first, _ in first }
    let meter = ProgressMeter(sizes: continuous ? [sizes.reduce(0, +)] : sizes)
    // Room for a flush and its last line (a line is far shorter than 64 KiB).
    let output: BackgroundOutput?
    if case .jsonLines = mode {
        output = BackgroundOutput(chunkCapacity: BackgroundJSONLines.flushSize + (1 << 16)) { StandardOutput.failed($0) }
    } else {
        output = nil
    }
    let results = Mutex<[Int: CaptureAnalysis]>([:])
    let queue = Mutex(jobs.indices.makeIterator())
    let named = jobs.count > 1
    var stream: ReportStream?
    if case .report(let report) = mode { stream = report }
    let workers = stream == nil ? max(1, threads) : 1
    let work = UncheckedSendable((filter, selector, stream, mode))
    @Sendable func worker() {
        let (filter, selector, stream, mode) = work.value
        while TerminationSignals.received == nil, let index = queue.withLock({ $0.next() }) {
            let paths = jobs[index], path = paths[0]
            stream?.beginFile(path, index: index)
            let sink: CaptureSink?
            if case .each(let makeSink) = mode { sink = makeSink(index) } else { sink = nil }
            var analysis: CaptureAnalysis
            do {
                var options = AnalysisOptions(filter: filter, selector: selector)
                options.limits = limits
                options.infersStates = infersStates
                // The kernel's account, when the file keeps one (a pcapng of `teardown capture`),
                // and the pieces of a continuous capture.
                let kernel = KernelAmendment()
                options.onCustomBlock = kernel.take
                if continuous { options.timeline = PieceTimeline() }
                let amendment = Amendments(kernel: kernel, timeline: options.timeline)
                // A core without a file of its own has room for reading ahead, or, when the
                // connections are only counted and each file has two, for tracking part of them.
                let spareCore = jobs.count < threads && threads > 1
                let helps = mode.isCountOnly && threads >= 2 * jobs.count
                // One capture on two threads: each on a core of its own (the scheduler otherwise
                // moved them around or together now and then; 5 % faster pinned, bench/RESULTS.md).
                let pinned = helps && jobs.count == 1 && availableProcessors >= 2
                if helps {
                    if pinned { pinCurrentThread(toAvailableCore: 0) }
                    options.helperThread = { work in
                        let thread = OSThread {
                            if pinned { pinCurrentThread(toAvailableCore: 1) }
                            work()
                        }
                        return { thread.join() }
                    }
                }
                defer { if pinned { unpinCurrentThread() } }
                let reading = WindowedReading(readsAhead: !helps && (spareCore || workers == 1))
                let piecesDone = PieceProgress(sizes: sizeByPath)
                options.onProgress = { bytes, packets in
                    meter?.update(file: index, bytes: piecesDone.bytesBefore + bytes, packets: packets)
                }
                var lines: BackgroundJSONLines?
                switch mode {
                case .collect:
                    break
                case .countOnly:
                    options.delivery = .countOnly
                    options.tracksZeek = false
                case .jsonLines:
                    let stream = BackgroundJSONLines(output: output!, file: named ? path : nil, amendment: amendment)
                    lines = stream
                    options.delivery = .batches(stream.append)
                case .report(let report):
                    // The table prints no Zeek fields: their emulation is not run for it.
                    options.tracksZeek = !(report is TextTableStream)
                    options.delivery = .stream { connection, digits in
                        var connection = connection
                        amendment.apply(to: &connection)
                        stream?.connection(connection, timestampDigits: digits)
                    }
                    options.onInputPause = { StandardOutput.flush() }
                case .each:
                    options.delivery = .stream { connection, _ in
                        var connection = connection
                        amendment.apply(to: &connection)
                        sink?.add(connection)
                    }
                }
                if continuous {
                    analysis = try CaptureAnalyzer.analyze(
                        piecesAt: paths, options: options, reading: reading, onPiece: piecesDone.begin)
                } else {
                    analysis = CaptureAnalyzer.analyze(
                        file: try CaptureFile(path: path), name: path, options: options, reading: reading)
                }
                for index in analysis.connections.indices { amendment.apply(to: &analysis.connections[index]) }
                lines?.finish()
            } catch {
                var unopened = CaptureAnalysis(file: path)
                // Which piece could not be opened, since the message names none (it names the file).
                unopened.error = .cannotOpen(continuous ? "\(error.path): \(error.description)" : error.description)
                analysis = unopened
            }
            stream?.endFile(analysis)
            sink?.end(analysis)
            results.withLock { $0[index] = analysis }
        }
    }
    let threads = (0..<min(workers, files.count)).map { _ in OSThread(worker) }
    for thread in threads { thread.join() }
    output?.finish()
    stream?.finish()
    StandardOutput.flush()
    meter?.finish()
    var analyses: [CaptureAnalysis] = []
    var exitCode = ExitCode.success
    let collected = results.withLock { $0 }
    for index in jobs.indices {
        guard let analysis = collected[index] else { continue }
        let name = jobs[index][0]
        for warning in analysis.warnings { Console.error("\(name): warning: \(warning)") }
        switch analysis.error {
        case nil, .interrupted?:
            break
        case .cannotOpen(let reason)?:
            Console.error("\(continuous ? "" : name + ": ")\(reason)")
            exitCode = .cannotOpen
        case .piecesOverlap?:
            Console.error("error: \(analysis.error!)")
            if exitCode == .success || exitCode == .badCapture { exitCode = .usage }
        case let error?:
            Console.error("\(analysis.pieces.isEmpty ? name : analysis.pieces.last!.name): \(error)")
            if exitCode == .success { exitCode = .badCapture }
        }
        analyses.append(analysis)
    }
    if let signal = TerminationSignals.received {
        Console.error("interrupted by \(signal == SIGTERM ? "SIGTERM" : "SIGINT"): the report holds what was analysed until then")
        exitCode = ExitCode(TerminationSignals.exitCode(for: signal))
    }
    return (analyses, exitCode)
}

/// The size of the regular file at `path`, 0 for anything else (standard input, a pipe) or a file
/// that cannot be examined: for the progress line, without opening the file.
func regularFileSize(_ path: String) -> Int {
    var info = stat()
    guard path != "-", stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return 0 }
    return Int(info.st_size)
}

/// The report formats.
enum Reports {
    /// The streamed report for `options`' format (text, json or zeek) over `files` files, written
    /// to standard output.
    static func stream(for options: ReportOptions, files: Int) -> ReportStream {
        switch options.format {
        case .json:
            return JSONDocumentStream(asArray: files > 1) { StandardOutput.write($0) }
        case .zeek:
            return ZeekLogStream { StandardOutput.write($0) }
        case .text, .jsonl, .summary:
            return TextTableStream(report: TextReport(color: Console.useColor(options.color), width: TerminalWidth.columns), showFile: files > 1) {
                StandardOutput.write($0)
            }
        }
    }

    /// Renders analyses whose connections were kept, in the chosen format.
    static func render(_ analyses: [CaptureAnalysis], options: ReportOptions) -> String {
        switch options.format {
        case .text:
            return TextReport(color: Console.useColor(options.color), width: TerminalWidth.columns).render(analyses)
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
