/// A capture timestamp: nanoseconds since the Unix epoch.
///
/// Every file format is converted to nanoseconds on reading; how many fractional digits the source
/// really had is kept separately (`CaptureFileInfo.timestampDigits`) so that reports print the
/// capture's own precision and no more.
public struct Timestamp: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    @inlinable public init(seconds: Int64, nanoseconds fraction: Int64) {
        self.nanoseconds = seconds &* 1_000_000_000 &+ fraction
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// `self - earlier` in nanoseconds, saturating at the bounds of `Int64`: capture timestamps are
    /// hostile input and may be anything, so a plain subtraction could trap.
    public func nanoseconds(since earlier: Timestamp) -> Int64 {
        let (difference, overflow) = nanoseconds.subtractingReportingOverflow(earlier.nanoseconds)
        return overflow ? (nanoseconds > earlier.nanoseconds ? .max : .min) : difference
    }

    /// Seconds as a `Double` (for arithmetic, not for printing: see ``formatted(digits:)``).
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// `seconds.fraction` with exactly `digits` fractional digits (0...9), without going through a
    /// `Double`, so that a nanosecond capture prints all nine digits exactly.
    public func formatted(digits: Int) -> String {
        let digits = min(max(digits, 0), 9)
        var whole = nanoseconds / 1_000_000_000
        var fraction = nanoseconds % 1_000_000_000
        var sign = ""
        if fraction < 0 {
            // Negative timestamps only come from hostile files; print them consistently anyway.
            if whole == 0 { sign = "-" }
            fraction = -fraction
            if whole < 0 { whole = -whole; sign = "-" }
        }
        if digits == 0 { return "\(sign)\(whole)" }
        var scaled = fraction
        for _ in digits..<9 { scaled /= 10 }
        var text = String(scaled)
        if text.count < digits { text = String(repeating: "0", count: digits - text.count) + text }
        return "\(sign)\(whole).\(text)"
    }
}
