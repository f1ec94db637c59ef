import CSystemShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An errno value with its symbolic name (`EPIPE`, `ECONNRESET`, ...).
public struct Errno: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int32
    public init(_ code: Int32) { self.code = code }

    /// The current `errno`.
    public static var current: Errno { Errno(errno) }

    public var name: String {
        switch code {
        case EPIPE: return "EPIPE"
        case ECONNRESET: return "ECONNRESET"
        case ECONNREFUSED: return "ECONNREFUSED"
        case ECONNABORTED: return "ECONNABORTED"
        case ENOTCONN: return "ENOTCONN"
        case EAGAIN: return "EAGAIN"
        case ETIMEDOUT: return "ETIMEDOUT"
        case EINTR: return "EINTR"
        case EADDRNOTAVAIL: return "EADDRNOTAVAIL"
        case EAFNOSUPPORT: return "EAFNOSUPPORT"
        default: return "errno \(code)"
        }
    }

    public var description: String { "\(name) (\(String(cString: strerror(code))))" }
}

/// Retries `body` (a system call returning -1 and setting `errno` on failure) while it fails with
/// EINTR; returns its result or the errno it failed with. The one place that loops on EINTR.
public func valueOrErrno<Value: BinaryInteger>(_ body: () -> Value) -> Result<Value, Errno> {
    while true {
        let result = body()
        if result >= 0 { return .success(result) }
        if errno != EINTR { return .failure(.current) }
    }
}

/// Writes every byte of `bytes` to `descriptor`, retrying short writes and EINTR.
/// - Returns: the errno of the write that failed, or `nil` when everything was written.
@discardableResult
public func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Errno? {
    var offset = 0
    while offset < bytes.count {
        switch valueOrErrno({ write(descriptor, bytes.baseAddress! + offset, bytes.count - offset) }) {
        case .success(let written): offset += written
        case .failure(let error): return error
        }
    }
    return nil
}

/// Where temporary files go: `$TMPDIR`, else `/tmp`.
public var temporaryDirectory: String {
    guard let value = getenv("TMPDIR"), value.pointee != 0 else { return "/tmp" }
    let path = String(cString: value)
    return path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
}

/// Accepts a connection on the listening socket `descriptor`, closed on exec (a program another
/// thread starts meanwhile does not inherit it). Returns the descriptor, or -1 with `errno` set.
public func acceptClosedOnExec(_ descriptor: Int32) -> Int32 {
    teardown_accept_cloexec(descriptor)
}
