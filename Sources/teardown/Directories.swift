#if canImport(Glibc)
import Glibc
#endif
import TeardownIO

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

extension Directories {
    /// Creates a new, empty directory `/tmp/PREFIX-XXXXXX`; nil when it cannot.
    static func makeTemporary(prefix: String) -> String? {
        var template = Array("\(temporaryDirectory)/\(prefix)-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { buffer in
            mkdtemp(buffer.baseAddress!) == nil ? nil : String(cString: buffer.baseAddress!)
        }
    }

    /// Removes the files directly in `path`, then `path` itself (a scratch directory of captures).
    static func remove(_ path: String) {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(directory)
        }
        rmdir(path)
    }
}
