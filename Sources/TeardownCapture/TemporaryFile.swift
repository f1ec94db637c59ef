#if canImport(Glibc)
import Glibc
#endif

/// Names for captures nobody asked to keep.
public enum TemporaryFile {
    /// Creates an empty file `/tmp/teardown-PREFIX-XXXXXX` (mkstemp) and returns its path.
    public static func make(prefix: String) -> String {
        var template = Array("/tmp/teardown-\(prefix)-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 { close(fd) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
