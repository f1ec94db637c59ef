import TeardownAnalysis
import TeardownIO
import TeardownKernel
import TeardownReport

/// JSON Lines built and formatted on a thread of its own: the analysis hands over its finished
/// connections in batches (``FinishedBatch``), with their results not built yet and Zeek's view of
/// their packets not computed yet, and goes on tracking while another core completes and formats
/// them (that costs about as much as the tracking) and hands the lines to `output` (which writes
/// them on a thread of its own). Lines reach `output` in the order the connections finished.
///
/// The same `depth + 1` batches circulate from start to end, in turn (``CirculatingWorker``):
/// completed batches go back to the analysis emptied, to be filled again, and the analysis waits
/// for one rather than allocate another. One thread (one heap arena) does all the completing.
final class BackgroundJSONLines: Sendable {
    private let worker: CirculatingWorker<FinishedBatch>

    /// - Parameter file: included in every line when given (several input files).
    /// - Parameter amendment: the kernel's account kept in the file and the pieces of a continuous
    ///   capture, applied to each connection.
    init(output: BackgroundOutput, file: String?, amendment: Amendments, depth: Int = 8) {
        // Without room at first: the analysis makes it.
        worker = CirculatingWorker(items: Array(repeating: FinishedBatch(), count: depth)) { forEach in
            let stream = JSONLinesStream(flushSize: Self.flushSize, exchange: output.exchange)
            var completer = BatchCompleter()
            forEach { batch in
                let digits = batch.timestampDigits
                if amendment.isEmpty {
                    completer.complete(&batch) { stream.append($0, timestampDigits: digits, file: file) }
                } else {
                    completer.complete(&batch) { connection in
                        var connection = connection
                        amendment.apply(to: &connection)
                        stream.append(connection, timestampDigits: digits, file: file)
                    }
                }
                if batch.flushes { stream.flush() }
                batch.removeAll()
            }
            stream.flush()
        }
    }

    /// Queues a batch for completing and formatting (from the analysing thread).
    /// - Returns: an emptied batch for the analysis to fill next; waits for one while `depth`
    ///   batches are waiting.
    func append(_ batch: consuming FinishedBatch) -> FinishedBatch {
        worker.hand(consume batch)
        return worker.takeEmptied()
    }

    /// Lines gather until they fill this many bytes, then go to the output as one write.
    static let flushSize = 1 << 18

    /// Returns once every line has been handed to the output.
    func finish() { worker.finish() }
}
