import TeardownWire

/// Zeek's `conn_state` values (conn.log), as Zeek's `conn_state()` function in
/// `scripts/base/protocols/conn/main.zeek` decides them.
public enum ZeekConnState: String, Sendable, CaseIterable, Hashable {
    case s0 = "S0", s1 = "S1", sf = "SF", rej = "REJ", s2 = "S2", s3 = "S3"
    case rsto = "RSTO", rstr = "RSTR", rstos0 = "RSTOS0", rstrh = "RSTRH", sh = "SH", shr = "SHR", oth = "OTH"
}

/// Zeek's per-endpoint TCP states (`TCP_Endpoint.h`), the input to `conn_state`.
enum ZeekEndpointState: UInt8, Sendable {
    case inactive, synSent, synAckSent, partial, established, closed, reset

    /// "Inactive" in `conn_state()` includes endpoints seen only mid-stream.
    var isInactive: Bool { self == .inactive || self == .partial }
}

/// One endpoint as Zeek's TCP session adapter tracks it: its state, the sequence numbers the
/// history letters are compared on, and the counters of the logarithmic letters.
struct ZeekEndpoint: Sendable, Hashable {
    var startSequence: UInt32 = 0
    /// One past the highest sequence number sent (Zeek's `last_seq`).
    var lastSequence: UInt32 = 0
    /// Relative sequence numbers of the last SYN, FIN (after its payload) and RST.
    var lastSYN: UInt32 = 0
    var lastFIN: UInt32 = 0
    var lastRST: UInt32 = 0
    /// Relative sequence number up to which payload reached Zeek's reassembler in order (it starts
    /// after the SYN), and one block that arrived ahead of it.
    var delivered: UInt32 = 1
    var pendingStart: UInt32 = 0
    var pendingEnd: UInt32 = 0
    var retransmissions = ScaledCounter()
    var zeroWindows = ScaledCounter()
    var gaps = ScaledCounter()
    /// Highest acknowledgement of this endpoint's data (Zeek's `ack_seq`).
    var ackSequence: UInt32 = 0
    var packets: UInt32 = 0
    var state = ZeekEndpointState.inactive
    var previousState = ZeekEndpointState.inactive
    /// Whether this endpoint ever closed (FIN) or reset: Zeek's `did_close`.
    var didClose = false
    var sentFIN = false
    var hasPending = false

    mutating func setState(_ new: ZeekEndpointState) {
        guard new != state else { return }
        previousState = state
        state = new
        if new == .closed || new == .reset { didClose = true }
    }

    /// Restarts the relative numbering at a SYN (or, without one, as if a SYN preceded `sequence`).
    mutating func initialize(start: UInt32, last: UInt32) {
        startSequence = start
        lastSequence = last
        ackSequence = start
    }

    /// Zeek's `Size()`: the sequence space used (the furthest of what was sent and what was
    /// acknowledged), without the SYN and FIN.
    func size(peer: ZeekEndpoint) -> Int64 {
        if state == .inactive { return 0 }
        if previousState == .synSent && state == .reset && peer.state == .inactive { return 0 }
        let furthest = Int32(bitPattern: ackSequence &- lastSequence) > 0 ? ackSequence : lastSequence
        var size = Int64(Int32(bitPattern: furthest &- startSequence))
        if size > 0 { size -= 1 }
        if sentFIN && size > 0 { size -= 1 }
        return max(0, size)
    }

    /// Whether Zeek counts gaps here: established, or closed straight from established.
    var isClean: Bool { state == .established || (state == .closed && previousState == .established) }

    /// Hands payload at relative `start..<end` to the reassembler: in order it extends what was
    /// delivered (and catches up with the block held back); ahead of it, it is held back (one block:
    /// dropping it changes a history letter in the corpus, the conformance ratchet shows which).
    mutating func deliver(_ start: UInt32, _ end: UInt32) {
        if Int32(bitPattern: start &- delivered) <= 0 {
            if Int32(bitPattern: end &- delivered) > 0 { delivered = end }
            if hasPending, Int32(bitPattern: pendingStart &- delivered) <= 0 {
                if Int32(bitPattern: pendingEnd &- delivered) > 0 { delivered = pendingEnd }
                hasPending = false
            }
        } else if !hasPending || Int32(bitPattern: start &- pendingStart) < 0 {
            hasPending = true
            pendingStart = start
            pendingEnd = end
        }
    }

