import CZlib
import CZstd
import TeardownWire

/// How a file's bytes are stored: as they are, or compressed (recognised by their first bytes).
enum Compression {
    case none, gzip, zstd

    /// The compression whose magic number `prefix` starts with.
    init(prefix: [UInt8]) {
        if prefix.starts(with: [0x1f, 0x8b]) {
            self = .gzip
        } else if prefix.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) {
            self = .zstd
        } else {
            self = .none
        }
    }
}

/// Inflates a gzip (zlib) or Zstandard stream a buffer at a time, pulling compressed bytes as it
/// needs them: a compressed capture is analysed as it is read, never unpacked whole.
/// Concatenated members or frames (as `cat a.gz b.gz` makes) are read one after the other.
final class Decompressor {
    private let kind: Compression
    /// Compressed bytes read and not yet inflated, at `inputStart ..< inputEnd`.
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    private var inputStart = 0
    private var inputEnd = 0
    private var inputEnded = false
    private var finished = false
    private var zlib = z_stream()
    private var zstd: OpaquePointer?

    init(_ kind: Compression) {
        self.kind = kind
        switch kind {
        case .gzip: _ = inflateInit2_(&zlib, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        case .zstd: zstd = ZSTD_createDStream()
        case .none: break
        }
    }

    deinit {
        input.deallocate()
        switch kind {
        case .gzip: inflateEnd(&zlib)
        case .zstd: ZSTD_freeDStream(zstd)
        case .none: break
        }
    }

    /// Fills `output` with inflated bytes, at least one unless the stream ended (0).
    /// - Parameter refill: reads compressed bytes into its buffer; 0 at the end of the input.
    func read(
        into output: UnsafeMutableRawBufferPointer,
        refill: (UnsafeMutableRawBufferPointer) throws(CaptureFileError) -> Int
    ) throws(CaptureFileError) -> Int {
        var produced = 0
        while produced == 0 && !finished {
            if inputStart == inputEnd && !inputEnded {
                let got = try refill(input)
                inputStart = 0
                inputEnd = got
                inputEnded = got == 0
            }
            if inputStart == inputEnd && inputEnded {
                finished = true
                break
            }
            produced = try step(into: output)
        }
        return produced
    }

    /// One decompression call on the input held; returns the bytes it produced.
    private func step(into output: UnsafeMutableRawBufferPointer) throws(CaptureFileError) -> Int {
        do {
            let source = input.baseAddress!.assumingMemoryBound(to: UInt8.self) + inputStart
            let available = inputEnd - inputStart
            switch kind {
            case .gzip:
                zlib.next_in = source
                zlib.avail_in = UInt32(available)
                zlib.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
                zlib.avail_out = UInt32(output.count)
                let status = inflate(&zlib, Z_NO_FLUSH)
                inputStart = inputEnd - Int(zlib.avail_in)
                let produced = output.count - Int(zlib.avail_out)
                if status == Z_STREAM_END {
                    // Another gzip member may follow.
                    inflateReset(&zlib)
                } else if status != Z_OK && status != Z_BUF_ERROR {
                    throw .readFailed("the gzip data is corrupt (zlib error \(status))")
                }
                return produced
            case .zstd:
                var inBuffer = ZSTD_inBuffer(src: source, size: available, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
                let status = ZSTD_decompressStream(zstd, &outBuffer, &inBuffer)
                if ZSTD_isError(status) != 0 {
                    throw .readFailed("the zstd data is corrupt (\(String(cString: ZSTD_getErrorName(status))))")
                }
                inputStart += inBuffer.pos
                return outBuffer.pos
            case .none:
                let count = min(available, output.count)
                output.baseAddress!.copyMemory(from: source, byteCount: count)
                inputStart += count
                return count
            }
        }
    }
}
