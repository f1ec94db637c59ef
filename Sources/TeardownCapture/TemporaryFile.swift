#if canImport(Glibc)
import Glibc
#endif
import TeardownIO

/// Names for captures nobody asked to keep.
public enum TemporaryFile {
    /// Creates an empty file `teardown-PREFIX-XXXXXX` (mkstemp) in ``temporaryDirectory`` and
    /// returns its path.
    public static func make(prefix: String) -> String {
        var template = Array("\(temporaryDirectory)/teardown-\(prefix)-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 { close(fd) }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}
