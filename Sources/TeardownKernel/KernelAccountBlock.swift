import Synchronization
import TeardownAnalysis
import TeardownWire

extension KernelEvent {
    /// The event as a line in the kernel's own `trace` format (what ``TraceLineParser`` reads).
    public var traceLine: String {
        let head = "\(command)-\(pid) [000] ..... \(String(format6: traceTime)): "
        switch kind {
        case .sendReset(let reason, let state, let active):
            return head + "tcp_send_reset: skbaddr=\(active ? "0000000000000000" : "0000000000000001") skaddr=0000000000000000 src=\(local) dest=\(remote) state=\(state) reason=\(reason)"
        case .receiveReset:
            return head + "tcp_receive_reset: " + addresses + " sock_cookie=0"
        case .stateChange(let old, let new):
            return head + "inet_sock_set_state: " + addresses.replacingFamily() + " oldstate=\(old) newstate=\(new)"
        case .destroy:
            return head + "tcp_destroy_sock: " + addresses + " sock_cookie=0"
        }
    }

    private var addresses: String {
        let ipv6 = local.address.isIPv6
        return "family=\(ipv6 ? "AF_INET6" : "AF_INET") sport=\(local.port) dport=\(remote.port) "
            + (ipv6
                ? "saddr=0.0.0.0 daddr=0.0.0.0 saddrv6=\(local.address) daddrv6=\(remote.address)"
                : "saddr=\(local.address) daddr=\(remote.address) saddrv6=::ffff:\(local.address) daddrv6=::ffff:\(remote.address)")
    }
}

extension String {
    /// `family=X` followed by `protocol=IPPROTO_TCP`, as `inet_sock_set_state` prints it.
    fileprivate func replacingFamily() -> String {
        guard let space = firstIndex(of: " ") else { return self }
        return String(self[..<space]) + " protocol=IPPROTO_TCP" + String(self[space...])
    }

    /// Seconds with six decimals, as the trace prints them.
    fileprivate init(format6 seconds: Double) {
        let micro = Int64((seconds * 1e6).rounded())
        let fraction = String(micro % 1_000_000)
        self = "\(micro / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}

extension KernelAccount {
    static let header = "teardown kernel account 1"

    /// The account as the data of pcapng custom blocks of teardown's, each holding at most
    /// `capacity` bytes of events (a reader takes blocks up to 16 MiB; a busy capture's account
    /// is larger). Each block is a header, the clock offset, whether the capture covered every
    /// stack, then its events in the kernel's own line format; there is always one.
    public func blocks(capacity: Int = 1 << 20) -> [[UInt8]] {
        let head = Array("\(Self.header)\nrealtime-offset \(realtimeOffset)\ncovers-every-stack \(coversEveryStack)\n".utf8)
        var blocks: [[UInt8]] = []
        var block = head
        for event in events {
            let line = Array((event.traceLine + "\n").utf8)
            if block.count > head.count && block.count + line.count > head.count + capacity {
                blocks.append(block)
                block = head
            }
            block += line
        }
        blocks.append(block)
        return blocks
    }

    /// One custom block's part of an account: its events, and the settings every block repeats.
    struct Part {
        var events: [KernelEvent]
        var realtimeOffset: Int64
        var coversEveryStack: Bool

        /// The part kept in a custom block (``KernelAccount/blocks(capacity:)``), or `nil` when the
        /// data is not one.
        init?(block: [UInt8]) {
            let text = String(decoding: block, as: UTF8.self)
            // Split as bytes (a busy capture's account holds hundreds of thousands of lines).
            var lines = text.utf8.split(separator: UInt8(ascii: "\n")).map(Substring.init)[...]
            guard lines.popFirst() == Substring(KernelAccount.header),
                let offset = lines.popFirst().flatMap({ Int64($0.dropFirst("realtime-offset ".count)) }),
                let covers = lines.popFirst().map({ $0 == "covers-every-stack true" })
            else { return nil }
            self.init(events: lines.compactMap(TraceLineParser.parse), realtimeOffset: offset, coversEveryStack: covers)
        }

        init(events: [KernelEvent], realtimeOffset: Int64, coversEveryStack: Bool) {
            self.events = events
            self.realtimeOffset = realtimeOffset
            self.coversEveryStack = coversEveryStack
        }
    }

    /// The account kept in one custom block (``blocks(capacity:)``), or `nil` when the data is
    /// not one.
    public init?(block: [UInt8]) {
        guard let part = Part(block: block) else { return nil }
        self.init(events: part.events, realtimeOffset: part.realtimeOffset, coversEveryStack: part.coversEveryStack)
    }
}

/// The kernel's account found in a capture file (pcapng custom blocks), applied to each
/// connection before it is reported, on whichever thread reports it.
public final class KernelAmendment: Sendable {
    /// The parts of the blocks taken, and all of them as one account once a connection asked.
    private let accounts = Mutex<(parts: [KernelAccount.Part], whole: KernelAccount?)>(([], nil))
    /// Whether an account was found: read without the lock for every connection of the (usual)
    /// file that keeps no account.
    private let found = Atomic<Bool>(false)

    public init() {}

    /// Takes a custom block's data; keeps it when it is a kernel account (or a part of one: the
    /// events of several blocks add up).
    public func take(_ data: [UInt8]) {
        guard let part = KernelAccount.Part(block: data) else { return }
        accounts.withLock { accounts in
            accounts.parts.append(part)
            accounts.whole = nil
        }
        found.store(true, ordering: .releasing)
    }

    /// Whether an account was found.
    public var isEmpty: Bool { !found.load(ordering: .acquiring) }

    /// Gives `connection` the kernel's cause and states, if an account was found.
    public func apply(to connection: inout Connection) {
        guard !isEmpty else { return }
        let account = accounts.withLock { accounts -> KernelAccount? in
            if accounts.whole == nil, let first = accounts.parts.first {
                accounts.whole = KernelAccount(
                    events: accounts.parts.flatMap(\.events), realtimeOffset: first.realtimeOffset,
                    coversEveryStack: first.coversEveryStack)
            }
            return accounts.whole
        }
        account?.apply(to: &connection)
    }
}
