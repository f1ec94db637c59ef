/// Why a reset was sent (contract 2.5), as a stable code, where that knowledge came from and how
/// sure it is.
public struct Cause: Sendable, Hashable {
    /// The contract's cause codes.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// Data reached a socket that was closed: close() while the peer was still sending.
        case dataAfterClose = "data_after_close"
        /// close() with received data never read (RFC 2525 §2.17).
        case closeWithUnreadData = "close_with_unread_data"
        /// SO_LINGER {1, 0}, then close().
        case lingerZero = "linger_zero"
        /// TCP_LINGER2 or the FIN_WAIT_2 timer.
        case finWait2Timeout = "fin_wait2_timeout"
        /// The socket was killed from outside (`ss -K`).
        case socketDestroyed = "socket_destroyed"
        /// A segment reached a socket in TIME_WAIT.
        case timeWaitReply = "time_wait_reply"
        case keepaliveTimeout = "keepalive_timeout"
        case memoryPressure = "memory_pressure"
        /// Nothing listened (refused).
        case noListener = "no_listener"
        /// No TCP stack of the capturing host sent it: a firewall, a proxy, another host.
        case foreignReset = "foreign_reset"
        case unknown

        public var description: String { rawValue }
    }

    /// Where the cause comes from: the capturing host's kernel, or the segments.
    public enum Source: String, Sendable, Hashable { case kernel, wire }

    public enum Certainty: String, Sendable, Hashable { case certain, likely, suspected }

    public var code: Code
    public var source: Source
    public var certainty: Certainty
    /// The kernel's own name for its reason (`TCP_ABORT_ON_CLOSE`), when the kernel reported it.
    public var kernelReason: String?
    /// The cause in words.
    public var text: String

    public init(code: Code, source: Source, certainty: Certainty, kernelReason: String? = nil, text: String) {
        self.code = code
        self.source = source
        self.certainty = certainty
        self.kernelReason = kernelReason
        self.text = text
    }
}
