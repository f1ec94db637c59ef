import Dispatch
import Glibc
import Synchronization
import TeardownAnalysis
import TeardownCapture
import TeardownReport

/// Standard output written on a thread of its own, shared by the threads that produce JSON Lines
/// (one per input file). Each ``write(_:)`` is whole lines, copied into one chunk, so lines from
/// different files never interleave mid-line; chunks reach standard output in the order they
/// were written.
///
/// Writing into a file costs the kernel as much as formatting the lines (on the project's VM,
/// 344 MB of fresh page cache for 10 M packets took about a third of the completing thread's
/// time); on a thread of its own that work goes to whichever core has room. The same `depth`
/// chunks circulate, so memory stays bounded also when the reader of a pipe is slow.
final class BackgroundOutput: Sendable {
    /// Chunks to write, oldest first; `nil` ends the thread.
    private let filled = Mutex<[[UInt8]?]>([])
    /// Chunks written and emptied, with their room kept.
    private let emptied: Mutex<[[UInt8]]>
    /// Counts the entries of `filled`.
    private let ready = DispatchSemaphore(value: 0)
    /// Counts the entries of `emptied`.
    private let available: DispatchSemaphore
    private let thread = Mutex<OSThread?>(nil)

    /// - Parameter chunkCapacity: the room each chunk starts with: enough for the largest write
    ///   expected (a chunk grows when a write is larger).
    init(depth: Int = 4, chunkCapacity: Int) {
        emptied = Mutex((0..<depth).map { _ in
            var chunk: [UInt8] = []
            chunk.reserveCapacity(chunkCapacity)
            return chunk
        })
        available = DispatchSemaphore(value: depth)
        let started = OSThread { [self] in
            while true {
                ready.wait()
                guard var chunk = filled.withLock({ $0.removeFirst() }) else { break }
                chunk.withUnsafeBytes(Self.writeAll)
                chunk.removeAll(keepingCapacity: true)
                // Moved, not copied, so that the chunk stays uniquely referenced (no copy on the
                // next append).
                var done = Optional(consume chunk)
                emptied.withLock { $0.append(done.take()!) }
                available.signal()
            }
        }
        thread.withLock { $0 = started }
    }

    /// Queues all of `bytes` (whole lines) for standard output; waits while `depth` chunks are
    /// waiting to be written.
    func write(_ bytes: UnsafeRawBufferPointer) {
        available.wait()
        var chunk = emptied.withLock { $0.removeFirst() }
        chunk.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))
        var handed = Optional(consume chunk)
        filled.withLock { $0.append(handed.take()!) }
        ready.signal()
    }

    /// Returns once everything written so far is out.
    func finish() {
        filled.withLock { $0.append(nil) }
        ready.signal()
        thread.withLock { $0 }?.join()
    }

    /// Writes all of `bytes` to standard output; gives up silently on an error (a closed pipe
    /// ends the process with SIGPIPE before this matters).
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
/// them (that costs about as much as the tracking) and hands the lines to `output` (which writes
/// them on a thread of its own). Lines reach `output` in the order the connections finished; at
/// most `depth` batches wait at once, so memory stays bounded (also when the reader of a pipe is
/// slow).
///
/// The same `depth + 1` batches circulate from start to end, in turn: completed batches go back to
/// the analysis emptied, to be filled again, and the analysis waits for one rather than allocate
/// another. One thread (one heap arena) does all the completing. Memory therefore does not depend
/// on how far ahead the analysis happened to get, nor on the file's size (a batch allocated
/// whenever none was free made peak RSS depend on timing: more batches, the longer the run).
final class BackgroundJSONLines: Sendable {
    /// Batches handed over and not completed yet, oldest first; `nil` ends the thread. Held here
    /// rather than captured by queued work, so that the completer owns each batch alone and can
    /// empty it in place.
    private let waiting = Mutex<[FinishedBatch?]>([])
    /// Batches to go back to the analysis, emptied, oldest first; at first empty ones without room
    /// (the analysis makes it).
    private let emptied: Mutex<[FinishedBatch]>
    /// Counts the entries of `waiting`.
    private let ready = DispatchSemaphore(value: 0)
    /// Counts the entries of `emptied`.
    private let available: DispatchSemaphore
    private let thread = Mutex<OSThread?>(nil)

    /// - Parameter file: included in every line when given (several input files).
    init(output: BackgroundOutput, timestampDigits: Int, file: String?, depth: Int = 8) {
        emptied = Mutex(Array(repeating: FinishedBatch(), count: depth))
        available = DispatchSemaphore(value: depth)
        let started = OSThread { [self] in
            let stream = JSONLinesStream(flushSize: Self.flushSize, sink: output.write)
            var completer = BatchCompleter()
            while true {
                ready.wait()
                guard var batch = waiting.withLock({ $0.removeFirst() }) else { break }
                completer.complete(batch) { stream.append($0, timestampDigits: timestampDigits, file: file) }
                batch.removeAll()
                var done = Optional(consume batch)
                emptied.withLock { $0.append(done.take()!) }
                available.signal()
            }
            stream.flush()
        }
        thread.withLock { $0 = started }
    }

    /// Queues a batch for completing and formatting (from the analysing thread).
    /// - Returns: an emptied batch for the analysis to fill next; waits for one while `depth`
    ///   batches are waiting (there is always one then, since none is ever dropped).
    func append(_ batch: consuming FinishedBatch) -> FinishedBatch {
        var handed = Optional(consume batch)
        waiting.withLock { $0.append(handed.take()!) }
        ready.signal()
        available.wait()
        return emptied.withLock { $0.removeFirst() }
    }

    /// Lines gather until they fill this many bytes, then go to the output as one write.
    static let flushSize = 1 << 18

    /// Returns once every line has been handed to the output.
    func finish() {
        waiting.withLock { $0.append(nil) }
        ready.signal()
        thread.withLock { $0 }?.join()
    }
}
