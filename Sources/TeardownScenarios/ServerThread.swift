import TeardownIO
import TeardownAnalysis
import TeardownCapture

/// The server side of a scenario, running on its own thread: accepts one connection and runs
/// `body` on it. ``finish()`` joins the thread and hands back the accepted socket for reporting.
final class ServerThread: @unchecked Sendable {
    private var thread: OSThread?
    private var socket: Socket?
    private var failure: Errno?

    init(_ listener: Listener, _ body: @escaping @Sendable (Socket) -> Void) {
        thread = OSThread { [self] in
            do throws(Errno) {
                let connection = try listener.accept()
                socket = connection
                body(connection)
            } catch {
                failure = error
            }
        }
    }

    /// Waits for the server to finish; returns its socket (closed or kept open by the body).
    func finish() throws(Errno) -> Socket? {
        thread?.join()
        thread = nil
        if let failure { throw failure }
        return socket
    }
}
