import ArgumentParser
import TeardownAnalysis
import TeardownKernel

/// `--no-kernel-events`, shared by the commands that capture live.
struct KernelEventOptions: ParsableArguments {
    @Flag(name: .customLong("no-kernel-events"), help: "Do not record the kernel's account of resets and states (tracefs) beside the packets.")
    var off = false

    /// A kernel trace session, or `nil` (turned off, or not available: then says why once, on
    /// standard error, and the capture goes on without it).
    func start() -> KernelTrace? {
        guard !off else { return nil }
        do {
            return try KernelTrace()
        } catch {
            Console.error("note: \(error); causes and states come from the packets only")
            return nil
        }
    }
}

extension KernelTrace {
    /// Stops recording and joins what the kernel reported to `analysis` (a capture made
    /// meanwhile; `loopback`: on `lo`, where every stack that could answer is this host's).
    /// - Returns: the account, to keep in a pcapng file.
    @discardableResult
    func finish(into analysis: inout CaptureAnalysis, loopback: Bool) -> KernelAccount {
        stop()
        let account = KernelAccount(events: events, realtimeOffset: realtimeOffset, coversEveryStack: loopback)
        account.apply(to: &analysis)
        let lost = lostEvents
        if lost > 0 { Console.error("note: the kernel's buffers lost \(lost) events; some causes may come from the packets only") }
        return account
    }
}
