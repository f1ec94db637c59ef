import Testing
import TeardownAnalysis
import TeardownCapture
import TeardownExplain
import TeardownIO
import TeardownKernel
import TeardownScenarios
import TeardownTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Whether this process may capture on `lo` (root or CAP_NET_RAW). CI runs as root.
let capturePermitted = LiveCapture.isPermitted()

/// Live capture on loopback: the capture module, every scenario, `teardown capture -- COMMAND`,
/// stopping by signal. Skipped, with this reason, only where capture is not permitted.
@Suite(
    "Live capture", .serialized,
    .enabled(if: capturePermitted, "capture on lo is not permitted here (needs root or CAP_NET_RAW)"))
struct LiveTests {
    @Test("every scenario meets its expectation on 127.0.0.1 and ::1", arguments: [false, true])
    func scenarios(ipv6: Bool) throws {
        let directory = "/tmp/teardown-live-scenarios-\(getpid())-\(ipv6)"
        defer { _ = Command.run(["rm", "-rf", directory]) }
        mkdir(directory, 0o755)
        var options = ScenarioRunOptions()
        options.ipv6 = ipv6
        options.outputDirectory = directory
        for scenario in Scenario.all {
            let result = try ScenarioRunner.run(scenario, options: options)
            var context: Comment = "\(scenario.name) (ipv6: \(ipv6)): \(result.statistics)"
            if !result.failures.isEmpty {
                // A rare failure under load must say what was on the wire: the capture's ladder.
                context = "\(context)\n\(Self.ladders(result.capturePath))"
            }
            #expect(result.failures == [], context)
            #expect(result.statistics.dropped == 0, context)
            // On lo, libpcap's counters see each packet twice (outgoing and incoming copy); they
            // also count other loopback traffic that arrived before the filter was attached.
            #expect(result.statistics.received >= 2 * result.statistics.written, context)
            #expect(result.analysis.packets == result.statistics.written, context)
        }
    }

    @Test("the kernel's account: every reset's cause from the kernel, and the states inferred from the wire equal the kernel's (but where documented)",
          arguments: [false, true])
    func kernelAccount(ipv6: Bool) throws {
        let kernel: KernelTrace
        do {
            kernel = try KernelTrace()
        } catch {
            Issue.record("the kernel's account is not available here: \(error)")
            return
        }
        defer { kernel.stop() }
        let directory = "/tmp/teardown-live-kernel-\(getpid())-\(ipv6)"
        defer { _ = Command.run(["rm", "-rf", directory]) }
        mkdir(directory, 0o755)
        var options = ScenarioRunOptions()
        options.ipv6 = ipv6
        options.outputDirectory = directory
        options.kernel = kernel
        for scenario in Scenario.all {
            let result = try ScenarioRunner.run(scenario, options: options)
            #expect(result.failures == [], "\(scenario.name) (ipv6: \(ipv6))")
            let connection = try #require(result.analysis.connections.first, "\(scenario.name)")
            if connection.verdict == .abortive || connection.verdict == .refused {
                #expect(connection.cause?.source == .kernel, "\(scenario.name): \(String(describing: connection.cause))")
                #expect(connection.cause?.kernelReason != nil || connection.cause?.code == .foreignReset, "\(scenario.name)")
            }
            #expect(connection.states.source == .kernel, "\(scenario.name)")
            // The same capture read back: the states the wire proves.
            let wire = try #require(try CaptureAnalyzer.analyze(fileAt: result.capturePath).connections.first)
            #expect(wire.states.source == .wire)
            if scenario.name == "half-open" {
                // Documented (docs/CONTRACT.md): the server's kernel is in CLOSE_WAIT as soon as
                // the FIN arrives; its delayed ACK comes ~40 ms later, often after the capture
                // ended, and then the wire proves neither that nor the client's FIN_WAIT_2: what
                // it proves is where the kernel's states begin.
                #expect(connection.states.client.map(\.state).starts(with: wire.states.client.map(\.state)))
                #expect(connection.states.server.map(\.state).starts(with: wire.states.server.map(\.state)))
                #expect(connection.states.final(.server) == .closeWait)
            } else if scenario.name == "firewall-reset" {
                // Documented: the wire sees a reset from the server's address, so it closes the
                // server too; the server's kernel never sent or received one and stays ESTABLISHED.
                #expect(wire.states.server.map(\.state) == [.synReceived, .established, .closed])
                #expect(connection.states.server.map(\.state) == [.synReceived, .established])
                #expect(wire.states.client.map(\.state) == connection.states.client.map(\.state))
            } else {
                #expect(wire.states.client.map(\.state) == connection.states.client.map(\.state), "\(scenario.name) client")
                #expect(wire.states.server.map(\.state) == connection.states.server.map(\.state), "\(scenario.name) server")
            }
        }
        kernel.stop()
        #expect(kernel.lostEvents == 0)
        #expect(KernelTrace.instances().isEmpty, "instances left: \(KernelTrace.instances())")
    }

