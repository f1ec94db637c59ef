#if canImport(Glibc)
import Glibc
#endif

/// Why a live capture could not start or finish.
public enum CaptureError: Error, Sendable, CustomStringConvertible {
    /// Capturing needs privileges this process lacks (exit 77).
    case permissionDenied(interface: String, detail: String)
    /// The interface does not exist; `available` lists those that do.
    case noSuchInterface(String, available: [String])
    /// The output file cannot be created.
    case outputNotWritable(path: String, detail: String)
    /// The link type cannot be selected on this interface.
    case linkTypeUnavailable(interface: String, requested: Int32, available: [Int32])
    /// The filter expression does not compile.
    case badFilter(String, detail: String)
    /// Writing the capture failed (disk full, ...); what was written before stays readable.
    case writeFailed(path: String, detail: String)
    /// Anything else libpcap reported.
    case pcap(operation: String, detail: String)

    public var description: String {
        switch self {
        case .permissionDenied(let interface, let detail):
            return "capturing on \(interface) needs root or CAP_NET_RAW (sudo, or setcap cap_net_raw+ep on the binary): \(detail)"
        case .noSuchInterface(let name, let available):
            return "no interface named '\(name)'; available: \(available.joined(separator: ", "))"
        case .outputNotWritable(let path, let detail):
            return "cannot write the capture to \(path): \(detail)"
        case .linkTypeUnavailable(let interface, let requested, let available):
            return "\(interface) cannot capture with link type \(requested); it offers \(available.map(String.init).joined(separator: ", "))"
        case .badFilter(let expression, let detail):
            return "invalid filter expression '\(expression)': \(detail)"
        case .writeFailed(let path, let detail):
            return "writing \(path) failed: \(detail); the packets written before the failure are still readable"
        case .pcap(let operation, let detail):
            return "\(operation) failed: \(detail)"
        }
    }

    /// True when the error means "not permitted" (exit 77).
    public var isPermissionDenied: Bool {
        if case .permissionDenied = self { return true }
        return false
    }
}
