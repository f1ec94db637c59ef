import Foundation
import Testing
import TeardownTestSupport

/// Whether `editcap` (package tshark) is installed.
private let editcapFound = Command.run(["sh", "-c", "command -v editcap"]).status == 0

/// `--continuous` (contract 1.6): files cut from one capture by `editcap -c`, read back as one.
@Suite("Rotated captures read as one (--continuous)", .enabled(if: editcapFound, "editcap (package tshark) is not installed"))
struct ContinuousTests {
    /// Cuts `capture` into pieces of `packets` packets each (nanosecond pcap, as the input) in a
    /// fresh directory; runs `body` with the pieces' paths in name order, then removes them.
    static func withPieces<Result>(
        of capture: String, packets: Int, _ body: ([String]) throws -> Result
    ) throws -> Result {
        let directory = "/tmp/teardown-pieces-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o700)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        let cut = Command.run(["editcap", "-F", "nsecpcap", "-c", "\(packets)", capture, directory + "/piece.pcap"])
        try #require(cut.status == 0, "editcap: \(cut.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        return try body(names.map { directory + "/" + $0 })
    }

    /// JSON Lines with the `files` member left out: what must equal the whole file's lines.
    static func linesWithoutFiles(_ output: String) -> [String] {
        output.split(separator: "\n").map { line in
            guard let range = line.range(of: #","files":["#) else { return String(line) }
            return String(line[..<range.lowerBound]) + "}"
        }
    }

    /// 200 000 packets in 200 pieces here (the debug build takes 20 s per million packets in all
    /// these runs); `bench/continuous.sh` does the same with 1 M packets and a release build.
    @Test("a 200 k-packet capture cut into 200 pieces gives the whole file's connections, in any argument order")
    func synthetic() throws {
        try Command.withSyntheticCapture(named: "continuous", packets: 200_000, concurrent: 2000) { whole in
            let expected = Command.teardown("analyze", "--format", "jsonl", whole)
            try #require(expected.status == 0)
            try Self.withPieces(of: whole, packets: 1000) { pieces in
                #expect(pieces.count == 200)
                var random = SplitMix64(seed: 23)
                for order in [pieces, pieces.shuffled(using: &random)] {
                    let stitched = Command.run(
                        [Command.teardown, "analyze", "--continuous", "--format", "jsonl"] + order)
                    #expect(stitched.status == 0, "\(stitched.stderr)")
                    #expect(Self.linesWithoutFiles(stitched.stdout) == Self.linesWithoutFiles(expected.stdout))
                }
                // The summary agrees too, and a connection that spans pieces names them all.
                let summary = Command.run([Command.teardown, "analyze", "--continuous", "--format", "summary"] + pieces)
                let wholeSummary = Command.teardown("analyze", "--format", "summary", whole)
                #expect(summary.stdout.split(separator: ";").first == wholeSummary.stdout.split(separator: ";").first)
                // Counted on one thread or with the tracking shared by two (issue 23): the same summary.
                for jobs in ["1", "2"] {
                    let counted = Command.run(
                        [Command.teardown, "analyze", "--continuous", "--format", "summary", "--jobs", jobs] + pieces)
                    #expect(counted.status == 0 && counted.stdout == summary.stdout, "--jobs \(jobs): \(counted.stdout)")
                }
                let spanning = Command.run([Command.teardown, "analyze", "--continuous", "--format", "jsonl"] + pieces[0..<3])
                #expect(spanning.stdout.contains(#""files":["\#(pieces[0])","\#(pieces[1])""#))
                // Separately, the files give a hint that says how to stitch them.
                let separate = Command.run([Command.teardown, "analyze", "--format", "summary"] + pieces[0..<3])
                #expect(separate.stderr.contains("look like pieces of one capture"))
                #expect(separate.stderr.contains("teardown analyze --continuous \(pieces[0]) \(pieces[1]) \(pieces[2])"))
                // Overlapping files are not pieces of one capture: exit 64, naming them.
                let overlapping = Command.run([Command.teardown, "analyze", "--continuous", "--format", "summary", whole] + pieces[0..<3])
                #expect(overlapping.status == 64)
                #expect(overlapping.stderr.contains("overlap"))
            }
        }
    }

    @Test("every scenario fixture cut every 3 packets, mid-connection, reads back as the whole capture",
        arguments: ["lo-ipv4", "any-sll2"])
    func scenarios(group: String) throws {
        for name in Fixtures.files(in: Fixtures.path("pcap/\(group)")) {
            let whole = Fixtures.path("pcap/\(group)/\(name)")
            let expected = Command.teardown("analyze", "--format", "jsonl", whole)
            try Self.withPieces(of: whole, packets: 3) { pieces in
                var random = SplitMix64(seed: 5)
                let stitched = Command.run(
                    [Command.teardown, "analyze", "--continuous", "--format", "jsonl"] + pieces.shuffled(using: &random))
                #expect(stitched.status == 0)
                #expect(Self.linesWithoutFiles(stitched.stdout) == Self.linesWithoutFiles(expected.stdout), "\(group)/\(name)")
                if pieces.count > 1 { #expect(stitched.stdout.contains(#""files":["#)) }
                // check reads them as one too: each connection is checked once.
                let connections = expected.stdout.split(separator: "\n").count
                let check = Command.run(
                    [Command.teardown, "check", "--continuous", "--connections", "\(connections)"] + pieces)
                #expect(check.status == 0, "\(group)/\(name): \(check.stdout)")
                // explain draws the same ladders from the pieces as from the whole capture.
                let ladders = Command.teardown("explain", "--color", "never", whole)
                let stitchedLadders = Command.run(
                    [Command.teardown, "explain", "--continuous", "--color", "never"] + pieces.shuffled(using: &random))
                #expect(stitchedLadders.status == ladders.status)
                #expect(stitchedLadders.stdout == ladders.stdout, "\(group)/\(name) explain")
                // Compressed pieces read the same.
                _ = Command.run(["gzip", pieces[0]])
                let compressed = Command.run(
                    [Command.teardown, "analyze", "--continuous", "--format", "jsonl", pieces[0] + ".gz"] + pieces.dropFirst())
                #expect(Self.linesWithoutFiles(compressed.stdout) == Self.linesWithoutFiles(expected.stdout), "\(group)/\(name) gz")
            }
        }
    }

    @Test("--continuous refuses standard input")
    func standardInput() {
        for command in ["analyze", "explain"] {
            let result = Command.teardown(command, "--continuous", "-")
            #expect(result.status == 64)
            #expect(result.stderr.contains("standard input"))
        }
    }

    @Test("check --continuous suggests an explain command over all the pieces, and that command draws the connection")
    func checkSuggestsPieces() throws {
        let close = Fixtures.path("pcap/lo-ipv4/close.pcap")
        try Self.withPieces(of: close, packets: 3) { pieces in
            try #require(pieces.count > 1)
            let check = Command.run([Command.teardown, "check", "--continuous", "--forbid", "abortive"] + pieces.reversed())
            #expect(check.status == 1)
            // The command may be wrapped onto the line after "see it:".
            let words = check.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
            let start = try #require(words.firstIndex(of: "explain"))
            let suggested = Array(words[start...].prefix { !$0.hasPrefix("check") })
            #expect(suggested.starts(with: ["explain", "--continuous"]))
            #expect(Set(suggested).isSuperset(of: pieces))
            let drawn = Command.run([Command.teardown] + suggested + ["--color", "never"])
            #expect(drawn.status == 0)
            #expect(drawn.stdout == Command.teardown("explain", "--color", "never", close).stdout)
        }
    }

    @Test("explain names a piece that cannot be opened, and suggests --continuous for several files")
    func explainPieces() {
        let close = Fixtures.path("pcap/lo-ipv4/close.pcap")
        let missing = Command.teardown("explain", "--continuous", close, "/nonexistent/piece.pcap")
        #expect(missing.status == 66)
        #expect(missing.stderr.contains("/nonexistent/piece.pcap: cannot open"))
        let analyzeMissing = Command.teardown("analyze", "--continuous", close, "/nonexistent/piece.pcap")
        #expect(analyzeMissing.status == 66)
        #expect(analyzeMissing.stderr.contains("/nonexistent/piece.pcap: cannot open"))
        let absent = Command.teardown("explain", "--continuous", "--connection", "7", close, close)
        #expect(absent.status == 64)
        #expect(absent.stderr.contains("the 2 pieces have no connection 7 (the ids run from 1 to "))
        let several = Command.teardown("explain", close, close)
        #expect(several.status == 64)
        #expect(several.stderr.contains("add --continuous"))
    }
}
