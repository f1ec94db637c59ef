/// One decoded TCP segment: the copy of header fields the tracker consumes. It holds no packet bytes,
/// so nothing downstream keeps the capture buffer alive.
public struct TCPSegment: Sendable, Hashable {
    public var timestamp: Timestamp
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var flags: TCPFlags
    public var window: UInt16
    /// Payload bytes, from the IP lengths (never from the captured length: contract 1.3).
    public var payloadLength: UInt32
    public var options: TCPOptions
    /// The IPv4 identification field (0 for IPv6): tells a packet captured twice from a duplicate ACK.
    public var ipIdentification: UInt16
    /// Whether the capture holds all of the payload (false when the snap length cut it off).
    public var payloadCaptured: Bool

    @inlinable
    public init(
        timestamp: Timestamp, source: IPAddress, destination: IPAddress,
        sourcePort: UInt16, destinationPort: UInt16,
        sequenceNumber: UInt32, acknowledgmentNumber: UInt32,
        flags: TCPFlags, window: UInt16 = 65535, payloadLength: UInt32 = 0, options: TCPOptions = TCPOptions(),
        ipIdentification: UInt16 = 0, payloadCaptured: Bool = true
    ) {
        self.timestamp = timestamp
        self.source = source
        self.destination = destination
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.payloadLength = payloadLength
        self.options = options
        self.ipIdentification = ipIdentification
        self.payloadCaptured = payloadCaptured
    }
}