    @Test("capture -w x.pcapng keeps the kernel's account: a partial-read server's reset is close_with_unread_data, confirmed by the kernel, now and when the file is analysed later; the reset carries a comment")
    func pcapngKeepsTheKernelsAccount() throws {
        let directory = "/tmp/teardown-pcapng-\(getpid())"
        mkdir(directory, 0o755)
        defer { _ = Command.run(["rm", "-rf", directory]) }
        let program = Fixtures.root + "/Tests/TeardownLiveTests/Programs/partial-read-server.py"
        let captured = Command.run(
            ["bash", "-c", "cd \(directory) && \"$T\" capture -q -w x.pcapng -- python3 \(program)"],
            environment: ["T": Command.teardown])
        #expect(captured.status == 0, "\(captured.stderr)")
        let later = Command.teardown("analyze", "--format", "jsonl", "\(directory)/x.pcapng")
        #expect(later.status == 0, "\(later.stderr)")
        #expect(later.stdout.contains(#""cause":{"code":"close_with_unread_data","source":"kernel","certainty":"certain","kernelReason":"TCP_ABORT_ON_CLOSE""#), "\(later.stdout)")
        #expect(later.stdout.contains(#""source":"kernel","notSeen""#))
        let explained = Command.teardown("explain", "--color", "never", "\(directory)/x.pcapng")
        #expect(explained.stdout.contains("cause (confirmed by the kernel):"), "\(explained.stdout)")
        if Command.run(["tshark", "--version"]).status == 0 {
            let comments = Command.run(["tshark", "-r", "\(directory)/x.pcapng", "-T", "fields", "-e", "frame.comment"])
            #expect(comments.stdout.contains("teardown: close_with_unread_data (the kernel: TCP_ABORT_ON_CLOSE)"), "\(comments.stdout)")
        }
        #expect(KernelTrace.instances().isEmpty)
    }

    @Test("LoopbackCapture.record keeps the kernel's account: a close() with data unread is close_with_unread_data, from the kernel")
    func recordWithTheKernelsAccount() throws {
        let listener = try Listener(ipv6: false, listen: true)
        let analysis = try LoopbackCapture.record(filter: "tcp port \(listener.address.port)") {
            let server = OSThread {
                guard let connection = try? listener.accept() else { return }
                connection.send("hello world")
                connection.receiveUntilEOF()
                connection.close()
            }
            let client = try listener.connect()
            client.waitReadable()
            client.close()  // 11 bytes never read: the kernel resets
            server.join()
        }
        let connection = try #require(analysis.connections.first)
        #expect(connection.verdict == .abortive)
        #expect(connection.cause?.code == .closeWithUnreadData, "\(String(describing: connection.cause))")
        #expect(connection.cause?.source == (geteuid() == 0 ? .kernel : .wire))
        #expect(KernelTrace.instances().isEmpty)
    }

