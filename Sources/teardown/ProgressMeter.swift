import Synchronization

/// "reading 2 files: 41% of 1.7 GB, 8.1 M packets/s, 2 s left" on standard error, redrawn in
/// place, for large inputs on a terminal. Workers report through ``update(file:bytes:packets:)``.
final class ProgressMeter: Sendable {
    private struct State {
        var bytes: [Int]
        var packets: [Int]
        var lastDraw = 0
    }
    private let state: Mutex<State>
    private let total: Int
    private let started = Clock.nanoseconds()

    /// A meter for files of these sizes, or `nil` when it should stay silent (not a terminal, or
    /// less than 64 MB to read).
    init?(sizes: [Int]) {
        total = sizes.reduce(0, +)
        guard Console.stderrIsTerminal, total >= 64 << 20 else { return nil }
        state = Mutex(State(bytes: Array(repeating: 0, count: sizes.count), packets: Array(repeating: 0, count: sizes.count)))
    }

    func update(file: Int, bytes: Int, packets: Int) {
        let text: String? = state.withLock { state in
            state.bytes[file] = bytes
            state.packets[file] = packets
            let now = Clock.nanoseconds()
            guard now - state.lastDraw > 200_000_000 else { return nil }
            state.lastDraw = now
            let done = state.bytes.reduce(0, +), packets = state.packets.reduce(0, +)
            let seconds = Double(now - started) / 1e9
            let rate = seconds > 0 ? Double(packets) / seconds / 1e6 : 0
            let left = done > 0 ? seconds * Double(total - done) / Double(done) : 0
            return "reading: \(done * 100 / max(total, 1))% of \(Self.megabytes(total)), "
                + "\((rate * 10).rounded() / 10) M packets/s, \(Int(left.rounded())) s left"
        }
        if let text { Console.writeAll("\r\u{1B}[K\(text)", to: 2) }
    }

    /// Erases the line.
    func finish() { Console.writeAll("\r\u{1B}[K", to: 2) }

    static func megabytes(_ bytes: Int) -> String { "\(bytes >> 20) MB" }
}

enum Clock {
    static func nanoseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }
}

import Glibc
