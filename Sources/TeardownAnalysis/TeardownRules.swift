import TeardownWire

// The contract (`docs/CONTRACT.md`) as code, in its order: what a connection is (§1), how each
// segment updates what its two endpoints showed (§§1.2, 1.3, 2.2, 2.3, 3.1), and how the verdict
// and the lost bytes are read from that (§§2, 3). Everything here works on values (`inout` and
// `borrowing`), with time taken from the packets, never from a clock: the same segments always
// give the same result. How the states are stored and found is the table's business
// (`ConnectionTable.swift`).

// MARK: - §1.1 Connections: when one ends, when a SYN starts the next

extension ConnectionState {
    /// True once the connection ended: a FIN pair, or a reset that ended it (contract 1.1).
    var hasEnded: Bool {
        facts.resetFromA != nil || facts.pendingResetFromA != nil || (a.sentFIN && b.sentFIN)
    }

    /// Whether `segment`, a SYN without ACK, starts a new connection on this tuple (port reuse,
    /// contract 1.1): the connection ended, and this is not a retransmission of its own SYN.
    func isReuse(bySYN segment: TCPSegment, fromA: Bool) -> Bool {
        guard hasEnded else { return false }
        return fromA ? !Self.isOwnSYN(segment, of: a) : !Self.isOwnSYN(segment, of: b)
    }

    private static func isOwnSYN(_ segment: TCPSegment, of sender: borrowing EndpointState) -> Bool {
        sender.sentSYN && sender.synSequence == segment.sequenceNumber
    }

    /// Whether `segment` continues this connection's sequence spaces (contract 1.1), however long
    /// the silence before it: time alone never ends a connection, only numbers that cannot
    /// belong to it do.
    func isContinued(by segment: TCPSegment, fromA: Bool) -> Bool {
        SequenceSpace.continues(a: SequenceSpace(a, peer: b), b: SequenceSpace(b, peer: a), segment, fromA: fromA)
    }
}

/// Where one side's sequence numbers stand: enough to tell whether a segment that comes after a
/// long silence, or after its connection was reported, continues them (contract 1.1).
struct SequenceSpace: Sendable {
    /// The sequence number after the side's highest SYN, payload or FIN.
    var next: UInt32 = 0
    /// How far below `next` its numbers reach (its whole use so far): retransmissions and
    /// keepalive probes lie there.
    var reach: UInt32 = 0
    /// How far beyond `next` its peer accepts numbers (the peer's window, at least 64 KiB).
    var window: UInt32 = 65535
    /// Whether the side was seen at all (an unseen side admits any number).
    var isKnown = false

    init(_ side: borrowing EndpointState, peer: borrowing EndpointState) {
        guard side.hasBase else { return }
        isKnown = true
        next = side.base &+ UInt32(truncatingIfNeeded: side.highestEnd)
        reach = UInt32(clamping: max(side.highestEnd, 0))
        window = max(peer.window, 65535)
    }

    /// Whether `number` (a sequence number the side sends, or an acknowledgement of them its
    /// peer sends) lies in this space: at most `reach` (plus one, for a keepalive) below `next`,
    /// at most `window` beyond it.
    func admits(_ number: UInt32) -> Bool {
        guard isKnown else { return true }
        let delta = Int64(Int32(bitPattern: number &- next))
        return delta >= -Int64(reach) - 1 && delta <= Int64(window)
    }

    /// Whether `segment`, from endpoint `a` (`fromA`) or `b`, continues the spaces of both: its
    /// sequence number in its sender's space, and its acknowledgement (if any) in the receiver's.
    static func continues(a: SequenceSpace, b: SequenceSpace, _ segment: TCPSegment, fromA: Bool) -> Bool {
        let (sender, receiver) = fromA ? (a, b) : (b, a)
        return sender.admits(segment.sequenceNumber)
            && (!segment.flags.contains(.ack) || receiver.admits(segment.acknowledgmentNumber))
    }
}

// MARK: - One segment: §§1.2, 1.3, 2.2, 2.3, 3.1

extension ConnectionState {
    /// Updates the state with one segment travelling from `a` (`fromA`) or from `b`.
    /// - Parameter packetNumber: the segment's position in the capture, for ordering facts.
    @inline(__always)
    mutating func ingest(_ segment: TCPSegment, fromA: Bool, packetNumber: Int) {
        if segment.timestamp < firstSeen { firstSeen = segment.timestamp }
        if segment.timestamp > lastSeen { lastSeen = segment.timestamp }
        if fromA {
            Self.update(sender: &a, receiver: &b, facts: &facts, segment, fromA: true, packetNumber)
        } else {
            Self.update(sender: &b, receiver: &a, facts: &facts, segment, fromA: false, packetNumber)
        }
    }

