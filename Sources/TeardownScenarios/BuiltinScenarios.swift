
import Synchronization
import TeardownIO
import TeardownAnalysis
import TeardownCapture

#if canImport(Glibc)
import Glibc
#endif

/// The built-in scenarios, each a seed behaviour of the kernel's teardown (see the README's table).
extension Scenario {
    /// Every built-in scenario, in the order `teardown run --all` runs them.
    public static let all: [Scenario] = [
        graceful, halfClose, shutdown, close, closeLateReply, lingerZero, unreadClose, lingerGraceful, halfOpen,
        refused, exitWithoutClose, shutRead, forkShared, simultaneous, finWait2Timeout, socketDestroy, firewallReset,
        keepalive,
    ]

    /// The scenario called `name`, if any.
    public static func named(_ name: String) -> Scenario? { all.first { $0.name == name } }

    static let graceful = Scenario(
        "graceful", "request, response, client closes after the response, server closes after reading EOF",
        expect: .scenario(.graceful, client: [.timeWait], server: [.closed])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.receive(exactly: 5)
            socket.send("world")
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.send("hello")
        client.receive(exactly: 5)
        client.close()
        return try ApplicationView(client: client, server: server)
    }

    static let keepalive = Scenario(
        "keepalive",
        "client sends \"hello\" and goes quiet with SO_KEEPALIVE (probe after 1 s idle): the kernel's probe sits one below the next sequence number and is answered; then both close",
        expect: .scenario(.graceful, client: [.timeWait], server: [.closed])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.receive(exactly: 5)
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.setKeepalive(idle: 1, interval: 1)
        client.send("hello")
        // One probe about 1 s after the last packet, answered at once; close before the next.
        usleep(1_600_000)
        client.close()
        return try ApplicationView(client: client, server: server)
    }

    static let halfClose = Scenario(
        "half-close",
        "server sends a 100 000-byte file and shutdown(SHUT_WR); client reads to EOF, sends \"Thank you\", closes; server reads it, closes",
        expect: .scenario(.halfClosed, completed: true, client: [.closed], server: [.timeWait])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.send([UInt8](repeating: 0x61, count: 100_000))
            // Wait until the file is acknowledged, so that the FIN follows the data deterministically.
            Socket.waitUntil { socket.unacknowledgedBytes == 0 }
            socket.shutdown(Int32(SHUT_WR))
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.receiveUntilEOF()
        client.send("Thank you")
        client.close()
        return try ApplicationView(client: client, server: server)
    }

