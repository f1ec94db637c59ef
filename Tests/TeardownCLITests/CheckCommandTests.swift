import Foundation
import FoundationXML
import Testing
import TeardownAnalysis
import TeardownTestSupport
import TeardownWire

/// `teardown check` on the fixtures: every option, every exit code, the reason lines and JUnit XML.
@Suite("teardown check")
struct CheckCommandTests {
    static let close = Fixtures.path("pcap/lo-ipv4/close.pcap")
    static let graceful = Fixtures.path("pcap/lo-ipv4/graceful.pcap")
    static let mixed = Fixtures.path("derived/mixed-linktypes.pcapng")

    /// check evaluates each connection as it finishes (memory stays with the connections held):
    /// here the first connection (reset after 100 s) finishes after the next two (reset after a
    /// second, lingered and expired), yet the report and the JUnit cases are in id order.
    @Test("connections that finish out of id order are reported in id order, in the text and the JUnit report")
    func finishOrder() throws {
        var segments: [TCPSegment] = []
        for (index, (start, length)) in [(0, 100), (1, 1), (2, 1)].enumerated() {
            var c = Conversation()
            c.clientAddress = SocketAddress(address: IPAddress("10.0.0.1")!, port: UInt16(40000 + index))
            c.time += Int64(start) * 1_000_000_000
            c.handshake()
            c.data(.client, 10)
            c.time += Int64(length) * 1_000_000_000
            c.rst(.server)
            segments += c.segments
        }
        // A fourth connection's 3,000 packets from 10 s on: expiry rounds (every 1,024 packets)
        // come after the short ones' linger, and finish them while the first is still open.
        var filler = Conversation()
        filler.clientAddress = SocketAddress(address: IPAddress("10.0.0.1")!, port: 40003)
        filler.time += 10_000_000_000
        filler.handshake()
        for _ in 0..<1500 {
            filler.data(.client, 100)
            filler.ack(.server)
        }
        segments += filler.segments
        var writer = PcapWriter()
        for segment in segments.sorted(by: { $0.timestamp.nanoseconds < $1.timestamp.nanoseconds }) { writer.append(segment) }
        let path = "/tmp/teardown-check-order-\(getpid()).pcap", junit = path + ".xml"
        defer {
            unlink(path)
            unlink(junit)
        }
        try Data(writer.bytes).write(to: URL(fileURLWithPath: path))
        let result = Command.teardown("check", "--forbid", "abortive", "--junit", junit, path, environment: ["COLUMNS": "400"])
        #expect(result.status == 1)
        let ids = result.stdout.split(separator: "\n").filter { $0.hasPrefix("#") }.map { $0.prefix(2) }
        #expect(ids == ["#1", "#2", "#3"])
        #expect(result.stdout.hasSuffix("check failed: 3 of 4 connections broke the expectation (not abortive)\n"))
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        let cases = xml.components(separatedBy: "\n").filter { $0.contains("<testcase") && $0.contains("connection") }
        #expect(cases.count == 4)
        let order = ["10.0.0.1:40000", "10.0.0.1:40001", "10.0.0.1:40002"].map { xml.range(of: $0)?.lowerBound }
        #expect(order.allSatisfy { $0 != nil } && order == order.sorted { $0! < $1! })
    }

    @Test("a held expectation exits 0 with a summary")
    func passes() {
        let result = Command.teardown("check", Self.graceful, "--expect", "graceful")
        #expect(result.status == 0)
        #expect(result.stdout == "check passed: 1 connection checked (graceful)\n")
    }

    @Test("a broken expectation exits 1 with a reason line naming the connection")
    func fails() {
        let result = Command.teardown("check", Self.close, "--expect", "graceful", environment: ["COLUMNS": "200"])
        #expect(result.status == 1)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("#1 127.0.0.1:"))
        #expect(lines[0].contains(" → 127.0.0.1:"))
        #expect(lines[0].hasSuffix(" abortive: client reset after its FIN; 9 server bytes lost; expected graceful"))
        // The command that shows the connection, ready to copy.
        #expect(lines[1] == "  see it: teardown explain \(Self.close) --connection 1")
        #expect(lines[2] == "check failed: 1 of 1 connection broke the expectation (graceful)")
    }

