#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TeardownIO

/// The kernel's account of TCP while a capture runs, read through a private tracefs instance
/// (`/sys/kernel/tracing/instances/teardown-PID-N`): `tcp_send_reset` (with the kernel's reason,
/// Linux 6.10+; the close-path reasons 6.12+), `tcp_receive_reset`, `inet_sock_set_state` and
/// `tcp_destroy_sock`. No BPF and no kprobes; the machine's global tracing settings are never
/// touched. The instance is removed by ``stop()`` (and when this object goes away); one left by a
/// process that was killed is removed by the next session.
///
/// Tracepoints see every process and every network namespace: the events are filtered afterwards
/// by the capture's 4-tuples (``KernelAccount``).
public final class KernelTrace: @unchecked Sendable {
    /// Why the kernel's account cannot be had here, with the fix.
    public enum Unavailable: Error, Sendable, CustomStringConvertible {
        case notPermitted
        case noTracefs(String)
        case noResetReasons
        case notLinux

        public var description: String {
            switch self {
            case .notPermitted:
                return "the kernel's account of resets and states needs root (tracefs); run as root for causes confirmed by the kernel"
            case .noTracefs(let reason):
                return "tracefs is not available (\(reason)); as root: mount -t tracefs nodev /sys/kernel/tracing"
            case .noResetReasons:
                return "this kernel's tcp_send_reset has no reason field (Linux 6.10+ needed; close-path reasons 6.12+)"
            case .notLinux:
                return "the kernel's account is read from Linux tracefs; this system has none"
            }
        }
    }

    public static let root = "/sys/kernel/tracing"
    static let prefix = "teardown-"
    static let events = ["tcp/tcp_send_reset", "tcp/tcp_receive_reset", "sock/inet_sock_set_state", "tcp/tcp_destroy_sock"]

    /// The instance's directory.
    public let path: String
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds: the trace clock (`mono`) to capture time.
    public let realtimeOffset: Int64
    private let state = Mutex<(events: [KernelEvent], stopped: Bool, lost: Int)>(([], false, 0))
    /// The start of a line the last read ended in; held by one drain at a time (the reading
    /// thread's or a caller's).
    private let draining = Mutex<[UInt8]>([])
    private var reader: OSThread?
    private static let sequence = Atomic<Int>(0)

    /// Opens a private instance and starts recording.
    /// - Throws: ``Unavailable`` with the reason and the fix.
    public init() throws(Unavailable) {
        #if os(Linux)
        guard geteuid() == 0 else { throw .notPermitted }
        if access(Self.root + "/instances", F_OK) != 0 {
            mkdir(Self.root, 0o755)
            guard mount("nodev", Self.root, "tracefs", 0, nil) == 0 else {
                throw .noTracefs(String(cString: strerror(errno)))
            }
        }
        guard let format = Self.read(Self.root + "/events/tcp/tcp_send_reset/format") else {
            throw .noTracefs("no tcp:tcp_send_reset event")
        }
        guard format.contains("reason") else { throw .noResetReasons }
        Self.removeStale()
        path = "\(Self.root)/instances/\(Self.prefix)\(getpid())-\(Self.sequence.add(1, ordering: .relaxed).newValue)"
        guard mkdir(path, 0o700) == 0 else { throw .noTracefs("cannot create \(path): \(String(cString: strerror(errno)))") }
        realtimeOffset = Self.realtimeOffset()
        _ = Self.write("mono", to: path + "/trace_clock")
        // 16 MiB per CPU: about 200 000 events, over a second of a busy loopback (30 000
        // connections in 6 s) should the reading thread be starved of CPU.
        _ = Self.write("16384", to: path + "/buffer_size_kb")
        for event in Self.events { _ = Self.write("1", to: "\(path)/events/\(event)/enable") }
        // Read while the capture runs, so the kernel's buffers do not overrun under load.
        reader = OSThread { [weak self] in
            while true {
                // The trace is held only while draining, so that dropping it still stops it.
                let goesOn: Bool = {
                    guard let trace = self, !trace.state.withLock({ $0.stopped }) else { return false }
                    trace.drain()
                    return true
                }()
                if !goesOn { return }
                usleep(50_000)
            }
        }
        #else
        throw .notLinux
        #endif
    }

