#if canImport(Glibc)
import Glibc
#endif
import TeardownIO

/// A TCP socket on the loopback interface with the counters a scenario reports: bytes written and
/// read by the application, and the errors its calls returned.
///
/// Used by one thread at a time (handed over at thread start), hence `@unchecked Sendable`.
public final class Socket: @unchecked Sendable {
    public private(set) var descriptor: Int32
    public private(set) var bytesWritten = 0
    public private(set) var bytesRead = 0
    /// Errors the application saw, as `call: NAME` (`send: EPIPE`).
    public private(set) var errors: [String] = []

    init(descriptor: Int32) { self.descriptor = descriptor }

    /// A new TCP socket of `family` (`AF_INET` or `AF_INET6`), closed on exec: a program another
    /// thread starts meanwhile must not hold a copy, or close() would send no FIN until it exits.
    static func tcp(family: Int32) throws(Errno) -> Socket {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .current }
        return Socket(descriptor: fd)
    }

    deinit { close() }

    /// Closes the descriptor (once). With unread received data or `SO_LINGER {1, 0}` the kernel
    /// resets instead of sending a FIN.
    public func close() {
        if descriptor >= 0 {
            _ = Glibc.close(descriptor)
            descriptor = -1
        }
    }

    func note(_ call: String, _ error: Errno) { errors.append("\(call): \(error.name)") }

    /// Sends all of `bytes` (MSG_NOSIGNAL: EPIPE instead of SIGPIPE). Returns false on error.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                valueOrErrno { Glibc.send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL)) }
            }
            switch result {
            case .success(let sent):
                offset += sent
                bytesWritten += sent
            case .failure(let error):
                note("send", error)
                return false
            }
        }
        return true
    }

    /// Sends the UTF-8 bytes of `text`.
    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads up to `count` bytes; returns them (empty at EOF) or `nil` on error.
    public func receive(upTo count: Int = 65536) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        let result = buffer.withUnsafeMutableBytes { raw in
            valueOrErrno { recv(descriptor, raw.baseAddress!, count, 0) }
        }
        switch result {
        case .success(let got):
            bytesRead += got
            return Array(buffer.prefix(got))
        case .failure(let error):
            note("recv", error)
            return nil
        }
    }

    /// Reads exactly `count` bytes unless EOF or an error comes first.
    @discardableResult
    public func receive(exactly count: Int) -> [UInt8] {
        var data: [UInt8] = []
        while data.count < count {
            guard let chunk = receive(upTo: count - data.count), !chunk.isEmpty else { break }
            data += chunk
        }
        return data
    }

    /// Reads until EOF or an error; returns the number of bytes read.
    @discardableResult
    public func receiveUntilEOF() -> Int {
        var total = 0
        while let chunk = receive(), !chunk.isEmpty { total += chunk.count }
        return total
    }

    /// `shutdown(2)`: `SHUT_WR` sends a FIN and keeps reading; `SHUT_RD` sends nothing.
    public func shutdown(_ how: Int32) {
        if Glibc.shutdown(descriptor, how) != 0 { note("shutdown", .current) }
    }

    /// `SO_LINGER`: with `seconds == 0` close() resets; otherwise it blocks until data is acknowledged.
    public func setLinger(seconds: Int32) {
        var value = linger(l_onoff: 1, l_linger: seconds)
        if setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size)) != 0 {
            note("setsockopt", .current)
        }
    }

    /// `SO_KEEPALIVE` with `TCP_KEEPIDLE` and `TCP_KEEPINTVL`: after `idle` seconds without a
    /// packet the kernel sends a keepalive probe, then one every `interval` seconds while unanswered.
    public func setKeepalive(idle: Int32, interval: Int32) {
        for (level, name, value) in [
            (SOL_SOCKET, SO_KEEPALIVE, Int32(1)), (Int32(IPPROTO_TCP), TCP_KEEPIDLE, idle),
            (Int32(IPPROTO_TCP), TCP_KEEPINTVL, interval),
        ] {
            var value = value
            if setsockopt(descriptor, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
                note("setsockopt", .current)
            }
        }
    }

    /// `TCP_LINGER2`: how long an orphaned socket may wait in FIN_WAIT_2; -1 resets at once.
    public func setFinWait2Timeout(seconds: Int32) {
        var value = seconds
        if setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_LINGER2, &value, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            note("setsockopt", .current)
        }
    }

    /// The kernel's TCP state of the socket (`TCP_INFO`'s first byte: 1 ESTABLISHED, 5 FIN_WAIT2, ...).
    public var kernelState: UInt8 {
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        guard getsockopt(descriptor, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else { return 0 }
        return info[0]
    }

    /// The socket's own port (getsockname).
    public var localPort: UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard got == 0 else { return 0 }
        return withUnsafeBytes(of: &storage) { raw in
            Int32(raw.load(as: sa_family_t.self)) == AF_INET6
                ? UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
                : UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
        }
    }

    /// Bytes received by the kernel (and acknowledged) that the application has not read (FIONREAD).
    public var unreadBytes: Int {
        var count: Int32 = 0
        return ioctl(descriptor, UInt(FIONREAD), &count) == 0 ? Int(count) : 0
    }

    /// Bytes sent but not yet acknowledged by the peer (TIOCOUTQ).
    public var unacknowledgedBytes: Int {
        var count: Int32 = 0
        return ioctl(descriptor, UInt(TIOCOUTQ), &count) == 0 ? Int(count) : 0
    }

    /// Waits until the socket is readable or `milliseconds` pass.
    @discardableResult
    public func waitReadable(milliseconds: Int32 = 2000) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    /// Spins (yielding) until `condition` holds or `milliseconds` pass; returns whether it held.
    /// The default allows for a loaded CI machine: these conditions normally hold within microseconds.
    @discardableResult
    public static func waitUntil(milliseconds: Int = 10_000, _ condition: () -> Bool) -> Bool {
        let deadline = Clock.monotonicNanoseconds() + Int64(milliseconds) * 1_000_000
        while !condition() {
            if Clock.monotonicNanoseconds() > deadline { return false }
            usleep(100)
        }
        return true
    }
}

