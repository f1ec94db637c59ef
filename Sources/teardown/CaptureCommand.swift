import ArgumentParser
import TeardownIO
import TeardownKernel
import TeardownAnalysis
import TeardownCapture
import TeardownReport

#if canImport(Glibc)
import Glibc
#endif

/// `teardown capture`: record loopback traffic with libpcap, then analyse it.
struct Capture: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture TCP traffic with libpcap (while a command runs, for a time, or until Ctrl-C) and analyse it.",
        usage: "teardown capture [<options>] [-- <command> ...]",
        discussion: """
            With a command after '--', capture starts before the command and stops after it exits \
            (once the traffic has settled), and the command's exit status becomes teardown's. Without \
            one, capture runs until Ctrl-C, --duration or --count. Ctrl-C and SIGTERM always leave a \
            complete, valid file. Needs root or CAP_NET_RAW (exit 77 otherwise). If the disk fills up \
            (or a file size limit is reached), capture stops, what was written is analysed, and the exit \
            status is 74.

            EXAMPLES
              sudo teardown capture -w session.pcapng -- ./integration-tests.sh
              sudo teardown capture -f 'tcp port 8080' --duration 10
              sudo teardown capture -i any --link-type sll2 -w any.pcap --count 100
            """
    )

    @Option(name: [.customShort("i"), .long], help: "Interface to capture on (lo gives Ethernet framing, any gives Linux cooked).")
    var interface = "lo"

    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("Capture only packets matching this tcpdump expression.", valueName: "expression"))
    var filter = "tcp"

    @Option(name: [.customShort("w"), .long], help: ArgumentHelp("Write the capture to this file: pcap, or pcapng when the name ends in .pcapng (then with the kernel's account inside and a comment on each reset saying why; default: a temporary file, removed afterwards).", valueName: "file"))
    var write: String?

    /// Whether the capture is written as pcapng (by its name).
    var writesPcapng: Bool { write?.hasSuffix(".pcapng") ?? false }

    @Option(help: ArgumentHelp("Bytes kept per packet; 0 keeps whole packets, as with tcpdump. Default: whole packets with -w (the file is for Wireshark too), else 256 (payload sizes come from the IP lengths, so headers suffice).", valueName: "bytes"))
    var snaplen: Int32?

    /// The snapshot length asked of libpcap.
    var snapshotLength: Int32 {
        switch snaplen {
        case 0?: return Self.wholePacket
        case let length?: return length
        case nil: return write == nil ? 256 : Self.wholePacket
        }
    }

    /// libpcap's largest snapshot length: whole packets.
    static let wholePacket: Int32 = 262_144

    @Option(name: [.customShort("B"), .customLong("buffer-size")], help: ArgumentHelp("The kernel's capture buffer in KiB, as tcpdump -B. Default: 65536 (64 MiB) when whole packets are kept, else 4096.", valueName: "KiB"))
    var bufferSize: Int?

    /// The kernel ring's size in bytes. In immediate mode every packet takes a slot sized for the
    /// largest packet kept (on lo, whose MTU is 64 KiB, a 128 KiB block per slot with whole
    /// packets, so the ring takes twice the size asked): 4 MiB then holds a few dozen packets,
    /// and a 30 000-connection loopback load lost a quarter of its packets with it; 64 MiB lost
    /// none, also with both cores busy once the capture thread runs at a raised priority
    /// (bench/RESULTS.md). With 256-byte snapshots 4 MiB holds thousands, and lost none.
    var bufferBytes: Int32 {
        if let bufferSize { return Int32(bufferSize * 1024) }
        return snapshotLength == Self.wholePacket ? 64 << 20 : 4 << 20
    }

    /// The largest --buffer-size: libpcap takes the size in bytes as a 32-bit integer.
    static let largestBufferKiB = Int(Int32.max) / 1024

    @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(help: ArgumentHelp("Stop after this many packets.", valueName: "packets"))
    var count: Int?

    @Option(name: .customLong("link-type"), help: "Ask the interface for this link type (sll2 on 'any').")
    var linkType: LinkTypeChoice?

    @Flag(name: [.customShort("q"), .long], help: "Do not print the analysis afterwards.")
    var quiet = false

    @OptionGroup var kernelEvents: KernelEventOptions

    @OptionGroup var report: ReportOptions

    @Argument(parsing: .postTerminator, help: ArgumentHelp("A command to run while capturing.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive.") }
        if let count, count <= 0 { throw ValidationError("--count must be positive.") }
        if let snaplen, snaplen != 0 && (snaplen < 64 || snaplen > Self.wholePacket) {
            throw ValidationError("--snaplen must be 0 (whole packets) or between 64 and 262144.")
        }
        if let bufferSize, bufferSize < 64 || bufferSize > Self.largestBufferKiB {
            throw ValidationError("--buffer-size must be between 64 and \(Self.largestBufferKiB) KiB.")
        }
        if !command.isEmpty && (duration != nil || count != nil) {
            throw ValidationError("With a command, capture lasts as long as the command: drop --duration/--count.")
        }
    }

    func run() throws {
        StandardOutput.prepare()
        // Past a file size limit (ulimit -f), let the write fail with EFBIG and be reported, rather
        // than have SIGXFSZ kill the process with the file half-written and no message.
        signal(SIGXFSZ, SIG_IGN)
        // libpcap writes pcap; a pcapng is written from it afterwards, with the kernel's account.
        let path = writesPcapng ? TemporaryFile.make(prefix: "capture") : write ?? TemporaryFile.make(prefix: "capture")
        // A capture nobody asked to keep is removed on every way out, errors included.
        defer { if write == nil || writesPcapng { unlink(path) } }
        var configuration = CaptureConfiguration(outputPath: path)
        configuration.interface = interface
        configuration.filter = filter.isEmpty ? nil : filter
        configuration.snapshotLength = snapshotLength
        configuration.linkType = linkType?.value
        configuration.bufferSize = bufferBytes
        let capture: LiveCapture
        do {
            // --count and --duration together: whichever comes first ends the capture.
            capture = try LiveCapture(configuration, packetLimit: count ?? 0)
        } catch {
            throw fail(error)
        }
        let kernel = kernelEvents.start()
        defer { kernel?.stop() }
        capture.start()
        var exitStatus: Int32 = 0
        var interrupted: Int32?
        if !command.isEmpty {
            let child: ChildProcess
            do {
                child = try ChildProcess(command)
            } catch {
                _ = try? capture.stop(quietPeriod: 0)
                Console.error(error.description)
                throw ExitCode(error.exitStatus)
            }
            (exitStatus, interrupted) = child.waitForwardingSignals()
        } else {
            let started = LiveCapture.monotonicMilliseconds()
            let progress = Progress(enabled: Console.stderrIsTerminal)
            while !capture.hasEnded {
                if let signal = TerminationSignals.wait(milliseconds: 100) {
                    interrupted = signal
                    break
                }
                let elapsed = LiveCapture.monotonicMilliseconds() - started
                if let duration, Double(elapsed) >= duration * 1000 { break }
                progress.show("capturing on \(interface): \(capture.packetsWritten) packets, \(elapsed / 1000) s (Ctrl-C to stop)")
            }
            progress.clear()
        }
        let statistics: CaptureStatistics
        var writeFailure: ExitCode?
        do {
            statistics = try capture.stop(quietPeriod: command.isEmpty ? 0 : LiveCapture.defaultQuietPeriod)
        } catch {
            // A write failure (disk full) still leaves a readable file: report what it holds.
            guard case .writeFailed = error else { throw fail(error) }
            writeFailure = fail(error)
            statistics = capture.statistics
        }
        var line = "captured \(statistics.written) packets on \(interface)"
        if let write { line += " into \(write)" }
        if writeFailure != nil { line += " before writing failed; the file holds those that reached the disk" }
        if let interrupted { line += " (stopped by \(interrupted == SIGINT ? "SIGINT" : "SIGTERM"))" }
        Console.error(line)
        if statistics.dropped > 0 {
            let note = interface == "lo" ? " (on lo libpcap's counters see every packet twice)" : ""
            Console.error(
                "warning: the kernel dropped packets: ps_drop = \(statistics.dropped)\(note); the capture is "
                    + "incomplete; keep fewer bytes per packet (--snaplen 256) or give the kernel more room "
                    + "(--buffer-size, in KiB; now \(bufferBytes / 1024))")
        }
        if !quiet || writesPcapng {
            var analysis: CaptureAnalysis
            do {
                var options = AnalysisOptions()
                options.infersStates = report.format.printsStates
                analysis = try CaptureAnalyzer.analyze(fileAt: path, options: options)
            } catch {
                Console.error("\(path): \(error)")
                throw ExitCode.cannotOpen
            }
            let account =
                kernel?.finish(into: &analysis, loopback: interface == "lo")
                ?? KernelAccount(events: [], realtimeOffset: 0, coversEveryStack: false)
            if let write, writesPcapng {
                do {
                    try AnnotatedCapture.write(pcapAt: path, to: write, analysis: analysis, account: account)
                } catch {
                    Console.error("cannot write \(write): \(error)")
                    throw ExitCode.writeFailed
                }
            } else if write != nil && kernel != nil {
                Console.error("note: a pcap file cannot keep the kernel's account; write FILE.pcapng to keep it")
            }
            if !quiet { Console.write(Reports.render([analysis], options: report)) }
        }
        if let writeFailure { throw writeFailure }
        if exitStatus != 0 { throw ExitCode(exitStatus) }
    }
}
