import TeardownAnalysis
import TeardownWire

/// The decimal digits of a number of whole seconds, up to 16, in two words (the most significant
/// digit first in the low byte), for every number of seconds with the same hundreds: only the
/// last two digits differ.
private struct SecondsText {
    /// The seconds divided by 100 (`max`: none yet).
    var hundreds: UInt64 = .max
    var digits: (UInt64, UInt64) = (0, 0)
    var count = 0

    init() {}

    /// The `count` digits at `text` of a number of seconds (16 bytes must be readable there).
    init(_ seconds: UInt64, digits text: UnsafeRawPointer, count: Int) {
        hundreds = seconds / 100
        digits = (text.loadUnaligned(as: UInt64.self), text.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        self.count = count
    }
}

/// A minimal JSON builder writing UTF-8 bytes: keys in the order written (the contract's order),
/// no Foundation, deterministic output, and no `String` work for numbers and IPv4 addresses, so
/// that streaming a million connections costs little.
///
/// The bytes live in a buffer of its own written through a pointer: each value reserves its
/// largest possible size once, then stores bytes without the per-byte uniqueness and capacity
/// checks of an `Array` append (those were a tenth of `--format jsonl`'s time on 10 M packets).
struct JSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written so far.
    private(set) var count = 0
    /// One bit per open object/array (innermost lowest): whether it already has a member. 64 levels
    /// are far more than any report nests.
    private var commaBits: UInt64 = 0
    /// The digits of the whole seconds of the last timestamps written: the timestamps of a report
    /// mostly share all but their last two digits of seconds (a connection spans a few seconds).
    private var recentSeconds = SecondsText()

    init(capacity: Int = 512) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// The document as text.
    var text: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

    /// Calls `body` with the bytes written so far.
    func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Hands the bytes written so far to `body` and forgets them, keeping where the document is
    /// (the open objects and arrays), so a document can be written out in pieces.
    mutating func drain(_ body: (UnsafeRawBufferPointer) -> Void) {
        guard count > 0 else { return }
        body(UnsafeRawBufferPointer(start: base, count: count))
        count = 0
    }

    /// Hands the buffer and the number of bytes written in it to `exchange`, which takes it over
    /// and returns another buffer (allocated as `UnsafeMutableBufferPointer<UInt8>`, or the same
    /// one) to write the next lines in, from its start: whole lines go to another owner without
    /// being copied.
    mutating func exchangeBuffer(
        _ exchange: (_ full: UnsafeMutableBufferPointer<UInt8>, _ count: Int) -> UnsafeMutableBufferPointer<UInt8>
    ) {
        let next = exchange(UnsafeMutableBufferPointer(start: base, count: capacity), count)
        base = next.baseAddress!
        capacity = next.count
        count = 0
        commaBits = 0
    }

    /// Forgets the bytes written (keeping the buffer), to start the next batch of lines.
    mutating func removeAll() {
        count = 0
        commaBits = 0
    }

