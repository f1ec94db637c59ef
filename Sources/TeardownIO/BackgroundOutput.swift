import Dispatch
import Synchronization

/// A thread of its own that works on the items handed to it, in the order they were handed over,
/// and hands each back emptied: the same items circulate from start to end, so memory does not
/// depend on how far ahead the producers get, nor on how long the run is (an item allocated
/// whenever none was free made peak RSS depend on timing). At most as many items as it was given
/// wait at once, so memory stays bounded also when the consumer (a pipe's reader) is slow.
public final class CirculatingWorker<Item: Sendable>: Sendable {
    /// Items handed over and not worked on yet, oldest first; `nil` ends the thread. Held here
    /// rather than captured by queued work, so that the thread owns each item alone and can
    /// empty it in place.
    private let waiting = Mutex<[Item?]>([])
    /// Items worked on and emptied, with their room kept, oldest first.
    private let emptied: Mutex<[Item]>
    /// Counts the entries of `waiting`.
    private let ready = DispatchSemaphore(value: 0)
    /// Counts the entries of `emptied`.
    private let available: DispatchSemaphore
    private let thread = Mutex<OSThread?>(nil)

    /// Starts the thread, which calls `run` once: `run` sets up what the work needs, calls the
    /// `forEach` it is given with the work to do on each item (which must leave the item empty),
    /// and cleans up once `forEach` returns (after ``finish()``).
    public init(items: [Item], run: @escaping @Sendable (_ forEach: (_ work: (inout Item) -> Void) -> Void) -> Void) {
        emptied = Mutex(items)
        available = DispatchSemaphore(value: items.count)
        let started = OSThread { [self] in
            run { work in
                while true {
                    ready.wait()
                    guard var item = waiting.withLock({ $0.removeFirst() }) else { return }
                    work(&item)
                    // Moved, not copied, so that the item stays uniquely referenced (a copy is
                    // made when a shared one is emptied or filled again).
                    var done = Optional(consume item)
                    emptied.withLock { $0.append(done.take()!) }
                    available.signal()
                }
            }
        }
        thread.withLock { $0 = started }
    }

    /// Queues `item` for the thread.
    public func hand(_ item: consuming Item) {
        var handed = Optional(consume item)
        waiting.withLock { $0.append(handed.take()!) }
        ready.signal()
    }

    /// An emptied item to fill; waits while every item is waiting or being worked on (one comes
    /// back then, since none is ever dropped).
    public func takeEmptied() -> Item {
        available.wait()
        return emptied.withLock { $0.removeFirst() }
    }

    /// The emptied items, taken out for good (after ``finish()``: every item is back then), for
    /// a caller that frees what they hold.
    public func removeAllEmptied() -> [Item] {
        emptied.withLock { items in
            defer { items.removeAll() }
            return items
        }
    }

    /// Returns once every item handed over has been worked on and the thread has ended.
    public func finish() {
        waiting.withLock { $0.append(nil) }
        ready.signal()
        thread.withLock { $0 }?.join()
    }
}

/// Standard output written on a thread of its own, shared by the threads that produce JSON Lines
/// (one per input file). Each exchange hands over a buffer of whole lines, so lines from
/// different files never interleave mid-line; buffers reach standard output in the order they
/// were handed over.
///
/// Writing into a file costs the kernel as much as formatting the lines (on the project's VM,
/// 344 MB of fresh page cache for 10 M packets took about a third of the completing thread's
/// time); on a thread of its own that work goes to whichever core has room. The same `depth`
/// buffers circulate (``CirculatingWorker``), exchanged with the producers' own: lines are
/// formatted straight into the memory they are written from.
public final class BackgroundOutput: Sendable {
    /// A buffer and how many of its bytes are lines to write.
    private struct Chunk: @unchecked Sendable {
        var buffer: UnsafeMutableBufferPointer<UInt8>
        var count = 0
    }

    private let worker: CirculatingWorker<Chunk>

    /// - Parameter chunkCapacity: the size of each buffer: enough for the largest exchange
    ///   expected (a producer grows a buffer it fills).
    /// - Parameter onError: called (on the writing thread) when a write fails; it should end the
    ///   process, since the report is incomplete from there on.
    public init(depth: Int = 4, chunkCapacity: Int, onError: @escaping @Sendable (Errno) -> Void) {
        let chunks = (0..<depth).map { _ in Chunk(buffer: .allocate(capacity: chunkCapacity)) }
        worker = CirculatingWorker(items: chunks) { forEach in
            forEach { chunk in
                if let error = writeAll(UnsafeRawBufferPointer(start: chunk.buffer.baseAddress, count: chunk.count), to: 1) {
                    onError(error)
                }
                chunk.count = 0
            }
        }
    }

    /// Takes over `full`, whose first `count` bytes are whole lines, queues them for standard
    /// output, and returns an emptied buffer for the caller to own and fill next; waits while
    /// `depth` buffers are waiting to be written.
    public func exchange(_ full: UnsafeMutableBufferPointer<UInt8>, count: Int) -> UnsafeMutableBufferPointer<UInt8> {
        var chunk = worker.takeEmptied()
        let emptied = chunk.buffer
        chunk.buffer = full
        chunk.count = count
        worker.hand(chunk)
        return emptied
    }

    /// Returns once everything handed over so far is out, and frees the buffers.
    public func finish() {
        worker.finish()
        for chunk in worker.removeAllEmptied() { chunk.buffer.deallocate() }
    }
}