    /// What one segment from `s` to `r` changes.
    static func update(
        sender s: inout EndpointState, receiver r: inout EndpointState, facts: inout Facts,
        _ segment: TCPSegment, fromA: Bool, _ packetNumber: Int
    ) {
        let flags = segment.flags
        if s.packets != .max { s.packets += 1 }

        // 1.2 The client: the SYN's sender beats the SYN-ACK's receiver, which beats the sender of
        // the first packet (the default set when the state was created).
        if flags.contains(.syn) && !flags.contains(.rst) {
            if !flags.contains(.ack) {
                if facts.clientEvidence != .syn {
                    facts.clientIsA = fromA
                    facts.clientEvidence = .syn
                }
            } else if facts.clientEvidence == .firstPacket {
                facts.clientIsA = !fromA
                facts.clientEvidence = .synACK
            }
        } else if s.packets == 1 && r.packets == 0 && facts.clientEvidence == .firstPacket {
            facts.clientIsA = fromA
        }

        noteDuplicate(segment, sender: &s, facts: &facts)

        // 2.3 A packet after an out-of-window reset shows the reset was ignored.
        if facts.pendingResetFromA != nil && !flags.contains(.rst) {
            facts.pendingResetFromA = nil
            facts.notes.insert(.ignoredRST)
        }

        if flags.contains(.rst) {
            reset(sender: &s, receiver: &r, facts: &facts, segment, fromA: fromA)
            return
        }
        // 1.1 A keepalive probe carries no payload of the connection, whatever its length.
        if isKeepaliveProbe(segment, sender: s, receiver: r) {
            facts.notes.insert(.keepalive)
            if flags.contains(.ack) {
                acknowledge(sender: &s, receiver: &r, segment.acknowledgmentNumber, at: segment.timestamp)
            }
            return
        }

        // 1.3 Sequence space: SYN occupies one position before the first payload byte; each payload
        // byte is counted once, however often it is sent.
        var dataSequence = segment.sequenceNumber
        if flags.contains(.syn) {
            if !s.sentSYN && !s.sentSYNACK { s.synTime = segment.timestamp.nanoseconds }
            if !s.hasBase || (!s.sentSYN && !s.sentSYNACK && s.bytes == 0) {
                s.hasBase = false
                s.establishBase(segment.sequenceNumber)
            }
            if flags.contains(.ack) {
                s.sentSYNACK = true
            } else {
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
                s.lastNewPayloadPacket = UInt32(clamping: packetNumber)
                // 1.6 Payload that acknowledges what the capture did not show of the peer.
                if flags.contains(.ack) && r.hasBase && r.position(of: segment.acknowledgmentNumber) > r.seenEnd {
                    let added32 = UInt32(clamping: added)
                    if fromA {
                        facts.payloadAfterUnseenFromA = facts.payloadAfterUnseenFromA.addingReportingOverflow(added32).overflow
                            ? .max : facts.payloadAfterUnseenFromA &+ added32
                    } else {
                        facts.payloadAfterUnseenFromB = facts.payloadAfterUnseenFromB.addingReportingOverflow(added32).overflow
                            ? .max : facts.payloadAfterUnseenFromB &+ added32
                    }
                }
                // 4.1 `bytesAfterFirstFin`: new payload after the peer's FIN.
                if r.sentFIN { s.bytesAfterPeerFIN += added }
            }
            if added < length { s.retransmittedPayload = true }
        }
        let end = start + length + (flags.contains(.fin) ? 1 : 0)
        s.highestEnd = max(s.highestEnd, end)
        s.advanceReference(to: start + length)

        // 3.1 Acknowledgement, and the window (for 2.3's "far outside the window").
        if flags.contains(.ack) {
            acknowledge(sender: &s, receiver: &r, segment.acknowledgmentNumber, at: segment.timestamp)
        }
        let bothOffered =
            s.offeredWindowScale != EndpointState.noWindowScale && r.offeredWindowScale != EndpointState.noWindowScale
        let scale = flags.contains(.syn) || !bothOffered ? 0 : Int64(s.offeredWindowScale)
        s.window = UInt32(segment.window) << UInt32(scale)

        // §2 FIN, counted once per side; 2.2 who closed first.
        if flags.contains(.fin) {
            let finPosition = start + length
            if !s.sentFIN {
                s.sentFIN = true
                s.finPosition = finPosition
                s.finTime = segment.timestamp
                s.finAcknowledgment = flags.contains(.ack) ? segment.acknowledgmentNumber : r.base
                if facts.firstFINFromA == nil {
                    facts.firstFINFromA = fromA
                } else if facts.firstFINFromA != fromA {
                    // 2.2 A simultaneous close when this FIN does not acknowledge the peer's.
                    let coversPeerFIN =
                        flags.contains(.ack) && r.position(of: segment.acknowledgmentNumber) > r.finPosition
                    if !coversPeerFIN { facts.simultaneousClose = true }
                }
            } else if finPosition == s.finPosition {
                facts.notes.insert(.finRetransmitted)
            }
        }
    }

