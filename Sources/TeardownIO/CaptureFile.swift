#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
#endif
import Dispatch
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

/// An opened capture file, read a window at a time (``CaptureWindow``): a regular file with
/// `pread`, so any number of passes and readers can share it and memory does not grow with its
/// size; anything else (a pipe, standard input) read into memory once, since it can be read only
/// once.
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
            let got: Int
            switch valueOrErrno({ systemRead(descriptor, buffer.baseAddress! + filled, buffer.count - filled) }) {
            case .success(let count): got = count
            case .failure(let error):
                buffer.deallocate()
                throw FileAccessError(path: path, code: error.code, operation: "read")
            }
            if got == 0 { break }
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
            let got: Int
            switch valueOrErrno({ pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(offset + filled)) }) {
            case .success(let count): got = count
            case .failure(let error): throw .readFailed(String(cString: strerror(error.code)))
            }
            if got == 0 { break }
            filled += got
        }
        return filled
    }
}

/// A buffer that holds one window of a ``CaptureFile`` at a time, for a ``CaptureReader``: the
/// file's bytes are copied in (the kernel's copy runs at memory bandwidth, and then the reader
/// finds them in the cache) and memory stays at the buffer's size however large the file is.
///
/// Each window is `readSize` bytes read from the file, preceded by the bytes of the record the
/// previous window's end cut short: those are copied into room kept in front of the data
/// (`headroom`, 256 KiB to begin with, the largest record of a usual snapshot length; it grows for
/// a larger one). With read-ahead, a second buffer is filled with the next `readSize` bytes on a
/// thread of its own while the reader works through the window, so the kernel's copy (about an
/// eighth of the analysing thread's time) runs on another core.
public struct CaptureWindow: ~Copyable {
    private let file: CaptureFile
    private let readSize: Int
    private var headroom: Int
    /// The buffer the window is in: `headroom + readSize` bytes.
    private var buffer: UnsafeMutableRawBufferPointer
    /// Where the window begins in the buffer, and its length.
    private var offset = 0
    private var filled = 0
    /// Where the window's first byte is in the file.
    private var start = 0
    /// Whether the file has no bytes after the window.
    private var atEnd = false
    /// The other buffer, filled ahead with the file's bytes after the window (read-ahead only).
    private var ahead: ReadAhead?

    /// - Parameters:
    ///   - size: bytes read from the file at a time.
    ///   - readsAhead: whether to read the next window on another thread while the reader works
    ///     through this one (only worth a thread when the file is larger than one window).
    public init(file: CaptureFile, size: Int, readsAhead: Bool = false) {
        self.file = file
        readSize = max(size, 64)
        headroom = min(Self.initialHeadroom, readSize)
        buffer = Self.allocate(headroom: headroom, readSize: readSize)
        if readsAhead && file.count > readSize {
            ahead = ReadAhead(file: file, buffer: Self.allocate(headroom: headroom, readSize: readSize), headroom: headroom)
        }
    }

    deinit {
        buffer.deallocate()
        ahead?.stop()
    }

    /// Room for the tail of a record as long as the largest usual snapshot length allows.
    static let initialHeadroom = 262_144 + 64

    /// The bytes of the window.
    public var view: ByteView {
        ByteView(UnsafeRawBufferPointer(start: buffer.baseAddress! + offset, count: filled))
    }

    /// Whether the window reaches the end of the file.
    public var isLast: Bool { atEnd }

    /// Reads the file's first window.
    public mutating func fill() throws(CaptureFileError) {
        let got = try file.read(into: dataRoom(of: buffer), at: 0)
        offset = headroom
        filled = got
        start = 0
        atEnd = got < readSize || got >= file.count
        if !atEnd { ahead?.request(at: got) }
    }