    @Test("no tracefs instance of ours is left after kill -9: the next run removes it")
    func killedRunLeavesNoInstance() {
        let result = Command.run(["bash", "-c", """
            "$T" run --all >/dev/null 2>&1 & pid=$!
            sleep 0.4; kill -9 $pid; wait $pid 2>/dev/null
            ls /sys/kernel/tracing/instances | grep -c "^teardown-$pid-" ; "$T" run refused >/dev/null 2>&1
            ls /sys/kernel/tracing/instances | grep -c "^teardown-$pid-"
            """], environment: ["T": Command.teardown])
        let counts = result.stdout.split(separator: "\n")
        #expect(counts.first == "1", "kill -9 left its instance behind: \(result.stdout)")
        #expect(counts.last == "0", "the next run removed it: \(result.stdout)")
    }

    /// Options that record every connection's segments, for ladders.
    static var everySegment: AnalysisOptions {
        var options = AnalysisOptions()
        options.recording = .all
        return options
    }

    /// Every connection of the capture at `path` as a text ladder.
    static func ladders(_ path: String) -> String {
        guard let analysis = try? CaptureAnalyzer.analyze(fileAt: path, options: everySegment) else {
            return "(capture \(path) unreadable)"
        }
        return Explainer.explanations(of: analysis).map { LadderText(color: false).render($0) }.joined(separator: "\n")
    }

    @Test("explain on fresh captures names the resetter and lost bytes each scenario's expectation requires")
    func explainFreshCaptures() throws {
        let directory = "/tmp/teardown-live-explain-\(getpid())"
        defer { _ = Command.run(["rm", "-rf", directory]) }
        var options = ScenarioRunOptions()
        options.outputDirectory = directory
        mkdir(directory, 0o755)
        for scenario in Scenario.all {
            let result = try ScenarioRunner.run(scenario, options: options)
            let analysis = try CaptureAnalyzer.analyze(fileAt: result.capturePath, options: Self.everySegment)
            let explanation = try #require(Explainer.explanations(of: analysis).first, "\(scenario.name)")
            let expectation = scenario.expectation
            let summary = explanation.summary
            #expect(expectation.allowed.contains { summary.hasPrefix($0.rawValue) }, "\(scenario.name): \(summary)")
            if let resetter = expectation.resetBy {
                #expect(summary.contains("Reset by: \(resetter.rawValue)."), "\(scenario.name): \(summary)")
                #expect(explanation.steps.contains { $0.kind == .reset && !$0.notes.isEmpty }, "\(scenario.name)")
            }
            if expectation.minimumLostBytes.server > 0 {
                let lost = summary.split(separator: "server ").last.flatMap { Int64($0.prefix { $0.isNumber }) } ?? 0
                #expect(lost >= expectation.minimumLostBytes.server, "\(scenario.name): \(summary)")
            }
            // Every packet is on the ladder, one arrow each or inside a folded run.
            let folded = explanation.steps.filter { $0.kind == .folded }.count
            #expect(explanation.steps.count - folded <= result.analysis.packets, "\(scenario.name)")
        }
    }

