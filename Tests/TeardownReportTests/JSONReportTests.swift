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
}
