import Testing
import TeardownAnalysis
import TeardownIO
import TeardownReport
import TeardownScenarios
import TeardownTestSupport
import TeardownWire

/// The checked-in captures: every scenario capture meets its scenario's expectation in every
/// encoding, and every report matches its golden JSON.
@Suite("Fixtures")
struct FixtureTests {
    @Test("every scenario capture, in every link type, meets the scenario's expectation", arguments: ["lo-ipv4", "lo-ipv6", "any-sll2", "any-sll"])
    func scenarioCaptures(group: String) throws {
        let files = Fixtures.files(in: Fixtures.path("pcap/\(group)"))
        #expect(files.count == Scenario.all.count)
        for file in files {
            let name = String(file.dropLast(5))
            let scenario = try #require(Scenario.named(name), "no scenario for \(file)")
            let analysis = try CaptureAnalyzer.analyze(fileAt: Fixtures.path("pcap/\(group)/\(file)"))
            #expect(analysis.error == nil)
            #expect(!analysis.truncated)
            #expect(analysis.connections.count == 1, "\(group)/\(file)")
            for connection in analysis.connections {
                #expect(scenario.expectation.violations(connection) == [], "\(group)/\(file)")
                #expect(connection.client.address.isIPv6 == (group == "lo-ipv6"))
            }
        }
    }

    /// Each scenario's states (contract 2.6), the same in every link type.
    static let states: [String: (client: [TCPState], server: [TCPState])] = [
        "graceful": ([.synSent, .established, .finWait1, .finWait2, .timeWait], [.synReceived, .established, .closeWait, .lastAck, .closed]),
        "keepalive": ([.synSent, .established, .finWait1, .finWait2, .timeWait], [.synReceived, .established, .closeWait, .lastAck, .closed]),
        "exit-without-close": ([.synSent, .established, .finWait1, .finWait2, .timeWait], [.synReceived, .established, .closeWait, .lastAck, .closed]),
        "fork-shared": ([.synSent, .established, .finWait1, .finWait2, .timeWait], [.synReceived, .established, .closeWait, .lastAck, .closed]),
        "linger-graceful": ([.synSent, .established, .finWait1, .finWait2, .timeWait], [.synReceived, .established, .closeWait, .lastAck, .closed]),
        "shutdown": ([.synSent, .established, .finWait1, .finWait2, .timeWait], [.synReceived, .established, .closeWait, .lastAck, .closed]),
        "half-close": ([.synSent, .established, .closeWait, .lastAck, .closed], [.synReceived, .established, .finWait1, .finWait2, .timeWait]),
        "half-open": ([.synSent, .established, .finWait1], [.synReceived, .established]),
        "close": ([.synSent, .established, .finWait1, .finWait2, .closed], [.synReceived, .established, .closeWait, .closed]),
        "close-late-reply": ([.synSent, .established, .finWait1, .finWait2, .closed], [.synReceived, .established, .closeWait, .closed]),
        "fin-wait2-timeout": ([.synSent, .established, .finWait1, .finWait2, .closed], [.synReceived, .established, .closeWait, .closed]),
        "socket-destroy": ([.synSent, .established, .closed], [.synReceived, .established, .closed]),
        "firewall-reset": ([.synSent, .established, .closed], [.synReceived, .established, .closed]),
        "linger-zero": ([.synSent, .established, .closed], [.synReceived, .established, .closed]),
        "unread-close": ([.synSent, .established, .closed], [.synReceived, .established, .closed]),
        "shut-rd": ([.synSent, .established, .closed], [.synReceived, .established, .closed]),
        "refused": ([.synSent, .closed], []),
        "simultaneous": ([.synSent, .established, .finWait1, .closing, .timeWait], [.synReceived, .established, .finWait1, .closing, .timeWait]),
    ]

    @Test("every scenario capture, in every link type, goes through the states the contract's transitions give",
          arguments: ["lo-ipv4", "lo-ipv6", "any-sll2", "any-sll"])
    func scenarioStates(group: String) throws {
        for file in Fixtures.files(in: Fixtures.path("pcap/\(group)")) {
            let name = String(file.dropLast(5))
            let expected = try #require(Self.states[name], "no states listed for \(name)")
            let connection = try #require(try CaptureAnalyzer.analyze(fileAt: Fixtures.path("pcap/\(group)/\(file)")).connections.first)
            #expect(connection.states.client.map(\.state) == expected.client, "\(group)/\(file)")
            #expect(connection.states.server.map(\.state) == expected.server, "\(group)/\(file)")
            // Every change is dated inside the connection.
            for change in Array(connection.states.client) + Array(connection.states.server) {
                #expect(change.at >= connection.firstSeen && change.at <= connection.lastSeen, "\(group)/\(file)")
            }
        }
    }

