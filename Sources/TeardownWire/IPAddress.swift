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
        String(unsafeUninitializedCapacity: Self.maximumTextLength) { writeText(to: $0.baseAddress!) }
    }

    /// The length of the longest ``description``: an IPv6 address without two zero groups in a row.
    public static let maximumTextLength = 39

    /// Writes ``description`` as ASCII to `buffer`, which must have room for ``maximumTextLength``
    /// bytes, and returns its length. No `String` is built: reports print millions of addresses.
    public func writeText(to buffer: UnsafeMutablePointer<UInt8>) -> Int {
        var length = 0
        guard isIPv6 else {
            let value = UInt32(truncatingIfNeeded: low)
            for shift in stride(from: 24, through: 0, by: -8) {
                let octet = value >> UInt32(shift) & 0xff
                if octet >= 100 {
                    buffer[length] = UInt8(ascii: "0") + UInt8(octet / 100)
                    length += 1
                }
                if octet >= 10 {
                    buffer[length] = UInt8(ascii: "0") + UInt8(octet / 10 % 10)
                    length += 1
                }
                buffer[length] = UInt8(ascii: "0") + UInt8(octet % 10)
                length += 1
                if shift > 0 {
                    buffer[length] = UInt8(ascii: ".")
                    length += 1
                }
            }
            return length
        }
        func group(_ index: Int) -> UInt16 {
            UInt16(truncatingIfNeeded: (index < 4 ? high : low) >> UInt64(48 - 16 * (index % 4)))
        }
        // The longest run of two or more zero groups becomes "::", the first of equal runs
        // (RFC 5952 §4.2).
        var bestStart = 8, bestLength = 1, runStart = -1
        for index in 0...8 {
            if index < 8 && group(index) == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength { (bestStart, bestLength) = (runStart, index - runStart) }
                runStart = -1
            }
        }
        let hexDigits: StaticString = "0123456789abcdef"
        var index = 0
        while index < 8 {
            if index == bestStart {
                buffer[length] = UInt8(ascii: ":")
                buffer[length + 1] = UInt8(ascii: ":")
                length += 2
                index += bestLength
                continue
            }
            if index > 0 && index != bestStart + bestLength {
                buffer[length] = UInt8(ascii: ":")
                length += 1
            }
            let value = group(index)
            var shift: UInt16 = 12
            while shift > 0 && value >> shift == 0 { shift -= 4 }
            while true {
                buffer[length] = hexDigits.utf8Start[Int(value >> shift & 0xf)]
                length += 1
                if shift == 0 { break }
                shift -= 4
            }
            index += 1
        }
        return length
    }
}
