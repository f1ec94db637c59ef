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

    /// Writes `text` to standard output as is.
    static func write(_ text: String) {
        writeAll(text, to: STDOUT_FILENO)
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

    static func useColor(_ mode: ColorMode) -> Bool {
        switch mode {
        case .always: return true
        case .never: return false
        case .auto: return stdoutIsTerminal && getenv("NO_COLOR") == nil
        }
    }
}
