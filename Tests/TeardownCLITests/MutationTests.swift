import Foundation
import Testing
import TeardownTestSupport

/// Byte-level mutations of real captures through the built binary: cut short, bits flipped, two
/// records swapped. `analyze` (every format) and `explain` must exit 0 or 65, never trap or hang.
@Suite("Mutated captures")
struct MutationTests {
    static let captures = ["pcap/lo-ipv4", "pcap/lo-ipv6", "derived"].flatMap { directory in
        Fixtures.files(in: Fixtures.root + "/fixtures/" + directory).map { "\(directory)/\($0)" }
    }

    /// Record boundaries of a classic pcap (offsets of each 16-byte record header), for swapping.
    static func records(_ bytes: [UInt8]) -> [Range<Int>] {
        guard bytes.count >= 24, bytes[0] == 0xd4 || bytes[0] == 0x4d else { return [] }
        var ranges: [Range<Int>] = []
        var offset = 24
        while offset + 16 <= bytes.count {
            let length = Int(bytes[offset + 8]) | Int(bytes[offset + 9]) << 8 | Int(bytes[offset + 10]) << 16 | Int(bytes[offset + 11]) << 24
            guard length <= bytes.count - offset - 16 else { break }
            ranges.append(offset..<(offset + 16 + length))
            offset += 16 + length
        }
        return ranges
    }

    static func mutate(_ original: [UInt8], kind: Int, random: inout SplitMix64) -> [UInt8] {
        var bytes = original
        switch kind {
        case 0:  // truncate anywhere
            bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
        case 1:  // flip 1 to 8 bits anywhere (headers included)
            for _ in 0...(random.next() % 8) {
                let index = Int(random.next() % UInt64(bytes.count))
                bytes[index] ^= 1 << UInt8(random.next() % 8)
            }
        default:  // swap two records (pcap), else overwrite a run with random bytes
            let records = Self.records(bytes)
            if records.count >= 2 {
                let first = records[Int(random.next() % UInt64(records.count))]
                let second = records[Int(random.next() % UInt64(records.count))]
                let (low, high) = first.lowerBound < second.lowerBound ? (first, second) : (second, first)
                if low != high {
                    bytes = Array(bytes[..<low.lowerBound]) + bytes[high] + bytes[low.upperBound..<high.lowerBound]
                        + bytes[low] + bytes[high.upperBound...]
                }
            } else {
                let start = Int(random.next() % UInt64(bytes.count))
                for index in start..<min(bytes.count, start + 16) { bytes[index] = UInt8(truncatingIfNeeded: random.next()) }
            }
        }
        return bytes
    }

    @Test("truncated, bit-flipped and reordered captures exit 0 or 65 in every command and format", arguments: captures)
    func mutations(capture: String) throws {
        let original = Fixtures.bytes(Fixtures.path(capture))
        // A fixed seed per capture (FNV-1a of its name): a failure reproduces.
        var random = SplitMix64(seed: capture.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 })
        let path = "/tmp/teardown-mutant-\(getpid())-\(capture.replacingOccurrences(of: "/", with: "-"))"
        defer { unlink(path) }
        for round in 0..<6 {
            let mutant = Self.mutate(original, kind: round % 3, random: &random)
            _ = FileManager.default.createFile(atPath: path, contents: Data(mutant))
            for arguments in [["analyze", "--format", "json"], ["analyze", "--format", "zeek"], ["explain", "--color", "never"]] {
                let result = Command.run([Command.teardown] + arguments + [path])
                #expect([0, 65].contains(result.status), "\(capture) round \(round) \(arguments): \(result.status) \(result.stderr)")
                #expect(!result.stderr.contains("Fatal error"), "\(capture) round \(round)")
            }
        }
    }
}