    /// 1.1 A keepalive probe: an ACK one below the sender's next sequence number, with no payload
    /// or one byte of it, sent when everything the sender sent was acknowledged (an idle
    /// connection; a retransmission of a last unacknowledged byte is not one).
    @inline(__always)
    private static func isKeepaliveProbe(
        _ segment: TCPSegment, sender s: borrowing EndpointState, receiver r: borrowing EndpointState
    ) -> Bool {
        guard segment.payloadLength <= 1, segment.flags.isDisjoint(with: [.syn, .fin, .rst]), s.hasBase, !s.sentFIN,
            s.highestEnd >= 1, r.hasAcknowledged, r.highestAcknowledgment >= s.highestEnd
        else { return false }
        return s.position(of: segment.sequenceNumber) == s.highestEnd - 1
    }

    /// `duplicate_packets`: a segment identical to the sender's previous one, captured twice. Duplicate
    /// ACKs share sequence, acknowledgement and window; the IPv4 identification and the TCP
    /// timestamp tell them apart from a packet captured twice.
    @inline(__always)
    private static func noteDuplicate(_ segment: TCPSegment, sender s: inout EndpointState, facts: inout Facts) {
        var fingerprint =
            UInt64(segment.sequenceNumber) << 32 ^ UInt64(segment.acknowledgmentNumber)
            ^ UInt64(segment.payloadLength) << 17 ^ UInt64(segment.flags.rawValue) << 48
            ^ UInt64(segment.window) << 7
        fingerprint ^= UInt64(segment.ipIdentification) << 40
        if let timestamp = segment.options.timestamp {
            fingerprint ^= UInt64(timestamp.value) << 24 ^ UInt64(timestamp.echo) &* 0x9e37_79b9
        }
        // A multiplicative mix before keeping 32 bits: folding with XOR would let fields cancel.
        let folded = UInt32(truncatingIfNeeded: (fingerprint &* 0x9e37_79b9_7f4a_7c15) >> 32)
        if s.packets > 1 && folded == s.lastFingerprint { facts.notes.insert(.duplicatePackets) }
        s.lastFingerprint = folded
    }

    /// Records an acknowledgement sent by `s` of `r`'s data (3.1), and (2.6) the first one that
    /// covers `r`'s SYN and the first that covers `r`'s FIN.
    @inline(__always)
    static func acknowledge(
        sender s: inout EndpointState, receiver r: inout EndpointState, _ number: UInt32, at time: Timestamp
    ) {
        // The first ACK seen may be the first hint of the receiver's sequence space.
        r.establishBase(number, atPosition: 1)
        let acknowledged = r.position(of: number)
        if !s.hasAcknowledged || acknowledged > s.highestAcknowledgment {
            if s.acknowledgedPeerSYNTime == EndpointState.unseen && (r.sentSYN || r.sentSYNACK) && acknowledged >= 1 {
                s.acknowledgedPeerSYNTime = time.nanoseconds
            }
            if r.sentFIN && r.finAcknowledgedTime == EndpointState.unseen && acknowledged > r.finPosition {
                r.finAcknowledgedTime = time.nanoseconds
            }
            s.highestAcknowledgment = acknowledged
            s.hasAcknowledged = true
        }
    }

    /// 2.3 Whether a reset ends the connection, changes nothing (after a finished teardown), or
    /// waits to be known as ignored (far outside the window).
    static func reset(
        sender s: inout EndpointState, receiver r: inout EndpointState, facts: inout Facts,
        _ segment: TCPSegment, fromA: Bool
    ) {
        let repeated = s.sentRST && s.rstSequence == segment.sequenceNumber
        s.sentRST = true
        s.rstSequence = segment.sequenceNumber
        // A side first seen by its reset (a refusal, mostly): the reset is at its own number, 0.
        if !s.hasBase { s.establishBase(segment.sequenceNumber) }
        defer {
            // 3.1 The ACK field of a RST counts as an acknowledgement.
            if segment.flags.contains(.ack) {
                acknowledge(sender: &s, receiver: &r, segment.acknowledgmentNumber, at: segment.timestamp)
            }
        }
        // §2 A reset is counted once per side, and only the first one ends the connection.
        if repeated || facts.resetFromA != nil || facts.pendingResetFromA != nil { return }

        // A reset after a finished teardown changes nothing (`trailing_rst`).
        if s.sentFIN && r.sentFIN && allPayloadAcknowledged(of: s, by: r) && allPayloadAcknowledged(of: r, by: s) {
            facts.notes.insert(.trailingRST)
            return
        }
        // A reset far outside the receiver's window may have been ignored; whether traffic goes on
        // decides (`ignored_rst`).
        if r.hasAcknowledged {
            let offset = s.position(of: segment.sequenceNumber) - r.highestAcknowledgment
            let window = Int64(max(r.window, 65535))
            if offset > window || offset < -window {
                facts.pendingResetFromA = fromA
                facts.pendingResetAcknowledged = segment.flags.contains(.ack)
                facts.resetTime = segment.timestamp.nanoseconds
                return
            }
        }
        facts.resetFromA = fromA
        facts.endingResetAcknowledged = segment.flags.contains(.ack)
        facts.resetTime = segment.timestamp.nanoseconds
    }