    @Test("a full disk (here a file size limit) stops the capture with exit 74; what was written is analysed")
    func diskFull() throws {
        let listener = try Listener(ipv6: false, listen: true)
        let port = listener.address.port
        let server = OSThread {
            guard let socket = try? listener.accept() else { return }
            socket.receiveUntilEOF()
            socket.close()
        }
        defer { server.join() }
        let path = "/tmp/teardown-full-\(getpid()).pcap"
        defer { unlink(path) }
        // 60 small writes make well over 2 KiB of capture; `ulimit -f 2` makes the third KiB fail (EFBIG).
        let script = "/tmp/teardown-full-client-\(getpid()).sh"
        defer { unlink(script) }
        Fixtures.write(
            "exec 3<>/dev/tcp/127.0.0.1/\(port)\nfor i in $(seq 60); do printf 'line %03d\\n' $i >&3; sleep 0.002; done\nexec 3>&-\n",
            to: script)
        let result = Command.run([
            "bash", "-c", "ulimit -f 2; exec \"$0\" capture -w \"$1\" -f \"tcp port $2\" -- bash \"$3\"",
            Command.teardown, path, "\(port)", script,
        ])
        #expect(result.status == 74, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("writing \(path) failed: File too large"))
        #expect(result.stderr.contains("before writing failed"))
        #expect(result.stdout.contains("1 connection"), "\(result.stdout)")
        let analysis = try CaptureAnalyzer.analyze(fileAt: path)
        #expect(analysis.error == nil)
        #expect(analysis.connections.count == 1)
        #expect(analysis.packets > 3)
    }

