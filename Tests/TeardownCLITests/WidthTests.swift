import Foundation
import Testing
import TeardownTestSupport

/// Every human-facing output fits the terminal (issue 22): no line wider than `COLUMNS`, so that
/// nothing wraps in an 80-column terminal, and none wider than 100 without one.
@Suite("Output fits the terminal")
struct WidthTests {
    static let widths = [80, 100]

    /// The lines of `output` wider than `width` columns (ANSI colours take none).
    static func tooWide(_ output: String, _ width: Int) -> [String] {
        output.split(separator: "\n").map { String($0).replacing(/\u{1B}\[[0-9;]*m/, with: "") }.filter { $0.count > width }
    }

    static let captures = (Fixtures.files(in: Fixtures.path("pcap/lo-ipv4")).map { "pcap/lo-ipv4/\($0)" }
        + Fixtures.files(in: Fixtures.path("pcap/any-sll2")).map { "pcap/any-sll2/\($0)" }
        + Fixtures.files(in: Fixtures.path("derived")).map { "derived/\($0)" })

    @Test("analyze, explain and check fit 80 and 100 columns on every fixture", arguments: captures)
    func reports(capture: String) {
        // As a person in the repository names it (a command longer than the width cannot fit).
        let path = "fixtures/" + capture
        for width in Self.widths {
            for arguments in [["analyze", path], ["explain", "--color", "always", path], ["check", path, "--expect", "refused"]] {
                let result = Command.run(
                    [Command.teardown] + arguments, environment: ["COLUMNS": "\(width)"], directory: Fixtures.root)
                #expect(Self.tooWide(result.stdout + result.stderr, width).isEmpty, "\(width) \(arguments.first!) \(capture)")
            }
        }
    }

    @Test("every --help and run --list fit 80 and 100 columns, examples and exit codes whole on their lines")
    func help() {
        for width in Self.widths {
            for command in [[], ["analyze"], ["check"], ["explain"], ["capture"], ["run"]] {
                let help = Command.run([Command.teardown] + command + ["--help"], environment: ["COLUMNS": "\(width)"]).stdout
                #expect(Self.tooWide(help, width).isEmpty, "\(width) \(command)")
                // Inside EXAMPLES and EXIT CODES every line is indented: none was broken in two.
                var block = ""
                for line in help.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.isEmpty || line.contains(":") && !line.hasPrefix(" ") { block = "" }
                    if line == "EXAMPLES" || line == "EXIT CODES" {
                        block = String(line)
                    } else if !block.isEmpty {
                        #expect(line.hasPrefix("  "), "\(width) \(command): '\(line)' in \(block) was wrapped")
                    }
                }
            }
            let list = Command.run([Command.teardown, "run", "--list"], environment: ["COLUMNS": "\(width)"]).stdout
            #expect(Self.tooWide(list, width).isEmpty, "\(width) run --list")
            #expect(list.contains("keepalive"))
        }
    }

    @Test("messages on a terminal are wrapped to its width, words in order; into a pipe each stays one line")
    func errors() throws {
        let arguments = [Command.teardown, "analyze", "--filter", "tcp port", "/nonexistent/capture.pcap"]
        let expected = "teardown: --filter: invalid filter expression 'tcp port'"
        // Piped: one line, whole for grep.
        let piped = Command.run(arguments, environment: ["COLUMNS": "40"])
        #expect(piped.status == 64)
        #expect(piped.stderr.hasPrefix(expected) && piped.stderr.split(separator: "\n").count == 1, "\(piped.stderr)")
        // On a terminal (util-linux `script` runs the command on a pseudo-terminal).
        let script = "/usr/bin/script"
        try #require(FileManager.default.isExecutableFile(atPath: script), "util-linux's script is needed")
        let shown = Command.run(
            [script, "-qec", arguments.map { "'\($0.replacingOccurrences(of: "'", with: "'\\''"))'" }.joined(separator: " "), "/dev/null"],
            environment: ["COLUMNS": "40"])
        // The terminal ends lines with CR LF.
        let lines = shown.stdout.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n").map(String.init)
        #expect(lines.count > 1, "a message longer than 40 columns is wrapped: \(lines)")
        #expect(Self.tooWide(lines.joined(separator: "\n"), 40).isEmpty, "\(lines)")
        #expect(lines.dropFirst().allSatisfy { $0.hasPrefix("  ") }, "later parts are indented: \(lines)")
        let joined = lines.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        #expect(joined.hasPrefix(expected), "\(joined)")
    }

    @Test("run's report fits 80 columns", .enabled(if: getuid() == 0, "running scenarios needs root"))
    func run() {
        let result = Command.run([Command.teardown, "run", "close", "half-close", "--explain"], environment: ["COLUMNS": "80"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.tooWide(result.stdout, 80).isEmpty)
    }
}
