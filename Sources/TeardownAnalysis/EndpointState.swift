import TeardownWire

/// What one side of a connection has shown on the wire so far.
///
/// Sequence numbers are unwrapped into 64-bit positions relative to `base` (the ISN, or the first
/// sequence number seen when the SYN was not captured), each time relative to the highest position
/// seen, so a connection may wrap around 2^32 any number of times (contract 1.3).
struct EndpointState: Sendable, Hashable {
    // 8-byte fields first, then 4-, 2- and 1-byte ones: the layout packs without padding, and a
    // smaller state means fewer cache lines per packet and more connections per megabyte.

    /// The reference position for unwrapping: the highest position seen.
    var reference: Int64 = 0
    /// Payload carried, each byte once.
    var covered = CoveredRanges()
    var bytes: Int64 = 0
    /// Highest position this side's SYN, payload or FIN reached (exclusive).
    var highestEnd: Int64 = 0
    /// New payload sent after the peer's first FIN (contract 4.1 `bytesAfterFirstFin`).
    var bytesAfterPeerFIN: Int64 = 0
    /// Highest acknowledgement sent, as a position in the *peer's* sequence space.
    var highestAcknowledgment: Int64 = 0
    /// Position of the FIN (the sequence number it occupies).
    var finPosition: Int64 = 0
    var finTime = Timestamp(nanoseconds: 0)
    /// When this side sent its first SYN or SYN-ACK, first acknowledged the peer's SYN, and when
    /// the peer first acknowledged this side's FIN (nanoseconds; ``unseen`` until then): the
    /// moments of contract 2.6's state changes that the segments prove.
    var synTime = Self.unseen
    var acknowledgedPeerSYNTime = Self.unseen
    var finAcknowledgedTime = Self.unseen

    /// The sequence number that is position 0.
    var base: UInt32 = 0
    var synSequence: UInt32 = 0
    var rstSequence: UInt32 = 0
    /// Packets sent (saturates at `UInt32.max`).
    var packets: UInt32 = 0
    /// Latest advertised receive window in bytes (scaled once both sides offered scaling; < 2^30).
    var window: UInt32 = 65535
    /// Fingerprint of the previous segment, to spot exact duplicates.
    var lastFingerprint: UInt32 = 0
    /// Packet number of the last segment that carried new payload (0: none; saturates at
    /// `UInt32.max`).
    var lastNewPayloadPacket: UInt32 = 0
    /// The acknowledgement number this side's first FIN carried (the peer's base when it carried
    /// none): how much of the peer's sequence space it had seen when it closed (contract 1.6).
    var finAcknowledgment: UInt32 = 0

    /// Window scale offered in this side's SYN or SYN-ACK (RFC 7323), at most 14;
    /// ``noWindowScale`` when none was. (An optional would take a second byte, and the state a sixth
    /// cache line.)
    var offeredWindowScale = Self.noWindowScale
    /// Whether `base` is set.
    var hasBase = false
    var sentSYN = false
    var sentSYNACK = false
    var retransmittedPayload = false
    var hasAcknowledged = false
    var sentFIN = false
    var sentRST = false

    static let noWindowScale = UInt8.max
    /// A time not seen (yet).
    static let unseen = Int64.min

    /// Sets the base so that `sequence` is position `position`, if no base is set yet.
    mutating func establishBase(_ sequence: UInt32, atPosition position: Int64 = 0) {
        guard !hasBase else { return }
        hasBase = true
        base = sequence &- UInt32(truncatingIfNeeded: position)
        reference = position
    }

    /// The unwrapped position of `sequence`: the one closest to the highest position seen.
    @inlinable
    func position(of sequence: UInt32) -> Int64 {
        let relative = sequence &- base
        let delta = Int32(bitPattern: relative &- UInt32(truncatingIfNeeded: reference))
        return reference + Int64(delta)
    }

    /// Moves the unwrapping reference forward to `position` when it is higher.
    mutating func advanceReference(to position: Int64) {
        if position > reference { reference = position }
    }

    /// Highest position with payload (exclusive), or `nil` when no payload was seen.
    var payloadEnd: Int64? { covered.end }

    /// The end of what was captured of this side (exclusive): its SYN, payload and FIN; 1 at
    /// least (contract 1.6).
    var seenEnd: Int64 {
        let end = max(1, covered.end ?? 1)
        return sentFIN ? max(end, finPosition + 1) : end
    }
}
