/// An IPv4 or IPv6 address held in two words, so that it is a fixed-size value with no heap storage.
///
/// IPv4 addresses live in the low 32 bits of `low` with `high == 0` and `isIPv6 == false`.
public struct IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The first 8 bytes of an IPv6 address, big-endian; 0 for IPv4.
    public var high: UInt64
    /// The last 8 bytes of an IPv6 address, or the IPv4 address in the low 32 bits, big-endian.
    public var low: UInt64
    public var isIPv6: Bool

    @inlinable
    public init(ipv4: UInt32) {
        high = 0
        low = UInt64(ipv4)
        isIPv6 = false
    }

    @inlinable
    public init(ipv6High: UInt64, low: UInt64) {
        high = ipv6High
        self.low = low
        isIPv6 = true
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (with `::`); `nil` when it is neither.
    public init?(_ text: String) {
        if text.contains(":") {
            let bytes = Array(text.utf8)
            let doubleColons = bytes.indices.dropLast().filter { bytes[$0] == 58 && bytes[$0 + 1] == 58 }.count
            guard doubleColons <= 1 else { return nil }
            var groups: [UInt16] = []
            var tailStart: Int?
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            var index = 0
            while index < parts.count {
                let part = parts[index]
                if part.isEmpty {
                    if tailStart == nil { tailStart = groups.count }
                    index += 1
                    continue
                }
                guard part.count <= 4, let value = UInt16(part, radix: 16) else { return nil }
                groups.append(value)
                index += 1
            }
            if let tailStart {
                guard groups.count < 8 else { return nil }
                groups.insert(contentsOf: [UInt16](repeating: 0, count: 8 - groups.count), at: tailStart)
            }
            guard groups.count == 8 else { return nil }
            var words: (UInt64, UInt64) = (0, 0)
            for (position, group) in groups.enumerated() {
                if position < 4 {
                    words.0 = words.0 << 16 | UInt64(group)
                } else {
                    words.1 = words.1 << 16 | UInt64(group)
                }
            }
            self.init(ipv6High: words.0, low: words.1)
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var value: UInt32 = 0
            for part in parts {
                guard let octet = UInt8(part) else { return nil }
                value = value << 8 | UInt32(octet)
            }
            self.init(ipv4: value)
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        (lhs.isIPv6 ? 1 : 0, lhs.high, lhs.low) < (rhs.isIPv6 ? 1 : 0, rhs.high, rhs.low)
    }

    /// Dotted quad for IPv4; RFC 5952 text (lower case, longest zero run as `::`) for IPv6.
    public var description: String {
        if !isIPv6 {
            let v = UInt32(truncatingIfNeeded: low)
            return "\(v >> 24).\(v >> 16 & 0xff).\(v >> 8 & 0xff).\(v & 0xff)"
        }
        var groups = [UInt16](repeating: 0, count: 8)
        for i in 0..<4 {
            groups[i] = UInt16(truncatingIfNeeded: high >> UInt64(48 - 16 * i))
            groups[i + 4] = UInt16(truncatingIfNeeded: low >> UInt64(48 - 16 * i))
        }
        // The longest run of two or more zero groups becomes "::" (RFC 5952 §4.2).
        var bestStart = -1, bestLength = 1, runStart = -1
        for i in 0...8 {
            if i < 8 && groups[i] == 0 {
                if runStart < 0 { runStart = i }
            } else if runStart >= 0 {
                if i - runStart > bestLength { bestStart = runStart; bestLength = i - runStart }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String {
            range.map { String(groups[$0], radix: 16) }.joined(separator: ":")
        }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}
