import CSystemShims

#if canImport(Glibc)
import Glibc
#endif

/// How wide human-facing output may be.
public enum TerminalWidth {
    /// Without a terminal (a pipe, a file) and without `COLUMNS`: the width reports fit.
    public static let fallback = 100

    /// `COLUMNS` when it holds a number (at least 40), else the width of the terminal on standard
    /// output, else ``fallback``.
    public static var columns: Int { columns(of: STDOUT_FILENO) }

    /// The width for messages on standard error when it is a terminal (as ``columns``, with the
    /// terminal on standard error); nil when it is not: messages that go to a file or a pipe stay
    /// one line each, whole for `grep`.
    public static var standardErrorColumns: Int? {
        isatty(STDERR_FILENO) == 1 ? columns(of: STDERR_FILENO) : nil
    }

    private static func columns(of descriptor: Int32) -> Int {
        if let text = getenv("COLUMNS").map({ String(cString: $0) }), let value = Int(text), value >= 40 { return value }
        let terminal = Int(teardown_terminal_columns(descriptor))
        return terminal >= 40 ? terminal : fallback
    }
}