    /// True when every payload byte `sender` sent was acknowledged by `receiver`.
    static func allPayloadAcknowledged(of sender: borrowing EndpointState, by receiver: borrowing EndpointState) -> Bool {
        guard let end = sender.payloadEnd else { return true }
        return receiver.hasAcknowledged && receiver.highestAcknowledgment >= end
    }
}

// MARK: - §§2–3 The verdict and the lost bytes

/// Turns a connection's tracked state into its ``Connection`` result (contract §§2–3).
///
/// A pure function: the verdict depends only on what the two endpoints showed, in the order the
/// contract fixes (refused, attempt, abortive, half-closed, graceful, open).
enum TeardownClassifier {
    /// What a verdict count needs, and the rest of the result starts from.
    struct Outcome {
        var verdict: Verdict
        var completed: Bool
        var firstCloser: FirstCloser?
        /// Who sent the reset that ended the connection (also when the verdict is not a reset's).
        var resetBy: Side?
        var resetAcknowledged: Bool
        var bytesAfterFirstFin: Int64
        var lostBytes: PerSide<Int64>
        /// 1.6 What the acknowledgements prove of packets the capture did not show.
        var gaps: PerSide<CaptureGap>
    }

    /// The verdict and the bytes lost of `state` (contract §§2–3), without the rest of a
    /// ``Connection``.
    static func outcome(_ state: borrowing ConnectionState) -> Outcome {
        state.facts.clientIsA
            ? outcome(state.facts, client: state.a, server: state.b)
            : outcome(state.facts, client: state.b, server: state.a)
    }

    private static func outcome(
        _ facts: ConnectionState.Facts, client: borrowing EndpointState, server: borrowing EndpointState
    ) -> Outcome {
        let clientIsA = facts.clientIsA
        func side(fromA: Bool) -> Side { fromA == clientIsA ? .client : .server }

        // 2.4 The reset that ended the connection (2.3: one far outside the window ends it too
        // when no traffic followed).
        let resetFromA = facts.resetFromA ?? facts.pendingResetFromA
        let resetBy = resetFromA.map(side(fromA:))
        let resetAcknowledged = facts.resetFromA != nil ? facts.endingResetAcknowledged : facts.pendingResetAcknowledged

        // 1.6 A FIN the capture missed, as far as the acknowledgements prove it.
        let (clientAfterUnseen, serverAfterUnseen) =
            clientIsA
            ? (facts.payloadAfterUnseenFromA, facts.payloadAfterUnseenFromB)
            : (facts.payloadAfterUnseenFromB, facts.payloadAfterUnseenFromA)
        let gaps = PerSide(
            client: CaptureGap(client, peer: server, peerPayloadAfterUnseen: serverAfterUnseen),
            server: CaptureGap(server, peer: client, peerPayloadAfterUnseen: clientAfterUnseen))
        let clientClosed = client.sentFIN || gaps.client.inferredFIN
        let serverClosed = server.sentFIN || gaps.server.inferredFIN

        // 2.2 The first closer: by the captured FINs, or where one was inferred, by whether the
        // other's FIN acknowledged it.
        var firstCloserSide = facts.firstFINFromA.map(side(fromA:))
        var simultaneous = facts.simultaneousClose
        if let inferred = gaps.client.inferredFIN ? Side.client : gaps.server.inferredFIN ? Side.server : nil,
            gaps[inferred].finBeforePeerFIN
        {
            firstCloserSide = inferred
            simultaneous = false
        }
        let firstCloser: FirstCloser? =
            simultaneous ? .both : firstCloserSide.map { $0 == .client ? .client : .server }
        let afterFirstFin: Int64
        switch firstCloserSide {
        case .client?:
            afterFirstFin =
                server.bytesAfterPeerFIN + gaps.server.bytesAfterPeerFINNotCaptured + gaps.client.peerBytesAfterFIN
        case .server?:
            afterFirstFin =
                client.bytesAfterPeerFIN + gaps.client.bytesAfterPeerFINNotCaptured + gaps.server.peerBytesAfterFIN
        case nil: afterFirstFin = 0
        }

        // §2 The first verdict that applies wins.
        let verdict: Verdict
        var completed = false
        let handshakeAnswered = server.sentSYNACK
        if client.sentSYN && !handshakeAnswered && resetBy == .server {
            verdict = .refused
        } else if client.sentSYN && !handshakeAnswered && server.packets == 0 && client.bytes == 0 && !client.sentFIN
            && resetBy != .server
        {
            verdict = .attempt
        } else if resetBy != nil {
            verdict = .abortive
        } else if let first = firstCloserSide {
            // 2.1 The other side: did it send after the first FIN, and did it close too?
            let otherClosed = first == .client ? serverClosed : clientClosed
            if afterFirstFin > 0 || !otherClosed {
                verdict = .halfClosed
                completed = otherClosed
            } else {
                verdict = .graceful
                completed = true
            }
        } else {
            verdict = .open
        }

        // 3.1 Counted when the connection ended (a FIN pair or a reset). Payload not yet
        // acknowledged in a connection still open at the end of the capture is in flight, not lost.
        let ended = resetBy != nil || (clientClosed && serverClosed)
        let lost =
            ended
            ? PerSide(client: unacknowledged(client, by: server), server: unacknowledged(server, by: client))
            : PerSide(client: 0, server: 0)
        return Outcome(
            verdict: verdict, completed: completed, firstCloser: firstCloser, resetBy: resetBy,
            resetAcknowledged: resetAcknowledged, bytesAfterFirstFin: afterFirstFin, lostBytes: lost, gaps: gaps)
    }

