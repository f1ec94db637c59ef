import CPcap
import Synchronization
import TeardownIO
import TeardownAnalysis
import TeardownWire

#if canImport(Glibc)
import Glibc
#endif

/// How to capture.
public struct CaptureConfiguration: Sendable {
    /// Interface name; `lo` gives Ethernet framing, `any` Linux cooked (SLL).
    public var interface = "lo"
    /// A tcpdump expression; only matching packets are kept.
    public var filter: String?
    /// Bytes kept per packet. Payload sizes come from the IP lengths, so headers are enough.
    public var snapshotLength: Int32 = 256
    /// Kernel ring buffer size in bytes.
    public var bufferSize: Int32 = 4 << 20
    /// A link type to select after activation (276 asks `any` for SLL2).
    public var linkType: Int32?
    /// Where the packets are written (pcap, nanosecond timestamps).
    public var outputPath: String

    public init(outputPath: String) { self.outputPath = outputPath }
}

/// Counts after a capture stopped.
public struct CaptureStatistics: Sendable, Hashable {
    /// Packets written to the file.
    public var written: Int
    /// libpcap's `ps_recv`: on `lo` the kernel hands the socket each packet twice (outgoing and
    /// incoming copy) and libpcap drops one in user space, so this is twice `written` there.
    public var received: Int
    /// Packets the kernel dropped because the ring was full (`ps_drop`; also doubled on `lo`).
    public var dropped: Int
    /// Packets the interface dropped (`ps_ifdrop`).
    public var interfaceDropped: Int
}

/// A live libpcap capture that writes every packet to a file on its own thread.
///
/// Lifecycle: ``init(_:)`` opens and activates the handle and the output file (so that permission,
/// interface and path errors surface before anything runs), ``start()`` begins the read loop on a
/// real thread, ``stop(quietPeriod:)`` waits for the traffic to settle, breaks the loop, drains what
/// the kernel still holds without blocking, and closes the file: nothing captured is lost.
/// The corresponding libpcap functions are `pcap_create`, `pcap_set_immediate_mode`,
/// `pcap_activate`, `pcap_loop`, `pcap_breakloop`, `pcap_dispatch`, `pcap_stats` and `pcap_dump`.
public final class LiveCapture: @unchecked Sendable {
    public let configuration: CaptureConfiguration
    private let handle: OpaquePointer
    private let dumper: OpaquePointer
    private var thread: OSThread?
    private let written = Atomic<Int>(0)
    private let limit: Int
    private var stopped = false
    /// The link type packets are written with.
    public let linkType: LinkType

    /// Opens `configuration.interface` and the output file.
    /// - Parameter packetLimit: stop by itself after this many packets (0: no limit).
    /// - Throws: `CaptureError`; `.permissionDenied` when not root and without CAP_NET_RAW.
    public init(_ configuration: CaptureConfiguration, packetLimit: Int = 0) throws(CaptureError) {
        self.configuration = configuration
        self.limit = packetLimit
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(configuration.interface, &errorBuffer) else {
            throw .pcap(operation: "pcap_create", detail: cString(errorBuffer))
        }
        pcap_set_snaplen(handle, configuration.snapshotLength)
        pcap_set_promisc(handle, 0)
        pcap_set_buffer_size(handle, configuration.bufferSize)
        pcap_set_immediate_mode(handle, 1)
        pcap_set_tstamp_precision(handle, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let status = pcap_activate(handle)
        if status < 0 {
            let detail = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            switch status {
            case PCAP_ERROR_PERM_DENIED:
                throw .permissionDenied(interface: configuration.interface, detail: detail)
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw .noSuchInterface(configuration.interface, available: Self.interfaceNames())
            default:
                throw .pcap(operation: "pcap_activate on \(configuration.interface)", detail: detail)
            }
        }
        if let wanted = configuration.linkType, pcap_datalink(handle) != wanted {
            if pcap_set_datalink(handle, wanted) != 0 {
                let available = Self.linkTypes(of: handle)
                pcap_close(handle)
                throw .linkTypeUnavailable(interface: configuration.interface, requested: wanted, available: available)
            }
        }
        if let expression = configuration.filter {
            var program = bpf_program()
            guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
                let detail = String(cString: pcap_geterr(handle))
                pcap_close(handle)
                throw .badFilter(expression, detail: detail)
            }
            defer { pcap_freecode(&program) }
            guard pcap_setfilter(handle, &program) == 0 else {
                let detail = String(cString: pcap_geterr(handle))
                pcap_close(handle)
                throw .badFilter(expression, detail: detail)
            }
        }
        guard let dumper = pcap_dump_open(handle, configuration.outputPath) else {
            let detail = String(cString: pcap_geterr(handle))
            pcap_close(handle)
            throw .outputNotWritable(path: configuration.outputPath, detail: detail)
        }
        self.handle = handle
        self.dumper = dumper
        self.linkType = LinkType(rawValue: UInt32(pcap_datalink(handle)))
    }

