#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TeardownIO

/// Standard output and error, and what kind of terminal they are.
enum Console {
    /// Writes `text` to standard error, prefixed with `teardown: `.
    static func error(_ text: String) {
        writeAll("teardown: \(text)\n", to: STDERR_FILENO)
    }

    /// Writes `text` to standard output as is, checked (``StandardOutput``), and at once.
    static func write(_ text: String) {
        StandardOutput.write(text)
        StandardOutput.flush()
    }

    /// Writes every byte of `text`, retrying short writes and EINTR; gives up quietly on other
    /// errors (a closed pipe: the reader has gone).
    static func writeAll(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { _ = TeardownIO.writeAll(UnsafeRawBufferPointer($0), to: descriptor) }
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Colour is used when standard output is a terminal and `NO_COLOR` is unset (no-color.org).
    /// Writes `text` to the file at `path` (created or truncated); false when it cannot be opened.
    static func writeFile(_ text: String, to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        writeAll(text, to: fd)
        return true
    }

    /// Whether a file can be written at `path` (created if missing; an existing file is left as it
    /// is), so that an output path can be checked before long work. `errno` says why not.
    static func canWrite(to path: String) -> Bool {
        let existed = access(path, F_OK) == 0
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return false }
        close(fd)
        if !existed { unlink(path) }
        return true
    }

    static func useColor(_ mode: ColorMode) -> Bool {
        switch mode {
        case .always: return true
        case .never: return false
        case .auto: return stdoutIsTerminal && getenv("NO_COLOR") == nil
        }
    }
}
