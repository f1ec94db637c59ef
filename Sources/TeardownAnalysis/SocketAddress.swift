import TeardownWire

/// An IP address and TCP port.
public struct SocketAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    public static func < (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        (lhs.address, lhs.port) < (rhs.address, rhs.port)
    }

    /// `127.0.0.1:45170`, or `[::1]:8080` for IPv6 (contract 4.1).
    public var description: String {
        address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}