    /// The whole result of `state` (contract 4.1), Zeek's rows left to the caller; its states
    /// (2.6) only when `infersStates`.
    static func classify(_ state: borrowing ConnectionState, infersStates: Bool = true) -> Connection {
        let outcome = outcome(state)
        return state.facts.clientIsA
            ? connection(
                state.id, state.facts, outcome, client: state.a, server: state.b, addresses: (state.key.a, state.key.b),
                firstSeen: state.firstSeen, lastSeen: state.lastSeen, infersStates: infersStates)
            : connection(
                state.id, state.facts, outcome, client: state.b, server: state.a, addresses: (state.key.b, state.key.a),
                firstSeen: state.firstSeen, lastSeen: state.lastSeen, infersStates: infersStates)
    }

    private static func connection(
        _ id: Int, _ facts: ConnectionState.Facts, _ outcome: Outcome, client: borrowing EndpointState,
        server: borrowing EndpointState, addresses: (client: SocketAddress, server: SocketAddress),
        firstSeen: Timestamp, lastSeen: Timestamp, infersStates: Bool
    ) -> Connection {
        let verdict = outcome.verdict, resetBy = outcome.resetBy
        var notes = facts.notes
        // 3.2 RST+ACK covering all the peer's data, no FIN from the resetter, and the peer's data
        // arrived after the resetter's own last payload: close() with unread data, suspected.
        if let resetter = resetBy, verdict == .abortive, outcome.resetAcknowledged {
            let suspected =
                resetter == .client
                ? suspectsUnreadData(resetter: client, peer: server) : suspectsUnreadData(resetter: server, peer: client)
            if suspected { notes.insert(.unreadDataSuspected) }
        }
        // 1.6 Acknowledgements, numbers or holes that show packets the capture does not hold.
        if outcome.gaps.client.missesPackets || outcome.gaps.server.missesPackets { notes.insert(.packetsMissing) }
        if client.retransmittedPayload || server.retransmittedPayload { notes.insert(.dataRetransmitted) }
        if client.packets == 0 || server.packets == 0, verdict != .attempt { notes.insert(.oneSided) }

        var result = Connection(
            id: id, client: addresses.client, server: addresses.server,
            verdict: verdict, completed: outcome.completed, firstCloser: outcome.firstCloser,
            // 2.4 Only a reset's verdicts name the resetter.
            resetBy: verdict == .abortive || verdict == .refused ? resetBy : nil,
            // 1.2 No SYN from the client: the start was not captured.
            partial: !client.sentSYN,
            bytes: PerSide(client: client.bytes, server: server.bytes),
            bytesAfterFirstFin: outcome.bytesAfterFirstFin, lostBytes: outcome.lostBytes,
            packets: Int(client.packets) + Int(server.packets),
            firstSeen: firstSeen, lastSeen: lastSeen, notes: notes.sorted)
        result.notCaptured = NotCaptured(outcome.gaps)
        result.finTimes = PerSide(
            client: client.sentFIN ? client.finTime : nil, server: server.sentFIN ? server.finTime : nil)
        if infersStates {
            result.states = StateInference.states(
                client: client, server: server, facts: facts, outcome: outcome, firstSeen: firstSeen)
        }
        result.cause = WireCause.cause(of: result, resetAcknowledged: outcome.resetAcknowledged)
        return result
    }

