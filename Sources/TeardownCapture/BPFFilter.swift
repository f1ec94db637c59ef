import CPcap
import TeardownAnalysis
import TeardownWire

/// A tcpdump filter expression, compiled by libpcap and run on each packet (`--filter`).
///
/// One program is compiled per link type, on a "dead" handle of that type (`pcap_open_dead`), so
/// pcapng files whose interfaces have different link types are filtered correctly. The
/// corresponding libpcap functions are `pcap_compile` and `pcap_offline_filter`.
public final class BPFFilter: PacketFilter {
    /// The expression as given.
    public let expression: String
    private var programs: [UInt32: bpf_program] = [:]

    /// Compiles `expression` for Ethernet to check its syntax up front.
    /// - Throws: `BPFFilterError` with libpcap's message when the expression does not compile.
    public init(_ expression: String) throws(BPFFilterError) {
        self.expression = expression
        _ = try program(for: .ethernet)
    }

    deinit {
        for key in programs.keys { pcap_freecode(&programs[key]!) }
    }

    private func program(for linkType: LinkType) throws(BPFFilterError) -> bpf_program {
        if let program = programs[linkType.rawValue] { return program }
        guard let handle = pcap_open_dead(Int32(linkType.rawValue), 262_144) else {
            throw BPFFilterError(expression: expression, message: "libpcap could not open a handle for \(linkType)")
        }
        defer { pcap_close(handle) }
        var program = bpf_program()
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw BPFFilterError(expression: expression, message: String(cString: pcap_geterr(handle)))
        }
        programs[linkType.rawValue] = program
        return program
    }

    public func matches(_ record: PacketRecord) -> Bool {
        guard var program = try? program(for: record.linkType) else { return false }
        var header = pcap_pkthdr()
        header.caplen = UInt32(record.capturedLength)
        header.len = UInt32(record.originalLength)
        let buffer = record.bytes.rawBuffer
        guard let base = buffer.baseAddress else { return false }
        return pcap_offline_filter(&program, &header, base.assumingMemoryBound(to: UInt8.self)) != 0
    }
}

/// A filter expression libpcap rejected.
public struct BPFFilterError: Error, Sendable, CustomStringConvertible {
    public var expression: String
    /// libpcap's own words.
    public var message: String
    public var description: String { "invalid filter expression '\(expression)': \(message)" }
}