/// Clock readings for scenario timing.
enum Clock {
    static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Wall-clock time, comparable with capture timestamps.
    static func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// A one-shot signal between threads or processes: a pipe that is written once and read once.
public final class Event: @unchecked Sendable {
    private var fds: [Int32] = [-1, -1]

    public init() {
        _ = fds.withUnsafeMutableBufferPointer { pipe($0.baseAddress!) }
        // Close-on-exec: a program spawned meanwhile must not hold it (fork-shared's child is
        // forked, not exec'd, and keeps it).
        for fd in fds where fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }

    deinit {
        for fd in fds where fd >= 0 { Glibc.close(fd) }
    }

    /// Marks the event as happened.
    public func signal() {
        var byte: UInt8 = 1
        _ = write(fds[1], &byte, 1)
    }

    /// Waits for ``signal()`` at most `milliseconds`; returns whether it came. A signal handled
    /// meanwhile (the test process's children end) does not end the wait: returning early let a
    /// scenario's server close before its client, once in a while.
    @discardableResult
    public func wait(milliseconds: Int32 = 5000) -> Bool {
        let deadline = Clock.monotonicNanoseconds() + Int64(milliseconds) * 1_000_000
        var entry = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        while true {
            let left = Int32(clamping: max(0, (deadline - Clock.monotonicNanoseconds()) / 1_000_000))
            let ready = poll(&entry, 1, left)
            if ready > 0 { break }
            if ready == 0 || errno != EINTR { return false }
        }
        var byte: UInt8 = 0
        return valueOrErrno({ read(fds[0], &byte, 1) }) == .success(1)
    }
}
