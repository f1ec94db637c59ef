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

    public init(path: String, code: Int32, operation: String) {
        self.path = path
        self.code = code
        self.operation = operation
    }

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
/// size; anything else (a pipe, a FIFO, standard input) as a stream, front to back, as its bytes
/// come, so the analysis keeps up with a live `tcpdump -w -` and memory stays at one window.
public final class CaptureFile: @unchecked Sendable {
    /// The file's size in bytes; `Int.max` for a stream, whose end is known only when it comes.
    public let count: Int
    /// Whether the file is read once, front to back (a pipe, a FIFO, standard input).
    public let isStream: Bool
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// Whether the descriptor can be read at any offset (a regular file, compressed or not).
    private let isSeekable: Bool
    /// Inflates a compressed capture (gzip, Zstandard); `nil` for one stored as it is.
    private let decompressor: Decompressor?
    /// Bytes read from a stream to recognise its format, not yet handed on.
    private var pending: [UInt8] = []
    /// Where the next sequential read of a compressed regular file starts.
    private var rawOffset = 0
    /// Whether a stream reached its end.
    private var ended = false

    /// Opens the file at `path`; `-` reads standard input.
    /// - Throws: `FileAccessError` when the file cannot be opened or is a directory.
    public init(path: String) throws(FileAccessError) {
        ownsDescriptor = path != "-"
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
        self.descriptor = descriptor
        let regular = info.st_mode & S_IFMT == S_IFREG && path != "-"
        isSeekable = regular
        // The first bytes say whether the capture is compressed; a stream's are kept for reading.
        var prefix = [UInt8](repeating: 0, count: 4)
        var sniffed = 0
        while sniffed < prefix.count {
            if !regular {
                while !Self.waitForData(descriptor, milliseconds: 100) {
                    if TerminationSignals.received != nil {
                        if path != "-" { close(descriptor) }
                        throw FileAccessError(path: path, code: EINTR, operation: "read")
                    }
                }
            }
            let got = valueOrErrno {
                prefix.withUnsafeMutableBytes { buffer in
                    regular
                        ? pread(descriptor, buffer.baseAddress! + sniffed, buffer.count - sniffed, off_t(sniffed))
                        : systemRead(descriptor, buffer.baseAddress! + sniffed, buffer.count - sniffed)
                }
            }
            guard case .success(let count) = got, count > 0 else { break }
            sniffed += count
        }
        if !regular { pending = Array(prefix[..<sniffed]) }
        let compression = Compression(prefix: Array(prefix[..<sniffed]))
        if regular && compression == .none {
            isStream = false
            count = Int(info.st_size)
            decompressor = nil
            #if os(Linux)
            _ = posix_fadvise(descriptor, 0, 0, POSIX_FADV_SEQUENTIAL)
            #endif
        } else {
            // A stream, or a compressed file: read front to back, its size known at the end.
            isStream = true
            count = .max
            decompressor = compression == .none ? nil : Decompressor(compression)
        }
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// The whole file in memory (for small files written again in another form).
    public func readAll(path: String) throws(FileAccessError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        while true {
            let got: Int
            do {
                got = try chunk.withUnsafeMutableBytes { buffer throws(CaptureFileError) in try read(into: buffer, at: offset) }
            } catch {
                throw FileAccessError(path: path, code: EIO, operation: "read")
            }
            if got == 0 { return bytes }
            bytes += chunk[..<got]
            offset += got
        }
    }

    /// Copies up to `buffer.count` bytes starting at `offset` into `buffer`; returns how many (fewer
    /// only at the end of the file). A stream is read from where it is (`offset` is not used).
    /// - Throws: `CaptureFileError.readFailed` when the system cannot read the file, `.interrupted`
    ///   at SIGINT or SIGTERM.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(CaptureFileError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let got = try readOnce(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: offset + filled)
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// For a stream: reads what it holds now, waiting for at least one byte or its end; returns
    /// how many bytes (0 at the end) and whether the stream then had nothing more to give (the
    /// analysis catches up with a live writer: time to hand on what is finished).
    func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(CaptureFileError) -> (count: Int, drained: Bool) {
        var filled = try readOnce(into: buffer, at: 0)
        while filled > 0 && filled < buffer.count && hasDataWaiting() {
            let got = try readOnce(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: 0)
            if got == 0 { break }
            filled += got
        }
        // At the end nothing is waited for: the analysis ends anyway.
        return (filled, !ended && filled > 0 && !hasDataWaiting())
    }

    /// One read of the capture's bytes: inflated when it is compressed.
    private func readOnce(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(CaptureFileError) -> Int {
        if let signal = TerminationSignals.received { throw .interrupted(signal: signal) }
        guard let decompressor else { return try readStored(into: buffer, at: offset) }
        if ended { return 0 }
        let got = try decompressor.read(into: buffer) { raw throws(CaptureFileError) in try readStored(into: raw, at: rawOffset) }
        if got == 0 { ended = true }
        return got
    }

    /// One `pread` (a regular file) or one `read` (a stream, waiting in steps of 100 ms so that a
    /// SIGINT or SIGTERM stops it) of the bytes as stored.
    private func readStored(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(CaptureFileError) -> Int {
        if !pending.isEmpty {
            let count = min(pending.count, buffer.count)
            pending.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) }
            pending.removeFirst(count)
            return count
        }
        if !isSeekable {
            if ended && decompressor == nil { return 0 }
            while !Self.waitForData(descriptor, milliseconds: 100) {
                if let signal = TerminationSignals.received { throw .interrupted(signal: signal) }
            }
        }
        let result = valueOrErrno {
            isSeekable
                ? pread(descriptor, buffer.baseAddress!, buffer.count, off_t(decompressor == nil ? offset : rawOffset))
                : systemRead(descriptor, buffer.baseAddress!, buffer.count)
        }
        switch result {
        case .success(let count):
            if decompressor != nil { rawOffset += count }
            if count == 0 && isStream && decompressor == nil { ended = true }
            return count
        case .failure(let error):
            throw .readFailed(String(cString: strerror(error.code)))
        }
    }

    /// Whether a read of the stream would return at once.
    private func hasDataWaiting() -> Bool { isSeekable || !pending.isEmpty || Self.waitForData(descriptor, milliseconds: 0) }

    private static func waitForData(_ descriptor: Int32, milliseconds: Int32) -> Bool {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, milliseconds) != 0
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
        if readsAhead && !file.isStream && file.count > readSize {
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

    /// Whether the file is a stream that had nothing more to give when the window was read: the
    /// reader has caught up with whoever writes it.
    public private(set) var caughtUp = false

    /// Reads the file's first window: for a stream, at least its file header (the first 24 bytes,
    /// the whole first block of a pcapng) or all of it when it is shorter.
    public mutating func fill() throws(CaptureFileError) {
        offset = headroom
        start = 0
        guard file.isStream else {
            let got = try file.read(into: dataRoom(of: buffer), at: 0)
            filled = got
            atEnd = got < readSize || got >= file.count
            if !atEnd { ahead?.request(at: got) }
            return
        }
        filled = 0
        atEnd = false
        while !atEnd && filled < min(readSize, headerLength()) {
            let (got, drained) = try file.readAvailable(into: UnsafeMutableRawBufferPointer(rebasing: dataRoom(of: buffer)[filled...]))
            filled += got
            atEnd = got == 0
            caughtUp = drained
        }
    }

    /// The bytes a stream's first window must hold for the reader to start: the pcap file header,
    /// or the pcapng section header block (its length once its first 12 bytes are in).
    private func headerLength() -> Int {
        let data = UnsafeRawBufferPointer(dataRoom(of: buffer))
        guard filled >= 12, data.load(as: UInt32.self) == 0x0a0d_0d0a else { return 24 }
        let bigEndian = data.loadUnaligned(fromByteOffset: 8, as: UInt32.self) == 0x4d3c_2b1a
        let length = data.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        return Int(bigEndian ? length.byteSwapped : length)
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
            if file.isStream {
                let (count, drained) = try file.readAvailable(into: dataRoom(of: buffer))
                got = count
                caughtUp = drained
            } else {
                got = try file.read(into: dataRoom(of: buffer), at: next)
            }
        }
        start += consumed
        offset = headroom - kept
        filled = kept + got
        atEnd = file.isStream ? got == 0 : got < readSize || next + got >= file.count
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
