#if canImport(Glibc)
import Glibc
#endif
import TeardownAnalysis
import TeardownExplain
import TeardownIO
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
    var options = AnalysisOptions()
    options.recording = .connections([1, 2, 3, 4])
    let analysis = CaptureAnalyzer.analyze(bytes, name: "fuzz", options: options)
    _ = JSONReport.document(analysis)
    _ = ZeekLog.render([analysis])
    for connection in analysis.connections.prefix(4) {
        let explanation = Explainer.explain(connection, segments: analysis.segments[connection.id] ?? [])
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
    batched.delivery = .batches { batches.append($0); return nil }
    _ = CaptureAnalyzer.analyze(bytes, name: "fuzz", options: batched)
    var completer = BatchCompleter()
    var completed: [Connection] = []
    for var batch in batches { completer.complete(&batch) { completed.append($0) } }
    precondition(completed.sorted { $0.id < $1.id } == analysis.connections, "results completed from batches differ")
    let path = "/dev/shm/teardown-fuzz-\(getpid())"
    if let handle = fopen(path, "wb") {
        fwrite(data, 1, size, handle)
        fclose(handle)
        if var again = try? CaptureAnalyzer.analyze(fileAt: path, reading: WindowedReading(readSize: 64)) {
            again.file = analysis.file
            precondition(JSONReport.document(again) == JSONReport.document(analysis), "reading in windows changed the report")
        }
    }
    return 0
}
