import TeardownWire

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
    }

    /// The verdict and the bytes lost of the state `state` points at (contract §§2–3), without the
    /// rest of a ``Connection``.
    static func outcome(_ state: UnsafePointer<ConnectionState>) -> Outcome {
        let facts = state.pointee.facts
        let clientIsA = facts.clientIsA
        let (client, server) = endpoints(state)
        func side(fromA: Bool) -> Side { fromA == clientIsA ? .client : .server }

        let resetFromA = facts.resetFromA ?? facts.pendingResetFromA
        let resetBy = resetFromA.map(side(fromA:))
        let resetAcknowledged =
            facts.resetFromA != nil ? facts.endingResetAcknowledged : facts.pendingResetAcknowledged

        let firstCloserSide = facts.firstFINFromA.map(side(fromA:))
        let firstCloser: FirstCloser? =
            facts.simultaneousClose ? .both : firstCloserSide.map { $0 == .client ? .client : .server }
        let afterFirstFin: Int64
        if let first = firstCloserSide {
            afterFirstFin = (first == .client ? server : client).pointee.bytesAfterPeerFIN
        } else {
            afterFirstFin = 0
        }

        let verdict: Verdict
        var completed = false
        let handshakeAnswered = server.pointee.sentSYNACK
        if client.pointee.sentSYN && !handshakeAnswered && resetBy == .server {
            verdict = .refused
        } else if client.pointee.sentSYN && !handshakeAnswered && server.pointee.packets == 0 && client.pointee.bytes == 0
            && !client.pointee.sentFIN && resetBy != .server
        {
            verdict = .attempt
        } else if resetBy != nil {
            verdict = .abortive
        } else if let first = firstCloserSide {
            let other = first == .client ? server : client
            if other.pointee.bytesAfterPeerFIN > 0 || !other.pointee.sentFIN {
                verdict = .halfClosed
                completed = other.pointee.sentFIN
            } else {
                verdict = .graceful
                completed = true
            }
        } else {
            verdict = .open
        }

        // Contract 3.1: counted when the connection ended (a FIN pair or a reset). Payload not yet
        // acknowledged in a connection still open at the end of the capture is in flight, not lost.
        let ended = resetBy != nil || (client.pointee.sentFIN && server.pointee.sentFIN)
        let lost =
            ended
            ? PerSide(client: unacknowledged(client, by: server), server: unacknowledged(server, by: client))
            : PerSide(client: 0, server: 0)
        return Outcome(
            verdict: verdict, completed: completed, firstCloser: firstCloser, resetBy: resetBy,
            resetAcknowledged: resetAcknowledged, bytesAfterFirstFin: afterFirstFin, lostBytes: lost)
    }

    /// The client's and the server's endpoint in `state`. Read through pointers: copies of them
    /// (two 136-byte values holding an array) were a fifth of the cost of a classification.
    @inline(__always)
    static func endpoints(
        _ state: UnsafePointer<ConnectionState>
    ) -> (client: UnsafePointer<EndpointState>, server: UnsafePointer<EndpointState>) {
        let a = state.pointer(to: \.a)!, b = state.pointer(to: \.b)!
        return state.pointee.facts.clientIsA ? (a, b) : (b, a)
    }

    /// Classifies the state `state` points at, read in place (a state passed by value is copied
    /// at every call), with Zeek's view of its packets when it was tracked.
    static func classify(_ state: UnsafePointer<ConnectionState>, zeek: UnsafePointer<ZeekTracker>?) -> Connection {
        let outcome = outcome(state)
        let verdict = outcome.verdict, resetBy = outcome.resetBy
        let clientIsA = state.pointee.facts.clientIsA
        let (client, server) = endpoints(state)
        var notes = state.pointee.facts.notes

        if let resetter = resetBy, verdict == .abortive, outcome.resetAcknowledged {
            // Contract 3.2: RST+ACK covering all the peer's data, no FIN from the resetter, and the
            // peer's data arrived after the resetter's own last payload: close() with unread data.
            let x = resetter == .client ? client : server
            let y = resetter == .client ? server : client
            if !x.pointee.sentFIN, y.pointee.bytes > 0, y.pointee.lastNewPayloadPacket > x.pointee.lastNewPayloadPacket,
                ConnectionState.allPayloadAcknowledged(of: y.pointee, by: x.pointee)
            {
                notes.insert(.unreadDataSuspected)
            }
        }
        if missesPackets(client, peer: server) || missesPackets(server, peer: client) {
            notes.insert(.packetsMissing)
        }
        if client.pointee.retransmittedPayload || server.pointee.retransmittedPayload { notes.insert(.dataRetransmitted) }
        if client.pointee.packets == 0 || server.pointee.packets == 0, verdict != .attempt { notes.insert(.oneSided) }

        var result = Connection(
            id: state.pointee.id,
            client: clientIsA ? state.pointee.key.a : state.pointee.key.b,
            server: clientIsA ? state.pointee.key.b : state.pointee.key.a,
            verdict: verdict, completed: outcome.completed, firstCloser: outcome.firstCloser,
            resetBy: verdict == .abortive || verdict == .refused ? resetBy : nil,
            partial: !client.pointee.sentSYN,
            bytes: PerSide(client: client.pointee.bytes, server: server.pointee.bytes),
            bytesAfterFirstFin: outcome.bytesAfterFirstFin, lostBytes: outcome.lostBytes,
            packets: Int(client.pointee.packets) + Int(server.pointee.packets),
            firstSeen: state.pointee.firstSeen, lastSeen: state.pointee.lastSeen, notes: notes.sorted)
        result.finTimes = PerSide(
            client: client.pointee.sentFIN ? client.pointee.finTime : nil,
            server: server.pointee.sentFIN ? server.pointee.finTime : nil)
        if let zeek {
            result.zeekRecords = ZeekTracker.records(
                of: zeek, originatorIsA: clientIsA, client: client, server: server, lastSeen: state.pointee.lastSeen)
        }
        return result
    }

    static func unacknowledged(_ sender: UnsafePointer<EndpointState>, by receiver: UnsafePointer<EndpointState>) -> Int64 {
        guard let end = sender.pointee.payloadEnd, receiver.pointee.hasAcknowledged else { return 0 }
        return max(0, end - receiver.pointee.highestAcknowledgment)
    }

    static func missesPackets(_ sender: UnsafePointer<EndpointState>, peer: UnsafePointer<EndpointState>) -> Bool {
        if sender.pointee.covered.hasGaps { return true }
        guard peer.pointee.hasAcknowledged, sender.pointee.hasBase else { return false }
        return peer.pointee.highestAcknowledgment > max(sender.pointee.highestEnd, 1)
    }
}
