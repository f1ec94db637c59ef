import TeardownAnalysis
import TeardownWire

/// Joins the kernel's events to the connections of a capture made on the same host at the same
/// time (contract 2.5 `source: kernel`, 2.6 `statesSource`): by 4-tuple and time, never by event
/// order (on loopback the peer's `tcp_receive_reset` can be logged before the sender's
/// `tcp_send_reset`) nor by socket pointer (hashed, and reused).
public struct KernelAccount: Sendable {
    public let events: [KernelEvent]
    /// The events by socket (`local`, `remote`), each socket's in the kernel's time order: a
    /// connection looks up its own instead of scanning every event.
    private let bySocket: [SocketPair: [KernelEvent]]
    /// CLOCK_REALTIME minus the trace clock, in nanoseconds.
    public let realtimeOffset: Int64
    /// Whether every TCP stack that could answer on the captured addresses is this host's (a
    /// loopback capture): a reset the kernel did not report was then sent by something else
    /// (`foreign_reset`).
    public let coversEveryStack: Bool

    public init(events: [KernelEvent], realtimeOffset: Int64, coversEveryStack: Bool = true) {
        self.events = events
        self.bySocket = Self.index(events)
        self.realtimeOffset = realtimeOffset
        self.coversEveryStack = coversEveryStack
    }

    private struct SocketPair: Hashable {
        var local: SocketAddress
        var remote: SocketAddress
    }

    private static func index(_ events: [KernelEvent]) -> [SocketPair: [KernelEvent]] {
        var index: [SocketPair: [KernelEvent]] = [:]
        for event in events { index[SocketPair(local: event.local, remote: event.remote), default: []].append(event) }
        for key in index.keys { index[key]!.sort { $0.traceTime < $1.traceTime } }
        return index
    }

    /// The events of the sockets of `connection`'s two sides within `window` of capture time, in
    /// the kernel's time order; the events may come in any order. A connecting socket reports
    /// SYN_SENT before it has its port, under the same key as every other socket connecting from
    /// its address to the same peer: of those, the side's is the last one before its first packet.
    private func events(of connection: Connection, within window: ClosedRange<Int64>) -> [KernelEvent] {
        let (client, server) = (connection.client, connection.server)
        var mine: [KernelEvent] = []
        // A socket's events start after the connection's first packet (its SYN, its SYN-ACK), and
        // end where the next socket with the same 4-tuple starts (the reset that follows a CLOSE
        // is still this one's): a busy host uses a 4-tuple again within a second.
        let start = connection.firstSeen.nanoseconds - Self.clockError
        for socket in [SocketPair(local: client, remote: server), SocketPair(local: server, remote: client)] {
            guard let events = bySocket[socket] else { continue }
            var begun = false
            for event in events[firstIndex(in: events, notBefore: start)...] {
                if time(event).nanoseconds > window.upperBound { break }
                if case .stateChange(let old, _) = event.kind, ["TCP_LISTEN", "TCP_SYN_SENT", "TCP_CLOSE"].contains(old) {
                    if begun { break }
                    begun = true
                }
                mine.append(event)
            }
        }
        for (local, remote) in [(client, server), (server, client)] {
            let unbound = SocketPair(local: SocketAddress(address: local.address, port: 0), remote: remote)
            guard let events = bySocket[unbound] else { continue }
            let next = firstIndex(in: events, notBefore: connection.firstSeen.nanoseconds + 1)
            if next > 0, window.contains(time(events[next - 1]).nanoseconds) { mine.append(events[next - 1]) }
        }
        return mine.sorted { $0.traceTime < $1.traceTime }
    }

