import TeardownAnalysis
import TeardownReport
import TeardownWire

/// libFuzzer entry point: arbitrary bytes through the capture reader, the decoder, the tracker,
/// the classifier and every report writer. Any trap, hang or runaway allocation is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let analysis = CaptureAnalyzer.analyze(ByteView(UnsafeRawBufferPointer(start: data, count: size)), name: "fuzz")
    _ = JSONReport.document(analysis)
    _ = TextReport(color: false).render([analysis])
    for connection in analysis.connections {
        _ = Evidence.phrase(connection)
    }
    _ = CheckReport(expectation: TeardownExpectation(allowed: [.graceful])).evaluate([analysis]).junit.render()
    return 0
}