    /// Zeek's `AckReceived`: an acknowledgement (relative) beyond what was delivered is a content
    /// gap, and the reassembler skips ahead. The acknowledgement of a FIN does not count.
    @inline(__always)
    mutating func acknowledged(upTo relative: UInt32) -> Bool {
        var upTo = relative
        // Zeek's `FIN_seq` is just past the FIN: the FIN itself is at `lastFIN` (after its payload).
        if sentFIN && Int32(bitPattern: upTo &- lastFIN) > 0 { upTo = lastFIN }
        guard Int32(bitPattern: upTo &- delivered) > 0 else { return false }
        delivered = upTo
        if hasPending && Int32(bitPattern: pendingEnd &- delivered) <= 0 { hasPending = false }
        return true
    }
}

/// Counts events and says when a history letter is due: at the 1st, 10th, 100th, ... event
/// (Zeek's `ScaledHistoryEntry` with base 10).
struct ScaledCounter: Sendable, Hashable {
    var count: UInt32 = 0

    mutating func record() -> Bool {
        count &+= 1
        var power: UInt32 = 1
        while power < count && power <= UInt32.max / 10 { power *= 10 }
        return power == count
    }
}

/// Zeek's `history` string while it is built: each entry is a lower-case letter and the endpoint
/// that caused it (`a` or `b`), so the case can follow the final originator. Stored inline in 24
/// bytes (23 letters and the count): no allocation per connection; letters past the capacity are
/// dropped (Zeek's histories are short: every letter but the logarithmic ones appears at most a few
/// times; the longest in Zeek's own test baselines has 12).
struct ZeekHistory: Sendable, Hashable {
    static let capacity = 23
    /// Entry `i` in byte `i` (low 7 bits the letter, high bit set when endpoint `a` caused it);
    /// the count in byte 23.
    private var words: (UInt64, UInt64, UInt64) = (0, 0, 0)

    static func == (l: Self, r: Self) -> Bool { l.words == r.words }
    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
    }

    private func byte(_ index: Int) -> UInt8 {
        let word = index < 8 ? words.0 : index < 16 ? words.1 : words.2
        return UInt8(truncatingIfNeeded: word >> UInt64((index % 8) * 8))
    }

    @inline(__always)
    private mutating func setByte(_ index: Int, _ value: UInt8) {
        let shift = UInt64((index % 8) * 8)
        let mask = ~(UInt64(0xff) << shift)
        let bits = UInt64(value) << shift
        switch index / 8 {
        case 0: words.0 = words.0 & mask | bits
        case 1: words.1 = words.1 & mask | bits
        default: words.2 = words.2 & mask | bits
        }
    }

    var count: Int { Int(byte(23)) }

    /// Appends `letter` (lower case ASCII) caused by endpoint `a` (`fromA`) or `b`.
    mutating func append(_ letter: UInt8, fromA: Bool) {
        let count = self.count
        guard count < Self.capacity else { return }
        setByte(count, letter | (fromA ? 0x80 : 0))
        setByte(23, UInt8(count + 1))
    }

    /// The history with upper case for the originator (`a` when `originatorIsA`); `^` first when
    /// the originator is not the endpoint that sent the first packet.
    func rendered(originatorIsA: Bool, flipped: Bool) -> String {
        // Written straight into the string's storage (no array first): a history of up to 15
        // letters is a small string, with no allocation at all.
        String(unsafeUninitializedCapacity: count + 1) { bytes in
            var length = 0
            if flipped {
                bytes[0] = UInt8(ascii: "^")
                length = 1
            }
            for index in 0..<count {
                let entry = byte(index)
                let letter = entry & 0x7f
                let fromA = entry & 0x80 != 0
                bytes[length] = fromA == originatorIsA ? letter - 0x20 : letter
                length += 1
            }
            return length
        }
    }
}

/// What Zeek's view of a connection reads of one of its packets: the segment's fields, its
/// direction, and the connection's facts just before it. Small and self-contained, so that an
/// analysis can hand these over to another thread and have Zeek's view computed there
/// (``FinishedBatch``) with exactly the result it would have had inline.
struct ZeekInput: Sendable {
    var timestamp: Timestamp
    /// The connection's latest packet time before this one (the end of a row this packet cuts off).
    var previousLastSeen: Timestamp
    var sequenceNumber: UInt32
    var acknowledgmentNumber: UInt32
    var payloadLength: UInt32
    var window: UInt16
    var flags: TCPFlags
    var payloadCaptured: Bool
    /// Sent by endpoint `a` of the flow key.
    var fromA: Bool
    /// Whether `a` is the originator (our client), decided with this packet applied.
    var originatorIsA: Bool

