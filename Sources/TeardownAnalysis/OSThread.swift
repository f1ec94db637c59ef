#if canImport(Glibc)
import Glibc
#endif

/// A real POSIX thread running one closure.
///
/// Blocking capture and socket calls run here, not in Swift concurrency tasks: the cooperative
/// pool has one thread per core (two on the project's machines) and deadlocks when tasks block.
public final class OSThread: @unchecked Sendable {
    private var thread = pthread_t()
    private var joined = false

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new thread.
    public init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
    }

    /// Waits for the thread to finish.
    public func join() {
        guard !joined else { return }
        joined = true
        pthread_join(thread, nil)
    }

    deinit { join() }
}
