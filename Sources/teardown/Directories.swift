#if canImport(Glibc)
import Glibc
#endif

/// Output directories for captures.
enum Directories {
    /// Creates `path` (and its parents) when missing; returns whether it exists as a directory.
    static func ensure(_ path: String) -> Bool {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component + "/"
            _ = mkdir(prefix, 0o755)
        }
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }
}