    @inline(__always)
    init(_ segment: TCPSegment, fromA: Bool, originatorIsA: Bool, previousLastSeen: Timestamp) {
        timestamp = segment.timestamp
        self.previousLastSeen = previousLastSeen
        sequenceNumber = segment.sequenceNumber
        acknowledgmentNumber = segment.acknowledgmentNumber
        payloadLength = segment.payloadLength
        window = segment.window
        flags = segment.flags
        payloadCaptured = segment.payloadCaptured
        self.fromA = fromA
        self.originatorIsA = originatorIsA
    }
}

/// One Zeek connection (one conn.log row): the per-endpoint state machine of
/// `TCPSessionAdapter` and the `history` letters, fed packet by packet. The originator is this
/// project's client (contract 1.2), decided before each packet is applied. Checksums are not
/// validated (as `zeek -C`).
struct ZeekSession: Sendable, Hashable {
    var a = ZeekEndpoint()
    var b = ZeekEndpoint()
    var history = ZeekHistory()
    var firstSeen = Timestamp(nanoseconds: 0)
    /// When Zeek's connection-attempt timer fires (5 s after the originator's SYN; 0: not armed).
    var attemptDeadline: Int64 = 0
    var started = false
    var firstPacketFromA = true
    /// Once-per-direction letters already recorded: bit `kind` for `a`, `kind + 8` for `b`.
    private var seen: UInt16 = 0

    private enum Once: UInt16 { case syn = 0, fin, rst, ack, data, finRST, multiFlag }

    /// Applies one packet.
    @inline(__always)
    mutating func ingest(_ segment: ZeekInput) {
        let fromA = segment.fromA, fromOriginator = segment.fromA == segment.originatorIsA
        if !started {
            started = true
            firstPacketFromA = fromA
            firstSeen = segment.timestamp
        }
        if fromA { a.packets &+= 1 } else { b.packets &+= 1 }
        let originatorBefore = fromOriginator ? (fromA ? a.state : b.state) : (fromA ? b.state : a.state)
        if fromA {
            Self.process(segment, endpoint: &a, peer: &b, &history, &seen)
        } else {
            Self.process(segment, endpoint: &b, peer: &a, &history, &seen)
        }
        let originatorAfter = fromOriginator ? (fromA ? a.state : b.state) : (fromA ? b.state : a.state)
        if originatorBefore == .inactive && (originatorAfter == .synSent || originatorAfter == .synAckSent) {
            attemptDeadline = segment.timestamp.nanoseconds &+ ZeekTracker.attemptDelay
        }
    }

    /// Whether Zeek would have removed this connection before `segment` arrived (its attempt timer
    /// fired: the originator's SYN went unanswered for 5 s), or counts `segment` as the start of a
    /// new connection on the tuple (a SYN after a close or reset, or with a new initial sequence
    /// number: Zeek's `IsReuse`). Mutating only so that the call reads the session in place: a
    /// non-mutating call on the stored property copies the 168-byte session for every packet.
    @inline(__always)
    mutating func endsBefore(_ segment: ZeekInput) -> Bool {
        guard started else { return false }
        let originatorIsA = segment.originatorIsA
        let o = originatorIsA ? a.state : b.state
        let r = originatorIsA ? b.state : a.state
        if attemptDeadline != 0 && segment.timestamp.nanoseconds > attemptDeadline
            && (o == .synSent || o == .synAckSent) && r == .inactive
        {
            return true
        }
        let flags = segment.flags
        guard flags.contains(.syn) else { return false }
        var senderIsA = originatorIsA
        if flags.contains(.ack) {
            guard o == .inactive else { return false }
            senderIsA = !originatorIsA
        }
        if a.didClose || b.didClose { return true }
        let (start, state) = senderIsA ? (a.startSequence, a.state) : (b.startSequence, b.state)
        return segment.sequenceNumber != start && state != .inactive
    }

