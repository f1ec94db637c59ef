import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

#if canImport(Glibc)
import Glibc
#endif

/// Nothing lost on the way out (issue 19): failed writes, closed pipes, many files under a low
/// descriptor limit, standard input streamed, Ctrl-C, and `check` and `--format json` telling the
/// truth about files that could not be read.
@Suite("Output, pipes, signals")
struct OutputRobustnessTests {
    static let close = Fixtures.path("pcap/lo-ipv4/close.pcap")
    static let refused = Fixtures.path("pcap/lo-ipv4/refused.pcap")

    /// Runs a bash script with `T` set to the teardown binary.
    static func bash(_ script: String) -> CommandResult {
        Command.run(["bash", "-c", script], environment: ["T": Command.teardown])
    }

    @Test("a report that cannot be written (a full disk) gives a message and exit 74, in every format and for explain",
          arguments: ["text", "json", "jsonl", "summary", "zeek", "explain"])
    func fullDisk(format: String) {
        let command = format == "explain" ? "\"$T\" explain \(Self.close)" : "\"$T\" analyze --format \(format) \(Self.close)"
        let result = Self.bash(command + " > /dev/full")
        #expect(result.status == 74, "\(format): \(result.stderr)")
        #expect(result.stderr.contains("cannot write the report to standard output: No space left on device"), "\(format): \(result.stderr)")
    }

    @Test("a closed pipe (| head -1) ends quietly with exit 0", arguments: ["text", "json", "jsonl", "zeek"])
    func closedPipe(format: String) throws {
        try Command.withSyntheticCapture(named: "pipe-\(format)", packets: 40_000, concurrent: 200) { path in
            let result = Self.bash("\"$T\" analyze --format \(format) \(path) 2>/tmp/teardown-pipe-err-$$ | head -1 >/dev/null; "
                + "status=${PIPESTATUS[0]}; cat /tmp/teardown-pipe-err-$$; rm -f /tmp/teardown-pipe-err-$$; exit $status")
            #expect(result.status == 0, "\(format): \(result.stdout)")
            #expect(result.stdout.isEmpty, "\(format): a message on standard error: \(result.stdout)")
        }
    }

    @Test("hundreds of files under `ulimit -n 64`: each opened in its turn, every one reported, in order")
    func manyFilesFewDescriptors() throws {
        let directory = "/tmp/teardown-many-\(getpid())"
        mkdir(directory, 0o755)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        let count = 300
        for index in 0..<count {
            let number = String(index)
            symlink(Self.close, "\(directory)/f\(String(repeating: "0", count: 4 - number.count))\(number).pcap")
        }
        let result = Self.bash("ulimit -n 64; \"$T\" analyze --format summary \(directory)/*.pcap")
        #expect(result.status == 0, "\(result.stderr.prefix(300))")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == count + 1)
        #expect(lines.first?.hasPrefix("\(directory)/f0000.pcap: 1 connection: 1 abortive") == true)
        #expect(lines[count - 1].hasPrefix("\(directory)/f0299.pcap: "))
        // A grand total closes the list.
        #expect(lines.last == "total, 300 files: 300 connections: 300 abortive (2700 bytes lost); 3000 packets, 3000 TCP")
        let json = Self.bash("ulimit -n 64; \"$T\" analyze --format json \(directory)/*.pcap | grep -o '\"verdict\":\"abortive\"' | wc -l")
        #expect(json.stdout.trimmingCharacters() == "\(count)")
    }

    @Test("standard input is streamed: each jsonl line comes out while the writer is still writing")
    func slowPipe() throws {
        // Four connections, each written a second after the one before; with --linger 0.5 a
        // connection is finished once a later packet has come, so its line must be out before the
        // writer writes the connection after next.
        let directory = "/tmp/teardown-slow-\(getpid())"
        mkdir(directory, 0o755)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        var parts: [[UInt8]] = []
        for index in 0..<4 {
            var c = Conversation()
            c.clientAddress = SocketAddress(address: IPAddress("10.0.0.1")!, port: UInt16(40000 + index))
            c.time += Int64(index) * 10_000_000_000
            c.handshake()
            c.data(.client, 10)
            c.fin(.client)
            c.fin(.server)
            c.ack(.client)
            var writer = PcapWriter()
            for segment in c.segments { writer.append(segment) }
            parts.append(index == 0 ? writer.bytes : Array(writer.bytes.dropFirst(24)))
        }
        for (index, part) in parts.enumerated() {
            let file = fopen("\(directory)/part\(index)", "wb")!
            fwrite(part, 1, part.count, file)
            fclose(file)
        }
        let script = """
            cd \(directory)
            ( for i in 0 1 2 3; do cat part$i; echo "wrote $i $(date +%s%N)" >> log; sleep 1; done ) \
              | "$T" analyze --format jsonl --linger 0.5 - \
              | while read -r line; do echo "line ${line:0:60} $(date +%s%N)" >> log; done
            cat log
            """
        let result = Self.bash(script)
        let log = result.stdout.split(separator: "\n").map { $0.split(separator: " ") }
        func time(_ prefix: String, _ index: Int) -> Int? {
            log.first { $0.first.map(String.init) == prefix && $0.contains { $0.contains("\(40000 + index)") || $0 == "\(index)" } }
                .flatMap { Int($0.last!) }
        }
        for index in 0..<2 {
            let line = try #require(time("line", index), "no line for connection \(index): \(result.stdout)")
            let later = try #require(time("wrote", index + 2), "\(result.stdout)")
            #expect(line < later, "connection \(index)'s line came only after part \(index + 2) was written:\n\(result.stdout)")
        }
        #expect(log.filter { $0.first == "line" }.count == 4, "\(result.stdout)")
    }