    static let shutdown = Scenario(
        "shutdown",
        "client sends \"data1\", \"data2\", shutdown(SHUT_WR); server answers \"Hi, data1\", \"Hi, data2\", reads EOF, closes",
        expect: .scenario(.halfClosed, completed: true, client: [.timeWait], server: [.closed])
    ) { context throws(Errno) in
        let shutDown = Event()
        let server = ServerThread(context.listener) { socket in
            // Answer only after the client's FIN, so the answers are data after the first FIN
            // however the threads are scheduled.
            shutDown.wait()
            for _ in 0..<2 {
                let message = socket.receive(exactly: 5)
                socket.send(Array("Hi, ".utf8) + message)
            }
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.send("data1")
        client.send("data2")
        client.shutdown(Int32(SHUT_WR))
        shutDown.signal()
        client.receiveUntilEOF()
        client.close()
        return try ApplicationView(client: client, server: server)
    }

    static let close = Scenario(
        "close",
        "as shutdown, but the client calls close() before the answers: the first answer is met with RST, the next send fails with EPIPE",
        expect: .scenario(.abortive, resetBy: .client, minimumServerBytesLost: 9, cause: .dataAfterClose, client: [.closed], server: [.closed])
    ) { context throws(Errno) in
        try clientClosesBeforeAnswers(context) { socket in
            socket.send("Hi, data1")
            socket.send("Hi, data2")
        }
    }

    static let closeLateReply = Scenario(
        "close-late-reply",
        "as close, but the server answers 100 ms after the client's close(): the client's socket is a TIME_WAIT stub by then, and the same reset on the wire has another reason in the kernel",
        expect: .scenario(
            .abortive, resetBy: .client, minimumServerBytesLost: 9, cause: .timeWaitReply, wireCause: .dataAfterClose, client: [.closed],
            server: [.closed])
    ) { context throws(Errno) in
        try clientClosesBeforeAnswers(context) { socket in
            // The FIN's delayed ACK (~40 ms) has gone, the orphaned client socket became a
            // FIN_WAIT_2 TIME_WAIT stub: the answer meets that.
            usleep(100_000)
            socket.send("Hi, data1")
        }
    }

    /// The client sends "data1" and "data2" and close()s; only then does the server `answer`,
    /// read to the end and close.
    private static func clientClosesBeforeAnswers(
        _ context: ScenarioContext, answer: @escaping @Sendable (Socket) -> Void
    ) throws(Errno) -> ApplicationView {
        let closed = Event()
        let server = ServerThread(context.listener) { socket in
            closed.wait()
            answer(socket)
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.send("data1")
        client.send("data2")
        client.close()
        closed.signal()
        return try ApplicationView(client: client, server: server)
    }

    static let finWait2Timeout = Scenario(
        "fin-wait2-timeout",
        "client shutdown(SHUT_WR) with TCP_LINGER2 = -1; once its FIN is acknowledged (FIN_WAIT_2) it close()s: the kernel resets instead of waiting for the server's FIN",
        expect: .scenario(.abortive, resetBy: .client, cause: .finWait2Timeout, wireCause: .unknown, client: [.closed], server: [.closed])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.receiveUntilEOF()
            // Closes only once the client's reset has closed its socket (TCP_INFO state 7,
            // CLOSE), read from the kernel itself: a FIN of the server's before the client's
            // close() would make the teardown graceful.
            Socket.waitUntil(milliseconds: 5000) { socket.kernelState == 7 }
            socket.close()
        }
        let client = try context.listener.connect()
        client.send("data")
        client.setFinWait2Timeout(seconds: -1)
        client.shutdown(Int32(SHUT_WR))
        // TCP_INFO state 5 is FIN_WAIT2: the server's (delayed) ACK of the FIN came.
        Socket.waitUntil(milliseconds: 2000) { client.kernelState == 5 }
        client.close()
        return try ApplicationView(client: client, server: server)
    }

    static let socketDestroy = Scenario(
        "socket-destroy",
        "an established client socket is killed from outside with `ss -K` (SOCK_DESTROY): its kernel resets the connection, the application sees ECONNABORTED",
        expect: .scenario(.abortive, resetBy: .client, cause: .socketDestroyed, wireCause: .lingerZero, client: [.closed], server: [.closed])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.receive(exactly: 4)
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.send("data")
        let port = client.localPort
        // ss -K destroys the socket (TCP_INFO state 7: CLOSE); asked again if it did not take.
        var status: Int32 = 127
        for _ in 0..<5 where client.kernelState != 7 {
            status = (try? ChildProcess(["sh", "-c", "ss -K sport = :\(port) >/dev/null 2>&1"]))?.wait() ?? 127
            if client.kernelState != 7 { usleep(20_000) }
        }
        client.receive(upTo: 16).map { _ in () }
        client.close()
        var application = try ApplicationView(client: client, server: server)
        if status != 0 { application.remarks.append("ss -K exited with status \(status)") }
        return application
    }

    static let firewallReset = Scenario(
        "firewall-reset",
        "in a private network namespace, an nftables rule rejects the client's data with a TCP reset: no TCP stack sent it, so the kernel reports no tcp_send_reset",
        expect: .scenario(.abortive, resetBy: .server, cause: .foreignReset, wireCause: .unknown, client: [.closed], server: [.established, .closed]),
        isolated: true
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            // Accepted and left open: the server never hears of the reset.
            context.leftOpen.keep(socket)
        }
        let client = try context.listener.connect()
        let serverSocket = try server.finish()
        let port = context.listener.address.port
        // Data to the server's port is answered by the firewall, in the server's name.
        for command in [
            ["nft", "add", "table", "inet", "teardown"],
            ["nft", "add", "chain", "inet", "teardown", "input", "{ type filter hook input priority 0; }"],
            ["nft", "add", "rule", "inet", "teardown", "input", "tcp", "dport", "\(port)", "tcp", "flags", "&", "psh", "==", "psh",
             "reject", "with", "tcp", "reset"],
        ] where NetworkNamespace.run(command) != 0 {
            throw Errno(EPERM)
        }
        client.send("data")
        client.receive(upTo: 16).map { _ in () }
        client.close()
        var view = ApplicationView()
        view.record(client: client, server: serverSocket)
        view.remarks.append("the firewall's reset reached the client; the server's socket never heard of it")
        return view
    }

