#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TeardownWire

/// Why a file could not be opened or read (exit code 66, contract §5).
public struct FileAccessError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// The `errno` value of the failing call.
    public var code: Int32
    /// The failing operation (`open`, `read`, `stat`).
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

#if canImport(Glibc)
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemRead = Darwin.read
#endif

/// An opened capture file, read a window at a time (``CaptureWindow``): a regular file with
/// `pread`, so any number of passes and readers can share it and memory does not grow with its
/// size; anything else (a pipe, standard input) read into memory once, since it can be read only
/// once and `explain` reads twice.
public final class CaptureFile: @unchecked Sendable {
    /// The file's size in bytes.
    public let count: Int
    private let descriptor: Int32
    /// The contents of a file that is not a regular one.
    private let contents: UnsafeMutableRawBufferPointer?

    /// Opens the file at `path`; `-` reads standard input.
    /// - Throws: `FileAccessError` when the file cannot be opened, is a directory, or (not a
    ///   regular file) cannot be read.
    public init(path: String) throws(FileAccessError) {
        let descriptor = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileAccessError(path: path, code: errno, operation: "open") }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let code = errno
            if path != "-" { close(descriptor) }
            throw FileAccessError(path: path, code: code, operation: "stat")
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            if path != "-" { close(descriptor) }
            throw FileAccessError(path: path, code: EISDIR, operation: "open")
        }
        if info.st_mode & S_IFMT == S_IFREG && path != "-" {
            self.descriptor = descriptor
            count = Int(info.st_size)
            contents = nil
            #if os(Linux)
            _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
            #endif
            return
        }
        // Not a regular file (pipe, terminal, character device): read it all.
        defer { if path != "-" { close(descriptor) } }
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 64)
        var filled = 0
        while true {
            if filled == buffer.count {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 64)
                bigger.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[..<filled]))
                buffer.deallocate()
                buffer = bigger
            }
            let got = systemRead(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                let code = errno
                buffer.deallocate()
                throw FileAccessError(path: path, code: code, operation: "read")
            }
            filled += got
        }
        self.descriptor = -1
        count = filled
        contents = buffer
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
        contents?.deallocate()
    }

    /// Copies up to `buffer.count` bytes starting at `offset` into `buffer`; returns how many (fewer
    /// only at the end of the file).
    /// - Throws: `CaptureFileError.readFailed` when the system cannot read the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(CaptureFileError) -> Int {
        if let contents {
            let length = max(0, min(buffer.count, count - offset))
            if length > 0 {
                buffer.baseAddress!.copyMemory(from: contents.baseAddress! + offset, byteCount: length)
            }
            return length
        }
        var filled = 0
        while filled < buffer.count {
            let got = pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled))
            if got == 0 { break }
            if got < 0 {
                if errno == EINTR { continue }
                throw .readFailed(String(cString: strerror(errno)))
            }
            filled += got
        }
        return filled
    }
}

/// A buffer that holds one window of a ``CaptureFile`` at a time, for a ``CaptureReader``: the
/// file's bytes are copied in (the kernel's copy runs at memory bandwidth, and then the reader
/// finds them in the cache) and memory stays at the buffer's size however large the file is.
struct CaptureWindow: ~Copyable {
    private let file: CaptureFile
    private var buffer: UnsafeMutableRawBufferPointer
    /// Bytes of the buffer holding file data.
    private var filled = 0
    /// Where the buffer's first byte is in the file.
    private var start = 0

    /// - Parameter size: the buffer's size; it grows when a single record needs more.
    init(file: CaptureFile, size: Int) {
        self.file = file
        buffer = .allocate(byteCount: max(size, 64), alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// The bytes of the window.
    var view: ByteView { ByteView(UnsafeRawBufferPointer(rebasing: buffer[..<filled])) }

    /// Whether the window reaches the end of the file.
    var isLast: Bool { start + filled >= file.count || filled < buffer.count }

    /// Reads the file's first window.
    mutating func fill() throws(CaptureFileError) {
        filled = try file.read(into: buffer, at: 0)
    }

    /// Moves on: the bytes from `consumed` on move to the front and the rest of the buffer is read
    /// from the file. A buffer entirely taken by one unfinished record doubles first.
    mutating func slide(from consumed: Int) throws(CaptureFileError) {
        let kept = filled - consumed
        if consumed == 0 && kept == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 64)
            bigger.copyMemory(from: UnsafeRawBufferPointer(buffer))
            buffer.deallocate()
            buffer = bigger
        } else if kept > 0 {
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + consumed, byteCount: kept)
        }
        start += consumed
        let room = UnsafeMutableRawBufferPointer(rebasing: buffer[kept...])
        filled = kept + (try file.read(into: room, at: start + kept))
    }
}
