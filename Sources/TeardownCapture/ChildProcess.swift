#if canImport(Glibc)
import Glibc
#endif
import TeardownIO

/// A command run as a child process with the environment and the default signal handling
/// (SIGINT and SIGTERM unblocked again in the child).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private var finished: Int32?

    /// Starts `arguments[0]` (looked up in `PATH`) with `arguments`.
    /// - Throws: the `errno` of `posix_spawnp` (`ENOENT` when the command is not found).
    public init(_ arguments: [String]) throws(SpawnError) {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = TerminationSignals.set
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, arguments[0], nil, &attributes, &argv, processEnvironment)
        guard status == 0 else { throw SpawnError(command: arguments[0], code: status) }
        self.pid = pid
    }

    /// The exit status if the child has ended (without waiting), else `nil`. A child killed by a
    /// signal reports 128 + the signal number, as shells do.
    public func poll() -> Int32? {
        if let finished { return finished }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        finished = Self.decode(status)
        return finished
    }

    /// Waits for the child to end; returns its exit status (128 + signal when killed).
    public func wait() -> Int32 {
        if let finished { return finished }
        var status: Int32 = 0
        _ = valueOrErrno { waitpid(pid, &status, 0) }
        finished = Self.decode(status)
        return finished!
    }

    /// Sends `signal` to the child.
    public func send(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the child, passing on SIGINT and SIGTERM (blocked with ``TerminationSignals``).
    /// - Returns: the child's exit status and the last signal passed on, if any.
    public func waitForwardingSignals() -> (status: Int32, interruptedBy: Int32?) {
        var interrupted: Int32?
        while true {
            if let status = poll() { return (status, interrupted) }
            if let signal = TerminationSignals.wait(milliseconds: 20) {
                interrupted = signal
                send(signal)
            }
        }
    }

    static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}

/// A command that could not be started.
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    public var command: String
    public var code: Int32
    public var description: String {
        code == ENOENT
            ? "cannot run '\(command)': command not found"
            : "cannot run '\(command)': \(String(cString: strerror(code)))"
    }

    /// The exit status a shell gives for it: 127 when the command was not found, 126 when it was
    /// found but could not be run (not executable, a directory).
    public var exitStatus: Int32 { code == ENOENT ? 127 : 126 }
}
