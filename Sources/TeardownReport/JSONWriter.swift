import TeardownAnalysis
import TeardownWire

/// A minimal JSON builder writing UTF-8 bytes: keys in the order written (the contract's order),
/// no Foundation, deterministic output, and no `String` work for numbers and IPv4 addresses, so
/// that streaming a million connections costs little.
struct JSONWriter {
    var bytes: [UInt8] = []
    /// The buffer itself, for swapping a caller's output buffer in and out without copying.
    var storage: [UInt8] {
        get { bytes }
        _modify { yield &bytes }
    }
    /// One bit per open object/array (innermost lowest): whether it already has a member. 64 levels
    /// are far more than any report nests.
    private var commaBits: UInt64 = 0

    init(capacity: Int = 512) { bytes.reserveCapacity(capacity) }

    /// The document as text.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    private mutating func separator() {
        if commaBits & 1 != 0 { bytes.append(UInt8(ascii: ",")) }
        commaBits |= 1
    }

    mutating func beginObject(_ key: StaticString? = nil) {
        if let key { self.key(key) } else { separator() }
        bytes.append(UInt8(ascii: "{"))
        commaBits <<= 1
    }

    mutating func endObject() {
        commaBits >>= 1
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func beginArray(_ key: StaticString? = nil) {
        if let key { self.key(key) } else { separator() }
        bytes.append(UInt8(ascii: "["))
        commaBits <<= 1
    }

    mutating func endArray() {
        commaBits >>= 1
        bytes.append(UInt8(ascii: "]"))
    }

    private mutating func key(_ name: StaticString) {
        // `,"name":` (or `"name":`): this runs a dozen times per connection; the name is copied as a
        // buffer (a memcpy), not byte by byte.
        if commaBits & 1 != 0 { bytes.append(UInt8(ascii: ",")) }
        commaBits |= 1
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func field(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { Self.appendString(value, to: &bytes) } else { bytes.append(contentsOf: [110, 117, 108, 108]) }
    }

    mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        Self.appendInteger(value, to: &bytes)
    }

    mutating func field(_ name: StaticString, _ value: Int) { field(name, Int64(value)) }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        bytes.append(contentsOf: value ? [116, 114, 117, 101] : [102, 97, 108, 115, 101])
    }

    /// A timestamp as a JSON number with exactly `digits` fractional digits.
    mutating func field(_ name: StaticString, timestamp: Timestamp, digits: Int) {
        key(name)
        let digits = min(max(digits, 0), 9)
        var nanoseconds = timestamp.nanoseconds
        if nanoseconds < 0 {
            bytes.append(UInt8(ascii: "-"))
            nanoseconds = nanoseconds == .min ? .max : -nanoseconds
        }
        Self.appendInteger(nanoseconds / 1_000_000_000, to: &bytes)
        guard digits > 0 else { return }
        bytes.append(UInt8(ascii: "."))
        var fraction = nanoseconds % 1_000_000_000
        for _ in digits..<9 { fraction /= 10 }
        var divisor: Int64 = 1
        for _ in 1..<digits { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
    }

    /// `"127.0.0.1:45170"` or `"[::1]:8080"`.
    mutating func field(_ name: StaticString, endpoint: SocketAddress) {
        key(name)
        guard !endpoint.address.isIPv6 else {
            Self.appendString(endpoint.description, to: &bytes)
            return
        }
        bytes.append(UInt8(ascii: "\""))
        let value = UInt32(truncatingIfNeeded: endpoint.address.low)
        var shift: UInt32 = 24
        while true {
            Self.appendInteger(Int64(value >> shift & 0xff), to: &bytes)
            if shift == 0 { break }
            bytes.append(UInt8(ascii: "."))
            shift -= 8
        }
        bytes.append(UInt8(ascii: ":"))
        Self.appendInteger(Int64(endpoint.port), to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    mutating func element(_ value: String) {
        separator()
        Self.appendString(value, to: &bytes)
    }

    static func appendInteger(_ value: Int64, to bytes: inout [UInt8]) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            appendInteger(value == .min ? .max : -value, to: &bytes)
            return
        }
        if value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                      UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var remaining = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while remaining > 0 {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                count += 1
            }
            bytes.append(contentsOf: buffer[(20 - count)...])
        }
    }

    static func appendString(_ value: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [92, 92])
            case 10: bytes.append(contentsOf: [92, 110])
            case 13: bytes.append(contentsOf: [92, 114])
            case 9: bytes.append(contentsOf: [92, 116])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, 117, 48, 48, hex[Int(byte >> 4)], hex[Int(byte & 15)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
