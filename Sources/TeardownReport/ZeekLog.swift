import TeardownAnalysis
import TeardownWire
#if canImport(Glibc)
import Glibc
#endif

/// A Zeek conn.log in Zeek's TSV form, so `zeek-cut` and scripts written for Zeek read it: the
/// header lines, then one row per Zeek connection (``ZeekRecord``; a connection of ours may be
/// several, see docs/zeek-divergences.md), with our verdict as an extra last column.
public enum ZeekLog {
    /// The `#fields` line's names, in order.
    public static let fields = [
        "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "duration", "orig_bytes",
        "resp_bytes", "conn_state", "missed_bytes", "history", "orig_pkts", "resp_pkts", "teardown_verdict",
    ]
    static let types = [
        "time", "string", "addr", "port", "addr", "port", "enum", "interval", "count", "count", "string", "count",
        "string", "count", "count", "string",
    ]

    /// The header lines, each ending in a newline.
    static var header: String {
        [
            "#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn",
            "#fields\t" + fields.joined(separator: "\t"), "#types\t" + types.joined(separator: "\t"),
        ].map { $0 + "\n" }.joined()
    }

    /// The log for `analyses` whose connections were kept: one header, then the rows of every file
    /// in order.
    public static func render(_ analyses: [CaptureAnalysis]) -> String {
        var output = ""
        let stream = ZeekLogStream { output += $0 }
        stream.write(analyses)
        return output
    }

    /// The time of the `#open` and `#close` lines, in Zeek's form (`2026-12-03-20-14-05`, local
    /// time): when the log was written, as Zeek does.
    static func logTime(_ seconds: Int = time(nil)) -> String {
        var when = time_t(seconds)
        var parts = tm()
        localtime_r(&when, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))-"
            + "\(two(parts.tm_hour))-\(two(parts.tm_min))-\(two(parts.tm_sec))"
    }

    /// One row. `missedBytes`: payload bytes the capture did not show (contract 1.6), Zeek's
    /// content gaps.
    static func row(_ record: ZeekRecord, of connection: Connection, missedBytes: Int64, uid: String) -> String {
        let duration = Timestamp(nanoseconds: max(0, record.lastSeen.nanoseconds(since: record.firstSeen)))
        let columns = [
            record.firstSeen.formatted(digits: 6), uid,
            "\(connection.client.address)", "\(connection.client.port)",
            "\(connection.server.address)", "\(connection.server.port)", "tcp",
            duration.formatted(digits: 6), "\(record.bytes.client)", "\(record.bytes.server)",
            record.state.rawValue, "\(missedBytes)", record.history.isEmpty ? "(empty)" : record.history,
            "\(record.packets.client)", "\(record.packets.server)", connection.verdict.rawValue,
        ]
        return columns.joined(separator: "\t")
    }

    /// A stable Zeek-style identifier ("C" and 17 base-62 digits) for row `row` of connection
    /// `connection` in file `file`: the same input gives the same log.
    static func uid(file: Int, connection: Int, row: Int) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in [file, connection, row] {
            var word = UInt64(truncatingIfNeeded: value)
            for _ in 0..<8 {
                hash = (hash ^ (word & 0xff)) &* 0x100_0000_01b3
                word >>= 8
            }
        }
        let digits = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var text = "C"
        for _ in 0..<17 {
            text.append(digits[Int(hash % 62)])
            hash = hash / 62 &+ (hash &* 0x9e37_79b9_7f4a_7c15 >> 40)
        }
        return text
    }
}
