import Synchronization
import TeardownAnalysis
import TeardownKernel
import TeardownReport

/// What is added to each connection once the analysis built it: the kernel's account kept in the
/// file, and with `--continuous` the pieces its packets came from (contract 1.6).
struct Amendments: Sendable {
    let kernel: KernelAmendment
    let timeline: PieceTimeline?

    var isEmpty: Bool { kernel.isEmpty && timeline == nil }

    func apply(to connection: inout Connection) {
        kernel.apply(to: &connection)
        if let timeline { connection.files = timeline.names(from: connection.firstSeen, to: connection.lastSeen) }
    }
}

/// The bytes of the pieces read so far, so that progress counts the whole set.
final class PieceProgress: Sendable {
    private let sizes: [String: Int]
    private let state = Mutex<(before: Int, current: Int)>((0, 0))

    init(sizes: [String: Int]) { self.sizes = sizes }

    /// Bytes of the pieces finished before the current one.
    var bytesBefore: Int { state.withLock { $0.before } }

    /// The analysis reached the piece at `path`.
    func begin(_ path: String) {
        state.withLock { state in
            state.before += state.current
            state.current = sizes[path] ?? 0
        }
    }
}

/// One line on standard error when files given separately look like pieces of one capture:
/// connections still going at the end of one begin mid-stream in another (contract 1.6).
struct StitchingHint {
    let text: String

    init?(_ analyses: [CaptureAnalysis]) {
        guard analyses.count > 1 else { return nil }
        var heldBy: [UInt64: [Int]] = [:]
        for (index, analysis) in analyses.enumerated() {
            for hash in analysis.heldAtEnd { heldBy[hash, default: []].append(index) }
        }
        for (index, analysis) in analyses.enumerated() {
            // For each connection that began mid-stream here, the file it was going at the end of:
            // the nearest one given before this one, else any other.
            let continued = analysis.startedMidStream.compactMap { hash -> Int? in
                let others = (heldBy[hash] ?? []).filter { $0 != index }
                return others.last { $0 < index } ?? others.first
            }
            guard let earlier = continued.max() else { continue }
            let files = ShellWords.command(analyses.map(\.file))
            text = """
                hint: \(continued.count) connection\(continued.count == 1 ? "" : "s") still going at the end of \
                \(analyses[earlier].file) go\(continued.count == 1 ? "es" : "") on in \(analysis.file): the files look \
                like pieces of one capture (tcpdump -C, -G or -W). To read them as one, with each connection \
                reported once:
                  teardown analyze --continuous \(files)
                """
            return
        }
        return nil
    }
}
