import ArgumentParser
import TeardownReport
#if canImport(Glibc)
import Glibc
#endif

/// `teardown`: shows how TCP connections end.
@main
struct Teardown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teardown",
        abstract: "Show how TCP connections end: graceful, half-closed or abortive, who closed, what was lost.",
        discussion: """
            Every TCP connection in a capture gets one verdict: graceful (a FIN pair), half-closed (one \
            side kept sending after the other's FIN, or never closed), abortive (a reset ended it; lost \
            bytes are counted), refused, attempt or open.

            EXIT CODES
              0   success (for checks: every expectation held)
              1   an expectation did not hold
              64  usage error (bad flags or arguments)
              65  not a readable capture (bad header, unknown link type, impossible record)
              66  an input file cannot be opened
              74  writing failed part-way (a capture file or the report: disk full)
              77  live capture is not permitted (needs root or CAP_NET_RAW)
              126 the command to capture around is not executable (127: not found)
              130 interrupted by Ctrl-C (143: SIGTERM); what was complete is reported
            """,
        version: "0.1.0",
        subcommands: [Analyze.self, Check.self, Explain.self, Capture.self, Run.self],
        defaultSubcommand: nil
    )

    /// Parses and runs the command, as argument-parser does, with one habit of tcpdump users
    /// caught on the way: a capture filter given as plain words (`capture -i lo port 8000`), for
    /// which the parser could only say "unexpected arguments".
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let arguments = Array(CommandLine.arguments.dropFirst())
            if arguments.first == "capture", let hint = CaptureFilterWords.hint(fullMessage(for: error), arguments: arguments) {
                Console.error(hint)
                Glibc.exit(ExitCode.usage.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// `teardown capture -i lo port 8000`: the words the parser did not expect, when they are a filter.
enum CaptureFilterWords {
    /// The corrected command, when the unexpected words of `message` begin with a filter keyword.
    static func hint(_ message: String, arguments: [String]) -> String? {
        guard message.contains("nexpected argument") else { return nil }
        let firstLine = message.split(separator: "\n").first.map(String.init) ?? message
        let words = firstLine.split(separator: "'", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
        guard let first = words.first, TrailingFilter.keywords.contains(first.lowercased()) else { return nil }
        return "'\(words.joined(separator: " "))' is a capture filter: give it with -f (--filter); a command to run goes after '--'.\n  "
            + TrailingFilter.corrected(arguments, moving: words, into: "-f")
    }
}
