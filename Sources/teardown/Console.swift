#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TeardownIO
import TeardownReport

/// Standard output and error, and what kind of terminal they are.
enum Console {
    /// Writes `text` to standard error, prefixed with `teardown: `; on a terminal, each of its
    /// lines wrapped to the terminal's width (``TerminalWidth/standardErrorColumns``; later parts
    /// indented by two spaces). Into a file or a pipe each line stays whole.
    static func error(_ text: String) {
        let message = "teardown: \(text)"
        guard let width = TerminalWidth.standardErrorColumns else { return writeAll(message + "\n", to: STDERR_FILENO) }
        writeAll(wrapped(message, width: width), to: STDERR_FILENO)
    }

    /// `text`'s lines wrapped to `width` columns, each ending in a newline.
    static func wrapped(_ text: String, width: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .flatMap { TextWrap.lines(String($0), width: width, indent: 2) }.map { $0 + "\n" }.joined()
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
