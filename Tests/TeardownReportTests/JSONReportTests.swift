import Foundation
import Testing
import TeardownAnalysis
import TeardownReport
import TeardownTestSupport
import TeardownWire

/// The JSON writer behind every report, checked against Foundation's JSON parser (an independent
/// implementation): escapes, extreme numbers, timestamps, and the streaming buffer's line breaks.
@Suite("JSON report")
struct JSONReportTests {
    static func parse(_ text: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    static func connection(id: Int, bytes: Int64, firstSeen: Int64, notes: [Note] = []) -> Connection {
        Connection(
            id: id, client: SocketAddress(address: IPAddress(ipv4: 0x7f00_0001), port: 40000),
            server: SocketAddress(address: IPAddress("::1")!, port: 8080), verdict: .halfClosed,
            completed: false, firstCloser: .client, resetBy: nil, partial: false,
            bytes: PerSide(client: bytes, server: 0), bytesAfterFirstFin: 0 &- bytes,
            lostBytes: PerSide(client: 0, server: 0), packets: 3,
            firstSeen: Timestamp(nanoseconds: firstSeen), lastSeen: Timestamp(nanoseconds: firstSeen), notes: notes)
    }

    @Test("strings survive quoting: every control character, quotes, backslashes and non-ASCII text")
    func quoting() throws {
        var random = SplitMix64(seed: 7)
        let alphabet = (0..<0x20).map { Character(Unicode.Scalar($0)!) } + Array("\"\\/aZ09 é€😀")
        var cases = ["", "plain", "\"", "\\", "\u{0}", "tab\there"]
        for _ in 0..<500 {
            cases.append(String((0..<random.below(40)).map { _ in alphabet[random.below(alphabet.count)] }))
        }
        for text in cases {
            let quoted = JSONReport.quoted(text)
            #expect(try Self.parse(quoted) as? String == text, "\(quoted)")
            #expect(!quoted.unicodeScalars.dropFirst().dropLast().contains { $0.value < 0x20 })
        }
    }

    @Test("integers at the edges of Int64 and timestamps before 1970 are exact")
    func numbers() throws {
        for value in [Int64.min, Int64.min + 1, -1, 0, 9, 10, 99, 100, Int64.max] {
            let line = JSONReport.line(Self.connection(id: 1, bytes: value, firstSeen: 0), timestampDigits: 6, file: nil)
            // Foundation parses large integers as NSNumber; compare the text too.
            #expect(line.contains("\"bytes\":{\"client\":\(value),"), "\(line)")
            #expect(line.contains("\"bytesAfterFirstFin\":\(0 &- value),"), "\(line)")
            #expect(try Self.parse(line) is [String: Any])
        }
        let cases: [(Int64, Int, String)] = [
            (-1_500_000_000, 9, "-1.500000000"), (1_700_000_000_123_456_789, 6, "1700000000.123456"),
            (1_700_000_000_123_456_789, 9, "1700000000.123456789"), (5, 0, "0"), (-5, 3, "-0.000"),
            (Int64.min, 9, "-9223372036.854775808"),
        ]
        for (nanoseconds, digits, expected) in cases {
            let line = JSONReport.line(Self.connection(id: 1, bytes: 0, firstSeen: nanoseconds), timestampDigits: digits, file: nil)
            #expect(line.contains("\"firstSeen\":\(expected),"), "\(line)")
            #expect(try Self.parse(line) is [String: Any])
        }
    }

    @Test("the JSON Lines stream hands over whole lines only, and all of them")
    func streaming() throws {
        var received: [String] = []
        let stream = JSONLinesStream(flushSize: 300) { bytes in
            received.append(String(decoding: bytes, as: UTF8.self))
        }
        var expected = ""
        for id in 1...50 {
            let connection = Self.connection(
                id: id, bytes: Int64(id) * 1000, firstSeen: Int64(id), notes: id % 3 == 0 ? [.portReused] : [])
            let file = id % 2 == 0 ? "dir/\"odd\" name.pcap" : nil
            stream.append(connection, timestampDigits: 9, file: file)
            expected += JSONReport.line(connection, timestampDigits: 9, file: file) + "\n"
        }
        stream.flush()
        stream.flush()
        #expect(received.count > 5)
        #expect(received.allSatisfy { $0.hasSuffix("\n") })
        #expect(received.joined() == expected)
        for line in expected.split(separator: "\n") {
            let object = try #require(try Self.parse(String(line)) as? [String: Any])
            #expect(object["server"] as? String == "[::1]:8080")
            #expect(object["client"] as? String == "127.0.0.1:40000")
        }
    }

    /// A timestamp's text computed the slow, obvious way.
    static func reference(_ nanoseconds: Int64, digits: Int) -> String {
        let sign = nanoseconds < 0 ? "-" : ""
        let seconds = nanoseconds.magnitude / 1_000_000_000
        let fraction = String(nanoseconds.magnitude % 1_000_000_000)
        let nine = String(repeating: "0", count: 9 - fraction.count) + fraction
        return digits == 0 ? "\(sign)\(seconds)" : "\(sign)\(seconds).\(nine.prefix(digits))"
    }

    @Test("timestamps and states written through the fast paths read as written the slow way",
          arguments: [0, 3, 6, 9])
    func timestampsAndStates(digits: Int) throws {
        // Times that share their seconds' hundreds (the cached digits), cross a hundred, are below
        // 100 s or before 1970, with fractions at the edges of the eight-digit path.
        var random = SplitMix64(seed: UInt64(digits) + 11)
        let fractions: [Int64] = [0, 1, 9, 10, 99_999_999, 100_000_000, 123_456_789, 999_999_999]
        func time() -> Int64 {
            let seconds: Int64 = [1_699_999_999, 1_700_000_000, 1_700_000_042, 1_700_000_099, 1_700_000_100, 7, 99, 100, 0, -3][random.below(10)]
            let fraction = random.below(2) == 0 ? fractions[random.below(fractions.count)] : Int64(random.below(1_000_000_000))
            return seconds < 0 ? seconds * 1_000_000_000 - fraction : seconds * 1_000_000_000 + fraction
        }
        var lines = ""
        let stream = JSONLinesStream(flushSize: 700) { lines += String(decoding: $0, as: UTF8.self) }
        var expected: [(first: Int64, last: Int64, states: [[(String, Int64)]])] = []
        for id in 1...400 {
            var connection = Self.connection(id: id, bytes: 1, firstSeen: time())
            connection.lastSeen = Timestamp(nanoseconds: time())
            var sides: [[(String, Int64)]] = []
            for _ in 0..<2 {
                let changes = (0..<random.below(StateSequence.capacity + 1)).map { _ in
                    StateChange(TCPState.allCases[random.below(TCPState.allCases.count)], at: Timestamp(nanoseconds: time()))
                }
                sides.append(changes.map { ($0.state.rawValue, $0.at.nanoseconds) })
                if sides.count == 1 { connection.states.client = StateSequence(changes) } else { connection.states.server = StateSequence(changes) }
            }
            if id % 5 == 0 { connection.states.source = .kernel }
            stream.append(connection, timestampDigits: digits, file: nil)
            expected.append((connection.firstSeen.nanoseconds, connection.lastSeen.nanoseconds, sides))
        }
        stream.flush()
        let written = lines.split(separator: "\n")
        try #require(written.count == expected.count)
        for (line, connection) in zip(written, expected) {
            let text = String(line)
            #expect(text.contains("\"firstSeen\":\(Self.reference(connection.first, digits: digits)),"), "\(text)")
            #expect(text.contains("\"lastSeen\":\(Self.reference(connection.last, digits: digits)),"), "\(text)")
            let members = connection.states.map { side in
                side.map { "{\"state\":\"\($0.0)\",\"at\":\(Self.reference($0.1, digits: digits))}" }.joined(separator: ",")
            }
            #expect(text.contains("\"states\":{\"client\":[\(members[0])],\"server\":[\(members[1])],\"source\":"), "\(text)")
            let object = try #require(try Self.parse(text) as? [String: Any])
            let states = try #require(object["states"] as? [String: Any])
            #expect(states["source"] as? String == (Int(object["id"] as? Int ?? 0) % 5 == 0 ? "kernel" : "wire"))
        }
    }
}