    /// 3.2 `unread_data_suspected` for a reset from `resetter`.
    private static func suspectsUnreadData(resetter: borrowing EndpointState, peer: borrowing EndpointState) -> Bool {
        !resetter.sentFIN && peer.bytes > 0 && peer.lastNewPayloadPacket > resetter.lastNewPayloadPacket
            && ConnectionState.allPayloadAcknowledged(of: peer, by: resetter)
    }

    /// 3.1 Payload `sender` sent that `receiver` never acknowledged.
    static func unacknowledged(_ sender: borrowing EndpointState, by receiver: borrowing EndpointState) -> Int64 {
        guard let end = sender.payloadEnd, receiver.hasAcknowledged else { return 0 }
        return max(0, end - receiver.highestAcknowledgment)
    }

}

// MARK: - §1.6 Packets the capture did not show

/// What the acknowledgements prove about one side's packets that the capture did not show
/// (contract 1.6). The side reached as far as its peer acknowledged and as its own segments were
/// numbered; what lies between the end of what was seen (payload, FIN) and there was sent but not
/// captured.
///
/// A FIN is inferred when the side was never seen to send one (nor a reset), its peer sent a FIN,
/// positions past what was seen were used, and either the side acknowledged its peer's FIN, or its
/// peer acknowledged more after its own FIN (something came from the side after it): the last
/// position is taken as the FIN. A single byte of data in its place would look the same, which
/// ``NotCaptured/text`` says.
struct CaptureGap: Sendable, Hashable {
    /// Payload positions used but not captured: holes, and positions past the last one seen.
    var bytesNotCaptured: Int64 = 0
    /// Whether the side's FIN was not captured but is inferred.
    var inferredFIN = false
    /// With an inferred FIN: whether the peer's FIN acknowledged it (this side closed first).
    var finBeforePeerFIN = false
    /// With an inferred FIN after the peer's: of `bytesNotCaptured`, those sent after the peer's FIN.
    var bytesAfterPeerFINNotCaptured: Int64 = 0
    /// With an inferred FIN before the peer's: the peer's payload sent after it.
    var peerBytesAfterFIN: Int64 = 0
    /// Whether any of the side's packets are missing (holes, positions past what was seen).
    var missesPackets = false

    /// - Parameter peerPayloadAfterUnseen: new payload bytes the peer sent while acknowledging
    ///   positions of this side's the capture had not shown.
    init(_ x: borrowing EndpointState, peer p: borrowing EndpointState, peerPayloadAfterUnseen: UInt32) {
        guard x.hasBase else { return }
        let seenEnd = x.seenEnd
        let reach = max(x.highestEnd, p.hasAcknowledged ? p.highestAcknowledgment : 0)
        if !x.sentFIN && !x.sentRST && p.sentFIN && reach > seenEnd {
            let peerFINAcknowledged = x.position(of: p.finAcknowledgment)
            let acknowledgedPeerFIN = x.hasAcknowledged && x.highestAcknowledgment > p.finPosition
            let sentAfterPeerFIN = p.hasAcknowledged && p.highestAcknowledgment >= reach && reach > peerFINAcknowledged
            if acknowledgedPeerFIN || sentAfterPeerFIN {
                inferredFIN = true
                finBeforePeerFIN = peerFINAcknowledged >= reach
                if finBeforePeerFIN {
                    // The peer's payload that acknowledged what was not captured came after it
                    // (or at least after this side's missing data; the capture cannot tell).
                    peerBytesAfterFIN = Int64(peerPayloadAfterUnseen)
                } else {
                    bytesAfterPeerFINNotCaptured = max(0, reach - 1 - max(peerFINAcknowledged, seenEnd))
                }
            }
        }
        let used = reach - 1 - (x.sentFIN || inferredFIN ? 1 : 0)
        bytesNotCaptured = max(0, used - x.bytes)
        missesPackets = bytesNotCaptured > 0 || reach > seenEnd
    }
}

