#if canImport(Glibc)
import Glibc
#endif

/// The outcome of running a program.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs programs for CLI tests: the built `teardown` binary, shell commands.
public enum Command {
    /// The `teardown` binary next to the running test bundle (same build directory).
    public static var teardown: String { binary("teardown") }

    /// The built executable `name` next to the running test bundle (same build directory).
    public static func binary(_ name: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable = length > 0 ? String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return String(executable[..<(executable.lastIndex(of: "/") ?? executable.startIndex)]) + "/" + name
    }

    /// Runs `body` with the path of a fresh capture from `teardown-synth` (its ground truth beside
    /// it, at the path plus `.truth.tsv`); both are removed afterwards. The seed is the process id,
    /// so that every run sees a capture of its own.
    public static func withSyntheticCapture<Result>(
        named name: String, packets: Int, concurrent: Int, _ body: (_ path: String) throws -> Result
    ) throws -> Result {
        let path = "/tmp/teardown-\(name)-\(getpid()).pcap"
        defer {
            unlink(path)
            unlink(path + ".truth.tsv")
        }
        let made = run([binary("teardown-synth"), path, "\(packets)", "--concurrent", "\(concurrent)", "--seed", "\(getpid())"])
        guard made.status == 0 else { throw SyntheticCaptureError(message: made.stderr) }
        return try body(path)
    }

    /// `teardown-synth` failed; `message` is what it printed.
    public struct SyntheticCaptureError: Error {
        public var message: String
    }

    /// Runs `arguments` (PATH lookup), feeding `input` to standard input; collects both outputs.
    /// - Parameter prefix: wraps the command, e.g. `["setpriv", "--reuid=nobody", ...]`.
    /// - Parameter directory: the working directory of the command (default: this process's).
    public static func run(
        _ arguments: [String], input: [UInt8] = [], environment: [String: String] = [:], directory: String? = nil
    ) -> CommandResult {
        var outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0], inPipe: [Int32] = [0, 0]
        pipe(&outPipe)
        pipe(&errPipe)
        pipe(&inPipe)
        // Close-on-exec: a command other tests start meanwhile must not hold these open (our
        // reads would wait for it to end). The spawned command gets its copies by dup2.
        for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in inPipe + outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        // In another directory: through a shell that changes to it, then becomes the command.
        let arguments = directory.map { ["/bin/sh", "-c", "cd \"$1\" && shift && exec \"$@\"", "sh", $0] + arguments } ?? arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var environmentStrings: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            let key = String(text.prefix { $0 != "=" })
            if environment[key] == nil { environmentStrings.append(text) }
            index += 1
        }
        environmentStrings += environment.map { "\($0.key)=\($0.value)" }
        var envp: [UnsafeMutablePointer<CChar>?] = environmentStrings.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, &envp)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard spawned == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            return CommandResult(status: 127, stdout: "", stderr: "cannot run \(arguments[0])")
        }
        if !input.isEmpty { _ = input.withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) } }
        close(inPipe[1])
        var out: [UInt8] = [], err: [UInt8] = []
        var open = [outPipe[0], errPipe[0]]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 60_000)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { break }
            for entry in fds where entry.revents != 0 {
                var got = read(entry.fd, &buffer, buffer.count)
                while got < 0 && errno == EINTR { got = read(entry.fd, &buffer, buffer.count) }
                if got <= 0 {
                    close(entry.fd)
                    open.removeAll { $0 == entry.fd }
                } else if entry.fd == outPipe[0] {
                    out += buffer.prefix(got)
                } else {
                    err += buffer.prefix(got)
                }
            }
        }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return CommandResult(
            status: code, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    /// Runs the built `teardown` with `arguments`.
    public static func teardown(_ arguments: String..., input: [UInt8] = [], environment: [String: String] = [:]) -> CommandResult {
        run([teardown] + arguments, input: input, environment: environment)
    }
}
