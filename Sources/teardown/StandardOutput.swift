#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import TeardownIO

/// Standard output for reports, every write checked (contract §5): a closed pipe
/// (`teardown analyze ... | head`) ends the process quietly with 0, as Unix tools do; any other
/// failure (a full disk, a file size limit) with a message naming the cause and exit 74.
enum StandardOutput {
    /// Bytes gathered before a write: reports are written in large pieces.
    private static let buffer = Mutex<[UInt8]>([])
    static let pieceSize = 1 << 16

    /// Makes a write to a closed pipe fail with EPIPE instead of killing the process, and takes
    /// SIGINT and SIGTERM on a thread of their own (``TerminationSignals``). Called first by every
    /// command.
    static func prepare() {
        signal(SIGPIPE, SIG_IGN)
        TerminationSignals.block()
    }

    /// Adds `text` to the output, writing it out in pieces of ``pieceSize``.
    static func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Adds `bytes` to the output, writing it out in pieces of ``pieceSize``.
    static func write(_ bytes: UnsafeRawBufferPointer) {
        buffer.withLock { buffer in
            buffer.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
            if buffer.count >= pieceSize { flush(&buffer) }
        }
    }

    /// Writes out what was added and not written yet.
    static func flush() { buffer.withLock { flush(&$0) } }

    private static func flush(_ buffer: inout [UInt8]) {
        guard !buffer.isEmpty else { return }
        if let error = buffer.withUnsafeBytes({ writeAll($0, to: STDOUT_FILENO) }) { failed(error) }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Ends the process after a failed write of the report: quietly with 0 for a closed pipe, else
    /// with a message and exit 74.
    static func failed(_ error: Errno) -> Never {
        if error.code == EPIPE { exit(0) }
        Console.error("cannot write the report to standard output: \(String(cString: strerror(error.code))); the report is incomplete")
        exit(74)
    }
}
