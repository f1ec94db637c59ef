import TeardownAnalysis
import TeardownWire

/// A connection's teardown told step by step: the ladder of its segments, what the teardown
/// segments mean, the likely causes, and the verdict in one sentence. Renderers draw it as text
/// (``LadderText``) or SVG (``LadderSVG``).
public struct Explanation: Sendable {
    public var connection: Connection
    public var steps: [LadderStep]
    public var hints: [CauseHint]
    /// The verdict and its evidence in one sentence, naming the first closer, the resetter and the
    /// lost bytes.
    public var summary: String
    /// Each side's states in one line (`client: SYN_SENT → ESTABLISHED → ...`), and what they mean
    /// when the capture ended: who waits in TIME_WAIT, who was left in CLOSE_WAIT or FIN_WAIT_2.
    public var stateLines: [String] = []
}

/// One arrow of the ladder: a segment, or a run of ordinary data segments folded into one line.
public struct LadderStep: Sendable, Hashable {
    /// `both`: a folded run with payload in both directions.
    public enum Direction: Sendable, Hashable { case toServer, toClient, both }

    /// What kind of arrow it is, for colours: a reset, a FIN, a SYN, a folded run, or plain.
    public enum Kind: Sendable, Hashable { case reset, fin, syn, folded, plain }

    /// Nanoseconds since the connection's first packet (negative in a capture out of time order).
    public var time: Int64
    public var direction: Direction
    /// `FIN,ACK seq 11 ack 10`, or `7 segments` for a folded run (its note says what they carried).
    public var label: String
    public var kind: Kind
    /// What the segment means for the teardown, in words (empty for most segments).
    public var notes: [String]
    /// The states each side entered with this segment (contract 2.6), `A→B` when several; `nil`
    /// where the side's state did not change.
    public var states = PerSide<String?>(client: nil, server: nil)
}

/// A likely cause of the teardown read from the wire's shapes, with how sure it is.
public struct CauseHint: Sendable, Hashable {
    public enum Confidence: String, Sendable, Hashable {
        /// The packets show it directly.
        case certain
        /// The usual cause of this shape on Linux; another program could produce it too.
        case likely
        /// Consistent with the packets, which cannot show it (for example unread data).
        case suspected
        /// The kernel that sent the reset reported why, while the capture ran.
        case confirmedByKernel = "confirmed by the kernel"
    }

    public var confidence: Confidence
    public var text: String
}
