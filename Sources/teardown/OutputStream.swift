import Dispatch
import Glibc
import Synchronization
import TeardownAnalysis
import TeardownCapture
import TeardownReport

/// Standard output shared by worker threads and written on a thread of its own.
///
/// Workers hand over whole lines, so lines from different files never interleave mid-line, and
/// chunks are written in the order they were handed over. Copying hundreds of megabytes of JSON
/// Lines into the kernel (into the page cache of an output file, or a pipe) then overlaps the
/// analysis instead of adding to it: with one file, the other core does it. At most `depth` chunks
/// wait at once, so memory stays bounded when the reader of a pipe is slow.
final class SharedOutput: Sendable {
    private let queue = DispatchQueue(label: "teardown.output")
    private let room: DispatchSemaphore
    /// Chunks already written, kept for reuse (allocating fresh ones would fault in fresh pages).
    private let spare = Mutex<[UncheckedSendable<UnsafeMutableRawBufferPointer>]>([])

    init(depth: Int = 4) {
        room = DispatchSemaphore(value: depth)
    }

    deinit {
        spare.withLock { chunks in
            for chunk in chunks { chunk.value.deallocate() }
        }
    }

    /// Queues a copy of `bytes` (whole lines) for standard output; waits while `depth` chunks are
    /// already waiting.
    func write(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        room.wait()
        let chunk = take(capacity: bytes.count)
        UnsafeMutableRawBufferPointer(rebasing: chunk[..<bytes.count]).copyMemory(from: bytes)
        let handed = UncheckedSendable((chunk: chunk, count: bytes.count))
        queue.async { [self] in
            Self.writeAll(UnsafeRawBufferPointer(rebasing: handed.value.chunk[..<handed.value.count]))
            spare.withLock { $0.append(UncheckedSendable(handed.value.chunk)) }
            room.signal()
        }
    }

    /// Returns once everything handed over has been written.
    func finish() {
        queue.sync {}
    }

    private func take(capacity: Int) -> UnsafeMutableRawBufferPointer {
        let reusable = spare.withLock { chunks -> UnsafeMutableRawBufferPointer? in
            guard let index = chunks.firstIndex(where: { $0.value.count >= capacity }) else { return nil }
            return chunks.remove(at: index).value
        }
        // New chunks are a multiple of 64 KiB with room to spare, so that the usual sizes (a flush
        // of 256 KiB plus part of a line) all fit any spare chunk: sized exactly, a request a few
        // bytes larger than every spare allocated one more, and the spares grew with the output.
        let size = (max(capacity, 1 << 18) + (1 << 16)) & ~((1 << 16) - 1)
        return reusable ?? .allocate(byteCount: size, alignment: 64)
    }

    /// Writes all of `bytes` to standard output; gives up silently on an error (a closed pipe ends
    /// the process with SIGPIPE before this matters).
    private static func writeAll(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(1, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }
}

/// JSON Lines built and formatted on a thread of its own: the analysis hands over its finished
/// connections in batches (``FinishedBatch``), with their results not built yet and Zeek's view of
/// their packets not computed yet, and goes on tracking while another core completes and formats
/// them (that costs about as much as the tracking). Lines reach `output` in the order the
/// connections finished; at most `depth` batches wait at once, so memory stays bounded.
final class BackgroundJSONLines: @unchecked Sendable {
    private let queue = DispatchQueue(label: "teardown.jsonl")
    private let room: DispatchSemaphore
    /// Used on `queue` only.
    private var completer = BatchCompleter()
    private let stream: JSONLinesStream
    private let timestampDigits: Int
    private let file: String?

    /// - Parameter file: included in every line when given (several input files).
    init(output: SharedOutput, timestampDigits: Int, file: String?, depth: Int = 8) {
        stream = JSONLinesStream(flushSize: 1 << 18, sink: output.write)
        self.timestampDigits = timestampDigits
        self.file = file
        room = DispatchSemaphore(value: depth)
    }

    /// Queues a batch for completing and formatting (from the analysing thread); waits while
    /// `depth` batches are already waiting.
    func append(_ batch: FinishedBatch) {
        room.wait()
        queue.async { [self] in
            completer.complete(batch) { stream.append($0, timestampDigits: timestampDigits, file: file) }
            room.signal()
        }
    }

    /// Returns once every line has been handed to the output.
    func finish() {
        queue.sync { stream.flush() }
    }
}