extension NotCaptured {
    /// What the gaps of both sides prove, in words; nil when nothing is missing.
    init?(_ gaps: PerSide<CaptureGap>) {
        guard gaps.client.missesPackets || gaps.server.missesPackets else { return nil }
        var sentences: [String] = []
        for side in Side.allCases where gaps[side].missesPackets {
            let gap = gaps[side], peer = side == .client ? "server" : "client"
            var text = "the \(side)"
            if gap.bytesNotCaptured > 0 {
                text += " sent \(gap.bytesNotCaptured) byte\(gap.bytesNotCaptured == 1 ? "" : "s") the capture did not show"
                if gap.inferredFIN { text += ", and a FIN" }
            } else {
                text += gap.inferredFIN ? " sent a FIN the capture did not show" : " sent packets the capture did not show"
            }
            text += " (the \(peer)'s acknowledgements prove it"
            if gap.inferredFIN {
                text += "; the last position is taken as a FIN, since "
                text += gap.finBeforePeerFIN ? "the \(peer)'s FIN acknowledged it" : "the \(side) went on after the \(peer)'s FIN"
                text += ": one more byte of data instead would look the same"
            }
            text += ")"
            sentences.append(text)
        }
        self.init(
            bytes: PerSide(client: gaps.client.bytesNotCaptured, server: gaps.server.bytesNotCaptured),
            inferredFIN: Side.allCases.filter { gaps[$0].inferredFIN },
            text: sentences.joined(separator: "; "))
    }
}

// MARK: - §2.6 Each side's states, inferred from the segments

/// The RFC 9293 states each side went through, as far as the captured segments prove them
/// (contract 2.6). Each change is dated by the segment that proves it:
///
/// - SYN_SENT at the client's SYN, SYN_RECEIVED at the server's SYN-ACK, ESTABLISHED for both when
///   the client acknowledges the SYN-ACK (a connection whose start was not captured is ESTABLISHED
///   from its first packet);
/// - the first closer: FIN_WAIT_1 at its FIN, FIN_WAIT_2 when the peer acknowledges that FIN,
///   TIME_WAIT once it has acknowledged the peer's FIN;
/// - the other side: CLOSE_WAIT once it has acknowledged the first FIN, LAST_ACK at its own FIN,
///   CLOSED when that FIN is acknowledged;
/// - a simultaneous close (2.2): FIN_WAIT_1, CLOSING once both FINs are out, TIME_WAIT when the own
///   FIN is acknowledged;
/// - CLOSED for both at the reset that ended the connection (2.3).
///
/// Where an acknowledgement was not captured the side stays in the state the segments prove, and
/// ``ConnectionStates/notSeen`` says what is missing.
enum StateInference {
    static func states(
        client: borrowing EndpointState, server: borrowing EndpointState, facts: ConnectionState.Facts,
        outcome: TeardownClassifier.Outcome, firstSeen: Timestamp
    ) -> ConnectionStates {
        var notSeen: [String] = []
        let partial = !client.sentSYN && !server.sentSYNACK
        if partial { notSeen.append("the start of the connection was not captured") }
        let resetTime: Int64? = outcome.resetBy != nil ? facts.resetTime : nil
        // A FIN inferred from acknowledgements (1.6) has no time of its own: the sides stay in the
        // states the captured segments prove, in the order the acknowledgements give.
        let simultaneous = outcome.firstCloser == .both
        let closer: Side? = outcome.firstCloser == .client ? .client : outcome.firstCloser == .server ? .server : nil
        for side in Side.allCases where outcome.gaps[side].inferredFIN {
            notSeen.append("the \(side)'s FIN was not captured (the acknowledgements suggest one)")
        }
        let clientStates = sequence(
            .client, own: client, peer: server, partial: partial, firstSeen: firstSeen, resetTime: resetTime,
            simultaneous: simultaneous, firstCloser: closer, notSeen: &notSeen)
        let serverStates = sequence(
            .server, own: server, peer: client, partial: partial, firstSeen: firstSeen, resetTime: resetTime,
            simultaneous: simultaneous, firstCloser: closer, notSeen: &notSeen)
        // Both sides may find the same acknowledgement missing: say it once.
        var unique: [String] = []
        for text in notSeen where !unique.contains(text) { unique.append(text) }
        return ConnectionStates(client: clientStates, server: serverStates, source: .wire, notSeen: unique)
    }