    /// The index of the first of `events` (in time order) at or after `nanoseconds` of capture
    /// time, by bisection.
    private func firstIndex(in events: [KernelEvent], notBefore nanoseconds: Int64) -> Int {
        var (low, high) = (0, events.count)
        while low < high {
            let middle = (low + high) / 2
            if time(events[middle]).nanoseconds < nanoseconds { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// How far outside a connection's first and last packet an event may be and still be its.
    static let slack: Int64 = 1_000_000_000
    /// How far the trace clock, converted, may be from the capture's timestamps.
    static let clockError: Int64 = 1_000_000

    /// The event's time as capture time.
    func time(_ event: KernelEvent) -> Timestamp {
        Timestamp(nanoseconds: Int64((event.traceTime * 1e9).rounded()) + realtimeOffset)
    }

    /// Gives every connection of `analysis` the kernel's cause and states where the events have them.
    public func apply(to analysis: inout CaptureAnalysis) {
        for index in analysis.connections.indices { apply(to: &analysis.connections[index]) }
    }

    /// Gives `connection` the kernel's cause and states where the events have them.
    public func apply(to connection: inout Connection) {
        let window = (connection.firstSeen.nanoseconds - Self.slack)...(connection.lastSeen.nanoseconds + Self.slack)
        let mine = events(of: connection, within: window)
        if let resetter = connection.resetBy, connection.verdict == .abortive || connection.verdict == .refused {
            let (local, remote) = resetter == .client ? (connection.client, connection.server) : (connection.server, connection.client)
            let sent = mine.first { event in
                if case .sendReset = event.kind { return event.local == local && event.remote == remote }
                return false
            }
            if let sent, case .sendReset(let reason, let state, let active) = sent.kind {
                connection.cause = Self.cause(reason: reason, state: state, active: active, command: sent.command, resetter: resetter)
            } else if coversEveryStack {
                connection.cause = Cause(
                    code: .foreignReset, source: .kernel, certainty: .likely,
                    text: "No TCP stack of this host sent the \(resetter)'s reset (the kernel reported none): a firewall, a proxy or another host did.")
            }
        }
        let client = Self.states(of: connection.client, peer: connection.server, in: mine, time: time)
        let server = Self.states(of: connection.server, peer: connection.client, in: mine, time: time)
        if !client.isEmpty || !server.isEmpty {
            connection.states = ConnectionStates(
                client: StateSequence(client), server: StateSequence(server), source: .kernel,
                notSeen: connection.states.notSeen.filter { $0.hasPrefix("the start") })
        }
    }

    /// The states the kernel reported for the socket `local` ↔ `remote`. A socket that leaves
    /// FIN_WAIT_2 or CLOSING for CLOSE without a reset was handed to a TIME_WAIT stub (the kernel
    /// reports no TIME_WAIT state for it): that is TIME_WAIT.
    static func states(
        of local: SocketAddress, peer remote: SocketAddress, in events: [KernelEvent], time: (KernelEvent) -> Timestamp
    ) -> [StateChange] {
        let resets = events.contains { event in
            switch event.kind {
            case .sendReset, .receiveReset: return event.local == local && event.remote == remote
            default: return false
            }
        }
        var changes: [StateChange] = []
        for event in events {
            guard case .stateChange(let old, let new) = event.kind, event.remote == remote,
                event.local == local || (event.local.address == local.address && event.local.port == 0)
            else { continue }
            guard var state = tcpState(new) else { continue }
            if state == .closed && (old == "TCP_FIN_WAIT2" || old == "TCP_CLOSING") && !resets { state = .timeWait }
            if changes.last?.state != state { changes.append(StateChange(state, at: time(event))) }
        }
        return changes
    }

    static func tcpState(_ name: String) -> TCPState? {
        switch name {
        case "TCP_SYN_SENT": return .synSent
        case "TCP_SYN_RECV": return .synReceived
        case "TCP_ESTABLISHED": return .established
        case "TCP_FIN_WAIT1": return .finWait1
        case "TCP_FIN_WAIT2": return .finWait2
        case "TCP_CLOSING": return .closing
        case "TCP_TIME_WAIT": return .timeWait
        case "TCP_CLOSE_WAIT": return .closeWait
        case "TCP_LAST_ACK": return .lastAck
        case "TCP_CLOSE": return .closed
        default: return nil
        }
    }

    /// The contract's cause for the kernel's `reason`, the socket's `state` when it sent the reset,
    /// whether it was sent on its own (`active`) and by which process.
    public static func cause(reason: String, state: String, active: Bool, command: String, resetter: Side) -> Cause {
        let name = resetter.rawValue
        func kernel(_ code: Cause.Code, _ certainty: Cause.Certainty, _ text: String) -> Cause {
            let sentence = text.hasSuffix(".") ? String(text.dropLast()) : text
            return Cause(
                code: code, source: .kernel, certainty: certainty, kernelReason: reason,
                text: sentence + " (the kernel: \(reason), in state \(state)).")
        }
        switch reason {
        case "NO_SOCKET":
            return kernel(.noListener, .certain, "Nothing listened: the \(name)'s kernel answered the SYN with a reset.")
        case "TCP_ABORT_ON_CLOSE", "TCP_DISCONNECT_WITH_DATA":
            return kernel(.closeWithUnreadData, .certain, "The \(name) closed its socket with received data never read (RFC 2525 2.17), so its kernel reset the connection instead of sending a FIN.")
        case "TCP_ABORT_ON_DATA":
            return kernel(.dataAfterClose, .certain, "Data reached the \(name)'s socket after it was closed (close() while the peer was still sending), and its kernel answered with a reset.")
        case "TCP_TIMEWAIT_SOCKET":
            return kernel(.timeWaitReply, .certain, "A segment reached the \(name)'s socket in TIME_WAIT, and its kernel answered with a reset.")
        case "TCP_ABORT_ON_LINGER":
            return kernel(.finWait2Timeout, .certain, "The \(name)'s socket gave up waiting in FIN_WAIT_2 (TCP_LINGER2 or the FIN_WAIT_2 timer).")
        case "TCP_ABORT_ON_MEMORY":
            return kernel(.memoryPressure, .certain, "The \(name)'s kernel reset the connection under memory pressure (too many orphaned sockets).")
        case "TCP_KEEPALIVE_TIMEOUT":
            return kernel(.keepaliveTimeout, .certain, "The \(name)'s keepalive probes went unanswered.")
        case "TCP_STATE" where state == "TCP_CLOSE" && active:
            return kernel(.lingerZero, .likely, "The \(name) closed with SO_LINGER {1, 0}: an abortive close, a reset instead of a FIN.")
        case "TCP_STATE" where state != "TCP_CLOSE":
            return kernel(.socketDestroyed, .likely, "The \(name)'s socket was destroyed from outside (by \(command), e.g. ss -K) while it was \(state).")
        default:
            return kernel(.unknown, .certain, "The \(name)'s kernel reset the connection for a reason the contract has no code for.")
        }
    }
}
