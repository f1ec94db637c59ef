#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// SIGINT and SIGTERM, blocked in every thread and taken by one watching thread, so a Ctrl-C always
/// ends in an orderly stop (what was complete is reported, temporary files are removed, the exit
/// code is 130 or 143) rather than in the middle of a write.
///
/// The first signal is kept (``received``) for long work to check now and then; every signal is
/// also queued for ``wait(milliseconds:)``, so a loop that passes signals on to a child sees each once.
public enum TerminationSignals {
    private static let pending = Mutex<[Int32]>([])
    private static let first = Atomic<Int32>(0)
    private static let watching = Atomic<Bool>(false)

    /// SIGINT and SIGTERM as a signal set (children get their default handling back).
    public static var set: sigset_t {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        return signals
    }

    /// Blocks SIGINT and SIGTERM in the calling thread and in threads it starts afterwards, and
    /// starts the thread that takes them (once per process). Call at the start, before any other
    /// thread is started.
    public static func block() {
        var signals = set
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        guard !watching.exchange(true, ordering: .acquiringAndReleasing) else { return }
        OSThread {
            while true {
                var signals = set
                var signal: Int32 = 0
                guard sigwait(&signals, &signal) == 0 else { continue }
                _ = first.compareExchange(expected: 0, desired: signal, ordering: .acquiringAndReleasing)
                pending.withLock { $0.append(signal) }
            }
        }.detach()
    }

    /// The first SIGINT or SIGTERM received, if one was.
    public static var received: Int32? {
        let signal = first.load(ordering: .acquiring)
        return signal == 0 ? nil : signal
    }

    /// Waits up to `milliseconds` for SIGINT or SIGTERM; returns the signal number (each signal
    /// once), or `nil`.
    public static func wait(milliseconds: Int) -> Int32? {
        var waited = 0
        while true {
            if let signal = pending.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return signal }
            if waited >= milliseconds { return nil }
            usleep(5_000)
            waited += 5
        }
    }

    /// The exit code for a run stopped by `signal`: 128 plus its number (130 for SIGINT, 143 for
    /// SIGTERM), as shells report it.
    public static func exitCode(for signal: Int32) -> Int32 { 128 + signal }
}
