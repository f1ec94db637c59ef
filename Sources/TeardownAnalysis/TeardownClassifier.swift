import TeardownWire

/// Turns a connection's tracked state into its ``Connection`` result (contract §§2–3).
///
/// A pure function: the verdict depends only on what the two endpoints showed, in the order the
/// contract fixes (refused, attempt, abortive, half-closed, graceful, open).
enum TeardownClassifier {
    /// Classifies the state `state` points at, read in place (a 512-byte state passed by value is
    /// copied at every call).
    static func classify(_ state: UnsafePointer<ConnectionState>) -> Connection {
        let facts = state.pointee.facts
        let clientIsA = facts.clientIsA
        let client = clientIsA ? state.pointee.a : state.pointee.b
        let server = clientIsA ? state.pointee.b : state.pointee.a
        func side(fromA: Bool) -> Side { fromA == clientIsA ? .client : .server }

        let resetFromA = facts.resetFromA ?? facts.pendingResetFromA
        let resetBy = resetFromA.map(side(fromA:))
        let resetAcknowledged =
            facts.resetFromA != nil ? facts.endingResetAcknowledged : facts.pendingResetAcknowledged
        var notes = facts.notes

        let firstCloserSide = facts.firstFINFromA.map(side(fromA:))
        let firstCloser: FirstCloser? =
            facts.simultaneousClose ? .both : firstCloserSide.map { $0 == .client ? .client : .server }
        let afterFirstFin: Int64
        if let first = firstCloserSide {
            afterFirstFin = (first == .client ? server : client).bytesAfterPeerFIN
        } else {
            afterFirstFin = 0
        }

        let verdict: Verdict
        var completed = false
        let handshakeAnswered = server.sentSYNACK
        if client.sentSYN && !handshakeAnswered && resetBy == .server {
            verdict = .refused
        } else if client.sentSYN && !handshakeAnswered && server.packets == 0 && client.bytes == 0
            && !client.sentFIN && resetBy != .server
        {
            verdict = .attempt
        } else if resetBy != nil {
            verdict = .abortive
        } else if let first = firstCloserSide {
            let other = first == .client ? server : client
            if other.bytesAfterPeerFIN > 0 || !other.sentFIN {
                verdict = .halfClosed
                completed = other.sentFIN
            } else {
                verdict = .graceful
                completed = true
            }
        } else {
            verdict = .open
        }

        // Contract 3.1: counted when the connection ended (a FIN pair or a reset). Payload not yet
        // acknowledged in a connection still open at the end of the capture is in flight, not lost.
        let ended = resetBy != nil || (client.sentFIN && server.sentFIN)
        let lost =
            ended
            ? PerSide(client: unacknowledged(client, by: server), server: unacknowledged(server, by: client))
            : PerSide(client: 0, server: 0)

        if let resetter = resetBy, verdict == .abortive, resetAcknowledged {
            // Contract 3.2: RST+ACK covering all the peer's data, no FIN from the resetter, and the
            // peer's data arrived after the resetter's own last payload: close() with unread data.
            let x = resetter == .client ? client : server
            let y = resetter == .client ? server : client
            if !x.sentFIN, y.bytes > 0, y.lastNewPayloadPacket > x.lastNewPayloadPacket,
                ConnectionState.allPayloadAcknowledged(of: y, by: x)
            {
                notes.insert(.unreadDataSuspected)
            }
        }
        if missesPackets(client, peer: server) || missesPackets(server, peer: client) {
            notes.insert(.packetsMissing)
        }
        if client.retransmittedPayload || server.retransmittedPayload { notes.insert(.dataRetransmitted) }
        if client.packets == 0 || server.packets == 0, verdict != .attempt { notes.insert(.oneSided) }

        var result = Connection(
            id: state.pointee.id,
            client: clientIsA ? state.pointee.key.a : state.pointee.key.b,
            server: clientIsA ? state.pointee.key.b : state.pointee.key.a,
            verdict: verdict, completed: completed, firstCloser: firstCloser,
            resetBy: verdict == .abortive || verdict == .refused ? resetBy : nil,
            partial: !client.sentSYN,
            bytes: PerSide(client: client.bytes, server: server.bytes),
            bytesAfterFirstFin: afterFirstFin, lostBytes: lost, packets: Int(client.packets) + Int(server.packets),
            firstSeen: state.pointee.firstSeen, lastSeen: state.pointee.lastSeen, notes: notes.sorted)
        result.finTimes = PerSide(
            client: client.sentFIN ? client.finTime : nil, server: server.sentFIN ? server.finTime : nil)
        result.zeekRecords = state.pointee.zeek.records(originatorIsA: clientIsA, client: client, server: server, lastSeen: state.pointee.lastSeen)
        return result
    }

    /// Payload `sender` sent that `receiver` never acknowledged; 0 when the receiver was never seen
    /// acknowledging anything (one-sided capture: the wire cannot tell).
    static func unacknowledged(_ sender: EndpointState, by receiver: EndpointState) -> Int64 {
        guard let end = sender.payloadEnd, receiver.hasAcknowledged else { return 0 }
        return max(0, end - receiver.highestAcknowledgment)
    }

    /// Gaps in the payload, or acknowledgements beyond anything the sender was seen to send.
    static func missesPackets(_ sender: EndpointState, peer: EndpointState) -> Bool {
        if sender.covered.hasGaps { return true }
        guard peer.hasAcknowledged, sender.hasBase else { return false }
        return peer.highestAcknowledgment > max(sender.highestEnd, 1)
    }
}
