import Testing
import TeardownTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Compressed captures (`tcpdump -z gzip` rotations, `zstd`) are read as they are, streamed, never
/// unpacked whole (contract 1.5): every report equals the uncompressed file's, also from a pipe.
@Suite("Compressed captures")
struct CompressedInputTests {
    static let captures = [
        Fixtures.path("pcap/lo-ipv4/half-close.pcap"), Fixtures.path("derived/mixed-linktypes.pcapng"),
        Fixtures.path("derived/half-close-nsec-be.pcap"), Fixtures.corpus + "/traces/bigtransfer.pcap",
        Fixtures.corpus + "/traces/pop3.pcap",
    ]

    @Test("gzip and zstd give the reports of the capture itself, in every format, from a file and from standard input",
          arguments: ["gzip", "zstd"])
    func sameReports(compressor: String) throws {
        guard Command.run([compressor, "--version"]).status == 0 else {
            Issue.record("\(compressor) is not installed (.ci/run installs it)")
            return
        }
        let directory = "/tmp/teardown-compressed-\(getpid())-\(compressor)"
        mkdir(directory, 0o755)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        for (index, capture) in Self.captures.enumerated() where access(capture, R_OK) == 0 {
            let compressed = "\(directory)/\(index).\(compressor == "gzip" ? "gz" : "zst")"
            #expect(Command.run(["sh", "-c", "\(compressor) -c '\(capture)' > '\(compressed)'"]).status == 0)
            for format in ["json", "jsonl", "text", "zeek", "summary"] {
                let plain = Command.teardown("analyze", "--format", format, capture)
                let packed = Command.teardown("analyze", "--format", format, compressed)
                #expect(packed.status == plain.status, "\(capture) \(format): \(packed.stderr)")
                #expect(
                    Self.withoutLogTimes(packed.stdout.replacing(compressed, with: "X"))
                        == Self.withoutLogTimes(plain.stdout.replacing(capture, with: "X")), "\(capture) \(format)")
                let piped = Command.run(["sh", "-c", "cat '\(compressed)' | '\(Command.teardown)' analyze --format \(format) -"])
                #expect(
                    Self.withoutLogTimes(piped.stdout.replacing("\"-\"", with: "\"X\"").replacing("-: ", with: "X: "))
                        == Self.withoutLogTimes(plain.stdout.replacing(capture, with: "X")), "\(capture) \(format) from a pipe")
            }
        }
    }

    /// The output without the Zeek log's `#open` and `#close` lines (the time it was written).
    static func withoutLogTimes(_ output: String) -> String {
        output.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("#open\t") && !$0.hasPrefix("#close\t") }.joined(separator: "\n")
    }

    @Test("a compressed capture cut short is analysed up to there; one whose data is corrupt is a readable error with exit 65")
    func cutShortOrCorrupt() {
        let path = "/tmp/teardown-cut-\(getpid()).gz"
        defer { unlink(path) }
        let capture = Fixtures.corpus + "/traces/bigtransfer.pcap"
        _ = Command.run(["sh", "-c", "gzip -c '\(capture)' | head -c 12000 > '\(path)'"])
        let cut = Command.teardown("analyze", "--format", "summary", path)
        #expect(cut.status == 0, "\(cut.stderr)")
        #expect(cut.stderr.contains("warning: capture cut short"), "\(cut.stderr)")
        _ = Command.run(["sh", "-c", "printf '\\037\\213\\010\\000garbage, not deflate data at all' > '\(path)'"])
        let corrupt = Command.teardown("analyze", "--format", "summary", path)
        #expect(corrupt.status == 65, "\(corrupt.stderr)")
        #expect(corrupt.stderr.contains("the gzip data is corrupt"), "\(corrupt.stderr)")
    }
}

extension String {
    /// With every `target` replaced by `replacement`.
    func replacing(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.range(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
