import TeardownWire

/// A TCP connection state of RFC 9293 §3.3.2, as one side goes through its teardown (contract 2.6).
public enum TCPState: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case synSent = "SYN_SENT"
    case synReceived = "SYN_RECEIVED"
    case established = "ESTABLISHED"
    case finWait1 = "FIN_WAIT_1"
    case finWait2 = "FIN_WAIT_2"
    case closing = "CLOSING"
    case timeWait = "TIME_WAIT"
    case closeWait = "CLOSE_WAIT"
    case lastAck = "LAST_ACK"
    case closed = "CLOSED"

    public var description: String { rawValue }


    /// A small number for the state (its position in `allCases`), and back.
    var code: UInt64 {
        switch self {
        case .synSent: return 0
        case .synReceived: return 1
        case .established: return 2
        case .finWait1: return 3
        case .finWait2: return 4
        case .closing: return 5
        case .timeWait: return 6
        case .closeWait: return 7
        case .lastAck: return 8
        case .closed: return 9
        }
    }

    @inlinable
    init(code: UInt64) {
        switch code {
        case 0: self = .synSent
        case 1: self = .synReceived
        case 2: self = .established
        case 3: self = .finWait1
        case 4: self = .finWait2
        case 5: self = .closing
        case 6: self = .timeWait
        case 7: self = .closeWait
        case 8: self = .lastAck
        default: self = .closed
        }
    }
}

/// A side entering a state at a capture time.
public struct StateChange: Sendable, Hashable {
    public var state: TCPState
    public var at: Timestamp

    public init(_ state: TCPState, at: Timestamp) {
        self.state = state
        self.at = at
    }
}

/// One side's states in order: up to ``capacity`` changes held inline, so that a connection's
/// states cost no allocation (every connection has them, and reports build hundreds of thousands).
public struct StateSequence: RandomAccessCollection, Sendable, Hashable {
    /// The most changes held; later ones are dropped (the wire's inference makes at most 6).
    public static let capacity = 10
    /// 4 bits per change: the state's index in ``TCPState/allCases``.
    @usableFromInline var codes: UInt64 = 0
    @usableFromInline var times: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    public internal(set) var count = 0

    public init() {}

    public init(_ changes: [StateChange]) {
        for change in changes { append(change) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { count }

    public subscript(position: Int) -> StateChange {
        precondition(position >= 0 && position < count, "index out of range")
        let code = (codes >> UInt64(4 * position)) & 0xf
        return StateChange(TCPState(code: code), at: Timestamp(nanoseconds: time(at: position)))
    }

    /// The time of change `position`, read from its field (no copy of the others).
    private func time(at position: Int) -> Int64 {
        switch position {
        case 0: return times.0
        case 1: return times.1
        case 2: return times.2
        case 3: return times.3
        case 4: return times.4
        case 5: return times.5
        case 6: return times.6
        case 7: return times.7
        case 8: return times.8
        default: return times.9
        }
    }

    /// Calls `body` with each change's state and time in nanoseconds, in order, without building a
    /// ``StateChange`` for each (reports write millions of them).
    @inlinable
    public func forEachChange(_ body: (TCPState, Int64) -> Void) {
        withUnsafeBytes(of: times) { times in
            for position in 0..<count {
                let code = (codes >> UInt64(4 * position)) & 0xf
                body(TCPState(code: code), times.load(fromByteOffset: 8 * position, as: Int64.self))
            }
        }
    }

    /// Adds `change` at the end (nothing when full).
    public mutating func append(_ change: StateChange) {
        guard count < Self.capacity else { return }
        codes |= change.state.code << UInt64(4 * count)
        let time = change.at.nanoseconds
        switch count {
        case 0: times.0 = time
        case 1: times.1 = time
        case 2: times.2 = time
        case 3: times.3 = time
        case 4: times.4 = time
        case 5: times.5 = time
        case 6: times.6 = time
        case 7: times.7 = time
        case 8: times.8 = time
        default: times.9 = time
        }
        count += 1
    }

    public static func == (l: Self, r: Self) -> Bool { l.count == r.count && l.elementsEqual(r) }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(count)
        for change in self { hasher.combine(change) }
    }
}

/// Each side's states through the connection (contract 2.6), in order.
public struct ConnectionStates: Sendable, Hashable {
    /// Where the states come from: inferred from the segments, or reported by the kernel of the
    /// capturing host during a live capture.
    public enum Source: String, Sendable, Hashable { case wire, kernel }

    public var client: StateSequence
    public var server: StateSequence
    public var source: Source
    /// What the capture could not show, in words ("the server's ACK of the client's FIN was not
    /// captured"): the states stop at what the segments prove.
    public var notSeen: [String]

    public init(client: StateSequence, server: StateSequence, source: Source, notSeen: [String] = []) {
        self.client = client
        self.server = server
        self.source = source
        self.notSeen = notSeen
    }

    /// One side's states.
    public subscript(side: Side) -> StateSequence { side == .client ? client : server }

    /// The state `side` was in when the capture ended (nil: none known, e.g. the server of a
    /// refused connection).
    public func final(_ side: Side) -> TCPState? { self[side].last?.state }
}
