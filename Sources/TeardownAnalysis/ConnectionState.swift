import TeardownWire

/// The tracker's state for one use of a 4-tuple: both endpoints, who is the client, how it ended.
///
/// Endpoints are stored as `a` and `b` in ``FlowKey`` order; the client is decided from the
/// handshake (contract 1.2). All updates happen in ``ingest(_:fromA:packetNumber:)``, a pure
/// function of the state and the segment: time comes from the packet, never from a clock.
struct ConnectionState: Sendable {
    let key: FlowKey
    /// 1-based in order of first packet; 0 marks a free entry of the table.
    var id: Int
    var a = EndpointState()
    var b = EndpointState()

    /// How the client was identified: by its SYN, by the SYN-ACK it received, or as the sender of
    /// the first captured packet (then the connection is partial).
    enum ClientEvidence: Int, Sendable { case firstPacket = 0, synACK = 1, syn = 2 }

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
        /// An out-of-window reset not yet known to be ignored (true: from `a`).
        var pendingResetFromA: Bool?
        var pendingResetAcknowledged = false
        var notes = NoteSet()
        /// Whether the table has queued the connection as ended (for the linger).
        var queuedAsEnded = false
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

    /// True once the connection ended: a FIN pair, or a reset that ended it (contract 1.1).
    var hasEnded: Bool {
        facts.resetFromA != nil || facts.pendingResetFromA != nil || (a.sentFIN && b.sentFIN)
    }

    /// Whether `segment`, a SYN without ACK, starts a new connection on this tuple (port reuse).
    func isReuse(bySYN segment: TCPSegment, fromA: Bool) -> Bool {
        guard hasEnded else { return false }
        let sender = fromA ? a : b
        return !(sender.sentSYN && sender.synSequence == segment.sequenceNumber)
    }

    // MARK: Ingest

    /// Updates the state with one segment travelling from `a` (`fromA`) or from `b`.
    mutating func ingest(_ segment: TCPSegment, fromA: Bool, packetNumber: Int) {
        if segment.timestamp < firstSeen { firstSeen = segment.timestamp }
        if segment.timestamp > lastSeen { lastSeen = segment.timestamp }
        // Sender and receiver chosen by pointer, so one copy of the update runs for both
        // directions (a branch on the direction goes each way at random, and mispredicts often).
        withUnsafeMutablePointer(to: &self) { state in
            let a = state.pointer(to: \.a)!, b = state.pointer(to: \.b)!
            Self.update(
                sender: &(fromA ? a : b).pointee, receiver: &(fromA ? b : a).pointee, state: &state.pointee.facts,
                segment, fromA: fromA, packetNumber)
        }
    }

    @inline(__always)
    static func update(
        sender s: inout EndpointState, receiver r: inout EndpointState, state: inout Facts,
        _ segment: TCPSegment, fromA: Bool, _ packetNumber: Int
    ) {
        let flags = segment.flags
        if s.packets != .max { s.packets += 1 }

        // Client identification (contract 1.2): the SYN's sender beats the SYN-ACK's receiver,
        // which beats the sender of the first packet (the default set when the state was created).
        if flags.contains(.syn) && !flags.contains(.rst) {
            if !flags.contains(.ack) {
                if state.clientEvidence != .syn {
                    state.clientIsA = fromA
                    state.clientEvidence = .syn
                }
            } else if state.clientEvidence == .firstPacket {
                state.clientIsA = !fromA
                state.clientEvidence = .synACK
            }
        } else if s.packets == 1 && r.packets == 0 {
            state.clientIsA = fromA
        }

        // Duplicate ACKs share sequence, acknowledgement and window; the IPv4 identification and the
        // TCP timestamp tell them apart from a packet captured twice.
        var fingerprint =
            UInt64(segment.sequenceNumber) << 32 ^ UInt64(segment.acknowledgmentNumber)
            ^ UInt64(segment.payloadLength) << 17 ^ UInt64(flags.rawValue) << 48 ^ UInt64(segment.window) << 7
        fingerprint ^= UInt64(segment.ipIdentification) << 40
        if let timestamp = segment.options.timestamp {
            fingerprint ^= UInt64(timestamp.value) << 24 ^ UInt64(timestamp.echo) &* 0x9e37_79b9
        }
        // A multiplicative mix before keeping 32 bits: folding with XOR would let fields cancel.
        let folded = UInt32(truncatingIfNeeded: (fingerprint &* 0x9e37_79b9_7f4a_7c15) >> 32)
        if s.packets > 1 && folded == s.lastFingerprint { state.notes.insert(.duplicatePackets) }
        s.lastFingerprint = folded

        // A packet after an out-of-window reset shows the reset was ignored (contract 2.3).
        if state.pendingResetFromA != nil && !flags.contains(.rst) {
            state.pendingResetFromA = nil
            state.notes.insert(.ignoredRST)
        }

        if flags.contains(.rst) {
            handleReset(sender: &s, receiver: &r, state: &state, segment, fromA: fromA)
            return
        }

        // Sequence space: SYN occupies one position before the first payload byte.
        var dataSequence = segment.sequenceNumber
        if flags.contains(.syn) {
            if !s.hasBase || (!s.sentSYN && !s.sentSYNACK && s.bytes == 0) {
                s.hasBase = false
                s.establishBase(segment.sequenceNumber)
            }
            if flags.contains(.ack) { s.sentSYNACK = true } else {
                s.sentSYN = true
                s.synSequence = segment.sequenceNumber
            }
            // RFC 7323 §2.3: a shift above 14 is used as 14.
            if let scale = segment.options.windowScale { s.offeredWindowScale = min(scale, 14) }
            dataSequence = segment.sequenceNumber &+ 1
        } else {
            // Mid-stream: the first byte seen is position 1, as if a SYN had been at 0.
            s.establishBase(segment.sequenceNumber, atPosition: 1)
        }
        let start = s.position(of: dataSequence)
        let length = Int64(segment.payloadLength)
        if length > 0 {
            let added = s.covered.insert(start, start + length)
            s.bytes += added
            if added > 0 {
                s.lastNewPayloadPacket = packetNumber
                if r.sentFIN { s.bytesAfterPeerFIN += added }
            }
            if added < length { s.retransmittedPayload = true }
        }
        let end = start + length + (flags.contains(.fin) ? 1 : 0)
        s.highestEnd = max(s.highestEnd, end)
        s.advanceReference(to: start + length)

        // Acknowledgement and window.
        if flags.contains(.ack) {
            acknowledge(sender: &s, receiver: &r, segment.acknowledgmentNumber)
        }
        let bothOffered = s.offeredWindowScale != EndpointState.noWindowScale && r.offeredWindowScale != EndpointState.noWindowScale
        let scale = flags.contains(.syn) || !bothOffered ? 0 : Int64(s.offeredWindowScale)
        s.window = UInt32(segment.window) << UInt32(scale)

        // FIN: counted once per side (contract §2).
        if flags.contains(.fin) {
            let finPosition = start + length
            if !s.sentFIN {
                s.sentFIN = true
                s.finPosition = finPosition
                s.finTime = segment.timestamp
                if state.firstFINFromA == nil {
                    state.firstFINFromA = fromA
                } else if state.firstFINFromA != fromA {
                    // Contract 2.2: a simultaneous close when this FIN does not acknowledge the peer's.
                    let coversPeerFIN =
                        flags.contains(.ack) && r.position(of: segment.acknowledgmentNumber) > r.finPosition
                    if !coversPeerFIN { state.simultaneousClose = true }
                }
            } else if finPosition == s.finPosition {
                state.notes.insert(.finRetransmitted)
            }
        }
    }