    @Test("the application's view: errors and unread data the wire cannot show")
    func applicationView() throws {
        let close = try ScenarioRunner.run(try #require(Scenario.named("close")))
        #expect(close.application.serverErrors.contains("send: EPIPE"))
        #expect(close.connection?.lostBytes.server == 9)
        let unread = try ScenarioRunner.run(try #require(Scenario.named("unread-close")))
        #expect(unread.application.clientUnread == 11)
        #expect(unread.application.serverErrors.contains("recv: ECONNRESET"))
        #expect(unread.connection?.notes.contains(.unreadDataSuspected) == true)
    }

    @Test("capture on 'any' with SLL2 and SLL link types")
    func anyInterface() throws {
        for linkType: Int32 in [276, 113] {
            var options = ScenarioRunOptions()
            options.interface = "any"
            options.linkType = linkType
            let result = try ScenarioRunner.run(try #require(Scenario.named("half-close")), options: options)
            #expect(result.failures == [])
            #expect(result.analysis.linkTypes.map(\.rawValue) == [UInt32(linkType)])
        }
    }

    @Test("teardown run --all exits 0 and --write keeps every capture; --explain draws the ladders")
    func runAll() {
        let directory = "/tmp/teardown-live-\(getpid())"
        let result = Command.teardown("run", "--all", "--write", directory)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("\(Scenario.all.count) scenarios: \(Scenario.all.count) passed, 0 failed"))
        #expect(Fixtures.files(in: directory).count == Scenario.all.count)
        _ = Command.run(["rm", "-rf", directory])
        let explained = Command.teardown("run", "close", "--explain", "--color", "never")
        #expect(explained.status == 0)
        #expect(explained.stdout.contains("== close:"))
        // As root the kernel says why (contract 2.5): no guess from the wire.
        #expect(explained.stdout.contains("client RST: data_after_close (the kernel: TCP_ABORT_ON_DATA)"))
        #expect(explained.stdout.contains("cause (confirmed by the kernel):"))
        #expect(explained.stdout.contains("verdict: abortive"))
        let withoutKernel = Command.teardown("run", "close", "--explain", "--color", "never", "--no-kernel-events")
        #expect(withoutKernel.stdout.contains("client RST: data arrived after the client closed"))
    }

    @Test("teardown capture -- COMMAND records the command's connection and passes on its exit status")
    func captureCommand() throws {
        let listener = try Listener(ipv6: false, listen: true)
        let port = listener.address.port
        let server = OSThread {
            guard let socket = try? listener.accept() else { return }
            socket.receive(exactly: 6)
            socket.send("pong\n")
            socket.receiveUntilEOF()
            socket.close()
        }
        let path = "/tmp/teardown-capture-\(getpid()).pcap"
        let script = "exec 3<>/dev/tcp/127.0.0.1/\(port); printf 'ping\\r\\n' >&3; read -r line <&3; exec 3>&-; exit 7"
        let result = Command.teardown(
            "capture", "-f", "tcp port \(port)", "-w", path, "--format", "jsonl", "--", "bash", "-c", script)
        server.join()
        #expect(result.status == 7)
        #expect(result.stdout.contains("\"verdict\":\"graceful\""))
        #expect(result.stderr.contains("captured"))
        let analysis = try CaptureAnalyzer.analyze(fileAt: path)
        #expect(analysis.connections.count == 1)
        #expect(analysis.connections.first?.bytes == PerSide(client: 6, server: 5))
        #expect(analysis.connections.first?.partial == false)
        let tcpdump = Command.run(["tcpdump", "-nr", path])
        if tcpdump.status != 127 {
            #expect(tcpdump.status == 0)
            #expect(tcpdump.stdout.split(separator: "\n").count == analysis.packets)
        }
        unlink(path)
    }

    @Test("capture -w keeps whole packets of a busy loopback load (30 000 connections) without a drop")
    func wholePacketsUnderLoad() throws {
        // In immediate mode each packet takes a slot sized for lo's 64 KiB packets: with a 4 MiB
        // buffer this load lost a quarter of its packets on the project's VM (10 000 connections: 0-35 %).
        let path = "/tmp/teardown-load-\(getpid()).pcap"
        defer { unlink(path) }
        let load = Fixtures.root + "/bench/loopback-load.py"
        let result = Command.teardown(
            "capture", "--no-kernel-events", "-f", "tcp", "-w", path, "--format", "summary", "--", "python3", load, "30000")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("dropped packets"), "\(result.stderr)")
        // Other tests' loopback connections may be in the capture too: at least the load's.
        let words = result.stdout.split(whereSeparator: { $0 == " " || $0 == "," || $0 == ";" })
        let graceful = words.firstIndex(of: "graceful").flatMap { $0 > 0 ? Int(words[$0 - 1]) : nil }
        #expect((graceful ?? 0) >= 30_000, "\(result.stdout)")
    }

    @Test("SIGINT and SIGTERM during a capture leave a valid, complete file", arguments: [SIGINT, SIGTERM])
    func signalStop(signal: Int32) throws {
        let path = "/tmp/teardown-signal-\(getpid())-\(signal).pcap"
        let pid = spawnCapture(["capture", "-q", "-w", path])
        // The file is created once the capture is active (pcap_dump_open after pcap_activate):
        // from then on the kernel keeps the packets for it. A fixed wait lost the connection when
        // the machine was busy.
        var waited = 0
        while access(path, F_OK) != 0 && waited < 10_000 {
            usleep(10_000)
            waited += 10
        }
        usleep(100_000)
        let listener = try Listener(ipv6: false, listen: true)
        let client = try listener.connect()
        let accepted = try listener.accept()
        client.send("x")
        accepted.close()
        client.close()
        usleep(100_000)
        kill(pid, signal)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        #expect(status & 0x7f == 0, "teardown must exit, not be killed")
        let analysis = try CaptureAnalyzer.analyze(fileAt: path)
        #expect(analysis.error == nil)
        #expect(!analysis.truncated)
        #expect(analysis.connections.contains { $0.server.port == listener.address.port })
        unlink(path)
    }

    @Test("SIGINT and SIGTERM during run --all and check --live: exit 130/143 within a second, nothing left in TMPDIR or tracefs, a JUnit file that says so")
    func interruptedRunAndCheck() throws {
        let scratch = "/tmp/teardown-sigint-tmp-\(getpid())"
        let junit = "/tmp/teardown-sigint-\(getpid()).xml"
        defer {
            _ = Command.run(["rm", "-rf", scratch])
            unlink(junit)
        }
        for (name, command, delay, signal) in [
            ("run --all", "\"$T\" run --all", "0.6", "INT"),
            ("run --all, SIGTERM", "\"$T\" run --all", "0.6", "TERM"),
            ("check --live", "\"$T\" check --live --expect graceful --junit \(junit) -- sleep 30", "0.8", "INT"),
        ] {
            _ = Command.run(["rm", "-rf", scratch])
            mkdir(scratch, 0o755)
            let result = Command.run(
                ["bash", "-c", """
                    \(command) >/dev/null 2>&1 & pid=$!
                    sleep \(delay); start=$(date +%s%N); kill -\(signal) $pid; wait $pid; status=$?
                    echo "$status $(( ($(date +%s%N) - start) / 1000000 )) $(ls -A \(scratch) | wc -l)"
                    """], environment: ["T": Command.teardown, "TMPDIR": scratch])
            let fields = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" })
            #expect(fields.first == (signal == "INT" ? "130" : "143"), "\(name): \(result.stdout) \(result.stderr)")
            #expect((fields.dropFirst().first.flatMap { Int($0) } ?? 9999) < 1000, "\(name): \(result.stdout)")
            #expect(fields.last == "0", "\(name): files left in TMPDIR: \(result.stdout)")
            #expect(KernelTrace.instances().isEmpty, "\(name): tracefs instances left: \(KernelTrace.instances())")
        }
        let xml = Command.run(["cat", junit]).stdout
        #expect(xml.hasPrefix("<?xml") && xml.hasSuffix("</testsuites>\n"), "\(xml)")
        #expect(xml.contains("the check was interrupted: interrupted by SIGINT"), "\(xml)")
    }

    func spawnCapture(_ arguments: [String]) -> pid_t {
        var argv: [UnsafeMutablePointer<CChar>?] = ([Command.teardown] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        posix_spawn(&pid, Command.teardown, nil, nil, &argv, environ)
        return pid
    }
}

/// Capturing without privileges fails with exit 77 and says how to fix it.
@Suite("Capture permissions")
struct PermissionTests {
    @Test("capture and run exit 77 with the fix when capture is not permitted")
    func permissionDenied() {
        var prefix: [String] = []
        if getuid() == 0 {
            guard Command.run(["setpriv", "--help"]).status == 0 else { return }
            prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all"]
        }
        for arguments in [["capture", "--count", "1"], ["run", "graceful"]] {
            let result = Command.run(prefix + [Command.teardown] + arguments)
            #expect(result.status == 77, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("needs root or CAP_NET_RAW (sudo, or setcap cap_net_raw+ep on the binary)"))
        }
    }

    @Test(
        "with CAP_NET_RAW but not root, a capture goes on without the kernel's account and says why once",
        .enabled(if: getuid() == 0, "needs root to drop to nobody with CAP_NET_RAW"))
    func captureWithoutTracing() {
        guard Command.run(["setpriv", "--help"]).status == 0 else { return }
        let result = Command.run([
            "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=+net_raw",
            "--ambient-caps=+net_raw", Command.teardown, "capture", "--duration", "0.2",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let notes = result.stderr.split(separator: "\n").filter { $0.contains("the kernel's account") }
        #expect(notes.count == 1, "\(result.stderr)")
        #expect(notes.first?.contains("needs root (tracefs)") == true)
        #expect(result.stdout.contains("connection"), "the analysis still printed: \(result.stdout)")
    }

    @Test(
        "an unknown interface lists the available ones; an unwritable output fails before capturing",
        .enabled(if: capturePermitted, "capture on lo is not permitted here (needs root or CAP_NET_RAW)"))
    func badInterfaceAndOutput() {
        // Without privileges libpcap cannot tell a missing interface from a forbidden one: both are 77.
        let interface = Command.teardown("capture", "-i", "no-such-interface0", "--count", "1")
        #expect(interface.status == 64)
        #expect(interface.stderr.contains("no interface named 'no-such-interface0'; available:"))
        #expect(interface.stderr.contains("lo"))
        let output = Command.teardown("capture", "-w", "/nonexistent-dir/x.pcap", "--count", "1")
        #expect(output.status == 66)
        #expect(output.stderr.contains("cannot write the capture to /nonexistent-dir/x.pcap"))
    }
}
