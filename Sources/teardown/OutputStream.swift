import Dispatch
import Glibc
import Synchronization
import TeardownAnalysis
import TeardownCapture
import TeardownReport

/// Standard output shared by the threads that write JSON Lines (one per input file). Each write
/// is whole lines and holds a lock, so lines from different files never interleave mid-line.
final class SharedOutput: Sendable {
    private let lock = Mutex(())

    /// Writes all of `bytes` (whole lines) to standard output; gives up silently on an error (a
    /// closed pipe ends the process with SIGPIPE before this matters).
    func write(_ bytes: UnsafeRawBufferPointer) {
        lock.withLock { _ in
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
}

/// JSON Lines built, formatted and written on a thread of its own: the analysis hands over its
/// finished connections in batches (``FinishedBatch``), with their results not built yet and Zeek's
/// view of their packets not computed yet, and goes on tracking while another core completes,
/// formats and writes them (that costs about as much as the tracking). Lines reach `output` in the
/// order the connections finished; at most `depth` batches wait at once, so memory stays bounded
/// (also when the reader of a pipe is slow).
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
    init(output: SharedOutput, timestampDigits: Int, file: String?, depth: Int = 8) {
        emptied = Mutex(Array(repeating: FinishedBatch(), count: depth))
        available = DispatchSemaphore(value: depth)
        let started = OSThread { [self] in
            let stream = JSONLinesStream(flushSize: 1 << 18, sink: output.write)
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

    /// Returns once every line has been written.
    func finish() {
        waiting.withLock { $0.append(nil) }
        ready.signal()
        thread.withLock { $0 }?.join()
    }
}
