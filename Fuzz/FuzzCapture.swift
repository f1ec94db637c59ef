import TeardownAnalysis
import TeardownExplain
import TeardownReport
import TeardownWire

/// libFuzzer entry point: arbitrary bytes through the capture reader, the decoder, the tracker
/// (with Zeek's state machine), the classifier, every report writer and the ladder diagrams. Any
/// trap, hang or runaway allocation is a bug.
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
    return 0
}
