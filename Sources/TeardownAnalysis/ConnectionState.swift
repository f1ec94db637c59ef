import TeardownWire

/// The tracker's state for one use of a 4-tuple: both endpoints, who is the client, how it ended.
///
/// Endpoints are stored as `a` and `b` in ``FlowKey`` order; the client is decided from the
/// handshake (contract 1.2). This file holds the storage only: every rule that updates or reads it
/// is in `TeardownRules.swift`, in contract order.
struct ConnectionState: Sendable {
    let key: FlowKey
    /// 1-based in order of first packet; 0 marks a free entry of the table.
    var id: Int
    var a = EndpointState()
    var b = EndpointState()

    /// How the client was identified: by its SYN, by the SYN-ACK it received, as the client of the
    /// connection this one resumes (contract 1.1, `resumed`), or as the sender of the first
    /// captured packet (then the connection is partial).
    enum ClientEvidence: Int, Sendable { case firstPacket = 0, synACK = 1, syn = 2, resumed = 3 }

    /// The facts that belong to the connection rather than to one endpoint.
    struct Facts: Sendable {
        var clientIsA = true
        var clientEvidence = ClientEvidence.firstPacket
        /// Which endpoint's FIN came first (`nil`: none yet), and whether the second FIN crossed it.
        var firstFINFromA: Bool?
        var simultaneousClose = false
        /// The reset that ended the connection: from `a`?
        var resetFromA: Bool?
        /// Whether the ending reset carried an ACK.
        var endingResetAcknowledged = false
        /// When the reset that ended the connection (or the pending one) was sent.
        var resetTime = EndpointState.unseen
        /// An out-of-window reset not yet known to be ignored (true: from `a`).
        var pendingResetFromA: Bool?
        var pendingResetAcknowledged = false
        var notes = NoteSet()
        /// Whether the table has queued the connection as ended (for the linger).
        var queuedAsEnded = false
        /// New payload bytes each endpoint sent while acknowledging positions of its peer's that
        /// the capture had not shown (saturating): sent after packets the capture missed, perhaps
        /// after a FIN it missed (contract 1.6).
        var payloadAfterUnseenFromA: UInt32 = 0
        var payloadAfterUnseenFromB: UInt32 = 0
    }

    var facts = Facts()
    var firstSeen: Timestamp
    var lastSeen: Timestamp

    init(key: FlowKey, id: Int, timestamp: Timestamp) {
        self.key = key
        self.id = id
        firstSeen = timestamp
        lastSeen = timestamp
    }

    /// Drops the heap storage a free table entry no longer needs.
    mutating func releaseStorage() {
        a.covered = CoveredRanges()
        b.covered = CoveredRanges()
    }
}

/// A small set of ``Note`` values in one word.
struct NoteSet: Sendable, Hashable {
    /// 16 bits keep the connection state within 6 cache lines.
    private var bits: UInt16 = 0

    mutating func insert(_ note: Note) { bits |= note.bit }

    func contains(_ note: Note) -> Bool { bits & note.bit != 0 }

    /// The notes in declaration order (stable output).
    var sorted: [Note] { bits == 0 ? [] : Note.allCases.filter(contains) }
}

extension Note {
    /// This note's bit in a ``NoteSet``.
    var bit: UInt16 {
        switch self {
        case .trailingRST: return 1 << 0
        case .ignoredRST: return 1 << 1
        case .finRetransmitted: return 1 << 2
        case .duplicatePackets: return 1 << 3
        case .dataRetransmitted: return 1 << 4
        case .portReused: return 1 << 5
        case .unreadDataSuspected: return 1 << 6
        case .packetsMissing: return 1 << 7
        case .oneSided: return 1 << 8
        case .keepalive: return 1 << 9
        case .evicted: return 1 << 10
        case .resumed: return 1 << 11
        }
    }
}
