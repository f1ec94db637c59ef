import Foundation
import Testing
import TeardownTestSupport

/// What tcpdump and tshark users type, and the small things a person at a terminal meets (issue 22).
@Suite("Habits and small things")
struct HabitsTests {
    let close = Fixtures.path("pcap/lo-ipv4/close.pcap")

    @Test("-r FILE reads a capture in analyze, check and explain, as tcpdump -r does")
    func readOption() {
        #expect(Command.teardown("analyze", "-r", close).stdout == Command.teardown("analyze", close).stdout)
        #expect(Command.teardown("check", "-r", close, "--expect", "abortive").status == 0)
        #expect(Command.teardown("explain", "-r", close).stdout == Command.teardown("explain", close).stdout)
        #expect(Command.teardown("explain", "-r", close, close).status == 64)
    }

    @Test("a filter given as plain words after the file: exit 64 and the exact command with the option")
    func trailingFilter() {
        let analyze = Command.teardown("analyze", close, "port", "8000")
        #expect(analyze.status == 64)
        #expect(analyze.stderr.contains("teardown analyze --filter 'port 8000' \(close)"))
        let check = Command.teardown("check", close, "tcp", "port", "80", "--expect", "graceful")
        #expect(check.status == 64)
        #expect(check.stderr.contains("teardown check --filter 'tcp port 80' \(close) --expect graceful"))
        let explain = Command.teardown("explain", close, "host", "127.0.0.1")
        #expect(explain.status == 64)
        #expect(explain.stderr.contains("teardown explain --where 'host 127.0.0.1' \(close)"))
        let capture = Command.teardown("capture", "-i", "lo", "port", "8000")
        #expect(capture.status == 64)
        #expect(capture.stderr.contains("teardown capture -f 'port 8000' -i lo"))
    }

    @Test("--snaplen 0 means whole packets, -B sizes the buffer in KiB, and --duration and --count combine: all pass validation")
    func captureOptions() {
        for arguments in [["--snaplen", "0"], ["-B", "65536"], ["--duration", "1", "--count", "5"]] {
            let result = Command.run([Command.teardown, "capture", "-i", "no-such-interface0"] + arguments)
            // Past validation, the capture itself stops at the interface (or at the permission).
            #expect(result.stderr.contains("no-such-interface0") || result.status == 77, "\(arguments): \(result.stderr)")
            #expect(!result.stderr.contains("--snaplen must") && !result.stderr.contains("not both"))
        }
        #expect(Command.teardown("capture", "--snaplen", "10").status == 64)
        let tiny = Command.teardown("capture", "--buffer-size", "10")
        #expect(tiny.status == 64 && tiny.stderr.contains("--buffer-size must be between 64 and"))
    }

    @Test("--filter drops packets in every command, --where chooses connections")
    func filterConvention() {
        let none = "tcp port 1"
        #expect(Command.teardown("analyze", "--filter", none, close).stdout.contains("0 connections"))
        #expect(Command.teardown("explain", "--filter", none, close).stderr.contains("holds no TCP connection"))
        #expect(Command.teardown("check", "--filter", none, close, "--connections", "0").status == 0)
        #expect(Command.teardown("check", "--where", none, close, "--connections", "0").status == 0)
        #expect(Command.teardown("explain", "--where", none, close).stderr.contains("no connection has a packet matching"))
    }

    @Test("a bad filter says what is wrong, without the root usage")
    func badFilter() {
        for arguments in [["analyze", "--filter", "port banana", close], ["check", close, "--where", "port banana", "--expect", "graceful"], ["explain", close, "--where", "port banana"], ["explain", close, "--filter", "port banana"]] {
            let result = Command.run([Command.teardown] + arguments)
            #expect(result.status == 64)
            #expect(result.stderr.contains("unknown port 'banana'"))
            #expect(!result.stderr.contains("Usage: teardown <subcommand>"), "\(arguments)")
        }
    }

    @Test("a missing file is named, and gets no empty table or summary")
    func missingFile() {
        let explain = Command.teardown("explain", "/nonexistent.pcap")
        #expect(explain.status == 66 && explain.stderr.contains("/nonexistent.pcap: cannot open"))
        let analyze = Command.teardown("analyze", "/nonexistent.pcap")
        #expect(analyze.status == 66 && analyze.stdout.isEmpty)
    }

    @Test("--linger -1 is out of range, not a missing value")
    func negativeLinger() {
        let result = Command.teardown("analyze", "--linger", "-1", close)
        #expect(result.status == 64)
        #expect(result.stderr.contains("--linger must be between 0 and 10^9 seconds"))
    }

    @Test("--svg - writes the SVG to standard output, not to a file named -")
    func svgToStandardOutput() {
        let directory = "/tmp/teardown-svg-\(getpid())"
        mkdir(directory, 0o700)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        let result = Command.run(["sh", "-c", "cd \(directory) && \(Command.teardown) explain \(close) --svg -"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("<?xml") && result.stdout.contains("</svg>"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/-"))
    }

    @Test("counts read as English: 1 packet, exactly 1 connection")
    func grammar() {
        #expect(Command.teardown("analyze", Fixtures.path("malformed/caplen-above-snaplen.pcap")).stdout.contains("; 1 packet, 1 TCP"))
        #expect(Command.teardown("check", close, "--connections", "1").stdout.contains("(exactly 1 connection)"))
    }

    @Test("the Zeek log has #open and #close lines, and missed_bytes 0 where nothing was missed")
    func zeekLogLines() throws {
        let lines = Command.teardown("analyze", "--format", "zeek", close).stdout.split(separator: "\n").map(String.init)
        let open = try #require(lines.first { $0.hasPrefix("#open\t") })
        #expect(open.wholeMatch(of: /#open\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d/) != nil)
        #expect(lines.last?.hasPrefix("#close\t") == true)
        let fields = try #require(lines.first { $0.hasPrefix("#fields") }).split(separator: "\t").dropFirst()
        let row = try #require(lines.first { !$0.hasPrefix("#") }).split(separator: "\t", omittingEmptySubsequences: false)
        #expect(row[fields.firstIndex(of: "missed_bytes")! - 1] == "0")
    }

    @Test("a command that cannot be run: 127 when not found, 126 when not executable",
        .enabled(if: getuid() == 0, "live capture needs root"))
    func commandNotRun() {
        #expect(Command.teardown("check", "--live", "--expect", "graceful", "--", "/no/such/command").status == 127)
        #expect(Command.teardown("check", "--live", "--expect", "graceful", "--", "/etc/hostname").status == 126)
    }
}
