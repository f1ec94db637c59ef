import ArgumentParser
import TeardownCapture

/// Link types a capture can ask for.
enum LinkTypeChoice: String, ExpressibleByArgument, CaseIterable {
    case ethernet, sll, sll2

    var value: Int32 {
        switch self {
        case .ethernet: return 1
        case .sll: return 113
        case .sll2: return 276
        }
    }
}

/// Maps a capture error to its message and exit code (77 for "not permitted").
func fail(_ error: CaptureError) -> ExitCode {
    Console.error(error.description)
    switch error {
    case .permissionDenied: return .notPermitted
    case .badFilter, .noSuchInterface, .linkTypeUnavailable: return .usage
    case .outputNotWritable: return .cannotOpen
    case .writeFailed: return .writeFailed
    default: return .failure
    }
}
