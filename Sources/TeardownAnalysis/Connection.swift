import TeardownWire

/// One analysed TCP connection: how it ended, who closed and who reset, and what was lost
/// (contract §§2–4). This is the typed result that reports print and test suites assert on.
public struct Connection: Sendable, Hashable {
    /// 1-based, in order of each connection's first packet.
    public var id: Int
    public var client: SocketAddress
    public var server: SocketAddress
    public var verdict: Verdict
    /// For `half-closed`: whether the second FIN was seen too. `true` for `graceful`.
    public var completed: Bool
    public var firstCloser: FirstCloser?
    public var resetBy: Side?
    /// No SYN was captured, so the start of the connection is missing (contract 1.2).
    public var partial: Bool
    /// Payload bytes sent by each side, each byte once.
    public var bytes: PerSide<Int64>
    /// New payload bytes sent by the other side after the first FIN.
    public var bytesAfterFirstFin: Int64
    /// Payload bytes each side sent that its peer never acknowledged (contract 3.1).
    public var lostBytes: PerSide<Int64>
    public var packets: Int
    public var firstSeen: Timestamp
    public var lastSeen: Timestamp
    public var notes: [Note]
    /// What the capture did not show and the acknowledgements prove (contract 1.6); nil when no
    /// packet is missing.
    public var notCaptured: NotCaptured?
    /// With a capture read as pieces (`--continuous`, contract 1.6): the pieces its packets came
    /// from, in time order; empty otherwise.
    public var files: [String] = []
    /// When each side's first FIN was captured.
    public var finTimes: PerSide<Timestamp?> = PerSide(client: nil, server: nil)
    /// Why the reset was sent, for `abortive` and `refused` (contract 2.5); nil otherwise.
    public var cause: Cause?
    /// Each side's TCP states through the connection (contract 2.6).
    public var states = ConnectionStates(client: StateSequence(), server: StateSequence(), source: .wire)
    /// What Zeek logs for these packets, with the client as Zeek's originator: one row, or several
    /// where Zeek cuts the connection (see ``ZeekRecord``); the last row is the one that ended it.
    /// Empty when the analysis did not track it (``AnalysisOptions/tracksZeek``).
    public var zeekRecords: [ZeekRecord] = []

    /// Zeek's `conn_state` of the last row (contract 4.1); nil when not tracked.
    public var zeekState: ZeekConnState? { zeekRecords.last?.state }
    /// Zeek's `history` of the last row: upper case for the client; `^` first when that row's first
    /// packet came from the server. Nil when not tracked.
    public var history: String? { zeekRecords.last?.history }

    public init(
        id: Int, client: SocketAddress, server: SocketAddress, verdict: Verdict, completed: Bool,
        firstCloser: FirstCloser?, resetBy: Side?, partial: Bool, bytes: PerSide<Int64>,
        bytesAfterFirstFin: Int64, lostBytes: PerSide<Int64>, packets: Int,
        firstSeen: Timestamp, lastSeen: Timestamp, notes: [Note]
    ) {
        self.id = id
        self.client = client
        self.server = server
        self.verdict = verdict
        self.completed = completed
        self.firstCloser = firstCloser
        self.resetBy = resetBy
        self.partial = partial
        self.bytes = bytes
        self.bytesAfterFirstFin = bytesAfterFirstFin
        self.lostBytes = lostBytes
        self.packets = packets
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.notes = notes
    }

    /// Total payload bytes lost, both sides.
    public var totalLostBytes: Int64 { lostBytes.client + lostBytes.server }
}

/// Packets a capture did not show, as far as the acknowledgements prove them (contract 1.6, note
/// `packets_missing`).
public struct NotCaptured: Sendable, Hashable {
    /// Payload bytes each side sent that no captured packet carried.
    public var bytes: PerSide<Int64>
    /// The sides whose FIN was not captured but is inferred (the verdict counts it).
    public var inferredFIN: [Side]
    /// What was inferred, in words.
    public var text: String

    public init(bytes: PerSide<Int64>, inferredFIN: [Side], text: String) {
        self.bytes = bytes
        self.inferredFIN = inferredFIN
        self.text = text
    }
}
