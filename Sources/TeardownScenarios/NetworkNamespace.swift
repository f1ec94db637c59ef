#if canImport(Glibc)
import Glibc
#endif
import TeardownIO

/// A private network namespace for the calling thread (and the threads and processes it starts
/// from then on), with only its own loopback, brought up: firewall rules set there touch nothing
/// else, and traffic there reaches no other host. ``leave()`` returns the thread to the
/// namespace it came from.
final class NetworkNamespace {
    private let original: Int32

    /// Enters a new network namespace (needs CAP_SYS_ADMIN: root).
    init() throws(Errno) {
        original = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard original >= 0 else { throw .current }
        if let error = unshareNetworkNamespace() {
            close(original)
            throw error
        }
        // lo is down in a new namespace.
        let status = Self.run(["ip", "link", "set", "lo", "up"])
        guard status == 0 else {
            leave()
            throw Errno(ENETDOWN)
        }
    }

    /// Returns the calling thread to the namespace it was in.
    func leave() {
        _ = setNetworkNamespace(original)
        close(original)
    }

    /// Runs `arguments` (PATH lookup) in the namespace, quietly; returns its exit status.
    static func run(_ arguments: [String]) -> Int32 {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        guard posix_spawnp(&pid, arguments[0], &actions, nil, &argv, processEnvironment) == 0 else { return 127 }
        var status: Int32 = 0
        _ = valueOrErrno { waitpid(pid, &status, 0) }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
