import Foundation
import Testing
import TeardownTestSupport

/// `teardown analyze` as a user runs it: output formats, exit codes and messages (contract §§4–5).
@Suite("teardown analyze")
struct AnalyzeCommandTests {
    let close = Fixtures.path("pcap/lo-ipv4/close.pcap")

    @Test("the text table is aligned and ends with a summary line")
    func text() {
        let result = Command.teardown("analyze", close, environment: ["COLUMNS": "200"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("ID  CLIENT"))
        #expect(lines[1].contains("abortive"))
        #expect(lines[0].firstRange(of: "VERDICT")?.lowerBound.utf16Offset(in: lines[0])
            == lines[1].firstRange(of: "abortive")?.lowerBound.utf16Offset(in: lines[1]))
        #expect(lines[2] == "1 connection: 1 abortive (9 bytes lost); 10 packets, 10 TCP")
        #expect(!result.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
        #expect(result.stderr.isEmpty)
    }

    @Test("time alone ends nothing by default; --format zeek and --idle-timeout cut where Zeek does (1.1)")
    func boundariesInTime() {
        let idle = Fixtures.path("derived/idle-2h.pcap"), again = Fixtures.path("derived/refused-rst-again-12s.pcap")
        let text = Command.teardown("analyze", idle)
        #expect(text.status == 0 && text.stdout.split(separator: "\n").count == 3)
        #expect(text.stdout.contains("1 connection: 1 graceful"))
        let zeekRows = Command.teardown("analyze", "--format", "zeek", idle).stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(zeekRows.count == 2)
        #expect(Command.teardown("analyze", "--idle-timeout", "300", idle).stdout.contains("2 connections"))
        #expect(Command.teardown("analyze", "--idle-timeout", "7200.1", idle).stdout.contains("1 connection: 1 graceful"))
        let late = Command.teardown("analyze", again)
        #expect(late.stdout.contains("1 connection: 1 refused; 3 packets, 3 TCP, 1 late (after their connection ended)"))
        #expect(Command.teardown("analyze", "--format", "json", again).stdout.contains("\"lateSegments\":1,"))
    }

    @Test("--color always colours verdicts; NO_COLOR does not affect an explicit choice")
    func color() {
        #expect(Command.teardown("analyze", "--color", "always", close).stdout.contains("\u{1B}[1;31mabortive"))
        #expect(!Command.teardown("analyze", close, environment: ["NO_COLOR": "1"]).stdout.contains("\u{1B}["))
    }

    @Test("--format json has the contract's top-level and connection fields")
    func json() {
        let result = Command.teardown("analyze", "--format", "json", close)
        #expect(result.status == 0)
        for field in [
            "\"file\":", "\"linkTypes\":[\"EN10MB\"]", "\"packets\":10", "\"tcpPackets\":10", "\"skippedPackets\":0",
            "\"truncated\":false", "\"connections\":[", "\"id\":1", "\"client\":\"127.0.0.1:", "\"verdict\":\"abortive\"",
            "\"completed\":false", "\"firstCloser\":\"client\"", "\"resetBy\":\"client\"", "\"partial\":false",
            "\"bytes\":{\"client\":10,\"server\":9}", "\"bytesAfterFirstFin\":9",
            "\"lostBytes\":{\"client\":0,\"server\":9}", "\"firstSeen\":", "\"lastSeen\":", "\"notes\":[]",
        ] {
            #expect(result.stdout.contains(field), "missing \(field)")
        }
    }

