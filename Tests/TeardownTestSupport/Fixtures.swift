#if canImport(Glibc)
import Glibc
#endif
import TeardownAnalysis
import TeardownWire

/// Paths to the repository's fixtures and the shared corpus, found from this file's location.
public enum Fixtures {
    /// The package root.
    public static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }
        return path
    }()

    /// `fixtures/<relative>`.
    public static func path(_ relative: String) -> String { "\(root)/fixtures/\(relative)" }

    /// The shared Zeek corpus (`../shared/corpus`), if present.
    public static let corpus = "\(root)/../shared/corpus"

    /// Files (not directories) directly inside `directory`, sorted.
    public static func files(in directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name.hasPrefix(".") { continue }
            var info = stat()
            if stat("\(directory)/\(name)", &info) == 0 && info.st_mode & S_IFMT == S_IFREG { names.append(name) }
        }
        return names.sorted()
    }

    /// Every capture under `fixtures/pcap` and `fixtures/derived`, as paths relative to `fixtures/`.
    public static var captures: [String] {
        var list: [String] = []
        for group in ["lo-ipv4", "lo-ipv6", "any-sll2", "any-sll"] {
            list += files(in: path("pcap/\(group)")).map { "pcap/\(group)/\($0)" }
        }
        list += files(in: path("derived")).map { "derived/\($0)" }
        return list
    }

    /// The file's bytes.
    /// The TCP segments of the capture at `path`, in capture order.
    public static func segments(_ path: String) throws -> [TCPSegment] {
        let file = bytes(path)
        return try file.withUnsafeBytes { raw in
            var reader = try CaptureReader(ByteView(raw))
            var segments: [TCPSegment] = []
            while let record = try reader.next() {
                if let segment = try? PacketDecoder.segment(
                    in: record.bytes, linkType: record.linkType, originalLength: record.originalLength,
                    timestamp: record.timestamp)
                {
                    segments.append(segment)
                }
            }
            return segments
        }
    }

    public static func bytes(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { return [] }
        defer { fclose(file) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = fread(&buffer, 1, buffer.count, file)
            if got <= 0 { break }
            data += buffer.prefix(got)
        }
        return data
    }

    /// Writes `text` to `path`.
    public static func write(_ text: String, to path: String) {
        guard let file = fopen(path, "wb") else { return }
        defer { fclose(file) }
        fputs(text, file)
    }

    /// Analyses in-memory capture bytes.
    public static func analyze(_ bytes: [UInt8], name: String = "memory") -> CaptureAnalysis {
        bytes.withUnsafeBytes { CaptureAnalyzer.analyze(ByteView($0), name: name) }
    }
}

/// Compares `actual` with the golden file at `fixtures/golden/<name>`. With `RECORD_GOLDEN=1` the
/// file is rewritten and the comparison reports a failure, so a recording is never green.
/// - Returns: `nil` when equal, else a message.
public func goldenMismatch(_ actual: String, name: String) -> String? {
    let path = Fixtures.path("golden/\(name)")
    if getenv("RECORD_GOLDEN") != nil {
        var directory = path
        directory = String(directory[..<directory.lastIndex(of: "/")!])
        var prefix = ""
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            mkdir(prefix, 0o755)
        }
        Fixtures.write(actual, to: path)
        return "recorded \(name); run again without RECORD_GOLDEN"
    }
    let expected = String(decoding: Fixtures.bytes(path), as: UTF8.self)
    if expected.isEmpty { return "no golden file \(name) (record it with RECORD_GOLDEN=1)" }
    return expected == actual ? nil : "\(name) differs from its golden file:\n--- expected\n\(expected)\n--- actual\n\(actual)"
}

/// Switches for tests that only some runs want.
public enum Environment {
    /// `TEARDOWN_PERF_TESTS=1`: the tests about speed (allocation budgets, the table's tuned memory
    /// layout), which need a release build or pin implementation details the contract does not.
    public static var performanceTests: Bool { getenv("TEARDOWN_PERF_TESTS").map { String(cString: $0) == "1" } ?? false }
}
