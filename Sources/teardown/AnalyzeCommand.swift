import ArgumentParser
import TeardownAnalysis
import TeardownCapture
import TeardownReport
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
              teardown analyze fixtures/pcap/close.pcap
              teardown analyze --format jsonl a.pcap b.pcapng
              teardown analyze --filter 'tcp port 8080' capture.pcap
            """
    )

    @Argument(help: ArgumentHelp("Capture files (pcap or pcapng); '-' reads standard input.", valueName: "file"))
    var files: [String]

    @OptionGroup var report: ReportOptions

    @Option(help: ArgumentHelp("Analyse only packets matching this tcpdump expression.", valueName: "expression"))
    var filter: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("Name at least one capture file.") }
    }

    func run() throws {
        var packetFilter: BPFFilter?
        if let filter {
            do {
                packetFilter = try BPFFilter(filter)
            } catch {
                throw ValidationError(error.description)
            }
        }
        let (analyses, exitCode) = analyzeFiles(files, filter: packetFilter)
        Console.write(Reports.render(analyses, options: report))
        if exitCode != .success { throw exitCode }
    }
}

/// Analyses `files`, printing warnings and errors on standard error as it goes.
/// - Returns: the analyses of the files that could be opened, and the exit code: 66 if a file could
///   not be opened, else 65 if one was not a readable capture, else 0.
func analyzeFiles(_ files: [String], filter: PacketFilter? = nil, selector: PacketFilter? = nil) -> ([CaptureAnalysis], ExitCode) {
    var analyses: [CaptureAnalysis] = []
    var exitCode = ExitCode.success
    for file in files {
        do {
            let analysis = try CaptureAnalyzer.analyze(fileAt: file, filter: filter, selector: selector)
            for warning in analysis.warnings { Console.error("\(file): warning: \(warning)") }
            if let error = analysis.error {
                Console.error("\(file): \(error)")
                if exitCode == .success { exitCode = .badCapture }
            }
            analyses.append(analysis)
        } catch {
            Console.error("\(file): \(error)")
            exitCode = .cannotOpen
        }
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
