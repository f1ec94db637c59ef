import Testing
import TeardownTestSupport
import TeardownWire

/// Per-header decoding on real bytes (captured by the `close` scenario on `lo`), malformed lengths,
/// and a sweep that decodes every prefix of every fixture packet.
@Suite("Packet decoding")
struct DecoderTests {
    // tcpdump -X of the SYN in fixtures/pcap/lo-ipv4/close.pcap, behind a zeroed Ethernet header:
    // 4500 003c 0895 4000 4006 3425 7f00 0001 7f00 0001 9b56 b421 75ba 2b1a 0000 0000
    // a002 ffd7 fe30 0000 0204 ffd7 0402 080a c044 f4db 0000 0000 0103 030a
    static let syn: [UInt8] = [UInt8](repeating: 0, count: 12) + [0x08, 0x00] + [
        0x45, 0x00, 0x00, 0x3c, 0x08, 0x95, 0x40, 0x00, 0x40, 0x06, 0x34, 0x25, 0x7f, 0x00, 0x00, 0x01,
        0x7f, 0x00, 0x00, 0x01, 0x9b, 0x56, 0xb4, 0x21, 0x75, 0xba, 0x2b, 0x1a, 0x00, 0x00, 0x00, 0x00,
        0xa0, 0x02, 0xff, 0xd7, 0xfe, 0x30, 0x00, 0x00, 0x02, 0x04, 0xff, 0xd7, 0x04, 0x02, 0x08, 0x0a,
        0xc0, 0x44, 0xf4, 0xdb, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
    ]

    /// What the frame holds.
    static func decode(_ bytes: [UInt8], linkType: LinkType = .ethernet, originalLength: Int? = nil) throws -> PacketKind {
        var segment = TCPSegment(
            timestamp: Timestamp(nanoseconds: 0), source: IPAddress(ipv4: 0), destination: IPAddress(ipv4: 0),
            sourcePort: 0, destinationPort: 0, sequenceNumber: 0, acknowledgmentNumber: 0, flags: TCPFlags())
        return try bytes.withUnsafeBytes { raw in
            try PacketDecoder.decode(
                ByteView(raw), linkType: linkType, originalLength: originalLength ?? bytes.count,
                timestamp: Timestamp(nanoseconds: 0), into: &segment)
        }
    }

    static func segment(_ bytes: [UInt8], linkType: LinkType = .ethernet, originalLength: Int? = nil) throws -> TCPSegment {
        let segment = try bytes.withUnsafeBytes { raw in
            try PacketDecoder.segment(
                in: ByteView(raw), linkType: linkType, originalLength: originalLength ?? bytes.count,
                timestamp: Timestamp(nanoseconds: 0))
        }
        guard let segment else { throw DecodeError.malformed(.tcp, .badVersion) }
        return segment
    }

    @Test("every field of a real SYN")
    func deconstruct() throws {
        let segment = try Self.segment(Self.syn)
        #expect(segment.source == IPAddress("127.0.0.1"))
        #expect(segment.destination == IPAddress("127.0.0.1"))
        #expect(segment.sourcePort == 39766)
        #expect(segment.destinationPort == 46113)
        #expect(segment.sequenceNumber == 1_975_135_002)
        #expect(segment.acknowledgmentNumber == 0)
        #expect(segment.flags == .syn)
        #expect(segment.window == 65495)
        #expect(segment.payloadLength == 0)
        #expect(segment.ipIdentification == 0x0895)
        #expect(segment.options.maximumSegmentSize == 65495)
        #expect(segment.options.sackPermitted)
        #expect(segment.options.windowScale == 10)
        #expect(segment.options.timestamp?.value == 0xc044_f4db)
        #expect(segment.options.timestamp?.echo == 0)
    }

