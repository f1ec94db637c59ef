import Foundation
import Testing
import TeardownTestSupport
import TeardownWire

#if canImport(FoundationXML)
import FoundationXML
#endif

/// `teardown explain`: golden ladders for every scenario fixture, valid SVG that renders, and on
/// captures it never saw (synthetic, with an independent ground truth) the right closer, resetter
/// and lost bytes for every connection.
@Suite("teardown explain")
struct ExplainCommandTests {
    static let scenarios = Fixtures.files(in: Fixtures.root + "/fixtures/pcap/lo-ipv4").map { String($0.dropLast(5)) }

    @Test("every scenario fixture's ladder matches its golden diagram", arguments: scenarios)
    func golden(scenario: String) {
        let result = Command.teardown("explain", "--color", "never", Fixtures.path("pcap/lo-ipv4/\(scenario).pcap"))
        #expect(result.status == 0, "\(result.stderr)")
        if let mismatch = goldenMismatch(result.stdout, name: "explain/\(scenario).txt") {
            Issue.record(Comment(rawValue: mismatch))
        }
    }

    @Test("the README's example and images are what explain prints and writes today")
    func readme() {
        let readme = String(decoding: Fixtures.bytes(Fixtures.root + "/README.md"), as: UTF8.self)
        let close = Command.teardown("explain", "--color", "never", Fixtures.path("pcap/lo-ipv4/close.pcap")).stdout
        #expect(readme.contains(close), "README's explain example is out of date")
        let directory = "/tmp/teardown-readme-svg-\(getpid())"
        mkdir(directory, 0o755)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        for name in ["close", "half-close"] {
            _ = Command.teardown("explain", "--svg", "\(directory)/\(name).svg", Fixtures.path("pcap/lo-ipv4/\(name).pcap"))
            #expect(
                Fixtures.bytes("\(directory)/\(name).svg") == Fixtures.bytes(Fixtures.root + "/docs/images/\(name).svg"),
                "docs/images/\(name).svg is out of date (docs/images/README.md says how to make it)")
        }
    }

    @Test("the SVG of a capture two hours long shows every time whole, inside the picture")
    func longTimes() throws {
        let svg = Command.teardown("explain", Fixtures.path("derived/idle-2h.pcap"), "--svg", "-").stdout
        // Right-aligned texts (the times): their left edge, at most 0.62 em a character (digits in
        // DejaVu Sans are 0.636 em; the dot and a few narrower), must be inside the picture.
        let times = svg.matches(of: /<text x="(\d+)" y="\d+" font-size="(\d+)" fill="#57606a" text-anchor="end"[^>]*>([0-9.]+)<\/text>/)
        #expect(times.count > 5)
        #expect(times.contains { $0.output.3 == "7200000.148" || $0.output.3.hasPrefix("72000") })
        for time in times {
            let right = Double(time.output.1)!, size = Double(time.output.2)!
            let width = Double(time.output.3.filter(\.isNumber).count) * 0.64 * size + 0.3 * size
            #expect(right - width >= 0, "\(time.output.3) starts at \(right - width)")
        }
        if Command.run(["sh", "-c", "command -v rsvg-convert"]).status == 0 {
            let rendered = Command.run(["sh", "-c", "rsvg-convert > /dev/null"], input: Array(svg.utf8))
            #expect(rendered.status == 0, "\(rendered.stderr)")
        }
    }

    @Test("the ladder names the teardown in words next to the arrows")
    func words() {
        let close = Command.teardown("explain", "--color", "never", Fixtures.path("pcap/lo-ipv4/close.pcap")).stdout
        #expect(close.contains("client FIN — no more data from the client"))
        #expect(close.contains("client RST: data arrived after the client closed — 9 server bytes lost"))
        #expect(close.contains("cause (likely):"))
        let halfClose = Command.teardown("explain", "--color", "never", Fixtures.path("pcap/lo-ipv4/half-close.pcap")).stdout
        #expect(halfClose.contains("client keeps sending after the server's FIN: half-close"))
        #expect(halfClose.contains("server enters TIME_WAIT (it closed first)"))
        // Contract 2.6 in the ladder: each side's states where they change, within 100 columns.
        #expect(halfClose.contains("server states: SYN_RECEIVED → ESTABLISHED → FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT"))
        #expect(halfClose.contains("client states: SYN_SENT → ESTABLISHED → CLOSE_WAIT → LAST_ACK → CLOSED"))
        let rows = halfClose.split(separator: "\n")
        #expect(rows.contains { $0.contains("│ FIN_WAIT_1") } && rows.contains { $0.contains("CLOSE_WAIT  │") })
        #expect(rows.allSatisfy { $0.count <= 100 }, "\(rows.map(\.count).max() ?? 0) columns")
        let unread = Command.teardown("explain", "--color", "never", Fixtures.path("pcap/lo-ipv4/unread-close.pcap")).stdout
        #expect(unread.contains("close() with unread data suspected (RFC 2525)"))
        #expect(unread.contains("cause (suspected):"))
    }

    @Test("--svg writes XML that parses and renders to a non-empty PNG")
    func svg() throws {
        let directory = "/tmp/teardown-explain-\(getpid())"
        mkdir(directory, 0o755)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        for scenario in ["close", "half-close", "refused", "simultaneous"] {
            let path = "\(directory)/\(scenario).svg"
            let result = Command.teardown("explain", "--color", "never", "--svg", path, Fixtures.path("pcap/lo-ipv4/\(scenario).pcap"))
            #expect(result.status == 0, "\(result.stderr)")
            let data = try #require(FileManager.default.contents(atPath: path))
            let counter = ElementCounter()
            let parser = XMLParser(data: data)
            parser.delegate = counter
            #expect(parser.parse(), "\(scenario).svg is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
            #expect(counter.root == "svg")
            let arrows = result.stdout.split(separator: "\n").filter { $0.contains("│") && ($0.contains("▶") || $0.contains("◀")) }
            // Two lifelines plus one line per arrow.
            #expect(counter.counts["line"] == arrows.count + 2, "\(scenario)")
            #expect((counter.counts["text"] ?? 0) > arrows.count)
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/rsvg-convert") {
                let png = "\(directory)/\(scenario).png"
                let render = Command.run(["/usr/bin/rsvg-convert", path, "-o", png])
                #expect(render.status == 0, "\(render.stderr)")
                let bytes = [UInt8](FileManager.default.contents(atPath: png) ?? Data())
                #expect(bytes.starts(with: [0x89, 0x50, 0x4e, 0x47]))
                // IHDR: width and height, big-endian, at bytes 16..<24.
                if bytes.count > 24 {
                    let width = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
                    let height = bytes[20..<24].reduce(0) { $0 << 8 | Int($1) }
                    #expect(width >= 1000 && height > 100 + 34 * arrows.count)
                }
            } else {
                print("rsvg-convert not installed (Debian: librsvg2-bin): SVG parsed but not rendered")
            }
        }
    }

    @Test("every malformed fixture: a documented exit code and no trap, as text and as SVG", arguments: Fixtures.files(in: Fixtures.root + "/fixtures/malformed"))
    func malformed(file: String) {
        let svg = "/tmp/teardown-explain-malformed-\(getpid()).svg"
        defer { unlink(svg) }
        let result = Command.teardown("explain", "--svg", svg, Fixtures.path("malformed/\(file)"))
        #expect([0, 65].contains(result.status), "\(file): \(result.status) \(result.stderr)")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Backtrace"), "\(file)")
    }

    @Test("several connections with --svg write FILE-ID.svg each; a missing id exits 64 and names the range")
    func selection() throws {
        let mixed = Fixtures.path("derived/mixed-linktypes.pcapng")
        let directory = "/tmp/teardown-explain-sel-\(getpid())"
        mkdir(directory, 0o755)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        let all = Command.teardown("explain", "--color", "never", "--svg", "\(directory)/x.svg", mixed)
        #expect(all.status == 0)
        #expect(all.stdout.components(separatedBy: "verdict: ").count - 1 == 3)
        for id in 1...3 { #expect(FileManager.default.fileExists(atPath: "\(directory)/x-\(id).svg")) }
        let one = Command.teardown("explain", "--color", "never", "--connection", "2", mixed)
        #expect(one.stdout.hasPrefix("connection 2:"))
        #expect(one.stdout.components(separatedBy: "verdict: ").count - 1 == 1)
        let missing = Command.teardown("explain", "--connection", "9", mixed)
        #expect(missing.status == 64)
        #expect(missing.stderr.contains("no connection 9"))
        #expect(missing.stderr.contains("from 1 to 3"))
        #expect(Command.teardown("explain", "/nonexistent.pcap").status == 66)
        #expect(Command.teardown("explain", Fixtures.path("malformed/not-a-capture.pcap")).status == 65)
    }

    @Test("on a capture it never saw, each connection's closer, resetter and lost bytes match the generator's truth")
    func independentTruth() throws {
        try Command.withSyntheticCapture(named: "explain-synth", packets: 4000, concurrent: 60) { path in
            let truth = String(decoding: try #require(FileManager.default.contents(atPath: path + ".truth.tsv")), as: UTF8.self)
            // The truth per connection, in order for each tuple (a tuple may be reused).
            var expected: [String: [(closer: String, resetter: String, lost: String)]] = [:]
            var total = 0
            for line in truth.split(separator: "\n").dropFirst() {
                let f = line.split(separator: "\t").map(String.init)
                // client server verdict completed firstCloser resetBy bytesC bytesS lostC lostS after
                expected["\(canonical(f[0])) → \(canonical(f[1]))", default: []].append(
                    (f[4] == "null" ? "none" : f[4], f[5] == "null" ? "none" : f[5], "client \(f[8]), server \(f[9])"))
                total += 1
            }
            let explained = Command.teardown("explain", "--color", "never", "--where", "tcp", path)
            #expect(explained.status == 0, "\(explained.stderr)")
            var checked = 0
            var header = ""
            // Paragraphs are wrapped at 100 columns, continued on lines that start with two spaces.
            var paragraphs: [String] = []
            for line in explained.stdout.split(separator: "\n") {
                if line.hasPrefix("  "), let last = paragraphs.last, !last.hasPrefix(" ") {
                    paragraphs[paragraphs.count - 1] = last + " " + line.drop { $0 == " " }
                } else {
                    paragraphs.append(String(line))
                }
            }
            for line in paragraphs {
                if line.hasPrefix("connection ") {
                    header = String(line.split(separator: ": ", maxSplits: 1)[1].split(separator: ",")[0])
                } else if line.hasPrefix("verdict: ") {
                    let truth = try #require(expected[header]?.first, "no truth for \(header)")
                    expected[header]?.removeFirst()
                    #expect(line.contains("First closer: \(truth.closer)."), "\(header): \(line)")
                    #expect(line.contains("Reset by: \(truth.resetter)."), "\(header): \(line)")
                    #expect(line.contains("Lost bytes: \(truth.lost)."), "\(header): \(line)")
                    checked += 1
                }
            }
            #expect(checked == total && checked > 100, "explained \(checked) of \(total)")
        }
    }

    /// `[2001:db8:0:0:0:0:0:20]:80` as teardown prints it (`[2001:db8::20]:80`).
    func canonical(_ endpoint: String) -> String {
        let colon = endpoint.lastIndex(of: ":")!
        var host = String(endpoint[..<colon])
        let bracketed = host.hasPrefix("[")
        if bracketed { host = String(host.dropFirst().dropLast()) }
        let address = IPAddress(host).map { "\($0)" } ?? host
        return (bracketed ? "[\(address)]" : address) + endpoint[colon...]
    }
}

/// Counts XML elements by name.
final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var root: String?

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if root == nil { root = name }
        counts[name, default: 0] += 1
    }
}