    deinit {
        if !stopped { _ = try? stop(quietPeriod: 0) }
    }

    /// Packets written so far.
    public var packetsWritten: Int { written.load(ordering: .relaxed) }

    private let loopDone = Atomic<Bool>(false)

    /// True once the read loop returned (count limit reached or error).
    public var hasEnded: Bool { loopDone.load(ordering: .acquiring) }

    private static let handler: pcap_handler = { user, header, bytes in
        let capture = Unmanaged<LiveCapture>.fromOpaque(UnsafeRawPointer(user!)).takeUnretainedValue()
        capture.record(header!, bytes!)
    }

    private func record(_ header: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>) {
        guard writeError == nil else { return }
        pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), header, bytes)
        if let file = pcap_dump_file(dumper), ferror(file) != 0 {
            // Disk full (or a file size limit): stop at once rather than go on capturing into nothing.
            // The error is read by stop() after the capture thread has been joined.
            writeError = .writeFailed(path: configuration.outputPath, detail: String(cString: strerror(errno)))
            pcap_breakloop(handle)
            return
        }
        let count = written.add(1, ordering: .relaxed).newValue
        if limit > 0 && count >= limit { pcap_breakloop(handle) }
    }

    private var context: UnsafeMutablePointer<UInt8> {
        Unmanaged.passUnretained(self).toOpaque().assumingMemoryBound(to: UInt8.self)
    }

    /// Starts reading packets on a dedicated thread.
    public func start() {
        let handle = UncheckedSendable(handle)
        let context = UncheckedSendable(context)
        thread = OSThread { [self] in
            Self.raiseThreadPriority()
            _ = pcap_loop(handle.value, -1, Self.handler, context.value)
            loopDone.store(true, ordering: .releasing)
        }
    }

    /// Asks for nice -10 for the calling thread (on Linux `setpriority(PRIO_PROCESS, 0, ...)`
    /// applies to the calling thread only). The ring has room for a fixed number of packets, and
    /// the thread that empties it competes for the cores with the traffic it captures: with both
    /// cores of the project's VM busy, a 30 000-connection load lost 1 % of its packets without
    /// the boost and none with it (bench/RESULTS.md). Allowed for root (or CAP_SYS_NICE); refused
    /// otherwise, and the capture goes on at the normal priority.
    private static func raiseThreadPriority() {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, -10)
    }

    /// Stops the capture without losing packets and closes the file.
    ///
    /// Waits until no packet arrived for `quietPeriod` milliseconds (at most `maximumWait`), breaks
    /// the read loop, drains the kernel ring without blocking, reads the statistics and closes the
    /// output. Safe to call more than once.
    /// - Throws: `CaptureError.writeFailed` when the file could not be completely written.
    @discardableResult
    public func stop(quietPeriod milliseconds: Int = LiveCapture.defaultQuietPeriod, maximumWait: Int = 1000) throws(CaptureError) -> CaptureStatistics {
        if !stopped {
            stopped = true
            if thread != nil && milliseconds > 0 {
                var last = packetsWritten
                var quietSince = Self.monotonicMilliseconds()
                let deadline = quietSince + maximumWait
                while !hasEnded {
                    usleep(2000)
                    let now = Self.monotonicMilliseconds()
                    let current = packetsWritten
                    if current != last { last = current; quietSince = now }
                    if now - quietSince >= milliseconds || now >= deadline { break }
                }
            }
            pcap_breakloop(handle)
            thread?.join()
            thread = nil
            if limit == 0 || packetsWritten < limit {
                pcap_setnonblock(handle, 1, nil)
                while pcap_dispatch(handle, -1, Self.handler, context) > 0 {
                    if limit > 0 && packetsWritten >= limit { break }
                }
            }
            var stats = pcap_stat()
            if pcap_stats(handle, &stats) == 0 {
                statistics = CaptureStatistics(
                    written: packetsWritten, received: Int(stats.ps_recv), dropped: Int(stats.ps_drop),
                    interfaceDropped: Int(stats.ps_ifdrop))
            } else {
                statistics = CaptureStatistics(written: packetsWritten, received: 0, dropped: 0, interfaceDropped: 0)
            }
            let flushFailed = pcap_dump_flush(dumper) != 0
            let flushErrno = errno
            let streamError = pcap_dump_file(dumper).map { ferror($0) != 0 } ?? false
            pcap_dump_close(dumper)
            pcap_close(handle)
            if writeError == nil && (flushFailed || streamError) {
                writeError = .writeFailed(path: configuration.outputPath, detail: String(cString: strerror(flushErrno)))
            }
        }
        if let writeError { throw writeError }
        return statistics
    }

    /// The counts ``stop(quietPeriod:maximumWait:)`` read, also when it throws a write failure.
    public private(set) var statistics = CaptureStatistics(written: 0, received: 0, dropped: 0, interfaceDropped: 0)
    private var writeError: CaptureError?

    /// Milliseconds without a new packet after which a capture is judged settled. On loopback the
    /// receiving half of every packet (the copy a capture sees) runs in the network softirq, which
    /// under CPU load moves to `ksoftirqd`, an ordinary thread the scheduler may leave waiting for a
    /// whole scheduling period (tens of milliseconds): 20 ms was enough on an idle machine, and once
    /// in a loaded test run a last FIN arrived after it.
    public static let defaultQuietPeriod = 100

    /// Milliseconds on the monotonic clock.
    public static func monotonicMilliseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1000 + now.tv_nsec / 1_000_000
    }

    /// Names of the interfaces libpcap can capture on (`pcap_findalldevs`).
    public static func interfaceNames() -> [String] {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        var list: UnsafeMutablePointer<pcap_if_t>?
        guard pcap_findalldevs(&list, &errorBuffer) == 0 else { return [] }
        defer { pcap_freealldevs(list) }
        var names: [String] = []
        var current = list
        while let device = current {
            names.append(String(cString: device.pointee.name))
            current = device.pointee.next
        }
        return names
    }

    static func linkTypes(of handle: OpaquePointer) -> [Int32] {
        var list: UnsafeMutablePointer<Int32>?
        let count = pcap_list_datalinks(handle, &list)
        guard count > 0, let list else { return [] }
        defer { pcap_free_datalinks(list) }
        return (0..<Int(count)).map { list[$0] }
    }

    /// Whether this process may capture on `interface` (activates and closes a handle).
    public static func isPermitted(on interface: String = "lo") -> Bool {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(interface, &errorBuffer) else { return false }
        defer { pcap_close(handle) }
        return pcap_activate(handle) != PCAP_ERROR_PERM_DENIED
    }
}

/// Carries a value the compiler cannot prove `Sendable` into a thread where it is known to be used
/// safely (the pcap handle is touched by the capture thread only, until it is joined; a file is read
/// by one analysis worker; filters are only read).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

/// The text in a NUL-terminated C buffer.
func cString(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}