    @Test("derived encodings give the same verdicts as the captures they came from")
    func derivedAgree() throws {
        let pairs = [
            ("derived/close-usec-le.pcap", "pcap/lo-ipv4/close.pcap"),
            ("derived/close-usec-be.pcap", "pcap/lo-ipv4/close.pcap"),
            ("derived/close-raw.pcap", "pcap/lo-ipv4/close.pcap"),
            ("derived/half-close-nsec-be.pcap", "pcap/lo-ipv4/half-close.pcap"),
            ("derived/unread-close-null.pcap", "pcap/lo-ipv4/unread-close.pcap"),
            ("derived/shutdown-ipv6-null.pcap", "pcap/lo-ipv6/shutdown.pcap"),
            ("derived/linger-zero-loop.pcap", "pcap/lo-ipv4/linger-zero.pcap"),
            ("derived/graceful-ipv4.pcap", "pcap/lo-ipv4/graceful.pcap"),
            ("derived/graceful-ipv6.pcap", "pcap/lo-ipv6/graceful.pcap"),
            ("derived/graceful-be.pcapng", "pcap/lo-ipv4/graceful.pcap"),
            ("derived/shutdown-qinq.pcap", "pcap/lo-ipv4/shutdown.pcap"),
        ]
        for (derived, original) in pairs {
            let a = try CaptureAnalyzer.analyze(fileAt: Fixtures.path(derived)).connections
            let b = try CaptureAnalyzer.analyze(fileAt: Fixtures.path(original)).connections
            #expect(a.count == b.count)
            for (x, y) in zip(a, b) {
                #expect(x.verdict == y.verdict, "\(derived)")
                #expect(x.bytes == y.bytes, "\(derived)")
                #expect(x.lostBytes == y.lostBytes, "\(derived)")
                #expect(x.firstCloser == y.firstCloser, "\(derived)")
                #expect(x.resetBy == y.resetBy, "\(derived)")
            }
        }
    }

    @Test("silences stretched to hours, and a reset repeated 12 s later, leave one connection as captured (1.1)",
        arguments: [
            ("derived/idle-2h.pcap", "pcap/lo-ipv4/graceful.pcap", 0),
            ("derived/keepalive-2h.pcap", "pcap/lo-ipv4/keepalive.pcap", 0),
            ("derived/refused-rst-again-12s.pcap", "pcap/lo-ipv4/refused.pcap", 1),
            ("derived/close-rst-again-12s.pcap", "pcap/lo-ipv4/close.pcap", 1),
        ])
    func continuity(stretched: String, original: String, late: Int) throws {
        let a = try CaptureAnalyzer.analyze(fileAt: Fixtures.path(stretched))
        let b = try CaptureAnalyzer.analyze(fileAt: Fixtures.path(original))
        #expect(a.connections.count == 1 && b.connections.count == 1)
        #expect(a.lateSegments == late)
        guard let x = a.connections.first, let y = b.connections.first else { return }
        #expect(x.verdict == y.verdict && x.bytes == y.bytes && x.lostBytes == y.lostBytes)
        #expect(x.firstCloser == y.firstCloser && x.resetBy == y.resetBy && x.packets == y.packets)
        #expect(x.notes == y.notes && x.partial == false)
        #expect(x.verdict == (original.hasSuffix("graceful.pcap") || original.hasSuffix("keepalive.pcap") ? .graceful : y.verdict))
        if original.hasSuffix("keepalive.pcap") {
            #expect(x.notes.contains(.keepalive) && x.bytes.client == 5 && !x.notes.contains(.dataRetransmitted))
        }
        // Zeek's own boundaries (`--format zeek`) cut the same packets in two.
        var zeek = AnalysisOptions()
        zeek.limits = .zeek
        #expect(try CaptureAnalyzer.analyze(fileAt: Fixtures.path(stretched), options: zeek).connections.count == 2)
    }

    @Test("the mixed-link-type pcapng holds three scenarios' connections")
    func mixedPcapng() throws {
        let analysis = try CaptureAnalyzer.analyze(fileAt: Fixtures.path("derived/mixed-linktypes.pcapng"))
        #expect(analysis.connections.map(\.verdict) == [.abortive, .halfClosed, .halfClosed])
        #expect(analysis.linkTypes == [.ethernet, .linuxSLL2, .linuxSLL])
    }

    @Test("every fixture's JSON report matches its golden file", arguments: Fixtures.captures)
    func golden(fixture: String) throws {
        var analysis = try CaptureAnalyzer.analyze(fileAt: Fixtures.path(fixture))
        analysis.file = fixture
        if let mismatch = goldenMismatch(JSONReport.document(analysis) + "\n", name: fixture + ".json") {
            Issue.record(Comment(rawValue: mismatch))
        }
    }
}
