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

extension CaptureAnalyzer {
    /// Analyses the files at `paths` as one capture cut into pieces (contract 1.6, `--continuous`):
    /// in the order of their first timestamps, whatever the order given (ties by name), one file
    /// open at a time. A connection that spans pieces is one connection; each result names the
    /// pieces it came from (``Connection/files``, from ``AnalysisOptions/timeline``). Pieces
    /// that overlap in time end the analysis with ``CaptureFileError/piecesOverlap(earlier:later:)``.
    /// - Parameter onPiece: called with each piece's path as the analysis reaches it.
    /// - Throws: `FileAccessError` when the first piece cannot be opened (a later one that cannot
    ///   be is the analysis's error).
    public static func analyze(
        piecesAt paths: [String], options: AnalysisOptions, reading: WindowedReading = WindowedReading(),
        onPiece: ((String) -> Void)? = nil
    ) throws(FileAccessError) -> CaptureAnalysis {
        var ordered: [(path: String, start: Int64)] = []
        for path in paths { ordered.append((path, try firstTimestamp(of: path) ?? .min)) }
        ordered.sort { ($0.start, $0.path) < ($1.start, $1.path) }
        var options = options
        if options.timeline == nil { options.timeline = PieceTimeline() }
        let pieces = PieceWindows(reading: reading)
        let firstPath = ordered[0].path
        onPiece?(firstPath)
        let first: CaptureInputPiece
        do {
            first = try pieces.open(firstPath)
        } catch {
            var analysis = CaptureAnalysis(file: firstPath)
            analysis.error = error
            return analysis
        }
        var next = 1
        return analyze(name: firstPath, options: options, firstWindow: first.firstWindow, size: first.size) {
            consumed throws(CaptureFileError) in try pieces.slide(from: consumed)
        } nextPiece: { () throws(CaptureFileError) -> CaptureInputPiece? in
            guard next < ordered.count else { return nil }
            let path = ordered[next].path
            next += 1
            onPiece?(path)
            return try pieces.open(path)
        }
    }

    /// The time of the first record of the capture at `path`, if it can be read.
    /// - Throws: `FileAccessError` when the file cannot be opened.
    static func firstTimestamp(of path: String) throws(FileAccessError) -> Int64? {
        let file = try CaptureFile(path: path)
        var window = CaptureWindow(file: file, size: 1 << 16)
        guard (try? window.fill()) != nil, var reader = try? CaptureReader(window: window.view, fileSize: file.count),
            let record = try? reader.next()
        else { return nil }
        return record.timestamp.nanoseconds
    }
}

/// The windows of the piece being read, one piece (one open file) at a time.
private final class PieceWindows {
    private let reading: WindowedReading
    private var window: CaptureWindow?

    init(reading: WindowedReading) { self.reading = reading }

    /// Opens the piece at `path` (closing the one before) and reads its first window.
    func open(_ path: String) throws(CaptureFileError) -> CaptureInputPiece {
        window = nil
        let file: CaptureFile
        do {
            file = try CaptureFile(path: path)
        } catch {
            throw .cannotOpen(error.description)
        }
        var opened = CaptureWindow(file: file, size: reading.readSize, readsAhead: reading.readsAhead)
        try opened.fill()
        let first = CaptureInputWindow(view: opened.view, isLast: opened.isLast, inputPaused: opened.caughtUp)
        window = consume opened
        return CaptureInputPiece(name: path, firstWindow: first, size: file.count)
    }

    /// The next window of the current piece.
    func slide(from consumed: Int) throws(CaptureFileError) -> CaptureInputWindow {
        guard var current = window.take() else { throw .readFailed("no piece is open") }
        do {
            try current.slide(from: consumed)
        } catch {
            window = consume current
            throw error
        }
        let next = CaptureInputWindow(view: current.view, isLast: current.isLast, inputPaused: current.caughtUp)
        window = consume current
        return next
    }
}