    @Test("payload length comes from the IP total length, not the captured length (1.3)")
    func payloadFromIPLength() throws {
        var frame = Self.syn
        frame[16] = 0x05
        frame[17] = 0xdc  // total length 1500: 1460 bytes of payload, none of them captured
        let segment = try Self.segment(frame, originalLength: 1514)
        #expect(segment.payloadLength == 1500 - 20 - 40)
    }

    @Test("TCP options cut off by a small snaplen are not an error")
    func snaplenCutsOptions() throws {
        let segment = try Self.segment(Array(Self.syn.prefix(58)), originalLength: Self.syn.count)
        #expect(segment.sequenceNumber == 1_975_135_002)
        #expect(segment.options.maximumSegmentSize == 65495)
        #expect(segment.options.timestamp == nil)
    }

    @Test(
        "impossible lengths are malformed",
        arguments: [
            (14, UInt8(0x44), DecodeError.malformed(.ipv4, .headerLengthTooSmall)),
            (14, UInt8(0x4f), DecodeError.truncated(.tcp, needed: 20, available: 0)),
            (46, UInt8(0x40), DecodeError.malformed(.tcp, .headerLengthTooSmall)),
            (46, UInt8(0xf0), DecodeError.malformed(.tcp, .headerLengthBeyondPacket)),
            (14, UInt8(0x65), DecodeError.malformed(.ipv4, .badVersion)),
        ])
    func malformed(offset: Int, value: UInt8, expected: DecodeError) {
        var frame = Self.syn
        frame[offset] = value
        #expect(throws: expected) { try Self.decode(frame) }
    }

    @Test("an IPv4 header length beyond the captured packet is a truncation")
    func headerLengthBeyondPacket() {
        var frame = Array(Self.syn.prefix(14 + 40))
        frame[14] = 0x4f
        #expect(throws: DecodeError.truncated(.ipv4, needed: 60, available: 40)) { try Self.decode(frame) }
    }

    @Test("IPv4 total length below the header length")
    func totalLengthBelowHeader() {
        var frame = Self.syn
        frame[16] = 0
        frame[17] = 10
        #expect(throws: DecodeError.malformed(.ipv4, .totalLengthBelowHeader)) { try Self.decode(frame) }
    }