    static let lingerZero = Scenario(
        "linger-zero", "client sends \"data\"; after the server read it, SO_LINGER {1, 0} and close(): a reset, not a FIN",
        expect: .scenario(.abortive, resetBy: .client, cause: .lingerZero, client: [.closed], server: [.closed])
    ) { context throws(Errno) in
        let serverRead = Event()
        let server = ServerThread(context.listener) { socket in
            socket.receive(exactly: 4)
            serverRead.signal()
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.send("data")
        serverRead.wait()
        client.setLinger(seconds: 0)
        client.close()
        return try ApplicationView(client: client, server: server)
    }

    static let unreadClose = Scenario(
        "unread-close", "server sends 11 bytes; the client close()s without reading them (RFC 2525 §2.17): a reset",
        expect: .scenario(.abortive, resetBy: .client, cause: .closeWithUnreadData, client: [.closed], server: [.closed])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.send("hello world")
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.waitReadable()
        return try closeWithUnreadData(client, bytes: 11, server: server)
    }

    /// Waits until `bytes` are in the client's receive queue, then closes it without reading them
    /// (the kernel resets) and records both programs' view.
    static func closeWithUnreadData(_ client: Socket, bytes: Int, server: ServerThread) throws(Errno) -> ApplicationView {
        // Closing before the data arrived would send a FIN, not the reset these scenarios are about.
        guard Socket.waitUntil({ client.unreadBytes >= bytes }) else { throw Errno(ETIMEDOUT) }
        var view = ApplicationView()
        view.clientUnread = client.unreadBytes
        client.close()
        view.record(client: client, server: try server.finish())
        return view
    }

    static let lingerGraceful = Scenario(
        "linger-graceful", "client sends 1000 bytes, SO_LINGER {1, 5}: close() blocks until the data is acknowledged",
        expect: .scenario(.graceful, client: [.timeWait], server: [.closed])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.send([UInt8](repeating: 0x62, count: 1000))
        client.setLinger(seconds: 5)
        let start = Clock.monotonicNanoseconds()
        client.close()
        var view = ApplicationView()
        view.remarks.append("close() returned after \(formatMilliseconds(Clock.monotonicNanoseconds() - start))")
        view.record(client: client, server: try server.finish())
        return view
    }

    static let halfOpen = Scenario(
        "half-open", "client shutdown(SHUT_WR); the server keeps the connection open past the end of the capture",
        expect: .scenario(.halfClosed, completed: false, client: [.finWait1, .finWait2], server: [.established, .closeWait])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.receiveUntilEOF()
            context.leftOpen.keep(socket)
        }
        let client = try context.listener.connect()
        client.send("request")
        client.shutdown(Int32(SHUT_WR))
        let serverSocket = try server.finish()
        context.leftOpen.keep(client)
        var view = ApplicationView()
        view.record(client: client, server: serverSocket)
        view.remarks.append("both sockets are closed only after the capture stopped")
        return view
    }

    static let refused = Scenario(
        "refused", "connect to a port where nobody listens: the SYN is answered with a reset",
        expect: .scenario(.refused, resetBy: .server, cause: .noListener, client: [.closed], server: []), listens: false
    ) { context throws(Errno) in
        let client = try context.listener.connect()
        client.close()
        var view = ApplicationView()
        view.record(client: client, server: nil)
        return view
    }