    /// Records an acknowledgement sent by `s` of `r`'s data.
    @inline(__always)
    static func acknowledge(sender s: inout EndpointState, receiver r: inout EndpointState, _ number: UInt32) {
        // The first ACK seen may be the first hint of the receiver's sequence space.
        r.establishBase(number, atPosition: 1)
        let acknowledged = r.position(of: number)
        if !s.hasAcknowledged || acknowledged > s.highestAcknowledgment {
            s.highestAcknowledgment = acknowledged
            s.hasAcknowledged = true
        }
    }

    static func handleReset(
        sender s: inout EndpointState, receiver r: inout EndpointState, state: inout Facts,
        _ segment: TCPSegment, fromA: Bool
    ) {
        let repeated = s.sentRST && s.rstSequence == segment.sequenceNumber
        s.sentRST = true
        s.rstSequence = segment.sequenceNumber
        if !s.hasBase { s.establishBase(segment.sequenceNumber, atPosition: 1) }
        defer {
            // The ACK field of a RST counts as an acknowledgement (contract 3.1).
            if segment.flags.contains(.ack) { acknowledge(sender: &s, receiver: &r, segment.acknowledgmentNumber) }
        }
        if repeated || state.resetFromA != nil || state.pendingResetFromA != nil { return }

        // Contract 2.3: a reset after a finished teardown changes nothing.
        if s.sentFIN && r.sentFIN && allPayloadAcknowledged(of: s, by: r) && allPayloadAcknowledged(of: r, by: s) {
            state.notes.insert(.trailingRST)
            return
        }
        // Contract 2.3: a reset far outside the receiver's window may have been ignored; that is
        // decided by whether traffic goes on.
        if r.hasAcknowledged {
            let offset = s.position(of: segment.sequenceNumber) - r.highestAcknowledgment
            let window = Int64(max(r.window, 65535))
            if offset > window || offset < -window {
                state.pendingResetFromA = fromA
                state.pendingResetAcknowledged = segment.flags.contains(.ack)
                return
            }
        }
        state.resetFromA = fromA
        state.endingResetAcknowledged = segment.flags.contains(.ack)
    }

    /// True when every payload byte `sender` sent was acknowledged by `receiver`.
    static func allPayloadAcknowledged(of sender: EndpointState, by receiver: EndpointState) -> Bool {
        guard let end = sender.payloadEnd else { return true }
        return receiver.hasAcknowledged && receiver.highestAcknowledgment >= end
    }
}

/// A small set of ``Note`` values in one word.
struct NoteSet: Sendable, Hashable {
    /// 16 bits (for 9 notes) keep the connection state within 5 cache lines.
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
        }
    }
}
