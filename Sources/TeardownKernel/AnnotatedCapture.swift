#if canImport(Glibc)
import Glibc
#endif
import TeardownAnalysis
import TeardownIO
import TeardownWire

/// A live capture written as pcapng with the kernel's account inside: custom blocks with the
/// events (so that `teardown analyze` of the file later gives the same kernel-sourced causes and
/// states), and a comment on each ending reset saying why it was sent (Wireshark shows it;
/// `tshark -T fields -e frame.comment`).
public enum AnnotatedCapture {
    /// Rewrites the pcap file at `source` as pcapng at `destination`, with `account` and comments
    /// from `analysis` (the analysis of the same packets, the account applied).
    /// - Throws: `FileAccessError` when a file cannot be read or written.
    public static func write(
        pcapAt source: String, to destination: String, analysis: CaptureAnalysis, account: KernelAccount
    ) throws(FileAccessError) {
        let bytes = try CaptureFile(path: source).readAll(path: source)
        // The first reset of each connection the analysis gave a cause, by its tuple.
        var comments: [String: String] = [:]
        for connection in analysis.connections {
            guard let cause = connection.cause, let resetter = connection.resetBy else { continue }
            let (from, to) = resetter == .client ? (connection.client, connection.server) : (connection.server, connection.client)
            let source = cause.source == .kernel ? "the kernel: \(cause.kernelReason ?? "no reset sent")" : "from the packets, \(cause.certainty)"
            comments["\(from) \(to)"] = "teardown: \(cause.code) (\(source)). \(cause.text)"
        }
        let fd = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileAccessError(path: destination, code: errno, operation: "open") }
        defer { close(fd) }
        // Written out every megabyte or so, not held whole.
        var failure: Errno?
        func writeOut(_ writer: inout PcapngWriter) {
            guard failure == nil else { return }
            failure = writer.takeBytes().withUnsafeBytes { writeAll($0, to: fd) }
        }
        var writer = PcapngWriter()
        for block in account.blocks() {
            writer.appendCustom(block)
            writeOut(&writer)
        }
        bytes.withUnsafeBytes { raw in
            var interfaces: [UInt32: Int] = [:]
            // A capture cut short: what was read is written.
            guard var reader = try? CaptureReader(ByteView(raw)) else { return }
            while let record = try? reader.next() {
                let linkType = record.linkType.rawValue
                let interface = interfaces[linkType] ?? writer.addInterface(linkType: linkType, snapshotLength: 262_144)
                interfaces[linkType] = interface
                var comment: String?
                if let segment = try? PacketDecoder.segment(
                    in: record.bytes, linkType: record.linkType, originalLength: record.originalLength,
                    timestamp: record.timestamp), segment.flags.contains(.rst)
                {
                    let from = SocketAddress(address: segment.source, port: segment.sourcePort)
                    let to = SocketAddress(address: segment.destination, port: segment.destinationPort)
                    comment = comments.removeValue(forKey: "\(from) \(to)")
                }
                writer.appendPacket(
                    interface: interface, timestamp: record.timestamp, captured: record.bytes.copiedBytes(),
                    originalLength: record.originalLength, comment: comment)
                if writer.bytes.count >= 1 << 20 { writeOut(&writer) }
            }
        }
        writeOut(&writer)
        if let failure { throw FileAccessError(path: destination, code: failure.code, operation: "write") }
    }
}
