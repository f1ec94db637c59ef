import Foundation
import Testing
import TeardownTestSupport

/// The README's tour, run as printed: every `$ teardown ...` line of its examples, with the output
/// shown under it (and `$ echo $?` with the exit status), must be what the command prints.
@Suite("README tour")
struct ReadmeTourTests {
    /// One command of the README and what it shows after it.
    struct Example: CustomStringConvertible {
        var command: String
        var output: [String]
        var status: Int32?
        var description: String { command }
    }

    static func examples() -> [Example] {
        let readme = String(decoding: Fixtures.bytes(Fixtures.root + "/README.md"), as: UTF8.self)
        var examples: [Example] = []
        var inBlock = false
        /// The example whose output the lines are, within the current block.
        var current: Int?
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("```") {
                inBlock.toggle()
                current = nil
                continue
            }
            guard inBlock else { continue }
            if line.hasPrefix("$ teardown ") {
                examples.append(Example(command: String(line.dropFirst(2)), output: []))
                current = examples.count - 1
            } else if let index = current, line == "$ echo $?" {
                examples[index].status = -1
            } else if let index = current, examples[index].status == -1 {
                examples[index].status = Int32(line)
            } else if let index = current, !line.hasPrefix("$ ") {
                examples[index].output.append(line)
            } else {
                current = nil
            }
        }
        return examples
    }

    @Test("the README's first command installs with install.sh, and CI runs it as written after its apt-get")
    func firstCommand() throws {
        let readme = String(decoding: Fixtures.bytes(Fixtures.root + "/README.md"), as: UTF8.self)
        let first = try #require(readme.split(separator: "\n").first { $0.hasPrefix("apt-get update && apt-get install") })
        let afterPackages = try #require(first.firstRange(of: " && ./install.sh")).lowerBound
        let rest = String(first[afterPackages...].dropFirst(4))
        #expect(rest == "./install.sh && teardown analyze fixtures/pcap/lo-ipv4/*.pcap")
        let ci = String(decoding: Fixtures.bytes(Fixtures.root + "/.ci/run"), as: UTF8.self)
        #expect(ci.contains(rest + " >/dev/null\n"))
        #expect(access(Fixtures.root + "/install.sh", X_OK) == 0)
        // Every package the README installs, CI installs too.
        for package in ["libpcap-dev", "zlib1g-dev", "libzstd-dev"] { #expect(ci.contains(package)) }
    }

    @Test("every command of the tour prints what the README shows", arguments: examples())
    func tour(example: Example) {
        let words = example.command.split(separator: " ").map(String.init)
        let result = Command.run(
            [Command.teardown] + words.dropFirst(), environment: ["NO_COLOR": "1", "COLUMNS": "100"], directory: Fixtures.root)
        let printed = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(Array(printed.dropLast()) == example.output, "\(example.command)")
        if let status = example.status { #expect(result.status == status) }
    }
}