    private static func sequence(
        _ side: Side, own x: borrowing EndpointState, peer y: borrowing EndpointState, partial: Bool,
        firstSeen: Timestamp, resetTime: Int64?, simultaneous: Bool, firstCloser: Side?, notSeen: inout [String]
    ) -> StateSequence {
        let unseen = EndpointState.unseen
        var changes = StateSequence()
        func enter(_ state: TCPState, _ time: Int64) {
            if changes.last?.state != state { changes.append(StateChange(state, at: Timestamp(nanoseconds: time))) }
        }
        /// Whether something at `time` was seen, before the reset that ended the connection, if any.
        func seen(_ time: Int64) -> Bool { time != unseen && (resetTime == nil || time <= resetTime!) }
        let name = side.rawValue, peer = side.peer.rawValue

        // Opening. The client acknowledging the SYN-ACK establishes both sides.
        let clientAcknowledgedSYNACK = side == .client ? x.acknowledgedPeerSYNTime : y.acknowledgedPeerSYNTime
        var established: Int64?
        if partial {
            established = firstSeen.nanoseconds
        } else if side == .client {
            if x.sentSYN { enter(.synSent, x.synTime) }
            if y.sentSYNACK && seen(clientAcknowledgedSYNACK) { established = clientAcknowledgedSYNACK }
        } else if x.sentSYNACK {
            enter(.synReceived, x.synTime)
            if seen(clientAcknowledgedSYNACK) { established = clientAcknowledgedSYNACK }
        }
        if let established { enter(.established, established) }

        // Teardown, once established.
        if established != nil {
            if simultaneous {
                if seen(x.finTime.nanoseconds) && x.sentFIN { enter(.finWait1, x.finTime.nanoseconds) }
                if x.sentFIN && y.sentFIN && seen(max(x.finTime.nanoseconds, y.finTime.nanoseconds)) {
                    enter(.closing, max(x.finTime.nanoseconds, y.finTime.nanoseconds))
                    if seen(x.finAcknowledgedTime) {
                        enter(.timeWait, x.finAcknowledgedTime)
                    } else if resetTime == nil {
                        notSeen.append("the \(peer)'s ACK of the \(name)'s FIN was not captured")
                    }
                }
            } else if firstCloser == side, x.sentFIN, seen(x.finTime.nanoseconds) {
                enter(.finWait1, x.finTime.nanoseconds)
                if seen(x.finAcknowledgedTime) {
                    enter(.finWait2, x.finAcknowledgedTime)
                    if y.sentFIN && seen(y.finAcknowledgedTime) { enter(.timeWait, y.finAcknowledgedTime) }
                } else if resetTime == nil {
                    notSeen.append("the \(peer)'s ACK of the \(name)'s FIN was not captured")
                }
            } else if firstCloser == side.peer, y.sentFIN {
                if seen(y.finAcknowledgedTime) {
                    enter(.closeWait, y.finAcknowledgedTime)
                    if x.sentFIN && seen(x.finTime.nanoseconds) {
                        enter(.lastAck, x.finTime.nanoseconds)
                        if seen(x.finAcknowledgedTime) {
                            enter(.closed, x.finAcknowledgedTime)
                        } else if resetTime == nil {
                            notSeen.append("the \(peer)'s ACK of the \(name)'s FIN was not captured")
                        }
                    }
                } else if resetTime == nil && seen(y.finTime.nanoseconds) {
                    notSeen.append("the \(name)'s ACK of the \(peer)'s FIN was not captured")
                }
            }
        }
        // 2.3 The reset that ended the connection closes both sides (a side that never had a
        // connection, the server of a refused one, has no state to leave).
        if let resetTime, !changes.isEmpty { enter(.closed, resetTime) }
        return changes
    }
}

// MARK: - §2.5 Why the reset was sent, as far as the segments show

/// The cause of the reset that ended an `abortive` or `refused` connection, read from the shapes
/// the segments make (contract 2.5, `source: wire`). Never `certain`: several causes put the same
/// segments on the wire (a close() that meets data and a segment that reaches TIME_WAIT; a
/// SO_LINGER {1, 0} close and a close() with data unread that the wire shows as delivered; a
/// refusal and a firewall's reset). The kernel of the capturing host can tell them apart
/// (`TeardownKernel`).
enum WireCause {
    static func cause(of connection: Connection, resetAcknowledged: Bool) -> Cause? {
        guard let resetter = connection.resetBy else { return nil }
        let name = resetter.rawValue, peer = resetter.peer.rawValue
        switch connection.verdict {
        case .refused:
            return Cause(
                code: .noListener, source: .wire, certainty: .likely,
                text: "the SYN was answered by a reset: nothing listened (or a firewall refused it)")
        case .abortive:
            let closedFirst = connection.firstCloser?.rawValue == name || connection.firstCloser == .both
            if closedFirst && connection.bytesAfterFirstFin > 0 {
                return Cause(
                    code: .dataAfterClose, source: .wire, certainty: .likely,
                    text: "\(name) closed while the \(peer) was still sending (RFC 1122 4.2.2.13)")
            }
            if connection.notes.contains(.unreadDataSuspected) {
                return Cause(
                    code: .closeWithUnreadData, source: .wire, certainty: .suspected,
                    text: "\(name) closed with received data unread (RFC 2525 2.17), as far as the packets show")
            }
            if resetAcknowledged && connection.finTimes[resetter] == nil {
                return Cause(
                    code: .lingerZero, source: .wire, certainty: .suspected,
                    text: "\(name) reset without a FIN: SO_LINGER {1, 0}, or close() with data unread")
            }
            return Cause(
                code: .unknown, source: .wire, certainty: .suspected,
                text: "the packets do not show why the \(name) reset")
        default:
            return nil
        }
    }
}
