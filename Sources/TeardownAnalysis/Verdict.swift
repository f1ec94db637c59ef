/// How a TCP connection ended (contract §2). Decided in the order of the cases below: the first
/// that applies wins.
public enum Verdict: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The client's SYN was answered by a reset; no SYN-ACK was seen.
    case refused
    /// SYN(s) with no answer, or the client reset its own unanswered SYN.
    case attempt
    /// A reset ended the connection (contract 2.3).
    case abortive
    /// One side sent a FIN and the other then sent new payload, or never closed.
    case halfClosed = "half-closed"
    /// Both sides sent a FIN, no reset ended the connection and no payload followed the first FIN.
    case graceful
    /// Packets, but neither FIN nor RST.
    case open

    public var description: String { rawValue }

    /// Position in `allCases`, for counting into an array.
    var ordinal: Int {
        switch self {
        case .refused: return 0
        case .attempt: return 1
        case .abortive: return 2
        case .halfClosed: return 3
        case .graceful: return 4
        case .open: return 5
        }
    }
}

/// One end of a connection. The client sent the SYN (contract 1.2).
public enum Side: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case client, server

    /// The other side.
    public var peer: Side { self == .client ? .server : .client }
    public var description: String { rawValue }
}

/// Whose FIN came first (contract 2.2).
public enum FirstCloser: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case client, server
    /// A simultaneous close: neither FIN's ACK field covers the peer's FIN.
    case both

    public var description: String { rawValue }
}

/// Facts about a connection worth a reader's attention, with stable snake_case names (contract 4.1).
public enum Note: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A reset came after a clean FIN pair with everything acknowledged; it changed nothing.
    case trailingRST = "trailing_rst"
    /// A reset far outside the receiver's window, after which traffic went on.
    case ignoredRST = "ignored_rst"
    /// A FIN was sent again.
    case finRetransmitted = "fin_retransmitted"
    /// A packet appeared twice in a row, identical.
    case duplicatePackets = "duplicate_packets"
    /// Payload was sent again (its sequence range had been seen).
    case dataRetransmitted = "data_retransmitted"
    /// A new SYN reused the 4-tuple of a connection that had ended.
    case portReused = "port_reused"
    /// The resetting side acknowledged all of its peer's data but never read it (contract 3.2).
    case unreadDataSuspected = "unread_data_suspected"
    /// Acknowledgements or gaps show payload that the capture does not hold.
    case packetsMissing = "packets_missing"
    /// The capture holds packets of one direction only.
    case oneSided = "one_sided"
    /// Keepalive probes were sent (contract 1.1): never counted as payload or retransmissions.
    case keepalive = "keepalive"
    /// The connection table was full: the connection, idle, was reported before its end
    /// (contract 1.1).
    case evicted = "evicted"
    /// The continuation of a connection reported earlier as `evicted`: same client and server.
    case resumed = "resumed"

    public var description: String { rawValue }
}

/// A value for each side of a connection.
public struct PerSide<Value: Sendable & Hashable>: Sendable, Hashable {
    public var client: Value
    public var server: Value

    public init(client: Value, server: Value) {
        self.client = client
        self.server = server
    }

    public subscript(side: Side) -> Value {
        get { side == .client ? client : server }
        set { if side == .client { client = newValue } else { server = newValue } }
    }
}