    /// Makes room for `bytes` more bytes.
    @inline(__always)
    private mutating func reserve(_ bytes: Int) {
        if count + bytes > capacity { grow(to: count + bytes) }
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// Stores one byte; room for it must have been reserved.
    @inline(__always)
    private mutating func put(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    /// Stores `text`'s bytes as they are; room for them must have been reserved.
    @inline(__always)
    private mutating func put(_ text: StaticString) {
        put(text.utf8Start, count: text.utf8CodeUnitCount)
    }

    /// Stores `length` bytes from `source`; room for them must have been reserved. Keys and names
    /// are short: up to 32 bytes move as two or four overlapping words (a call to `memcpy` per key cost
    /// more than the key).
    @inline(__always)
    private mutating func put(_ source: UnsafePointer<UInt8>, count length: Int) {
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(base + count)
        switch length {
        case 17...32:
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
            to.storeBytes(
                of: from.loadUnaligned(fromByteOffset: length - 16, as: UInt64.self), toByteOffset: length - 16,
                as: UInt64.self)
            to.storeBytes(
                of: from.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self), toByteOffset: length - 8,
                as: UInt64.self)
        case 8...16:
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            to.storeBytes(
                of: from.loadUnaligned(fromByteOffset: length - 8, as: UInt64.self), toByteOffset: length - 8,
                as: UInt64.self)
        case 4..<8:
            to.storeBytes(of: from.loadUnaligned(as: UInt32.self), as: UInt32.self)
            to.storeBytes(
                of: from.loadUnaligned(fromByteOffset: length - 4, as: UInt32.self), toByteOffset: length - 4,
                as: UInt32.self)
        case 0..<4:
            for index in 0..<length { to.storeBytes(of: source[index], toByteOffset: index, as: UInt8.self) }
        default:
            to.copyMemory(from: from, byteCount: length)
        }
        count += length
    }

    /// Stores the text in 32-byte slot `slot` of `table` (up to 31 bytes, its length in the slot's
    /// last byte), after `separator` when given. The whole slot moves as four words, and the
    /// bytes past the text are overwritten next: for a member picked from a few, a copy of
    /// constant cost without a branch per choice.
    @inline(__always)
    mutating func put(slot: Int, of table: StaticString, after separator: UInt8?) {
        precondition(table.utf8CodeUnitCount >= 32 * slot + 32, "slot outside the table")
        reserve(33)
        if let separator { put(separator) }
        let from = UnsafeRawPointer(table.utf8Start + 32 * slot), to = UnsafeMutableRawPointer(base + count)
        to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: 8, as: UInt64.self), toByteOffset: 8, as: UInt64.self)
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: 16, as: UInt64.self), toByteOffset: 16, as: UInt64.self)
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: 24, as: UInt64.self), toByteOffset: 24, as: UInt64.self)
        count += Int(from.load(fromByteOffset: 31, as: UInt8.self))
    }

    /// Calls `body` to write something; returns where its text is in the buffer (valid until
    /// the bytes are handed over: within a line).
    @inline(__always)
    mutating func written(_ body: (inout JSONWriter) -> Void) -> Range<Int> {
        let start = count
        body(&self)
        return start..<count
    }

    /// Writes again the text at `range`, up to 32 bytes written earlier in the buffer (see
    /// ``written(_:)``), as four words (the bytes past it are overwritten next).
    @inline(__always)
    mutating func repeatText(_ range: Range<Int>) {
        precondition(range.count <= 32 && range.upperBound <= count, "not a short text written earlier")
        reserve(32)
        // All loaded before any store: the words past the text may reach where it goes.
        let from = UnsafeRawPointer(base + range.lowerBound), to = UnsafeMutableRawPointer(base + count)
        let words = (
            from.loadUnaligned(as: UInt64.self), from.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            from.loadUnaligned(fromByteOffset: 16, as: UInt64.self), from.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
        )
        to.storeBytes(of: words.0, as: UInt64.self)
        to.storeBytes(of: words.1, toByteOffset: 8, as: UInt64.self)
        to.storeBytes(of: words.2, toByteOffset: 16, as: UInt64.self)
        to.storeBytes(of: words.3, toByteOffset: 24, as: UInt64.self)
        count += range.count
    }

    /// Ends a line of JSON Lines.
    mutating func newline() {
        reserve(1)
        put(10)
        commaBits = 0
    }

    private mutating func separator() {
        reserve(1)
        if commaBits & 1 != 0 { put(UInt8(ascii: ",")) }
        commaBits |= 1
    }

    mutating func beginObject(_ key: StaticString? = nil) {
        if let key { self.key(key) } else { separator() }
        reserve(1)
        put(UInt8(ascii: "{"))
        commaBits <<= 1
    }

    mutating func endObject() {
        commaBits >>= 1
        reserve(1)
        put(UInt8(ascii: "}"))
    }

    mutating func beginArray(_ key: StaticString? = nil) {
        if let key { self.key(key) } else { separator() }
        reserve(1)
        put(UInt8(ascii: "["))
        commaBits <<= 1
    }

    mutating func endArray() {
        commaBits >>= 1
        reserve(1)
        put(UInt8(ascii: "]"))
    }

    /// `,"name":` (or `"name":` first in its object). Written through a local pointer and counted
    /// once: stored byte by byte, the count went back to memory after every byte.
    private mutating func key(_ name: StaticString) {
        let length = name.utf8CodeUnitCount
        reserve(length + 4)
        let comma = Int(commaBits & 1)
        commaBits |= 1
        // The comma is always stored, and overwritten by the quote when it is not wanted.
        let start = base + count
        start[0] = UInt8(ascii: ",")
        start[comma] = UInt8(ascii: "\"")
        count += comma + 1
        put(name.utf8Start, count: length)
        (base + count).pointee = UInt8(ascii: "\"")
        (base + count + 1).pointee = UInt8(ascii: ":")
        count += 2
    }

    /// `text` as it is, for the punctuation and names of an object whose members are always the
    /// same (the caller keeps the JSON valid). Inlined: the length is then a constant, and a
    /// fragment is a few stores (as a call, the fragments of a line cost more than its numbers).
    @inline(__always)
    mutating func fragment(_ text: StaticString) {
        reserve(text.utf8CodeUnitCount)
        put(text)
    }

    mutating func field(_ name: StaticString, _ value: String?) {
        key(name)
        append(value)
    }

    /// `value` as a string literal, or `null`.
    mutating func append(_ value: String?) {
        if let value { appendString(value) } else { reserve(4); put("null") }
    }

    mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        appendInteger(value)
    }

    mutating func field(_ name: StaticString, _ value: Int) { field(name, Int64(value)) }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name)
        append(value)
    }

    /// `true` or `false`.
    mutating func append(_ value: Bool) {
        reserve(5)
        put(value ? "true" : "false")
    }

    /// A timestamp as a JSON number with exactly `digits` fractional digits.
    ///
    /// Room for the longest text (a sign, 20 digits of seconds, a point, 9 digits and the words
    /// stored past the end) is made once; the digits are then stored through a local position,
    /// counted once at the end (every line of JSON Lines has 10 timestamps or so).
    mutating func append(_ timestamp: Timestamp, digits: Int) {
        let digits = min(max(digits, 0), 9)
        let nanoseconds = timestamp.nanoseconds
        reserve(40)
        var at = count
        if nanoseconds < 0 {
            base[at] = UInt8(ascii: "-")
            at &+= 1
        }
        let seconds = nanoseconds.magnitude / 1_000_000_000
        if seconds >= 100 && seconds / 100 == recentSeconds.hundreds {
            // The cached digits move as two 8-byte words whatever their number (a copy of their
            // exact length was a call to memmove per timestamp), then the last two are replaced;
            // the bytes past them are overwritten next.
            let to = UnsafeMutableRawPointer(base + at)
            to.storeBytes(of: recentSeconds.digits.0, as: UInt64.self)
            to.storeBytes(of: recentSeconds.digits.1, toByteOffset: 8, as: UInt64.self)
            at &+= recentSeconds.count &- 2
            UnsafeMutableRawPointer(base + at).storeBytes(of: Self.pair(seconds % 100), as: UInt16.self)
            at &+= 2
        } else {
            count = at
            appendUnsigned(seconds)
            if seconds >= 100 && count - at <= 16 {
                recentSeconds = SecondsText(seconds, digits: UnsafeRawPointer(base + at), count: count - at)
            }
            at = count
        }
        if digits > 0 {
            base[at] = UInt8(ascii: ".")
            at &+= 1
            let fraction = nanoseconds.magnitude % 1_000_000_000
            if digits == 9 {
                base[at] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction / 100_000_000)
                Self.storeEightDigits(fraction % 100_000_000, at: base + at + 1)
            } else {
                // The first eight digits, of which the first `digits` are kept (the others are
                // overwritten next).
                Self.storeEightDigits(fraction / 10, at: base + at)
            }
            at &+= digits
        }
        count = at
    }

    /// The two ASCII digits of `value` (below 100), first digit in the low byte.
    @inline(__always)
    private static func pair(_ value: UInt64) -> UInt16 {
        UnsafeRawPointer(digitPairs.utf8Start).loadUnaligned(fromByteOffset: Int(value) * 2, as: UInt16.self)
    }

    /// Stores `value` (below 10^8) as exactly 8 decimal digits at `to` (8 bytes there must be
    /// writable). The digits are found in the lanes of one 64-bit word (4-digit halves in 32-bit
    /// lanes, then pairs in 16-bit lanes, then digits in bytes), with multiplications by
    /// reciprocals instead of divisions, and stored at once: the fractions of timestamps are most
    /// of the digits of a JSON Lines report.
    @inline(__always)
    private static func storeEightDigits(_ value: UInt64, at to: UnsafeMutablePointer<UInt8>) {
        // Lanes hold the first four digits in the low half, the last four in the high half
        // (the word is stored little-endian: low bytes first).
        let halves = (value / 10_000) | ((value % 10_000) << 32)
        // x / 100 per 32-bit lane is (x * 10486) >> 20 for x < 43 699.
        let hundreds = ((halves &* 10_486) >> 20) & 0x0000_007F_0000_007F
        let pairs = hundreds | ((halves &- hundreds &* 100) << 16)
        // x / 10 per 16-bit lane is (x * 103) >> 10 for x < 179.
        let tens = ((pairs &* 103) >> 10) & 0x000F_000F_000F_000F
        let digits = tens | ((pairs &- tens &* 10) << 8)
        UnsafeMutableRawPointer(to).storeBytes(of: (digits | 0x3030_3030_3030_3030).littleEndian, as: UInt64.self)
    }

    /// `"127.0.0.1:45170"` or `"[::1]:8080"`.
    mutating func endpoint(_ endpoint: SocketAddress) {
        let isIPv6 = endpoint.address.isIPv6
        reserve(IPAddress.maximumTextLength + 4)
        put(UInt8(ascii: "\""))
        if isIPv6 { put(UInt8(ascii: "[")) }
        count += endpoint.address.writeText(to: base + count)
        if isIPv6 { put(UInt8(ascii: "]")) }
        put(UInt8(ascii: ":"))
        appendUnsigned(UInt64(endpoint.port))
        reserve(1)
        put(UInt8(ascii: "\""))
    }

    mutating func element(_ value: String) {
        separator()
        appendString(value)
    }

    /// `value` in decimal.
    mutating func appendInteger(_ value: Int64) {
        reserve(1)
        if value < 0 { put(UInt8(ascii: "-")) }
        appendUnsigned(value.magnitude)
    }

    private mutating func appendUnsigned(_ value: UInt64) {
        var digits = 1
        var probe = value
        while probe >= 10 {
            digits += 1
            probe /= 10
        }
        reserve(digits)
        putDigits(value, count: digits)
    }

    /// "00" to "99", for writing numbers two digits at a time.
    private static let digitPairs: StaticString = """
        0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849\
        5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899
        """

    /// Stores the last `digits` decimal digits of `value`, zero-padded on the left; room for them
    /// must have been reserved. Two digits at a time: half the divisions.
    private mutating func putDigits(_ value: UInt64, count digits: Int) {
        var remaining = value
        var position = count + digits
        let pairs = UnsafeRawPointer(Self.digitPairs.utf8Start)
        while position - count >= 2 {
            position -= 2
            let pair = Int(remaining % 100)
            remaining /= 100
            UnsafeMutableRawPointer(base + position).storeBytes(
                of: pairs.loadUnaligned(fromByteOffset: pair * 2, as: UInt16.self), as: UInt16.self)
        }
        if position > count { base[count] = UInt8(ascii: "0") + UInt8(remaining % 10) }
        count += digits
    }

    /// `value` as a JSON string literal (quotes, escapes).
    mutating func appendString(_ value: String) {
        var value = value
        // Native strings (every name this project prints) are contiguous: scanned and copied as a
        // block when nothing needs escaping, which is nearly always.
        let copied = value.withUTF8 { utf8 -> Bool in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                return false
            }
            reserve(utf8.count + 2)
            put(UInt8(ascii: "\""))
            if let start = utf8.baseAddress { put(start, count: utf8.count) }
            put(UInt8(ascii: "\""))
            return true
        }
        if !copied { appendEscaped(value) }
    }

    private mutating func appendEscaped(_ value: String) {
        reserve(value.utf8.count * 6 + 2)
        put(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): put("\\\"")
            case UInt8(ascii: "\\"): put("\\\\")
            case 10: put("\\n")
            case 13: put("\\r")
            case 9: put("\\t")
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                put("\\u00")
                put(hex.utf8Start[Int(byte >> 4)])
                put(hex.utf8Start[Int(byte & 15)])
            default: put(byte)
            }
        }
        put(UInt8(ascii: "\""))
    }
}
