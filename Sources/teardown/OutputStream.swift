import Synchronization

/// Standard output shared by worker threads: each worker fills its own buffer and hands it over
/// in whole lines, so lines from different files never interleave mid-line.
final class SharedOutput: Sendable {
    private let lock = Mutex<Void>(())

    /// Writes `bytes` (whole lines) to standard output.
    func write(_ raw: UnsafeRawBufferPointer) {
        lock.withLock { _ in
            var offset = 0
            while offset < raw.count {
                let written = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

import Glibc
