import ArgumentParser

/// The exit codes of contract §5.
extension ExitCode {
    /// An expectation did not hold (`check`, `run`).
    static let expectationFailed = ExitCode(1)
    /// Bad flags or arguments.
    static let usage = ExitCode(64)
    /// The input is not a readable capture.
    static let badCapture = ExitCode(65)
    /// An input file cannot be opened.
    static let cannotOpen = ExitCode(66)
    /// Live capture is not permitted.
    static let notPermitted = ExitCode(77)
    /// Writing the capture file failed part-way (disk full, file size limit): EX_IOERR.
    static let writeFailed = ExitCode(74)
}