    deinit { stop() }

    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, from the closest of several readings: a thread
    /// preempted between two clock reads (a busy machine) would be off by milliseconds, more than
    /// the join allows.
    static func realtimeOffset() -> Int64 {
        #if os(Linux)
        func nanoseconds(_ clock: clockid_t) -> Int64 {
            var time = timespec()
            clock_gettime(clock, &time)
            return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
        }
        var best: (span: Int64, offset: Int64) = (.max, 0)
        for _ in 0..<16 {
            let before = nanoseconds(CLOCK_MONOTONIC)
            let realtime = nanoseconds(CLOCK_REALTIME)
            let after = nanoseconds(CLOCK_MONOTONIC)
            if after - before < best.span { best = (after - before, realtime - (before + (after - before) / 2)) }
        }
        return best.offset
        #else
        return 0
        #endif
    }

    /// Reads what the kernel recorded since the last call (without waiting).
    public func drain() {
        #if os(Linux)
        draining.withLock { partial in drainOnce(after: &partial) }
        #endif
    }

    /// Reads `trace_pipe` to its end; `partial` is the start of a line the last read ended in,
    /// and becomes that of this read's.
    private func drainOnce(after partial: inout [UInt8]) {
        #if os(Linux)
        let fd = open(path + "/trace_pipe", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var bytes = partial
        while true {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if got <= 0 { break }
            bytes += buffer[..<got]
        }
        // Lines split as bytes (a busy loopback makes thousands a second), parsed outside the lock.
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        partial = Array(lines.removeLast())
        let events = lines.compactMap { TraceLineParser.parse(Substring(decoding: $0, as: UTF8.self)) }
        state.withLock { $0.events += events }
        #endif
    }

    /// The events read so far.
    public var events: [KernelEvent] { state.withLock { $0.events } }

    /// Events the kernel could not keep (its per-CPU buffers overran), counted when it stopped
    /// (the instance is gone after that).
    public var lostEvents: Int { state.withLock { $0.lost } }

    private func countLostEvents() -> Int {
        var lost = 0
        var cpu = 0
        while let stats = Self.read("\(path)/per_cpu/cpu\(cpu)/stats") {
            for line in stats.split(separator: "\n") where line.hasPrefix("overrun:") || line.hasPrefix("dropped events:") {
                lost += Int(line.split(separator: " ").last ?? "") ?? 0
            }
            cpu += 1
        }
        return lost
    }

    /// Reads what is left, turns the events off and removes the instance (once; later calls do
    /// nothing).
    public func stop() {
        guard !state.withLock({ let was = $0.stopped; $0.stopped = true; return was }) else { return }
        reader?.join()
        drain()
        let lost = countLostEvents()
        state.withLock { $0.lost = lost }
        Self.remove(path)
    }

    /// Turns an instance's events off and removes it.
    static func remove(_ path: String) {
        #if os(Linux)
        _ = write("0", to: path + "/events/enable")
        _ = write("0", to: path + "/tracing_on")
        rmdir(path)
        #endif
    }

    /// Removes the instances of ours whose process is gone (killed before it could clean up).
    static func removeStale() {
        #if os(Linux)
        guard let directory = opendir(root + "/instances") else { return }
        var stale: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix(prefix), let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }) else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { stale.append(name) }
        }
        closedir(directory)
        for name in stale { remove("\(root)/instances/\(name)") }
        #endif
    }

    /// The instances of ours under tracefs (for tests: none may be left).
    public static func instances() -> [String] {
        guard let directory = opendir(root + "/instances") else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(prefix) { names.append(name) }
        }
        return names
    }

    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if got <= 0 { break }
            bytes += buffer[..<got]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func write(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return text.withCString { Glibc.write(fd, $0, strlen($0)) } >= 0
    }
}
