import Testing
import TeardownAnalysis
import TeardownIO
import TeardownTestSupport
import TeardownWire

/// A smoke test over every capture of Zeek's test suite in `../shared/corpus/traces`: each is read
/// without a crash, encapsulations we do not decode give the documented message, and the number
/// of connections and verdicts per file is kept in a golden file.
@Suite("Zeek corpus smoke test", .enabled(if: !Fixtures.files(in: Fixtures.corpus + "/traces").isEmpty, "../shared/corpus is not present"))
struct CorpusTests {
    @Test("every trace reads; summary per file matches the golden file")
    func smoke() throws {
        var lines = ["# trace\tconnections\tverdicts\tstatus"]
        for name in Fixtures.files(in: Fixtures.corpus + "/traces") {
            let analysis = try CaptureAnalyzer.analyze(fileAt: Fixtures.corpus + "/traces/" + name)
            var counts: [String] = []
            for verdict in Verdict.allCases {
                let count = analysis.connections.filter { $0.verdict == verdict }.count
                if count > 0 { counts.append("\(verdict.rawValue)=\(count)") }
            }
            let status = analysis.error.map { "error: \($0)" } ?? (analysis.truncated ? "truncated" : "ok")
            lines.append("\(name)\t\(analysis.connections.count)\t\(counts.joined(separator: ","))\t\(status)")
            if case .unsupportedLinkType(let type)? = analysis.error {
                #expect(analysis.error?.description.contains(type.name) == true)
            }
        }
        #expect(lines.count == 77)
        if let mismatch = goldenMismatch(lines.joined(separator: "\n") + "\n", name: "corpus-summary.tsv") {
            Issue.record(Comment(rawValue: mismatch))
        }
    }

    @Test("counting only (--format summary) gives the counts of the full analysis, and keeps no connection")
    func countsOnly() throws {
        for name in Fixtures.files(in: Fixtures.corpus + "/traces") {
            let path = Fixtures.corpus + "/traces/" + name
            let full = try CaptureAnalyzer.analyze(fileAt: path)
            var options = AnalysisOptions()
            options.delivery = .countOnly
            options.tracksZeek = false
            let counted = try CaptureAnalyzer.analyze(fileAt: path, options: options)
            var expected: [Verdict: Int] = [:]
            for connection in full.connections { expected[connection.verdict, default: 0] += 1 }
            #expect(counted.verdictCounts == expected, "\(name)")
            #expect(counted.connectionCount == full.connections.count, "\(name)")
            #expect(counted.totalLostBytes == full.connections.reduce(0) { $0 + $1.totalLostBytes }, "\(name)")
            #expect(counted.connections.isEmpty, "\(name)")
        }
    }

    @Test("without state inference (Zeek's log prints none) every result is the same but for empty states")
    func withoutStates() throws {
        var inferredSomewhere = false
        for name in Fixtures.files(in: Fixtures.corpus + "/traces") {
            let path = Fixtures.corpus + "/traces/" + name
            let full = try CaptureAnalyzer.analyze(fileAt: path)
            var options = AnalysisOptions()
            options.infersStates = false
            let bare = try CaptureAnalyzer.analyze(fileAt: path, options: options)
            #expect(bare.connections.count == full.connections.count, "\(name)")
            for (inferred, skipped) in zip(full.connections, bare.connections) {
                #expect(skipped.states.client.isEmpty && skipped.states.server.isEmpty, "\(name) #\(skipped.id)")
                if !inferred.states.client.isEmpty { inferredSomewhere = true }
                var restored = skipped
                restored.states = inferred.states
                #expect(restored == inferred, "\(name) #\(skipped.id)")
            }
        }
        #expect(inferredSomewhere, "the corpus gives states where they are inferred")
    }

    @Test("results completed from finished batches (Zeek's view replayed elsewhere) equal the ones built inline")
    func finishedBatches() throws {
        for name in Fixtures.files(in: Fixtures.corpus + "/traces") {
            let path = Fixtures.corpus + "/traces/" + name
            let full = try CaptureAnalyzer.analyze(fileAt: path)
            var batches: [FinishedBatch] = []
            var options = AnalysisOptions()
            options.delivery = .batches { batches.append($0); return nil }
            let deferred = try CaptureAnalyzer.analyze(fileAt: path, options: options)
            var completer = BatchCompleter()
            var completed: [Connection] = []
            for var batch in batches { completer.complete(&batch) { completed.append($0) } }
            #expect(completed.sorted { $0.id < $1.id } == full.connections, "\(name)")
            #expect(batches.reduce(0) { $0 + $1.connectionCount } == full.connections.count, "\(name)")
            #expect(deferred.verdictCounts == full.verdictCounts, "\(name)")
            #expect(deferred.totalLostBytes == full.totalLostBytes, "\(name)")
            #expect(deferred.connections.isEmpty, "\(name)")
        }
    }
}