    private static let tooLargeDelta: Int32 = 1_048_576

    @inline(__always)
    private static func process(
        _ segment: ZeekInput, endpoint e: inout ZeekEndpoint, peer p: inout ZeekEndpoint,
        _ history: inout ZeekHistory, _ seen: inout UInt16
    ) {
        let fromA = segment.fromA, isOrig = segment.fromA == segment.originatorIsA
        let flags = segment.flags
        let syn = flags.contains(.syn), fin = flags.contains(.fin), rst = flags.contains(.rst)
        let ack = flags.contains(.ack)
        let length = Int(segment.payloadLength)
        let sequence = segment.sequenceNumber
        var segmentLength = length + (syn ? 1 : 0) + (fin ? 1 : 0)
        if rst { segmentLength -= length }
        let onePast = sequence &+ UInt32(truncatingIfNeeded: segmentLength)

        // init_endpoint: the relative numbering starts at the SYN, or as if one preceded the packet.
        switch e.state {
        case .inactive:
            if syn { e.initialize(start: sequence, last: onePast) } else { e.initialize(start: sequence &- 1, last: sequence) }
        case .synSent, .synAckSent:
            if syn && sequence != e.startSequence { e.initialize(start: sequence, last: onePast) }
        case .established, .partial:
            if syn { e.initialize(start: sequence, last: onePast) }
        case .reset:
            if syn && e.previousState == .inactive { e.initialize(start: sequence, last: onePast) }
        case .closed:
            break
        }
        let relative = sequence &- e.startSequence

        // update_history.
        func once(_ kind: Once, _ letter: UInt8) -> Bool {
            let bit: UInt16 = 1 << (kind.rawValue + (fromA ? 0 : 8))
            if seen & bit == 0 {
                seen |= bit
                history.append(letter, fromA: fromA)
                return false
            }
            return true
        }
        let controlBits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0)
        if controlBits > 1 {
            _ = fin && rst ? once(.finRST, UInt8(ascii: "i")) : once(.multiFlag, UInt8(ascii: "q"))
        } else if syn {
            let letter = ack ? UInt8(ascii: "h") : UInt8(ascii: "s")
            if once(.syn, letter) && relative != e.lastSYN { history.append(letter, fromA: fromA) }
            e.lastSYN = relative
        } else if fin {
            let end = relative &+ UInt32(length)
            if once(.fin, UInt8(ascii: "f")) && end != e.lastFIN { history.append(UInt8(ascii: "f"), fromA: fromA) }
            e.lastFIN = end
        } else if rst {
            if once(.rst, UInt8(ascii: "r")) && relative != e.lastRST { history.append(UInt8(ascii: "r"), fromA: fromA) }
            e.lastRST = relative
        } else if length > 0 {
            _ = once(.data, UInt8(ascii: "d"))
        } else if ack {
            _ = once(.ack, UInt8(ascii: "a"))
        }

        // update_window: a zero window is interesting unless it comes with or after a reset, or after
        // the peer's FIN.
        if segment.window == 0 && !rst && p.state != .closed && e.state != .reset {
            if e.zeroWindows.record() { history.append(UInt8(ascii: "w"), fromA: fromA) }
        }

        // update_last_seq: payload that does not advance the sequence is a retransmission.
        let deltaLast = Int32(bitPattern: onePast &- e.lastSequence)
        if (syn || rst) && (deltaLast > tooLargeDelta || deltaLast < -tooLargeDelta) {
            // Untrusted sequence number.
        } else if fin && e.lastSequence == e.startSequence &+ 1 {
            e.lastSequence = onePast
        } else if e.state == .reset {
            // Nothing after a reset is trusted.
        } else if deltaLast > 0 {
            e.lastSequence = onePast
        } else if length > 0 {
            if e.retransmissions.record() { history.append(UInt8(ascii: "t"), fromA: fromA) }
        }

        if fin { e.sentFIN = true }

        updateStateMachine(flags: flags, length: length, sequence: sequence, endpoint: &e, peer: &p, isOrig: isOrig)

