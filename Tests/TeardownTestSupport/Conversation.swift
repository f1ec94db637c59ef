import TeardownAnalysis
import TeardownWire

/// Builds a TCP conversation segment by segment, the way a test would draw it on a ladder:
/// `c.handshake(); c.data(.client, 5); c.fin(.client); ...`. Each side acknowledges everything
/// its peer sent so far unless told otherwise, and sequence numbers advance by payload, SYN and FIN.
public struct Conversation {
    public var clientAddress = SocketAddress(address: IPAddress("10.0.0.1")!, port: 40000)
    public var serverAddress = SocketAddress(address: IPAddress("10.0.0.2")!, port: 8080)
    /// Next sequence number each side will send.
    public var next: PerSide<UInt32>
    /// What each side acknowledges (the peer's next sequence number as it last saw it).
    public var acknowledges: PerSide<UInt32>
    public private(set) var segments: [TCPSegment] = []
    public var time: Int64 = 1_700_000_000_000_000_000
    private var identification: PerSide<UInt16> = PerSide(client: 1, server: 1)

    public init(clientISN: UInt32 = 1000, serverISN: UInt32 = 5000) {
        next = PerSide(client: clientISN, server: serverISN)
        acknowledges = PerSide(client: serverISN, server: clientISN)
    }

    /// Appends a segment from `side`; returns it. `ack` overrides the acknowledgement number;
    /// `stale` leaves the side's acknowledgement where it was (it has not seen the peer's latest).
    @discardableResult
    public mutating func send(
        _ side: Side, _ flags: TCPFlags, payload: UInt32 = 0, seq: UInt32? = nil, ack: UInt32? = nil,
        stale: Bool = false, window: UInt16 = 65535, options: TCPOptions = TCPOptions()
    ) -> TCPSegment {
        if !stale { acknowledges[side] = next[side.peer] }
        let sequence = seq ?? next[side]
        let (source, destination) = side == .client ? (clientAddress, serverAddress) : (serverAddress, clientAddress)
        time += 1_000_000
        identification[side] &+= 1
        let segment = TCPSegment(
            timestamp: Timestamp(nanoseconds: time), source: source.address, destination: destination.address,
            sourcePort: source.port, destinationPort: destination.port, sequenceNumber: sequence,
            acknowledgmentNumber: flags.contains(.ack) ? (ack ?? acknowledges[side]) : 0, flags: flags, window: window,
            payloadLength: payload, options: options, ipIdentification: identification[side])
        if seq == nil {
            next[side] &+= payload + (flags.contains(.syn) ? 1 : 0) + (flags.contains(.fin) ? 1 : 0)
        }
        segments.append(segment)
        return segment
    }

    public mutating func syn() { send(.client, .syn) }
    public mutating func synAck() { send(.server, [.syn, .ack]) }
    /// SYN, SYN-ACK, ACK.
    public mutating func handshake() {
        syn()
        synAck()
        ack(.client)
    }
    public mutating func ack(_ side: Side) { send(side, .ack) }
    public mutating func data(_ side: Side, _ bytes: UInt32) { send(side, [.psh, .ack], payload: bytes) }
    public mutating func fin(_ side: Side, payload: UInt32 = 0, stale: Bool = false) {
        send(side, [.fin, .ack], payload: payload, stale: stale)
    }
    /// RST+ACK by default; `withAck: false` for a bare RST (sequence = the side's next).
    public mutating func rst(_ side: Side, withAck: Bool = true, seq: UInt32? = nil) {
        send(side, withAck ? [.rst, .ack] : .rst, seq: seq ?? next[side])
    }
    /// Appends `segment` as it is (segments taken from another conversation).
    public mutating func append(_ segment: TCPSegment) { segments.append(segment) }

    /// Appends an exact copy of segment `index` (a duplicate in the capture).
    public mutating func duplicate(_ index: Int) { segments.append(segments[index]) }
    /// Appends segment `index` again with a new timestamp and IP identification (a retransmission).
    public mutating func retransmit(_ index: Int) {
        var copy = segments[index]
        time += 1_000_000
        copy.timestamp = Timestamp(nanoseconds: time)
        copy.ipIdentification &+= 1000
        segments.append(copy)
    }

    /// A table fed these segments, in this order.
    public func tracker(order: [Int]? = nil, limits: TrackingLimits = TrackingLimits()) -> ConnectionTracker {
        var table = ConnectionTracker(limits: limits)
        for (number, index) in (order ?? Array(segments.indices)).enumerated() {
            table.ingest(segments[index], packetNumber: number + 1)
        }
        return table
    }

    /// The connections a table builds from these segments, in this order.
    public func connections(order: [Int]? = nil, limits: TrackingLimits = TrackingLimits()) -> [Connection] {
        tracker(order: order, limits: limits).connections()
    }

    /// The single connection; fails the caller's expectations loudly when there is not exactly one.
    public func connection() -> Connection {
        let all = connections()
        precondition(all.count == 1, "expected one connection, got \(all.count)")
        return all[0]
    }

    /// The segments as a pcap file.
    public func pcap() -> [UInt8] {
        var writer = PcapWriter()
        for segment in segments { writer.append(segment) }
        return writer.bytes
    }
}
