#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CSystemShims

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

    /// Lets the thread run on its own until the process ends (it is never joined).
    public func detach() {
        guard !joined else { return }
        joined = true
        pthread_detach(thread)
    }

    /// Waits for the thread to finish; called from the thread itself (its owner's last reference
    /// dropped there), lets it finish on its own instead.
    public func join() {
        guard !joined else { return }
        joined = true
        if pthread_equal(thread, pthread_self()) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }

    deinit { join() }
}

/// The processor cores this process may run on (its CPU affinity), at least 1.
public var availableProcessors: Int { max(1, Int(teardown_available_cpus())) }

/// Pins the calling thread to core `cpu`; false when the system refused.
@discardableResult
public func pinCurrentThread(to cpu: Int) -> Bool { teardown_pin_thread_to_cpu(Int32(cpu)) == 0 }

/// Pins the calling thread to the `index`-th (from 0) of the cores the process may run on; false
/// when there are not that many or the system refused.
@discardableResult
public func pinCurrentThread(toAvailableCore index: Int) -> Bool { teardown_pin_thread_to_process_cpu(Int32(index)) == 0 }

/// Lets the calling thread run on every core the process may run on again (after
/// ``pinCurrentThread(toAvailableCore:)``).
public func unpinCurrentThread() { _ = teardown_unpin_thread() }

/// The process environment (`environ`), for spawning children with it.
public var processEnvironment: UnsafePointer<UnsafeMutablePointer<CChar>?> { UnsafePointer(teardown_environment()) }

/// Moves the calling thread (and the threads and processes it starts from then on) into a new
/// network namespace; needs CAP_SYS_ADMIN.
public func unshareNetworkNamespace() -> Errno? {
    let code = teardown_unshare_network()
    return code == 0 ? nil : Errno(code)
}

/// Moves the calling thread into the network namespace the open file `descriptor` refers to.
public func setNetworkNamespace(_ descriptor: Int32) -> Errno? {
    let code = teardown_set_network_namespace(descriptor)
    return code == 0 ? nil : Errno(code)
}