        // A content gap: the peer acknowledges payload the reassembler never got (not captured, or cut
        // off by the snap length). Counted only while both sides are established or closing cleanly,
        // and not when revealed by a FIN or RST (unreliable at the very end of a connection).
        if ack && p.state != .inactive {
            if !rst && Int32(bitPattern: segment.acknowledgmentNumber &- p.ackSequence) > 0 {
                p.ackSequence = segment.acknowledgmentNumber
            }
            let gap = p.acknowledged(upTo: segment.acknowledgmentNumber &- p.startSequence)
            if gap && !fin && !rst && e.isClean && p.isClean, p.gaps.record() {
                history.append(UInt8(ascii: "g"), fromA: !fromA)
            }
        }
        if length > 0 && !rst && segment.payloadCaptured {
            let start = relative &+ (syn ? 1 : 0)
            e.deliver(start, start &+ UInt32(length))
        }
    }

    /// Zeek's `UpdateStateMachine`, the state transitions only (weirds and events left out).
    @inline(__always)
    private static func updateStateMachine(
        flags: TCPFlags, length: Int, sequence: UInt32, endpoint e: inout ZeekEndpoint, peer p: inout ZeekEndpoint,
        isOrig: Bool
    ) {
        let syn = flags.contains(.syn), fin = flags.contains(.fin), rst = flags.contains(.rst)
        let ack = flags.contains(.ack)
        switch e.state {
        case .inactive:
            if syn {
                if isOrig {
                    e.setState(ack ? .synAckSent : .synSent)
                } else {
                    if !ack && p.state == .synAckSent && sequence == e.startSequence {
                        // A SYN/SYN-ACK reversal: Zeek flips the roles and establishes the peer.
                        p.setState(.established)
                    }
                    if p.state == .synSent { p.setState(.established) }
                    e.setState(.established)
                }
            }
            if fin { e.setState(.closed) }
            if rst { e.setState(.reset) }
            if e.state == .inactive {
                if !isOrig && length == 0 && p.state == .synSent {
                    // An ACK of the initial SYN before the SYN-ACK: not yet a partial connection.
                } else if ack && p.state == .established {
                    e.setState(.established)
                } else {
                    e.setState(.partial)
                }
            }
        case .synSent, .synAckSent:
            if fin { e.setState(.closed) }
            if rst { e.setState(.reset) }
        case .established, .partial:
            if syn && e.state == .partial && p.state == .inactive && !ack { e.setState(.synSent) }
            if fin && !rst {
                e.setState(.closed)
                // The peer sent FIN then RST, and now this side's FIN: a normal termination after all.
                if p.state == .reset && p.previousState == .closed { p.setState(.closed) }
            }
            if rst { e.setState(.reset) }
        case .closed:
            // A reset after a FIN exchange leaves both sides closed.
            if rst && p.state != .closed { e.setState(.reset) }
        case .reset:
            break
        }
    }

    /// This connection as a conn.log row, with the originator `a` when `originatorIsA` (`client`
    /// in the record is the originator) and `lastSeen` the time of its latest packet (the
    /// connection's, kept there). `unwrappedSizes`, the sizes from 64-bit positions, put back the
    /// multiples of 2^32 that 32-bit sequence arithmetic loses (Zeek counts wraps).
    func record(originatorIsA: Bool, lastSeen: Timestamp, unwrappedSizes: PerSide<Int64>? = nil) -> ZeekRecord {
        let o = originatorIsA ? a : b
        let r = originatorIsA ? b : a
        let history = history.rendered(originatorIsA: originatorIsA, flipped: firstPacketFromA != originatorIsA)
        var bytes = PerSide(client: o.size(peer: r), server: r.size(peer: o))
        if let unwrappedSizes {
            bytes = PerSide(
                client: Self.unwrap(bytes.client, near: unwrappedSizes.client),
                server: Self.unwrap(bytes.server, near: unwrappedSizes.server))
        }
        return ZeekRecord(
            state: connState(o.state, r.state, bytes: bytes, history: history), history: history,
            firstSeen: firstSeen, lastSeen: lastSeen, bytes: bytes,
            packets: PerSide(client: Int(o.packets), server: Int(r.packets)))
    }

    /// `size` plus the multiple of 2^32 that brings it nearest to `estimate`.
    static func unwrap(_ size: Int64, near estimate: Int64) -> Int64 {
        guard estimate >= 1 << 32 else { return size }
        let wraps = (estimate - size + (1 << 31)) >> 32
        return wraps > 0 ? size + wraps << 32 : size
    }

    /// Zeek's `conn_state()` from the originator's and responder's states.
    func connState(_ o: ZeekEndpointState, _ r: ZeekEndpointState, bytes: PerSide<Int64>, history: String) -> ZeekConnState {
        if r == .reset {
            if o == .synSent || o == .synAckSent || (o == .reset && bytes.client == 0 && bytes.server == 0) {
                return .rej
            }
            return o.isInactive ? .rstrh : .rstr
        }
        if o == .reset {
            if r.isInactive { return Self.looksLikeSYNThenRST(history) ? .rstos0 : .oth }
            return .rsto
        }
        if o == .closed && r == .closed { return .sf }
        if o == .closed { return r.isInactive ? .sh : .s2 }
        if r == .closed { return o.isInactive ? .shr : .s3 }
        if o == .synSent && r == .inactive { return .s0 }
        if o == .established && r == .established { return .s1 }
        return .oth
    }

    /// `history =~ /^\^?S[^HAFGIQ]*R.*/`: the originator's SYN, then its RST, with nothing from
    /// the originator in between that shows a handshake or data.
    static func looksLikeSYNThenRST(_ history: String) -> Bool {
        var letters = Substring(history)
        if letters.first == "^" { letters = letters.dropFirst() }
        guard letters.first == "S" else { return false }
        for letter in letters.dropFirst() {
            if letter == "R" { return true }
            if "HAFGIQ".contains(letter) { return false }
        }
        return false
    }
}