    static let exitWithoutClose = Scenario(
        "exit-without-close", "a child process connects, sends, and exits holding its socket: the kernel sends the FIN",
        expect: .scenario(.graceful, client: [.timeWait], server: [.closed])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.receiveUntilEOF()
            socket.close()
        }
        let address = context.listener.address
        let message = Array("bye from child".utf8)
        let child = fork()
        if child == 0 {
            // In the child only async-signal-safe calls: socket, connect, send, _exit.
            let fd = socket(address.family, Int32(SOCK_STREAM.rawValue), 0)
            if fd >= 0 && address.connect(fd) == 0 {
                _ = message.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            _exit(0)
        }
        guard child > 0 else { throw .current }
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let serverSocket = try server.finish()
        var view = ApplicationView()
        view.clientWrote = message.count
        view.serverRead = serverSocket?.bytesRead ?? 0
        view.serverWrote = serverSocket?.bytesWritten ?? 0
        view.serverErrors = serverSocket?.errors ?? []
        view.remarks.append("the client was a child process that exited without close()")
        return view
    }

    static let shutRead = Scenario(
        "shut-rd",
        "client shutdown(SHUT_RD) sends nothing; the server's later data is still acknowledged; close() with it unread resets",
        expect: .scenario(.abortive, resetBy: .client, cause: .closeWithUnreadData, client: [.closed], server: [.closed])
    ) { context throws(Errno) in
        let shutDown = Event()
        let server = ServerThread(context.listener) { socket in
            shutDown.wait()
            socket.send("hello client")
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.shutdown(Int32(SHUT_RD))
        shutDown.signal()
        // After SHUT_RD poll() always reports readable; FIONREAD tells when the data is there.
        return try closeWithUnreadData(client, bytes: 12, server: server)
    }

    static let forkShared = Scenario(
        "fork-shared",
        "a forked child holds a copy of the client socket: the parent's close() sends no FIN until the child exits 30 ms later",
        expect: .scenario(.graceful, client: [.timeWait], server: [.closed])
    ) { context throws(Errno) in
        let server = ServerThread(context.listener) { socket in
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        client.send("shared")
        let release = Event()
        let child = fork()
        if child == 0 {
            release.wait(milliseconds: 5000)
            _exit(0)
        }
        guard child > 0 else { throw .current }
        let closedAt = Clock.realtimeNanoseconds()
        client.close()
        usleep(30_000)
        let releasedAt = Clock.realtimeNanoseconds()
        release.signal()
        var status: Int32 = 0
        waitpid(child, &status, 0)
        var view = ApplicationView()
        view.record(client: client, server: try server.finish())
        view.remarks.append(
            "the parent's close() sent nothing; the child exited \(formatMilliseconds(releasedAt - closedAt)) later")
        view.markers["parentClose"] = closedAt
        return view
    }

    static let simultaneous = Scenario(
        "simultaneous",
        "both sides shutdown(SHUT_WR) at the same moment (threads pinned to two CPUs, spin barrier); on loopback the FINs rarely cross",
        expect: .scenario(.graceful, client: [.timeWait, .closed], server: [.closed, .timeWait])
    ) { context throws(Errno) in
        let arrived = Atomic<Int>(0)
        let cpus = availableProcessors
        @Sendable func rendezvous(cpu: Int) {
            if cpus > 1 { pinCurrentThread(to: cpu) }
            arrived.add(1, ordering: .acquiringAndReleasing)
            let deadline = Clock.monotonicNanoseconds() + 1_000_000_000
            while arrived.load(ordering: .acquiring) < 2 && Clock.monotonicNanoseconds() < deadline {}
        }
        let server = ServerThread(context.listener) { socket in
            rendezvous(cpu: 1)
            socket.shutdown(Int32(SHUT_WR))
            socket.receiveUntilEOF()
            socket.close()
        }
        let client = try context.listener.connect()
        rendezvous(cpu: 0)
        client.shutdown(Int32(SHUT_WR))
        client.receiveUntilEOF()
        client.close()
        return try ApplicationView(client: client, server: server)
    }
}

/// `12.3 ms`.
func formatMilliseconds(_ nanoseconds: Int64) -> String {
    let tenths = nanoseconds / 100_000
    return "\(tenths / 10).\(tenths % 10) ms"
}
