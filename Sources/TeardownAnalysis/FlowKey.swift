import TeardownWire

/// The canonical, direction-free key of a 4-tuple: endpoint `a` is the smaller (address, port).
///
/// Fixed-size (no heap storage), compared word by word, and hashed with a cheap multiply-xorshift
/// mix rather than SipHash: the table is keyed by flows from a capture, not by attacker-chosen
/// strings in a long-lived service, and a probe sequence that degrades only costs time linearly.
struct FlowKey: Hashable, Sendable {
    var aHigh: UInt64, aLow: UInt64
    var bHigh: UInt64, bLow: UInt64
    /// Port of `a` in the high 16 bits, port of `b` below it, IPv6 flag in bit 0.
    var portsAndFamily: UInt64

    /// The key for `segment` and whether the segment travels from `a` to `b` (`fromA`).
    @inlinable
    init(_ segment: TCPSegment, fromA: inout Bool) {
        let source = segment.source, destination = segment.destination
        let sourceFirst =
            (source.high, source.low, segment.sourcePort) <= (destination.high, destination.low, segment.destinationPort)
        fromA = sourceFirst
        let (a, aPort, b, bPort) =
            sourceFirst
            ? (source, segment.sourcePort, destination, segment.destinationPort)
            : (destination, segment.destinationPort, source, segment.sourcePort)
        aHigh = a.high
        aLow = a.low
        bHigh = b.high
        bLow = b.low
        portsAndFamily = UInt64(aPort) << 32 | UInt64(bPort) << 16 | (source.isIPv6 ? 1 : 0)
    }

    var isIPv6: Bool { portsAndFamily & 1 == 1 }
    var a: SocketAddress { endpoint(high: aHigh, low: aLow, port: UInt16(truncatingIfNeeded: portsAndFamily >> 32)) }
    var b: SocketAddress { endpoint(high: bHigh, low: bLow, port: UInt16(truncatingIfNeeded: portsAndFamily >> 16)) }

    private func endpoint(high: UInt64, low: UInt64, port: UInt16) -> SocketAddress {
        let address = isIPv6 ? IPAddress(ipv6High: high, low: low) : IPAddress(ipv4: UInt32(truncatingIfNeeded: low))
        return SocketAddress(address: address, port: port)
    }

    /// A well-mixed 64-bit hash (the same mix as the C yardstick in `shared/bench`).
    @inlinable
    var fastHash: UInt64 {
        var h: UInt64 = 0x243f_6a88_85a3_08d3
        @inline(__always) func mix(_ word: UInt64) {
            h = (h ^ word) &* 0x9e37_79b9_7f4a_7c15
            h ^= h >> 29
        }
        mix(aHigh)
        mix(aLow)
        mix(bHigh)
        mix(bLow)
        mix(portsAndFamily)
        return h
    }
}

/// A segment's flow key, direction and hash, computed once per packet and carried from the
/// prefetch stages to the lookup.
struct FlowLookup: Sendable {
    var key: FlowKey
    var fromA: Bool
    var hash: UInt64

    @inline(__always)
    init(_ segment: TCPSegment) {
        var fromA = true
        key = FlowKey(segment, fromA: &fromA)
        self.fromA = fromA
        hash = key.fastHash
    }

    /// The lookup of `segment`, whose tuple's hash is known already (handed over with it).
    @inline(__always)
    init(_ segment: TCPSegment, hash: UInt64) {
        var fromA = true
        key = FlowKey(segment, fromA: &fromA)
        self.fromA = fromA
        self.hash = hash
    }
}
