#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be opened or read (exit code 66, contract §5).
public struct FileAccessError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// The `errno` value of the failing call.
    public var code: Int32
    /// The failing operation (`open`, `read`, `mmap`).
    public var operation: String

    public var description: String {
        let reason = String(cString: strerror(code))
        switch code {
        case ENOENT: return "cannot open: \(reason) (check the path)"
        case EACCES, EPERM: return "cannot open: \(reason) (check the file's permissions)"
        case EISDIR: return "is a directory, not a capture file"
        default: return "cannot \(operation): \(reason)"
        }
    }
}

/// A file's bytes, memory-mapped read-only (regular files) or read into memory (pipes, `-`).
///
/// The mapping lives as long as this object; ``withBytes(_:)`` lends it out.
public final class MappedFile: @unchecked Sendable {
    private let base: UnsafeRawPointer?
    /// Number of bytes.
    public let count: Int
    private let isMapped: Bool

    /// Maps the file at `path`; `-` reads standard input.
    /// - Throws: `FileAccessError` when the file cannot be opened, is a directory, or cannot be read.
    public init(path: String) throws(FileAccessError) {
        let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileAccessError(path: path, code: errno, operation: "open") }
        defer { if path != "-" { close(descriptor) } }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw FileAccessError(path: path, code: errno, operation: "stat") }
        if info.st_mode & S_IFMT == S_IFDIR { throw FileAccessError(path: path, code: EISDIR, operation: "open") }
        if info.st_mode & S_IFMT == S_IFREG && info.st_size > 0 {
            let size = Int(info.st_size)
            guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), mapping != MAP_FAILED else {
                throw FileAccessError(path: path, code: errno, operation: "mmap")
            }
            _ = madvise(mapping, size, MADV_SEQUENTIAL)
            base = UnsafeRawPointer(mapping)
            count = size
            isMapped = true
            return
        }
        // Not a regular file (pipe, terminal, character device) or empty: read it all.
        var capacity = 1 << 16
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        var filled = 0
        while true {
            if filled == capacity {
                let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
                bigger.copyMemory(from: buffer, byteCount: filled)
                buffer.deallocate()
                buffer = bigger
                capacity *= 2
            }
            let got = read(descriptor, buffer + filled, capacity - filled)
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                let code = errno
                buffer.deallocate()
                throw FileAccessError(path: path, code: code, operation: "read")
            }
            filled += got
        }
        base = UnsafeRawPointer(buffer)
        count = filled
        isMapped = false
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base)?.deallocate()
        }
    }

    /// Bytes already released by ``advance(to:)``.
    private var released = 0
    /// Bytes whose page-table entries were already filled in ahead of the reader.
    private var populated = 0
    /// How far ahead of the reader pages are mapped.
    static let populateWindow = 2 << 20

    /// Moves the reader's window to `offset`. Pages before it will not be read again
    /// (`MADV_DONTNEED`, so that reading a large file keeps a small resident set; they stay in the
    /// page cache), and the pages of the next window are mapped in one call (`MADV_POPULATE_READ`,
    /// Linux 5.14) instead of a page fault every 16 pages at the reader's expense; on older
    /// kernels that advice fails and the faults happen as before.
    public func advance(to offset: Int) {
        guard isMapped, let base else { return }
        let pageSize = 4096
        let mutableBase = UnsafeMutableRawPointer(mutating: base)
        let end = min(offset, count) / pageSize * pageSize
        if end > released {
            _ = madvise(mutableBase + released, end - released, MADV_DONTNEED)
            released = end
        }
        let ahead = min(count, offset + Self.populateWindow)
        let start = max(populated, end)
        if ahead > start {
            #if os(Linux)
            _ = madvise(mutableBase + start, ahead - start, MADV_POPULATE_READ)
            #endif
            populated = ahead
        }
    }

    /// Lends the bytes to `body`; the view must not escape it.
    public func withBytes<Result>(_ body: (ByteViewSource) throws -> Result) rethrows -> Result {
        try withExtendedLifetime(self) { try body(ByteViewSource(base: base, count: count)) }
    }
}

import TeardownWire

/// The bytes of a ``MappedFile`` as a raw buffer, for building a `ByteView`.
public struct ByteViewSource {
    let base: UnsafeRawPointer?
    public let count: Int
    public var view: ByteView { ByteView(UnsafeRawBufferPointer(start: base, count: count)) }
}
