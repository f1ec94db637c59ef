import Testing
import TeardownAnalysis
import TeardownKernel
import TeardownTestSupport
import TeardownWire

#if canImport(Glibc)
import Glibc
#endif

/// The kernel's account: `trace_pipe` lines recorded from this kernel (fixtures/kernel), joined to
/// connections by 4-tuple and time whatever the order of the events, and mapped to the contract's
/// causes (2.5) and states (2.6).
@Suite("The kernel's account")
struct KernelAccountTests {
    static var recorded: [KernelEvent] {
        Fixtures.bytes(Fixtures.path("kernel/run-all.trace")).split(separator: UInt8(ascii: "\n")).compactMap {
            TraceLineParser.parse(Substring(String(decoding: $0, as: UTF8.self)))
        }
    }

    static func endpoint(_ text: String) -> SocketAddress {
        let colon = text.lastIndex(of: ":")!
        return SocketAddress(address: IPAddress(String(text[..<colon]))!, port: UInt16(text[text.index(after: colon)...])!)
    }

    @Test("real trace_pipe lines from this kernel parse into typed events; other events and noise are skipped")
    func parsing() throws {
        let events = Self.recorded
        #expect(events.count == 184 - 3 + 2, "every tcp/sock line of the recording, and two of the four noise lines")
        let resets = events.compactMap { event -> String? in
            if case .sendReset(let reason, _, _) = event.kind { return reason }
            return nil
        }
        #expect(resets.sorted() == ["NO_SOCKET", "NO_SOCKET", "TCP_ABORT_ON_CLOSE", "TCP_ABORT_ON_CLOSE", "TCP_ABORT_ON_DATA", "TCP_STATE"])
        let first = try #require(events.first { if case .sendReset(reason: "TCP_ABORT_ON_DATA", _, _) = $0.kind { return true }; return false })
        #expect(first.local == Self.endpoint("127.0.0.1:45114") && first.remote == Self.endpoint("127.0.0.1:42167"))
        #expect(first.command == "teardown" && first.pid == 32345 && first.traceTime == 2822.293309)
        #expect(first.kind == .sendReset(reason: "TCP_ABORT_ON_DATA", state: "TCP_CLOSE", active: false))
        // A command name with a space and a dash, an IPv6 socket, a UDP state change skipped.
        let web = try #require(events.first { $0.command == "Web Content" })
        #expect(web.pid == 4242 && web.local == SocketAddress(address: IPAddress("::1")!, port: 8080))
        #expect(!events.contains { $0.command == "sshd" || $0.command == "python3" })
        let idle = try #require(events.first { $0.command == "<idle>" })
        #expect(idle.kind == .sendReset(reason: "NO_SOCKET", state: "UNKNOWN", active: false))
        #expect(TraceLineParser.parse("# tracer: nop") == nil)
    }

    /// A connection client → server that the client reset, with the capture's times.
    static func abortive(client: String, server: String, at seconds: Double, resetter: Side = .client, verdict: Verdict = .abortive) -> Connection {
        let time = Timestamp(nanoseconds: Int64(seconds * 1e9))
        var connection = Connection(
            id: 1, client: endpoint(client), server: endpoint(server), verdict: verdict, completed: false,
            firstCloser: nil, resetBy: resetter, partial: false, bytes: PerSide(client: 5, server: 0),
            bytesAfterFirstFin: 0, lostBytes: PerSide(client: 0, server: 0), packets: 5, firstSeen: time,
            lastSeen: Timestamp(nanoseconds: time.nanoseconds + 1_000_000), notes: [])
        connection.cause = Cause(code: .lingerZero, source: .wire, certainty: .suspected, text: "wire")
        return connection
    }