    @Test("at 80 columns the reason wraps at a space, and the explain command stays whole on a line")
    func narrow() {
        // As a person in the repository names the file (a command longer than the width cannot fit).
        let relative = "fixtures/pcap/lo-ipv4/close.pcap"
        let result = Command.run(
            [Command.teardown, "check", relative, "--expect", "graceful"], environment: ["COLUMNS": "80"],
            directory: Fixtures.root)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.allSatisfy { $0.count <= 80 })
        #expect(lines[0].hasPrefix("#1 ") && lines[1].hasPrefix("  ") && lines[1].hasSuffix("expected graceful"))
        #expect(lines.contains { $0 == "  see it: teardown explain \(relative) --connection 1" })
        // A command too long for the line gets a line of its own, whole.
        let long = Command.teardown("check", Self.close, "--expect", "graceful", environment: ["COLUMNS": "60"])
        #expect(long.stdout.contains("  see it:\n  teardown explain \(Self.close) --connection 1\n"))
    }

    static let optionCases: [([String], Int32)] = [
            (["--expect", "abortive,graceful"], 0),
            (["--expect", "half-closed"], 1),
            (["--forbid", "abortive"], 1),
            (["--forbid", "refused,attempt"], 0),
            (["--first-closer", "client", "--expect", "abortive"], 0),
            (["--first-closer", "server"], 1),
            (["--max-lost-bytes", "9"], 0),
            (["--max-lost-bytes", "8"], 1),
            (["--connections", "1", "--expect", "abortive"], 0),
            (["--connections", "2", "--expect", "abortive"], 1),
            (["--at-least", "1", "--forbid", "refused"], 0),
            (["--at-least", "2", "--forbid", "refused"], 1),
            (["--where", "tcp port 1", "--expect", "graceful"], 1),
            (["--where", "tcp port 1", "--connections", "0"], 0),
            (["--reset-by", "client"], 0),
            (["--reset-by", "server"], 1),
            (["--expect", "abortive:completed"], 1),
            (["--expect", "abortive:not-completed"], 0),
            // The client's close() met the server's reply: both sides end CLOSED (2.6).
            (["--final-state", "client=CLOSED"], 0),
            (["--final-state", "server=TIME_WAIT,CLOSE_WAIT"], 1),
            (["--forbid-final-state", "server=CLOSE_WAIT"], 0),
            (["--forbid-final-state", "client=CLOSED"], 1),
        ]

    @Test("--expect takes kinds qualified by completion: half-closed:completed, half-closed:not-completed")
    func qualifiedKinds() {
        let halfClose = Fixtures.path("pcap/lo-ipv4/half-close.pcap"), halfOpen = Fixtures.path("pcap/lo-ipv4/half-open.pcap")
        #expect(Command.teardown("check", halfClose, "--expect", "half-closed:completed").status == 0)
        let failed = Command.teardown("check", halfClose, "--expect", "half-closed:not-completed", environment: ["COLUMNS": "200"])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("expected half-closed:not-completed, not half-closed:completed"))
        #expect(Command.teardown("check", halfOpen, "--expect", "half-closed:not-completed").status == 0)
        #expect(Command.teardown("check", halfClose, "--expect", "half-closed:finished").status == 64)
    }

    @Test("each option decides pass or fail", arguments: optionCases)
    func options(arguments: [String], status: Int32) {
        let result = Command.run([Command.teardown, "check", Self.close] + arguments)
        #expect(result.status == status, "\(arguments): \(result.stdout)\(result.stderr)")
    }

    @Test("--where selects connections by a tcpdump expression")
    func selection() {
        let all = Command.teardown("analyze", "--format", "jsonl", Self.mixed)
        let port = all.stdout.split(separator: "\n")[0].split(separator: "\"server\":\"127.0.0.1:")[1].prefix { $0.isNumber }
        let abortiveOnly = Command.teardown("check", Self.mixed, "--where", "tcp port \(port)", "--expect", "abortive", "--connections", "1")
        #expect(abortiveOnly.status == 0, "\(abortiveOnly.stdout)")
        let rest = Command.teardown("check", Self.mixed, "--where", "not tcp port \(port)", "--expect", "half-closed", "--connections", "2")
        #expect(rest.status == 0, "\(rest.stdout)")
    }

    @Test("an empty selection fails unless --connections 0")
    func emptySelection() {
        let result = Command.teardown("check", Self.close, "--where", "tcp port 1", "--expect", "graceful")
        #expect(result.status == 1)
        #expect(result.stdout.contains("no connection was selected (use --connections 0 if none is expected)"))
    }

    @Test("a truncated capture fails unless --allow-truncated")
    func truncated() {
        let path = Fixtures.path("malformed/record-cut-short.pcap")
        let strict = Command.teardown("check", path, "--expect", "half-closed")
        #expect(strict.status == 1)
        #expect(strict.stdout.contains("the capture is cut short (record 10 claims 54 bytes, only 34 remain); --allow-truncated accepts it"))
        #expect(Command.teardown("check", path, "--expect", "half-closed", "--allow-truncated").status == 0)
    }

    @Test("exit 66 for a missing file, 65 for a bad capture, 64 for bad arguments")
    func exitCodes() {
        #expect(Command.teardown("check", "/nonexistent.pcap", "--expect", "graceful").status == 66)
        let bad = Command.teardown("check", Fixtures.path("malformed/not-a-capture.pcap"), "--expect", "graceful")
        #expect(bad.status == 65)
        #expect(bad.stderr.contains("not a pcap or pcapng capture"))
        #expect(Command.teardown("check", Self.close).status == 64)
        #expect(Command.teardown("check", Self.close, "--expect", "fine").status == 64)
        #expect(Command.teardown("check", "--expect", "graceful").status == 64)
        #expect(Command.teardown("check", Self.close, "--connections", "1", "--at-least", "1").status == 64)
        #expect(Command.teardown("check", Self.close, "--where", "tcp port banana", "--expect", "graceful").status == 64)
    }

    @Test("--junit writes well-formed XML with one test case per connection and the right counts")
    func junit() throws {
        let path = "/tmp/teardown-junit-\(UInt32.random(in: 0...UInt32.max)).xml"
        let result = Command.teardown("check", Self.close, Self.mixed, "--expect", "half-closed", "--junit", path)
        #expect(result.status == 1)
        let data = Fixtures.bytes(path)
        let document = try XMLDocument(data: .init(data))
        let root = try #require(document.rootElement())
        #expect(root.name == "testsuites")
        // 4 connections + 1 "capture and selection" case per file; close (1) and mixed's abortive (1) fail.
        #expect(root.attribute(forName: "tests")?.stringValue == "6")
        #expect(root.attribute(forName: "failures")?.stringValue == "2")
        let suites = root.elements(forName: "testsuite")
        #expect(suites.count == 2)
        let cases = suites.flatMap { $0.elements(forName: "testcase") }
        #expect(cases.count == 6)
        let failures = cases.compactMap { $0.elements(forName: "failure").first }
        #expect(failures.count == 2)
        #expect(failures[0].attribute(forName: "message")?.stringValue?.contains("9 server bytes lost") == true)
        // Names that stay the same from run to run: the server and the place among its connections.
        let names = cases.compactMap { $0.attribute(forName: "name")?.stringValue }.filter { $0 != "capture and selection" }
        #expect(names.allSatisfy { $0.wholeMatch(of: /to 127\.0\.0\.1:\d+, connection \d+/) != nil }, "\(names)")
        #expect(!names.contains { $0.contains("39766") }, "the client's ephemeral port is no part of a name")
        _ = Command.run(["rm", "-f", path])
    }
}
