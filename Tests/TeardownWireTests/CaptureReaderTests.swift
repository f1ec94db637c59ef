import Testing
import TeardownTestSupport
import TeardownWire

/// pcap and pcapng reading: formats, byte orders, resolutions, and hostile length fields.
@Suite("Capture file reading")
struct CaptureReaderTests {
    struct Summary: Equatable {
        var format: CaptureFileFormat
        var linkTypes: [LinkType]
        var records: Int
        var digits: Int
        var firstTimestamp: Int64
        var truncation: String?
    }

    static func read(_ bytes: [UInt8]) throws -> Summary {
        try bytes.withUnsafeBytes { raw in
            var reader = try CaptureReader(ByteView(raw))
            var count = 0
            var first: Int64 = -1
            while let record = try reader.next() {
                if first < 0 { first = record.timestamp.nanoseconds }
                count += 1
            }
            return Summary(
                format: reader.format, linkTypes: reader.linkTypes, records: count, digits: reader.timestampDigits,
                firstTimestamp: first, truncation: reader.truncation)
        }
    }

    static func read(fixture: String) throws -> Summary { try read(Fixtures.bytes(Fixtures.path(fixture))) }

    @Test("one capture in five encodings reads the same packets and timestamps")
    func encodings() throws {
        let reference = try Self.read(fixture: "pcap/lo-ipv4/close.pcap")
        #expect(reference.format == .pcapNanosecond)
        #expect(reference.digits == 9)
        let microseconds = reference.firstTimestamp / 1000 * 1000
        for (fixture, format, digits, timestamp) in [
            ("derived/close-usec-le.pcap", CaptureFileFormat.pcap, 6, microseconds),
            ("derived/close-usec-be.pcap", .pcap, 6, microseconds),
            ("derived/close-raw.pcap", .pcapNanosecond, 9, reference.firstTimestamp),
        ] {
            let summary = try Self.read(fixture: fixture)
            #expect(summary.format == format, "\(fixture)")
            #expect(summary.records == reference.records, "\(fixture)")
            #expect(summary.digits == digits, "\(fixture)")
            #expect(summary.firstTimestamp == timestamp, "\(fixture)")
        }
    }

    @Test("pcapng: three interfaces with different link types and resolutions, an unknown block")
    func mixedPcapng() throws {
        let summary = try Self.read(fixture: "derived/mixed-linktypes.pcapng")
        #expect(summary.format == .pcapng)
        #expect(summary.linkTypes == [.ethernet, .linuxSLL2, .linuxSLL])
        #expect(summary.digits == 9)
        #expect(summary.records == 38)
        #expect(summary.truncation == nil)
    }

    @Test("pcapng: big-endian section with binary (2^-20 s) timestamps")
    func bigEndianPcapng() throws {
        let pcapng = try Self.read(fixture: "derived/graceful-be.pcapng")
        let pcap = try Self.read(fixture: "pcap/lo-ipv4/graceful.pcap")
        #expect(pcapng.records == pcap.records)
        #expect(pcapng.digits == 7)
        // 2^-20 s ticks are within a microsecond of the original nanoseconds.
        #expect(abs(pcapng.firstTimestamp - pcap.firstTimestamp) < 1000)
    }

    @Test(
        "bad inputs: the documented error, never a trap",
        arguments: [
            ("empty.pcap", CaptureFileError.empty),
            ("not-a-capture.pcap", .notACapture(magic: 0x4745_5420)),
            ("short-header.pcap", .badHeader("the 24-byte pcap file header is cut short (10 bytes)")),
            ("unknown-linktype.pcap", .unsupportedLinkType(LinkType(rawValue: 147))),
            ("impossible-caplen.pcap", .impossibleCapturedLength(record: 3, claimed: 0x7fff_ffff, remaining: 64)),
            ("pcapng-bad-block-length.pcapng", .badBlock(offset: 48, reason: "impossible block length 13")),
            ("pcapng-unknown-interface.pcapng", .unknownInterface(record: 2, interface: 3, known: 1)),
        ])
    func badInputs(file: String, expected: CaptureFileError) {
        #expect(throws: expected) { try Self.read(fixture: "malformed/\(file)") }
    }

    @Test(
        "cut-short files are read up to the cut",
        arguments: [
            ("record-cut-short.pcap", 9, "record 10 claims 54 bytes, only 34 remain"),
            ("record-header-cut.pcap", 1, "record 2: its 16-byte header is cut short (7 bytes remain)"),
            ("pcapng-block-cut-short.pcapng", 0, "the block at byte 48 claims 108 bytes, only 98 remain"),
            ("header-only.pcap", 0, nil),
            ("caplen-above-snaplen.pcap", 1, nil),
            ("pcapng-unknown-block.pcapng", 1, nil),
        ])
    func cutShort(file: String, records: Int, truncation: String?) throws {
        let summary = try Self.read(fixture: "malformed/\(file)")
        #expect(summary.records == records)
        #expect(summary.truncation == truncation)
    }

    @Test("every prefix of a pcap and a pcapng file reads without trapping")
    func prefixSweep() {
        for fixture in ["pcap/lo-ipv4/shutdown.pcap", "derived/mixed-linktypes.pcapng", "derived/graceful-be.pcapng"] {
            let bytes = Fixtures.bytes(Fixtures.path(fixture))
            for length in 0...bytes.count {
                do {
                    _ = try Self.read(Array(bytes.prefix(length)))
                } catch {
                    // Only header-level errors can come from a prefix of a valid file.
                    switch error as? CaptureFileError {
                    case .empty?, .notACapture?, .badHeader?: break
                    default: Issue.record("\(fixture) prefix \(length): \(error)")
                    }
                }
            }
        }
    }

    @Test("a pcap written by PcapWriter reads back to the same segments")
    func writerRoundTrip() throws {
        var conversation = Conversation()
        conversation.handshake()
        conversation.data(.client, 1000)
        conversation.fin(.server)
        let bytes = conversation.pcap()
        var decoded: [TCPSegment] = []
        try bytes.withUnsafeBytes { raw in
            var reader = try CaptureReader(ByteView(raw))
            while let record = try reader.next() {
                if let segment = try PacketDecoder.segment(
                    in: record.bytes, linkType: record.linkType, originalLength: record.originalLength,
                    timestamp: record.timestamp)
                {
                    decoded.append(segment)
                }
            }
        }
        // PcapWriter keeps headers only: a segment with payload reads back as cut off by the snap length.
        let expected = conversation.segments.map { segment in
            var segment = segment
            segment.payloadCaptured = segment.payloadLength == 0
            return segment
        }
        #expect(decoded == expected)
    }
}