    /// Moves on: the window becomes the bytes from `consumed` on (the start of a record the window
    /// cut short) followed by the file's next `readSize` bytes.
    public mutating func slide(from consumed: Int) throws(CaptureFileError) {
        let kept = filled - consumed
        let next = start + filled
        let cut = UnsafeRawPointer(buffer.baseAddress! + offset + consumed)
        var larger = headroom
        while larger < kept { larger *= 2 }
        let got: Int
        if let ahead {
            // The next bytes are (being) read into the other buffer: the cut record goes in front
            // of them there, and this buffer is the next one read into.
            got = try ahead.wait()
            if larger > headroom {
                let grown = Self.allocate(headroom: larger, readSize: readSize)
                (grown.baseAddress! + larger).copyMemory(from: ahead.buffer.baseAddress! + headroom, byteCount: got)
                ahead.buffer.deallocate()
                ahead.buffer = grown
            }
            (ahead.buffer.baseAddress! + larger - kept).copyMemory(from: cut, byteCount: kept)
            if larger > headroom {
                buffer.deallocate()
                buffer = Self.allocate(headroom: larger, readSize: readSize)
                headroom = larger
                ahead.headroom = larger
            }
            swap(&buffer, &ahead.buffer)
        } else {
            if larger > headroom {
                let grown = Self.allocate(headroom: larger, readSize: readSize)
                (grown.baseAddress! + larger - kept).copyMemory(from: cut, byteCount: kept)
                buffer.deallocate()
                buffer = grown
                headroom = larger
            } else {
                // May overlap: copyMemory moves.
                (buffer.baseAddress! + headroom - kept).copyMemory(from: cut, byteCount: kept)
            }
            got = try file.read(into: dataRoom(of: buffer), at: next)
        }
        start += consumed
        offset = headroom - kept
        filled = kept + got
        atEnd = got < readSize || next + got >= file.count
        if !atEnd { ahead?.request(at: next + got) }
    }

    /// Where a buffer's file data goes: after the headroom.
    private func dataRoom(of buffer: UnsafeMutableRawBufferPointer) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(rebasing: buffer[headroom...])
    }

    private static func allocate(headroom: Int, readSize: Int) -> UnsafeMutableRawBufferPointer {
        .allocate(byteCount: headroom + readSize, alignment: 64)
    }
}

/// Reads a file's next window into a buffer on a thread of its own, one request at a time
/// (``CaptureWindow``). The semaphores order every access to the fields between the two threads.
private final class ReadAhead: @unchecked Sendable {
    private let file: CaptureFile
    /// The buffer read into; the window's owner swaps it with its own between requests.
    var buffer: UnsafeMutableRawBufferPointer
    /// Where in `buffer` the data goes.
    var headroom: Int
    private var position = 0
    private var outcome: Result<Int, CaptureFileError> = .success(0)
    private var pending = false
    private var stopping = false
    private let requested = DispatchSemaphore(value: 0)
    private let completed = DispatchSemaphore(value: 0)
    private var thread: OSThread?

    init(file: CaptureFile, buffer: UnsafeMutableRawBufferPointer, headroom: Int) {
        self.file = file
        self.buffer = buffer
        self.headroom = headroom
        thread = OSThread { [self] in
            while true {
                requested.wait()
                if stopping { return }
                // `self.`: the initialiser's parameters of the same names are not what is meant.
                let room = UnsafeMutableRawBufferPointer(rebasing: self.buffer[self.headroom...])
                outcome = Result { () throws(CaptureFileError) in try self.file.read(into: room, at: self.position) }
                completed.signal()
            }
        }
    }

    /// Starts reading the bytes at `position` (as many as the buffer holds after its headroom).
    func request(at position: Int) {
        self.position = position
        pending = true
        requested.signal()
    }

    /// Waits for the read under way; returns how many bytes it read (none when no read was asked
    /// for: the window then ends the file).
    func wait() throws(CaptureFileError) -> Int {
        guard pending else { return 0 }
        pending = false
        completed.wait()
        return try outcome.get()
    }

    /// Ends the thread (after the read under way) and frees the buffer.
    func stop() {
        if pending { _ = try? wait() }
        stopping = true
        requested.signal()
        thread?.join()
        thread = nil
        buffer.deallocate()
    }
}
