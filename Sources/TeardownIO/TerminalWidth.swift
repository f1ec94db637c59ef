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
    public static var columns: Int {
        if let text = getenv("COLUMNS").map({ String(cString: $0) }), let value = Int(text), value >= 40 { return value }
        let terminal = Int(teardown_terminal_columns(STDOUT_FILENO))
        return terminal >= 40 ? terminal : fallback
    }
}
