import TeardownAnalysis
import TeardownWire

/// One event of the kernel's TCP stack, as a tracefs instance reported it (`trace_pipe` lines).
public struct KernelEvent: Sendable, Hashable {
    /// What happened.
    public enum Kind: Sendable, Hashable {
        /// `tcp:tcp_send_reset`: the kernel sent a reset from `local` to `remote`, for `reason`
        /// (`TCP_ABORT_ON_CLOSE`, ...), the socket being in `state` (`TCP_CLOSE`, `UNKNOWN`: no
        /// socket); `active` when the reset was not a reply to a segment (`skbaddr` 0).
        case sendReset(reason: String, state: String, active: Bool)
        /// `tcp:tcp_receive_reset`: the socket `local` ↔ `remote` accepted a reset.
        case receiveReset
        /// `sock:inet_sock_set_state`: the socket `local` ↔ `remote` went from `old` to `new`
        /// (`TCP_FIN_WAIT1`, ...).
        case stateChange(old: String, new: String)
        /// `tcp:tcp_destroy_sock`.
        case destroy
    }

    public var kind: Kind
    /// The trace clock's time (seconds on `CLOCK_MONOTONIC` with `trace_clock mono`).
    public var traceTime: Double
    /// The process that was running (`ss`, `python3`, ... `<idle>` for soft interrupts).
    public var command: String
    public var pid: Int32
    /// The socket's own address and its peer's (port 0 before the socket is bound).
    public var local: SocketAddress
    public var remote: SocketAddress

    public init(kind: Kind, traceTime: Double, command: String, pid: Int32, local: SocketAddress, remote: SocketAddress) {
        self.kind = kind
        self.traceTime = traceTime
        self.command = command
        self.pid = pid
        self.local = local
        self.remote = remote
    }
}

/// Parses the lines of a tracefs `trace` or `trace_pipe` file:
///
/// ```
///   teardown-32308   [000] ..s2.  2802.294655: tcp_send_reset: skbaddr=00000000140f0f22 skaddr=... src=127.0.0.1:58294 dest=127.0.0.1:38033 state=TCP_CLOSE reason=TCP_ABORT_ON_DATA
/// ```
///
/// Other events and lines that do not parse (headers, other programs' noise in a shape not
/// known) are skipped: `nil`.
public enum TraceLineParser {
    public static func parse(_ line: Substring) -> KernelEvent? {
        // `COMM-PID [CPU] FLAGS TIME: EVENT: FIELDS`; COMM may hold spaces and dashes. Scanned as
        // bytes: a busy capture's account holds hundreds of thousands of lines.
        let bytes = line.utf8
        let (space, colon) = (UInt8(ascii: " "), UInt8(ascii: ":"))
        guard let bracket = bytes.firstIndex(of: UInt8(ascii: "[")) else { return nil }
        var (taskStart, taskEnd) = (bytes.startIndex, bracket)
        while taskStart < taskEnd && bytes[taskStart] == space { bytes.formIndex(after: &taskStart) }
        while taskEnd > taskStart && bytes[bytes.index(before: taskEnd)] == space { bytes.formIndex(before: &taskEnd) }
        guard let dash = bytes[taskStart..<taskEnd].lastIndex(of: UInt8(ascii: "-")),
            let pid = Int32(Substring(bytes[bytes.index(after: dash)..<taskEnd]))
        else { return nil }
        let command = String(Substring(bytes[taskStart..<dash]))
        let rest = bytes[bytes.index(after: bracket)...]
        guard let firstColon = rest.firstIndex(of: colon) else { return nil }
        let timeStart = rest[..<firstColon].lastIndex(of: space).map { bytes.index(after: $0) } ?? rest.startIndex
        guard let time = Double(Substring(bytes[timeStart..<firstColon])) else { return nil }
        var afterTime = rest[bytes.index(after: firstColon)...]
        while afterTime.first == space { afterTime = afterTime.dropFirst() }
        guard let eventColon = afterTime.firstIndex(of: colon) else { return nil }
        let name = Substring(afterTime[..<eventColon])
        var fields = TraceFields()
        for pair in afterTime[bytes.index(after: eventColon)...].split(separator: space) {
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { continue }
            fields.pairs.append((Substring(pair[..<equals]), Substring(pair[bytes.index(after: equals)...])))
        }
        switch name {
        case "tcp_send_reset":
            guard let source = fields["src"].flatMap(address), let destination = fields["dest"].flatMap(address),
                let reason = fields["reason"], let state = fields["state"]
            else { return nil }
            let active = fields["skbaddr"].map { $0.allSatisfy { $0 == "0" } } ?? false
            return KernelEvent(
                kind: .sendReset(reason: String(reason), state: String(state), active: active), traceTime: time,
                command: command, pid: pid, local: source, remote: destination)
        case "tcp_receive_reset", "inet_sock_set_state", "tcp_destroy_sock":
            guard let (local, remote) = endpoints(fields) else { return nil }
            let kind: KernelEvent.Kind
            switch name {
            case "tcp_receive_reset": kind = .receiveReset
            case "tcp_destroy_sock": kind = .destroy
            default:
                guard let protocolName = fields["protocol"], protocolName == "IPPROTO_TCP",
                    let old = fields["oldstate"], let new = fields["newstate"]
                else { return nil }
                kind = .stateChange(old: String(old), new: String(new))
            }
            return KernelEvent(kind: kind, traceTime: time, command: command, pid: pid, local: local, remote: remote)
        default:
            return nil
        }
    }

    /// `127.0.0.1:58294` or `[::1]:8080` (tcp_send_reset's `%pISpc`).
    static func address(_ text: Substring) -> SocketAddress? {
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]"), text.index(after: close) < text.endIndex,
                let address = IPAddress(String(text[text.index(after: text.startIndex)..<close])),
                let port = UInt16(text[text.index(close, offsetBy: 2)...])
            else { return nil }
            return SocketAddress(address: address, port: port)
        }
        guard let colon = text.lastIndex(of: ":"), let address = IPAddress(String(text[..<colon])),
            let port = UInt16(text[text.index(after: colon)...])
        else { return nil }
        return SocketAddress(address: address, port: port)
    }

    /// The `sport`/`dport` and `saddr`/`daddr` fields (IPv4), or `saddrv6`/`daddrv6` for IPv6.
    static func endpoints(_ fields: TraceFields) -> (SocketAddress, SocketAddress)? {
        guard let sport = fields["sport"].flatMap({ UInt16($0) }), let dport = fields["dport"].flatMap({ UInt16($0) }) else {
            return nil
        }
        let ipv6 = fields["family"] == "AF_INET6"
        guard let source = (ipv6 ? fields["saddrv6"] : fields["saddr"]).flatMap({ IPAddress(String($0)) }),
            let destination = (ipv6 ? fields["daddrv6"] : fields["daddr"]).flatMap({ IPAddress(String($0)) })
        else { return nil }
        return (SocketAddress(address: source, port: sport), SocketAddress(address: destination, port: dport))
    }
}

/// An event's `name=value` fields, looked up by name (a handful per line: a scan beats hashing).
struct TraceFields {
    var pairs: [(name: Substring, value: Substring)] = []

    subscript(name: String) -> Substring? {
        pairs.first { $0.name == name }?.value
    }
}