    @Test("a truncated TCP header is reported with what was needed and captured")
    func truncatedTCP() {
        #expect(throws: DecodeError.truncated(.tcp, needed: 20, available: 19)) {
            try Self.decode(Array(Self.syn.prefix(14 + 20 + 19)))
        }
    }

    @Test("non-TCP and later fragments are skipped, not errors")
    func notTCP() throws {
        var udp = Self.syn
        udp[23] = 17
        #expect(try Self.decode(udp) == .notTCP)
        var fragment = Self.syn
        fragment[20] = 0x00
        fragment[21] = 0x10
        #expect(try Self.decode(fragment) == .laterFragment)
        var arp = Self.syn
        arp[12] = 0x08
        arp[13] = 0x06
        #expect(try Self.decode(arp) == .notTCP)
    }

    @Test("VLAN, QinQ, MPLS, PPPoE and Cisco FabricPath are walked to the IP header")
    func encapsulations() throws {
        let ip = Array(Self.syn[14...])
        let mac = [UInt8](repeating: 0, count: 12)
        let frames: [[UInt8]] = [
            mac + [0x81, 0x00, 0x00, 0x64, 0x08, 0x00] + ip,
            mac + [0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00] + ip,
            mac + [0x88, 0x47, 0x00, 0x01, 0x01, 0x40] + ip,
            mac + [0x88, 0x64, 0x11, 0x00, 0x00, 0x01, 0x00, 0x2a, 0x00, 0x21] + ip,
            // FabricPath: outer MACs, 0x8903, FTag/TTL, the inner frame's MACs and EtherType.
            mac + [0x89, 0x03, 0x00, 0x00] + mac + [0x08, 0x00] + ip,
        ]
        for frame in frames {
            #expect(try Self.segment(frame).sequenceNumber == 1_975_135_002)
        }
        #expect(throws: DecodeError.truncated(.link, needed: 30, available: 29)) {
            try Self.decode(mac + [0x89, 0x03] + [UInt8](repeating: 0, count: 15), linkType: .ethernet)
        }
    }

    @Test("link types: NULL either byte order, LOOP, raw, IPv4, SLL, SLL2")
    func linkTypes() throws {
        let ip = Array(Self.syn[14...])
        #expect(try Self.segment([2, 0, 0, 0] + ip, linkType: .null).sourcePort == 39766)
        #expect(try Self.segment([0, 0, 0, 2] + ip, linkType: .null).sourcePort == 39766)
        #expect(try Self.segment([0, 0, 0, 2] + ip, linkType: .loop).sourcePort == 39766)
        #expect(try Self.segment(ip, linkType: .raw).sourcePort == 39766)
        #expect(try Self.segment(ip, linkType: .ipv4).sourcePort == 39766)
        let sll: [UInt8] = [0, 0, 0, 1, 0, 6] + [UInt8](repeating: 0, count: 8) + [0x08, 0x00]
        #expect(try Self.segment(sll + ip, linkType: .linuxSLL).sourcePort == 39766)
        let sll2: [UInt8] = [0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6] + [UInt8](repeating: 0, count: 8)
        #expect(try Self.segment(sll2 + ip, linkType: .linuxSLL2).sourcePort == 39766)
        #expect(throws: DecodeError.truncated(.link, needed: 20, available: 19)) {
            try Self.decode(Array(sll2.prefix(19)), linkType: .linuxSLL2)
        }
    }

    @Test("IPv6: extension headers are walked; a chain past the packet or too long is malformed")
    func ipv6Extensions() throws {
        let tcp = Array(Self.syn[34...])
        func ipv6(_ next: UInt8, _ extensions: [UInt8], payloadLength: Int? = nil) -> [UInt8] {
            let length = payloadLength ?? (extensions.count + tcp.count)
            var header: [UInt8] = [0x60, 0, 0, 0, UInt8(length >> 8), UInt8(length & 0xff), next, 64]
            header += [UInt8](repeating: 0, count: 15) + [1] + [UInt8](repeating: 0, count: 15) + [1]
            return header + extensions + tcp
        }
        let hopByHop: [UInt8] = [6, 0, 0, 0, 0, 0, 0, 0]
        let segment = try Self.segment(ipv6(0, hopByHop), linkType: .ipv6)
        #expect(segment.source.description == "::1")
        #expect(segment.payloadLength == 0)
        #expect(throws: DecodeError.malformed(.ipv6, .extensionChainBeyondPacket)) {
            try Self.decode(ipv6(0, [6, 200, 0, 0, 0, 0, 0, 0], payloadLength: 48), linkType: .ipv6)
        }
        let loop = (0..<9).flatMap { _ -> [UInt8] in [60, 0, 0, 0, 0, 0, 0, 0] }
        #expect(throws: DecodeError.malformed(.ipv6, .extensionChainTooLong)) {
            try Self.decode(ipv6(60, loop), linkType: .ipv6)
        }
        let laterFragment: [UInt8] = [6, 0, 0, 0x08, 0, 0, 0, 1]
        #expect(try Self.decode(ipv6(44, laterFragment), linkType: .ipv6) == .laterFragment)
    }

    @Test("every prefix of every fixture packet decodes or reports a truncation, never traps")
    func truncationSweep() throws {
        var decodedPackets = 0
        for fixture in Fixtures.captures {
            let bytes = Fixtures.bytes(Fixtures.path(fixture))
            try bytes.withUnsafeBytes { raw in
                var reader = try CaptureReader(ByteView(raw))
                while let record = try reader.next() {
                    guard let expected = try PacketDecoder.segment(
                        in: record.bytes, linkType: record.linkType, originalLength: record.originalLength,
                        timestamp: record.timestamp)
                    else { continue }
                    decodedPackets += 1
                    for length in 0..<record.bytes.count {
                        do {
                            let prefix = record.bytes.subview(at: 0, count: length)
                            if let segment = try PacketDecoder.segment(
                                in: prefix, linkType: record.linkType, originalLength: record.originalLength,
                                timestamp: record.timestamp)
                            {
                                // A prefix that decodes must agree on every header field.
                                #expect(segment.sequenceNumber == expected.sequenceNumber)
                                #expect(segment.payloadLength == expected.payloadLength)
                                #expect(segment.flags == expected.flags)
                            }
                        } catch DecodeError.truncated {
                        } catch {
                            Issue.record("\(fixture) record \(record.index) prefix \(length): \(error)")
                        }
                    }
                }
            }
        }
        #expect(decodedPackets > 500)
    }

    @Test("IP addresses print in their canonical text forms")
    func addresses() {
        #expect(IPAddress("192.168.0.4")?.description == "192.168.0.4")
        #expect(IPAddress("::1")?.description == "::1")
        #expect(IPAddress("2001:db8:0:0:1:0:0:1")?.description == "2001:db8::1:0:0:1")
        #expect(IPAddress("fe80::")?.description == "fe80::")
        #expect(IPAddress("1:2:3:4:5:6:7:8")?.description == "1:2:3:4:5:6:7:8")
        #expect(IPAddress("1.2.3") == nil)
        #expect(IPAddress("1::2::3") == nil)
    }

    @Test("any IP address prints as RFC 5952 says and reads back as itself")
    func addressText() {
        /// RFC 5952 spelled out with strings: the oracle for the byte writer behind `description`.
        func canonical(_ groups: [UInt16]) -> String {
            var best: Range<Int>?
            var index = 0
            while index < 8 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index >= 2 && end - index > (best?.count ?? 0) { best = index..<end }
                index = max(end, index + 1)
            }
            let hex = { (range: Range<Int>) in range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
            guard let best else { return hex(0..<8) }
            return hex(0..<best.lowerBound) + "::" + hex(best.upperBound..<8)
        }
        var random = SplitMix64(seed: 5952)
        for _ in 0..<20_000 {
            // Mostly zero groups, so that runs of every length and position occur.
            let groups = (0..<8).map { _ in random.below(3) == 0 ? UInt16(truncatingIfNeeded: random.next() >> UInt64(random.below(16))) : 0 }
            let words = groups.reduce((UInt64(0), UInt64(0), 0)) { words, group in
                words.2 < 4 ? (words.0 << 16 | UInt64(group), words.1, words.2 + 1) : (words.0, words.1 << 16 | UInt64(group), words.2 + 1)
            }
            let address = IPAddress(ipv6High: words.0, low: words.1)
            #expect(address.description == canonical(groups), "\(groups)")
            #expect(IPAddress(address.description) == address)
            let ipv4 = UInt32(truncatingIfNeeded: random.next() >> UInt64(random.below(32)))
            let octets = [ipv4 >> 24, ipv4 >> 16 & 0xff, ipv4 >> 8 & 0xff, ipv4 & 0xff].map(String.init).joined(separator: ".")
            #expect(IPAddress(ipv4: ipv4).description == octets)
        }
        #expect(IPAddress("1:2:3:4:5:6:7:8")!.description.utf8.count <= IPAddress.maximumTextLength)
        #expect(IPAddress("1111:2222:3333:4444:5555:6666:7777:8888")!.description.utf8.count == IPAddress.maximumTextLength)
    }

    @Test("timestamps print with the capture's own precision")
    func timestamps() {
        let time = Timestamp(nanoseconds: 1_438_145_937_325_196_123)
        #expect(time.formatted(digits: 6) == "1438145937.325196")
        #expect(time.formatted(digits: 9) == "1438145937.325196123")
        #expect(Timestamp(nanoseconds: 5).formatted(digits: 9) == "0.000000005")
        #expect(time.formatted(digits: 0) == "1438145937")
    }
}
