#if canImport(Glibc)
import Glibc
import TeardownIO
#endif

/// A loopback address (127.0.0.1 or ::1) and port as a `sockaddr_storage`, prepared before any
/// fork so that a child process only has to call `socket`, `connect`, `send` and `_exit`.
public struct LoopbackAddress: Sendable {
    public let ipv6: Bool
    public let port: UInt16
    var storage = sockaddr_storage()

    var family: Int32 { ipv6 ? AF_INET6 : AF_INET }
    var length: socklen_t {
        socklen_t(ipv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }

    init(ipv6: Bool, port: UInt16) {
        self.ipv6 = ipv6
        self.port = port
        withUnsafeMutableBytes(of: &storage) { raw in
            if ipv6 {
                var address = sockaddr_in6()
                address.sin6_family = sa_family_t(AF_INET6)
                address.sin6_port = port.bigEndian
                address.sin6_addr = in6addr_loopback
                raw.storeBytes(of: address, as: sockaddr_in6.self)
            } else {
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = port.bigEndian
                address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
                raw.storeBytes(of: address, as: sockaddr_in.self)
            }
        }
    }

    /// `connect(2)` on `descriptor`; returns 0 or -1 with errno set.
    func connect(_ descriptor: Int32) -> Int32 {
        var copy = storage
        return withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, length) }
        }
    }

    /// `bind(2)` on `descriptor`.
    func bind(_ descriptor: Int32) -> Int32 {
        var copy = storage
        return withUnsafePointer(to: &copy) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, length) }
        }
    }

    /// The text form, `127.0.0.1` or `::1`.
    public var host: String { ipv6 ? "::1" : "127.0.0.1" }
}

/// The server end of a scenario: a socket bound to a loopback port chosen by the kernel (port 0),
/// listening unless the scenario needs a port where nobody listens.
public final class Listener: @unchecked Sendable {
    public let socket: Socket
    public let address: LoopbackAddress

    /// Binds to port 0 on 127.0.0.1 (or ::1) and reads the port back; listens when `listen` is set.
    public init(ipv6: Bool, listen: Bool) throws(Errno) {
        let family = ipv6 ? AF_INET6 : AF_INET
        let socket = try Socket.tcp(family: family)
        self.socket = socket
        var yes: Int32 = 1
        setsockopt(socket.descriptor, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let any = LoopbackAddress(ipv6: ipv6, port: 0)
        guard any.bind(socket.descriptor) == 0 else { throw .current }
        if listen { guard Glibc.listen(socket.descriptor, 16) == 0 else { throw .current } }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket.descriptor, $0, &length) }
        }
        guard got == 0 else { throw .current }
        let port = withUnsafeBytes(of: &storage) { raw in
            ipv6 ? UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
                : UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
        }
        address = LoopbackAddress(ipv6: ipv6, port: port)
    }

    /// Accepts one connection (waiting at most `milliseconds`).
    public func accept(milliseconds: Int32 = 5000) throws(Errno) -> Socket {
        guard socket.waitReadable(milliseconds: milliseconds) else { throw Errno(ETIMEDOUT) }
        // Closed on exec, as every scenario socket (``Socket/tcp(family:)``).
        let fd = acceptClosedOnExec(socket.descriptor)
        guard fd >= 0 else { throw .current }
        return Socket(descriptor: fd)
    }

    /// A new client socket connected to this listener. A failure is recorded on the socket
    /// (`connect: ECONNREFUSED`) and the socket is returned anyway, so scenarios report it.
    public func connect() throws(Errno) -> Socket {
        let client = try Socket.tcp(family: address.family)
        if address.connect(client.descriptor) != 0 { client.note("connect", .current) }
        return client
    }
}