    @Test("the join goes by 4-tuple and time: the reset's reason becomes the cause, whatever order the events came in")
    func join() throws {
        // The trace clock reads 2822.2933 s when the capture's clock reads 1 700 000 000.0 s.
        let offset = Int64(1_700_000_000 * 1e9) - Int64(2822.2933 * 1e9)
        for events in [Self.recorded, Self.recorded.reversed(), Self.recorded.shuffled()] {
            let account = KernelAccount(events: events, realtimeOffset: offset)
            var close = Self.abortive(client: "127.0.0.1:45114", server: "127.0.0.1:42167", at: 1_700_000_000.0)
            account.apply(to: &close)
            #expect(close.cause?.code == .dataAfterClose && close.cause?.source == .kernel && close.cause?.certainty == .certain)
            #expect(close.cause?.kernelReason == "TCP_ABORT_ON_DATA")
            #expect(close.states.source == .kernel)
            #expect(close.states.client.map(\.state) == [.synSent, .established, .finWait1, .finWait2, .closed])
            #expect(close.states.server.map(\.state) == [.synReceived, .established, .closeWait, .closed])
        }
        // The same 4-tuples used again half a second later (a busy client's ports come round):
        // those events belong to the next connection.
        let again = KernelAccount(
            events: Self.recorded + Self.recorded.map { var event = $0; event.traceTime += 0.5; return event }, realtimeOffset: offset)
        var first = Self.abortive(client: "127.0.0.1:45114", server: "127.0.0.1:42167", at: 1_700_000_000.0)
        again.apply(to: &first)
        #expect(first.states.client.map(\.state) == [.synSent, .established, .finWait1, .finWait2, .closed])
        #expect(first.states.server.map(\.state) == [.synReceived, .established, .closeWait, .closed])
        var second = Self.abortive(client: "127.0.0.1:45114", server: "127.0.0.1:42167", at: 1_700_000_000.5)
        again.apply(to: &second)
        #expect(second.states.client.map(\.state) == [.synSent, .established, .finWait1, .finWait2, .closed])
        let later = try #require(second.states.client.first).at.nanoseconds - (try #require(first.states.client.first)).at.nanoseconds
        #expect(abs(later - 500_000_000) < 1_000, "the second connection's own SYN_SENT")
        let account = KernelAccount(events: Self.recorded, realtimeOffset: Int64(1_700_000_000 * 1e9) - Int64(2823.0 * 1e9))
        var refused = Self.abortive(client: "127.0.0.1:57906", server: "127.0.0.1:41943", at: 1_700_000_000.05, resetter: .server, verdict: .refused)
        account.apply(to: &refused)
        #expect(refused.cause?.code == .noListener && refused.cause?.source == .kernel)
        // The same tuple far outside the capture's time: not this connection's.
        var elsewhere = Self.abortive(client: "127.0.0.1:57906", server: "127.0.0.1:41943", at: 1_700_000_100.0, resetter: .server, verdict: .refused)
        account.apply(to: &elsewhere)
        #expect(elsewhere.cause?.code == .foreignReset, "no reset from this host's kernel at that time")
    }

    @Test("a reset the kernel did not send is foreign on a loopback capture, left to the wire elsewhere")
    func foreign() {
        var connection = Self.abortive(client: "10.0.0.1:1000", server: "10.0.0.2:80", at: 1_700_000_000.0)
        KernelAccount(events: Self.recorded, realtimeOffset: 0).apply(to: &connection)
        #expect(connection.cause?.code == .foreignReset && connection.cause?.source == .kernel)
        var remote = Self.abortive(client: "10.0.0.1:1000", server: "10.0.0.2:80", at: 1_700_000_000.0)
        KernelAccount(events: Self.recorded, realtimeOffset: 0, coversEveryStack: false).apply(to: &remote)
        #expect(remote.cause?.source == .wire)
    }

    @Test("the kernel's reasons map to the contract's codes", arguments: [
        ("TCP_ABORT_ON_CLOSE", "TCP_CLOSE", true, Cause.Code.closeWithUnreadData),
        ("TCP_STATE", "TCP_CLOSE", true, .lingerZero),
        ("TCP_TIMEWAIT_SOCKET", "TCP_TIME_WAIT", false, .timeWaitReply),
        ("TCP_ABORT_ON_DATA", "TCP_CLOSE", false, .dataAfterClose),
        ("TCP_ABORT_ON_LINGER", "TCP_CLOSE", true, .finWait2Timeout),
        ("TCP_STATE", "TCP_ESTABLISHED", true, .socketDestroyed),
        ("NO_SOCKET", "UNKNOWN", false, .noListener),
        ("TCP_KEEPALIVE_TIMEOUT", "TCP_ESTABLISHED", true, .keepaliveTimeout),
        ("TCP_RFC7323_PAWS", "TCP_ESTABLISHED", false, .unknown),
    ])
    func mapping(reason: String, state: String, active: Bool, code: Cause.Code) {
        let cause = KernelAccount.cause(reason: reason, state: state, active: active, command: "ss", resetter: .server)
        #expect(cause.code == code)
        #expect(cause.kernelReason == reason && cause.source == .kernel)
    }

    @Test("an instance left by a killed process is removed by the next session; a session removes its own",
          .enabled(if: geteuid() == 0, "tracefs needs root"))
    func staleInstances() throws {
        // A process that is gone: a child that exited at once.
        let child = fork()
        if child == 0 { _exit(0) }
        var status: Int32 = 0
        waitpid(child, &status, 0)
        let stale = "\(KernelTrace.root)/instances/teardown-\(child)-1"
        guard mkdir(stale, 0o700) == 0 else {
            Issue.record("cannot make \(stale): the tracefs instances directory is not there")
            return
        }
        let trace = try KernelTrace()
        #expect(!KernelTrace.instances().contains("teardown-\(child)-1"), "the stale instance is gone")
        #expect(KernelTrace.instances().contains { trace.path.hasSuffix($0) })
        trace.stop()
        #expect(!KernelTrace.instances().contains { trace.path.hasSuffix($0) })
    }
}

