import TeardownAnalysis
import TeardownWire

/// How a capture file is read into the analysis.
public struct WindowedReading: Sendable, Hashable {
    /// Bytes read from a file at a time (the buffer grows for a single record larger than this):
    /// memory for the file does not grow with its size.
    public var readSize = 1 << 20
    /// Whether the next `readSize` bytes are read on a thread of their own while the analysis works
    /// through the current ones (the kernel's copy then runs on another core): worth it when a core
    /// would otherwise be idle, i.e. not when as many files are analysed at once as there are cores.
    public var readsAhead = false

    public init(readSize: Int = 1 << 20, readsAhead: Bool = false) {
        self.readSize = readSize
        self.readsAhead = readsAhead
    }
}

extension CaptureAnalyzer {
    /// Opens and analyses the capture file at `path` (`-`: standard input), a window at a time.
    /// - Throws: `FileAccessError` when the file cannot be opened (exit 66).
    public static func analyze(
        fileAt path: String, options: AnalysisOptions = AnalysisOptions(), reading: WindowedReading = WindowedReading()
    ) throws(FileAccessError) -> CaptureAnalysis {
        analyze(file: try CaptureFile(path: path), name: path, options: options, reading: reading)
    }

    /// Analyses an opened file, reading it ``WindowedReading/readSize`` bytes at a time.
    /// - Parameter name: the file name to report.
    public static func analyze(
        file: CaptureFile, name: String, options: AnalysisOptions, reading: WindowedReading = WindowedReading()
    ) -> CaptureAnalysis {
        var window = CaptureWindow(file: file, size: reading.readSize, readsAhead: reading.readsAhead)
        do {
            try window.fill()
        } catch {
            var analysis = CaptureAnalysis(file: name)
            analysis.error = error
            return analysis
        }
        let first = CaptureInputWindow(view: window.view, isLast: window.isLast, inputPaused: window.caughtUp)
        return analyze(name: name, options: options, firstWindow: first, size: file.count) {
            consumed throws(CaptureFileError) in
            try window.slide(from: consumed)
            return CaptureInputWindow(view: window.view, isLast: window.isLast, inputPaused: window.caughtUp)
        }
    }

}