    @Test("--format jsonl: one object per connection; with several files each names its file")
    func jsonl() {
        let one = Command.teardown("analyze", "--format", "jsonl", close)
        #expect(one.stdout.split(separator: "\n").count == 1)
        #expect(!one.stdout.contains("\"file\""))
        let mixed = Fixtures.path("derived/mixed-linktypes.pcapng")
        let two = Command.teardown("analyze", "--format", "jsonl", close, mixed)
        let lines = two.stdout.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.hasPrefix("{\"file\":") })
        let array = Command.teardown("analyze", "--format", "json", close, mixed)
        #expect(array.stdout.hasPrefix("[{\"file\":"))
    }

    @Test("--format jsonl (completed from batches on another thread) equals --format json, connection by connection")
    func jsonlMatchesJSON() throws {
        // Thousands of connections, many open across several batches of the analysis.
        let (lines, document) = try Command.withSyntheticCapture(named: "jsonl-synth", packets: 60000, concurrent: 300) {
            (Command.teardown("analyze", "--format", "jsonl", $0), Command.teardown("analyze", "--format", "json", $0))
        }
        #expect(lines.status == 0 && document.status == 0)
        func byID(_ objects: [[String: Any]]) -> [NSDictionary] {
            objects.sorted { ($0["id"] as? Int ?? 0) < ($1["id"] as? Int ?? 0) }.map { $0 as NSDictionary }
        }
        let streamed = try lines.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let whole = try #require(try JSONSerialization.jsonObject(with: Data(document.stdout.utf8)) as? [String: Any])
        let connections = try #require(whole["connections"] as? [[String: Any]])
        #expect(connections.count > 3000)
        #expect(connections.contains { ($0["history"] as? String)?.isEmpty == false })
        let (left, right) = (byID(streamed), byID(connections))
        #expect(left.count == right.count)
        // The first difference only: a failure message holding thousands of objects takes minutes.
        if let first = zip(left, right).first(where: { $0 != $1 }) { Issue.record("jsonl \(first.0)\njson \(first.1)") }
    }

    @Test("--format zeek: a conn.log whose #fields name every column of every row")
    func zeekLog() throws {
        let files = ["pcap/lo-ipv4/close.pcap", "pcap/lo-ipv4/refused.pcap", "pcap/lo-ipv6/half-close.pcap"].map(Fixtures.path)
        let result = Command.run([Command.teardown, "analyze", "--format", "zeek"] + files)
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let fields = try #require(lines.first { $0.first == "#fields" }).dropFirst()
        #expect(Array(fields.prefix(3)) == ["ts", "uid", "id.orig_h"])
        let rows = lines.filter { !($0.first?.hasPrefix("#") ?? true) }
        #expect(rows.count == 3)
        #expect(rows.allSatisfy { $0.count == fields.count })
        func column(_ row: [String], _ name: String) -> String { row[fields.firstIndex(of: name)! - 1] }
        #expect(rows.map { column($0, "conn_state") } == ["RSTO", "REJ", "SF"])
        #expect(rows.map { column($0, "teardown_verdict") } == ["abortive", "refused", "half-closed"])
        #expect(column(rows[0], "history") == "ShADaFdR")
        #expect(column(rows[2], "id.orig_h") == "::1")
        #expect(Set(rows.map { column($0, "uid") }).count == 3)
    }

    @Test("several files: a FILE column where there is room, else the file heads its rows; a summary per file")
    func severalFiles() {
        let graceful = Fixtures.path("pcap/lo-ipv4/graceful.pcap")
        let wide = Command.teardown("analyze", close, graceful, environment: ["COLUMNS": "250"])
        #expect(wide.stdout.hasPrefix("FILE"))
        #expect(wide.stdout.contains("graceful.pcap: 1 connection: 1 graceful"))
        let narrow = Command.teardown("analyze", close, graceful, environment: ["COLUMNS": "80"])
        let lines = narrow.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("ID "))
        #expect(lines[1] == close + ":" && lines[3] == graceful + ":")
        #expect(lines[2].contains("abortive") && lines[4].contains("graceful"))
    }

    @Test("a connection whose start was not captured is marked * in the table, with a legend")
    func partialMarked() throws {
        var c = Conversation()
        c.data(.client, 10)
        c.ack(.server)
        c.fin(.client)
        c.fin(.server)
        c.ack(.client)
        let path = "/tmp/teardown-partial-\(getpid()).pcap"
        defer { unlink(path) }
        try Data(c.pcap()).write(to: URL(fileURLWithPath: path))
        let text = Command.teardown("analyze", path).stdout
        #expect(text.contains("graceful*"))
        #expect(text.contains("* the start of the connection was not captured (partial)"))
        #expect(!Command.teardown("analyze", close).stdout.contains("* the start"))
    }

    @Test("the table fits the terminal: the least important columns go first, the essential ones stay")
    func fitsTheWidth() {
        let halfClose = Fixtures.path("pcap/lo-ipv4/half-close.pcap")
        for (width, columns) in [(250, ["START", "SECONDS", "STATES C/S", "PKTS", "BYTES C/S", "CAUSE"]), (100, ["CAUSE"]), (80, [])] {
            let result = Command.teardown("analyze", close, halfClose, environment: ["COLUMNS": "\(width)"])
            let header = result.stdout.split(separator: "\n")[0]
            for essential in ["ID", "CLIENT", "SERVER", "VERDICT", "CLOSER", "RESET", "LOST C/S", "NOTES"] {
                #expect(header.contains(essential), "\(width): \(header)")
            }
            for optional in columns { #expect(header.contains(optional), "\(width): \(header)") }
            #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= width }, "\(width)")
        }
        // At 80 columns a completed half-close is written short, with its legend.
        let narrow = Command.teardown("analyze", halfClose, environment: ["COLUMNS": "80"]).stdout
        #expect(narrow.contains("half-closed+") && narrow.contains("+ completed: after the half-close"))
    }

    @Test("--filter takes a tcpdump expression")
    func filter() {
        let mixed = Fixtures.path("derived/mixed-linktypes.pcapng")
        let all = Command.teardown("analyze", "--format", "jsonl", mixed)
        let port = all.stdout.split(separator: "\n")[1].split(separator: "\"server\":\"127.0.0.1:")[1].prefix { $0.isNumber }
        let filtered = Command.teardown("analyze", "--format", "jsonl", "--filter", "tcp port \(port)", mixed)
        #expect(filtered.status == 0)
        #expect(filtered.stdout.split(separator: "\n").count == 1)
        #expect(filtered.stdout.contains("half-closed"))
        let bad = Command.teardown("analyze", "--filter", "tcp port banana", close)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("invalid filter expression"))
    }

    @Test("exit 66 for a missing file, with the cause and a fix")
    func missingFile() {
        let result = Command.teardown("analyze", "/nonexistent/capture.pcap")
        #expect(result.status == 66)
        #expect(result.stderr == "teardown: /nonexistent/capture.pcap: cannot open: No such file or directory (check the path)\n")
        let directory = Command.teardown("analyze", Fixtures.root)
        #expect(directory.status == 66)
        #expect(directory.stderr.contains("is a directory"))
    }

    @Test(
        "exit 65 for input that is not a readable capture; connections before the problem still reported",
        arguments: [
            ("empty.pcap", "the file is empty", 0),
            ("not-a-capture.pcap", "not a pcap or pcapng capture (magic number 0x47455420)", 0),
            ("unknown-linktype.pcap", "unsupported link type LINKTYPE_147 (147)", 0),
            ("impossible-caplen.pcap", "record 3 claims 2147483647 bytes, only 64 remain", 1),
            ("pcapng-unknown-interface.pcapng", "record 2 names interface 3, but the file describes 1", 1),
        ])
    func badCapture(file: String, message: String, connections: Int) {
        let path = Fixtures.path("malformed/\(file)")
        let result = Command.teardown("analyze", "--format", "jsonl", path)
        #expect(result.status == 65)
        #expect(result.stderr.contains("\(path): \(message)"))
        #expect(result.stdout.split(separator: "\n").count == connections)
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test("a file cut short is analysed up to the cut, with a warning and exit 0")
    func truncated() {
        let path = Fixtures.path("malformed/record-cut-short.pcap")
        let result = Command.teardown("analyze", "--format", "json", path)
        #expect(result.status == 0)
        #expect(result.stdout.contains("\"truncated\":true"))
        #expect(result.stderr.contains("warning: capture cut short: record 10 claims 54 bytes, only 34 remain"))
    }

    @Test("with a good and a bad file the good one is still reported and the exit code is the worst")
    func mixedGoodAndBad() {
        let result = Command.teardown("analyze", close, Fixtures.path("malformed/empty.pcap"), "/nonexistent.pcap")
        #expect(result.status == 66)
        #expect(result.stdout.contains("abortive"))
    }

    @Test("standard input: '-'")
    func standardInput() {
        let result = Command.teardown("analyze", "--format", "jsonl", "-", input: Fixtures.bytes(close))
        #expect(result.status == 0)
        #expect(result.stdout.contains("\"verdict\":\"abortive\""))
    }

    @Test("usage errors exit 64")
    func usage() {
        #expect(Command.teardown("analyze").status == 64)
        #expect(Command.teardown("analyze", "--format", "xml", close).status == 64)
        #expect(Command.teardown("frobnicate").status == 64)
        let noThreads = Command.teardown("analyze", "--jobs", "0", close)
        #expect(noThreads.status == 64)
        #expect(noThreads.stderr.contains("--jobs must be between 1 and 1024"))
    }

    @Test("--help documents formats and exit codes")
    func help() {
        let top = Command.teardown("--help")
        #expect(top.status == 0)
        for line in ["analyze", "capture", "run", "65", "66", "77"] { #expect(top.stdout.contains(line)) }
        let analyze = Command.teardown("analyze", "--help")
        #expect(analyze.stdout.contains("--format"))
        #expect(analyze.stdout.contains("--filter"))
        #expect(analyze.stdout.contains("--jobs"))
        #expect(analyze.stdout.contains("THREADS"))
        // Issue 23: continuity, capture gaps, rotated sets and compressed input are explained.
        for words in ["Time alone never ends a connection", "`keepalive`", "`evicted`", "`resumed`",
                      "`packets_missing`", "--continuous", "gzip or zstd"] {
            #expect(analyze.stdout.contains(words), "analyze --help lacks \(words)")
        }
    }
}