/// The kernel's account kept in a pcapng file: written as a custom block of teardown's before the
/// packets, read back by any later analysis.
@Suite("The kernel's account in a pcapng file")
struct KernelAccountBlockTests {
    @Test("an account survives a custom block: the same events, offset and coverage")
    func roundTrip() throws {
        let account = KernelAccount(events: KernelAccountTests.recorded, realtimeOffset: 1_234_567_890, coversEveryStack: true)
        let blocks = account.blocks()
        #expect(blocks.count == 1)
        let back = try #require(KernelAccount(block: blocks[0]))
        #expect(back.events == account.events)
        #expect(back.realtimeOffset == 1_234_567_890 && back.coversEveryStack)
        #expect(KernelAccount(block: Array("not an account".utf8)) == nil)
        let empty = KernelAccount(events: [], realtimeOffset: 5, coversEveryStack: false).blocks()
        #expect(empty.count == 1 && KernelAccount(block: empty[0])?.coversEveryStack == false, "no events: still one block")
    }

    @Test("a large account is split into blocks of bounded size that add up to it again")
    func split() throws {
        // A busy capture's account: 10 000 connections' events took 28 MB, more than a reader
        // takes in one block.
        let recorded = KernelAccountTests.recorded
        var events: [KernelEvent] = []
        for round in 0..<60 {
            events += recorded.map { var event = $0; event.traceTime += Double(round) * 10; return event }
        }
        let account = KernelAccount(events: events, realtimeOffset: 0)
        let blocks = account.blocks(capacity: 64 << 10)
        let everyEvent = blocks.reduce(0) { $0 + $1.count }
        #expect(blocks.count == (everyEvent + (64 << 10) - 1) / (64 << 10), "blocks filled before the next one starts")
        #expect(blocks.allSatisfy { $0.count <= (64 << 10) + 100 })
        let amendment = KernelAmendment()
        for block in blocks { amendment.take(block) }
        // The last round's close: its cause comes from the last block.
        var close = KernelAccountTests.abortive(client: "127.0.0.1:45114", server: "127.0.0.1:42167", at: 2822.2933 + 590)
        amendment.apply(to: &close)
        #expect(close.cause?.kernelReason == "TCP_ABORT_ON_DATA")
        #expect(close.states.client.map(\.state) == [.synSent, .established, .finWait1, .finWait2, .closed])
    }

    @Test("a pcapng with the block and commented packets reads back: the block reaches the analysis, the packets are the same")
    func pcapng() throws {
        var c = Conversation()
        c.handshake()
        c.data(.client, 27)
        c.rst(.server)
        let account = KernelAccount(events: KernelAccountTests.recorded, realtimeOffset: 0)
        let written = account.blocks(capacity: 4096)
        /// The file, `taken` out of the writer after each block (as a long capture is written).
        func write(taking taken: inout [UInt8]?) -> PcapngWriter {
            var writer = PcapngWriter()
            for block in written {
                writer.appendCustom(block)
                taken? += writer.takeBytes()
            }
            let interface = writer.addInterface(linkType: 1, snapshotLength: 262_144)
            for (index, segment) in c.segments.enumerated() {
                let frame = PcapWriter.frame(segment)
                writer.appendPacket(
                    interface: interface, timestamp: segment.timestamp, captured: frame, originalLength: frame.count,
                    comment: index == c.segments.count - 1 ? "teardown: the reset's cause" : nil)
                taken? += writer.takeBytes()
            }
            return writer
        }
        var whole: [UInt8]? = nil
        let writer = write(taking: &whole)
        // Written out piece by piece, the file is the same.
        var file: [UInt8]? = []
        let pieces = write(taking: &file)
        #expect(pieces.bytes.isEmpty && file == writer.bytes)
        var blocks: [[UInt8]] = []
        var options = AnalysisOptions()
        options.onCustomBlock = { blocks.append($0) }
        let analysis = writer.bytes.withUnsafeBytes { CaptureAnalyzer.analyze(ByteView($0), name: "x.pcapng", options: options) }
        #expect(analysis.error == nil && analysis.format == .pcapng)
        #expect(analysis.connections.map(\.verdict) == [.abortive])
        #expect(written.count > 1 && blocks.count == written.count)
        // As written, up to the zeros that pad a block to 32 bits.
        #expect(zip(blocks, written).allSatisfy { read, wrote in
            read.starts(with: wrote) && read.dropFirst(wrote.count).allSatisfy { $0 == 0 } && read.count - wrote.count < 4
        })
        #expect(blocks.flatMap { KernelAccount(block: $0)?.events ?? [] } == account.events)
    }
}