/// One Zeek conn.log row: what Zeek would log for (part of) a connection.
public struct ZeekRecord: Sendable, Hashable {
    /// `conn_state`.
    public var state: ZeekConnState
    /// `history`: upper case for the originator (the client).
    public var history: String
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    /// `orig_bytes` and `resp_bytes`: sequence space used by each side, as Zeek counts it.
    public var bytes: PerSide<Int64>
    /// `orig_pkts` and `resp_pkts`.
    public var packets: PerSide<Int>
}

/// Zeek's view of the packets of one connection of ours. Zeek cuts some of them into several
/// conn.log rows where this project keeps one connection (contract 1.1): a new SYN after a close
/// or reset (Zeek's `IsReuse`, also for a retried SYN with the same sequence number), and a
/// connection attempt its 5-second timer removed while only the originator spoke. Those rows are
/// kept in `earlier`; `current` is the last.
struct ZeekTracker: Sendable, Hashable {
    /// Zeek's `tcp_attempt_delay`.
    static let attemptDelay: Int64 = 5_000_000_000

    var current = ZeekSession()
    var earlier: [ZeekRecord] = []

    /// Every row, the current one last; none when nothing was tracked. `client` and `server` are our
    /// endpoints (the originator's and the responder's): without earlier rows the current row covers
    /// all of their packets, so their 64-bit positions restore the size's wraps past 2^32.
    func records(
        originatorIsA: Bool, client: borrowing EndpointState, server: borrowing EndpointState, lastSeen: Timestamp
    ) -> [ZeekRecord] {
        guard current.started else { return [] }
        let hints =
            earlier.isEmpty
            ? PerSide(client: Self.size(client, peer: server), server: Self.size(server, peer: client)) : nil
        var rows = earlier
        rows.append(current.record(originatorIsA: originatorIsA, lastSeen: lastSeen, unwrappedSizes: hints))
        return rows
    }

    /// Every row for the connection `state` (see ``records(originatorIsA:client:server:lastSeen:)``).
    func records(for state: borrowing ConnectionState) -> [ZeekRecord] {
        state.facts.clientIsA
            ? records(originatorIsA: true, client: state.a, server: state.b, lastSeen: state.lastSeen)
            : records(originatorIsA: false, client: state.b, server: state.a, lastSeen: state.lastSeen)
    }

    /// The sequence space `side` used, from its 64-bit positions.
    private static func size(_ side: borrowing EndpointState, peer: borrowing EndpointState) -> Int64 {
        max(side.highestEnd, peer.hasAcknowledged ? peer.highestAcknowledgment : 0) - 1 - (side.sentFIN ? 1 : 0)
    }

    /// Applies one packet of the connection.
    mutating func ingest(_ packet: ZeekInput) {
        if current.endsBefore(packet) {
            earlier.append(current.record(originatorIsA: packet.originatorIsA, lastSeen: packet.previousLastSeen))
            current = ZeekSession()
        }
        current.ingest(packet)
    }
}
