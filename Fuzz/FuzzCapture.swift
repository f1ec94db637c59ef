#if canImport(Glibc)
import Glibc
#endif
import TeardownAnalysis
import TeardownExplain
import TeardownReport
import TeardownWire

/// libFuzzer entry point: arbitrary bytes through the capture reader, the decoder, the tracker
/// (with Zeek's state machine), the classifier, every report writer and the ladder diagrams. Any
/// trap, hang or runaway allocation is a bug. The same bytes are also read back from a file 64
/// bytes at a time, and must give the same report as the whole input in memory; and analysed
/// with Zeek's view deferred to finished batches, which must complete to the same connections.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = ByteView(UnsafeRawBufferPointer(start: data, count: size))
    var segments: [Int: [TCPSegment]] = [:]
    var options = AnalysisOptions()
    options.onSegment = { segment, id in if id <= 4 { segments[id, default: []].append(segment) } }
    let analysis = CaptureAnalyzer.analyze(bytes, name: "fuzz", options: options)
    _ = JSONReport.document(analysis)
    _ = ZeekLog.render([analysis])
    for connection in analysis.connections.prefix(4) {
        let explanation = Explainer.explain(connection, segments: segments[connection.id] ?? [])
        _ = LadderText(color: true).render(explanation)
        _ = LadderSVG.render(explanation)
    }
    _ = TextReport(color: false).render([analysis])
    for connection in analysis.connections {
        _ = Evidence.phrase(connection)
    }
    _ = CheckReport(expectation: TeardownExpectation(allowed: [.graceful])).evaluate([analysis]).junit.render()
    // Zeek's view replayed from finished batches on the side (as --format jsonl does) must be
    // the one computed inline.
    var batches: [FinishedBatch] = []
    var batched = AnalysisOptions()
    batched.onFinishedBatch = { batches.append($0); return nil }
    _ = CaptureAnalyzer.analyze(bytes, name: "fuzz", options: batched)
    var completer = BatchCompleter()
    var completed: [Connection] = []
    for batch in batches { completer.complete(batch) { completed.append($0) } }
    precondition(completed.sorted { $0.id < $1.id } == analysis.connections, "results completed from batches differ")
    let path = "/dev/shm/teardown-fuzz-\(getpid())"
    if let handle = fopen(path, "wb") {
        fwrite(data, 1, size, handle)
        fclose(handle)
        var windowed = AnalysisOptions()
        windowed.readSize = 64
        if var again = try? CaptureAnalyzer.analyze(fileAt: path, options: windowed) {
            again.file = analysis.file
            precondition(JSONReport.document(again) == JSONReport.document(analysis), "reading in windows changed the report")
        }
    }
    return 0
}