    @Test("SIGINT while analysing a large file: exit 130 within a second, with the connections finished so far")
    func interruptedAnalysis() throws {
        try Command.withSyntheticCapture(named: "sigint", packets: 3_000_000, concurrent: 2000) { path in
            let result = Self.bash("""
                "$T" analyze --format json \(path) > /tmp/teardown-sigint-$$.json & pid=$!
                sleep 0.3; start=$(date +%s%N); kill -INT $pid; wait $pid; status=$?
                echo "$status $(( ($(date +%s%N) - start) / 1000000 ))"
                tail -c 200 /tmp/teardown-sigint-$$.json; rm -f /tmp/teardown-sigint-$$.json
                """)
            let first = result.stdout.split(separator: "\n").first?.split(separator: " ") ?? []
            #expect(first.first == "130", "\(result.stdout) \(result.stderr)")
            #expect((first.last.flatMap { Int($0) } ?? 9999) < 1000, "\(result.stdout)")
            #expect(result.stdout.contains("\"error\":\"interrupted by SIGINT; analysed up to there\"}"), "\(result.stdout)")
            #expect(result.stderr.contains("interrupted by SIGINT"))
        }
    }

    @Test("check says no 'passed' when a file cannot be opened")
    func checkMissingFile() {
        let result = Command.teardown("check", "/nonexistent.pcap", "--expect", "graceful")
        #expect(result.status == 66)
        #expect(!result.stdout.contains("check passed"), "\(result.stdout)")
        #expect(result.stdout.contains("the capture could not be opened: cannot open: No such file or directory"), "\(result.stdout)")
    }

    @Test("check --filter without --live filters the packets, as analyze --filter does")
    func checkFilter() {
        let all = Command.teardown("check", Self.close, "--expect", "abortive")
        #expect(all.status == 0)
        let filtered = Command.teardown("check", Self.close, "--filter", "tcp port 9", "--expect", "abortive")
        #expect(filtered.status == 1)
        #expect(filtered.stdout.contains("no connection was selected"), "\(filtered.stdout)")
    }

    @Test("check --live checks the --junit path before it runs the command")
    func checkOutputPathFirst() {
        let marker = "/tmp/teardown-ran-\(getpid())"
        let result = Command.teardown(
            "check", "--live", "--expect", "graceful", "--junit", "/nonexistent/dir/j.xml", "--", "touch", marker)
        #expect(result.status == 66)
        #expect(result.stderr.contains("cannot write the JUnit report to /nonexistent/dir/j.xml"), "\(result.stderr)")
        #expect(access(marker, F_OK) != 0, "the command ran")
        unlink(marker)
    }

    @Test("--format json: one object for one file, an array of one entry per file for several, in order")
    func jsonShape() {
        let one = Command.teardown("analyze", "--format", "json", "/nonexistent.pcap")
        #expect(one.status == 66)
        #expect(one.stdout.hasPrefix("{\"file\":\"/nonexistent.pcap\",\"connections\":[]"), "\(one.stdout)")
        #expect(one.stdout.contains("\"error\":\"cannot open: No such file or directory (check the path)\"}"))
        let several = Command.teardown(
            "analyze", "--format", "json", "/nonexistent.pcap", Self.refused, Fixtures.path("malformed/not-a-capture.pcap"))
        #expect(several.status == 66)
        #expect(several.stdout.hasPrefix("[{\"file\":\"/nonexistent.pcap\""), "\(several.stdout)")
        #expect(several.stdout.contains("},{\"file\":\"\(Self.refused)\",\"connections\":[{\"id\":1"))
        #expect(several.stdout.contains("{\"file\":\"\(Fixtures.path("malformed/not-a-capture.pcap"))\",\"connections\":[]"))
        #expect(several.stdout.hasSuffix("}]\n"))
        let lines = Command.teardown("analyze", "--format", "jsonl", Self.close, Self.refused)
        #expect(lines.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("{\"file\":") })
    }
}

extension String {
    /// Without leading and trailing spaces and newlines.
    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\n" }.reversed().drop { $0 == " " || $0 == "\n" }.reversed())
    }
}
