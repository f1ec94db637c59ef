import TeardownIO
import TeardownAnalysis
import TeardownCapture

extension TeardownExpectation {
    /// A scenario's expectation: `verdict`, the states each side must end in (contract 2.6; empty:
    /// none, the server of a refused connection), and optionally whether it completed, who reset,
    /// the least server bytes lost and the cause of the reset (2.5: the kernel's; `wireCause` when
    /// only the wire's is known and it cannot tell `cause` from another).
    static func scenario(
        _ verdict: Verdict, completed: Bool? = nil, resetBy: Side? = nil, minimumServerBytesLost: Int64 = 0,
        cause: Cause.Code? = nil, wireCause: Cause.Code? = nil, client: Set<TCPState>, server: Set<TCPState>
    ) -> TeardownExpectation {
        var expectation = TeardownExpectation(
            allowed: [verdict], completed: completed, resetBy: resetBy,
            minimumLostBytes: PerSide(client: 0, server: minimumServerBytesLost))
        expectation.finalStates = PerSide(client: client, server: server)
        if let cause { expectation.causes = [cause] }
        if let wireCause { expectation.causesFromWire = [wireCause] }
        return expectation
    }
}

/// What the applications on both ends saw: the view the wire cannot give.
public struct ApplicationView: Sendable, Hashable {
    public var clientWrote = 0, clientRead = 0
    public var serverWrote = 0, serverRead = 0
    /// Errors each side's calls returned (`send: EPIPE`).
    public var clientErrors: [String] = []
    public var serverErrors: [String] = []
    /// Bytes the kernel received and acknowledged that the application never read, when it closed.
    public var clientUnread = 0, serverUnread = 0
    /// Scenario-specific observations (timings, which close variant happened).
    public var remarks: [String] = []
    /// Wall-clock instants (ns since the epoch) of application events, to compare with the capture.
    public var markers: [String: Int64] = [:]

    public init() {}

    /// The view of a scenario whose server ran on `server`: waits for it, then records both sockets.
    init(client: Socket, server: ServerThread) throws(Errno) {
        record(client: client, server: try server.finish())
    }

    mutating func record(client: Socket, server: Socket?) {
        clientWrote = client.bytesWritten
        clientRead = client.bytesRead
        clientErrors = client.errors
        if let server {
            serverWrote = server.bytesWritten
            serverRead = server.bytesRead
            serverErrors = server.errors
        }
    }
}

/// The sockets and addresses a scenario body works with.
public struct ScenarioContext: Sendable {
    public let listener: Listener
    /// Sockets to close only after the capture stopped (a connection left open on purpose).
    public let leftOpen: SocketBin
}

/// Holds sockets until the runner closes them after the capture.
public final class SocketBin: @unchecked Sendable {
    private(set) var sockets: [Socket] = []
    public func keep(_ socket: Socket) { sockets.append(socket) }
    func closeAll() {
        for socket in sockets { socket.close() }
        sockets.removeAll()
    }
}

/// A built-in teardown scenario: a real client and server on 127.0.0.1 or ::1.
public struct Scenario: Sendable {
    public let name: String
    /// What the programs do, in one line.
    public let summary: String
    public let expectation: TeardownExpectation
    /// Whether the server listens (false: the port is bound but nobody listens).
    let listens: Bool
    /// Milliseconds without packets before the capture stops.
    let quietPeriod: Int
    /// Whether it runs in a private network namespace of its own (a firewall rule of its own).
    let isolated: Bool
    let body: @Sendable (ScenarioContext) throws(Errno) -> ApplicationView

    init(
        _ name: String, _ summary: String, expect expectation: TeardownExpectation, listens: Bool = true,
        isolated: Bool = false, quietPeriod: Int = LiveCapture.defaultQuietPeriod,
        body: @escaping @Sendable (ScenarioContext) throws(Errno) -> ApplicationView
    ) {
        self.name = name
        self.summary = summary
        self.expectation = expectation
        self.listens = listens
        self.isolated = isolated
        self.quietPeriod = quietPeriod
        self.body = body
    }
}
