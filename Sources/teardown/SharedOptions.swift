import ArgumentParser
import TeardownReport
#if canImport(Glibc)
import Glibc
#endif

/// Report formats (contract §4).
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, jsonl
    /// Only the summary line per file (verdict counts): constant memory, like jsonl.
    case summary
    /// A Zeek conn.log (TSV) with our verdict as an extra column.
    case zeek

    /// Whether the report prints each side's states (contract 2.6): where it does not, they are
    /// not inferred (``AnalysisOptions/infersStates``).
    var printsStates: Bool { self != .summary && self != .zeek }
}

/// When to colour the text report.
enum ColorMode: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never
}

/// Options shared by every command that prints an analysis.
struct ReportOptions: ParsableArguments {
    @Option(help: "Report format: text (an aligned table), json (one object per file), jsonl (one connection per line, streamed as connections finish), summary (verdict counts only) or zeek (a Zeek conn.log: TSV with conn_state and history, our verdict as the last column).")
    var format: OutputFormat = .text

    @Option(help: "Colour the text report: auto (only on a terminal, not with NO_COLOR set), always or never.")
    var color: ColorMode = .auto
}

/// Capture files named as tcpdump and tshark users name them: as arguments, or with `-r FILE`
/// (repeatable), in the order given.
struct InputFiles: ParsableArguments {
    @Option(name: .customShort("r"), help: ArgumentHelp("Read this capture file, as tcpdump -r does (repeatable; the same as naming it).", valueName: "file"))
    var read: [String] = []

    /// `--continuous` given with standard input among the files (`analyze`, `explain`).
    static let continuousFromStandardInput = ValidationError(
        "--continuous orders files by their timestamps: not standard input ('-').")
}

/// tcpdump's habit of a filter expression after the file (`x.pcap port 8000`): the words from the
/// first one that is no file but a filter keyword are the expression.
enum TrailingFilter {
    static let keywords: Set<String> = [
        "port", "portrange", "host", "net", "src", "dst", "tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp", "and",
        "or", "not", "proto", "ether", "vlan", "mpls", "less", "greater", "gateway", "broadcast", "multicast",
        "tcp[tcpflags]", "!", "(",
    ]

    /// The expression and the files before it, when `arguments` end in filter words.
    static func split(_ arguments: [String]) -> (files: [String], expression: String)? {
        guard let start = arguments.firstIndex(where: { keywords.contains($0.lowercased()) && !fileExists($0) }),
            start > 0
        else { return nil }
        return (Array(arguments[..<start]), arguments[start...].joined(separator: " "))
    }

    /// A usage error that gives the command to run instead: `option` takes the expression. The
    /// command is the one typed (`commandLine`, the subcommand first), with the expression's words
    /// moved into `option`.
    static func error(
        _ arguments: [String], command: String, option: String,
        commandLine: [String] = Array(CommandLine.arguments.dropFirst())
    ) -> ValidationError? {
        guard let (files, expression) = split(arguments) else { return nil }
        let words = expression.split(separator: " ").map(String.init)
        let typed = commandLine.first == command ? commandLine : [command] + files + words
        return ValidationError(
            "'\(expression)' is a filter expression, not a file. Give it with \(option):\n  \(corrected(typed, moving: words, into: option))")
    }

    /// `teardown` and `commandLine` (the subcommand first) with `words`, where they stand in a row,
    /// moved into `option` right after the subcommand: the command to run instead, quoted to copy.
    static func corrected(_ commandLine: [String], moving words: [String], into option: String) -> String {
        var typed = commandLine
        if let start = typed.indices.first(where: { Array(typed.dropFirst($0).prefix(words.count)) == words }) {
            typed.removeSubrange(start..<(start + words.count))
        }
        typed.insert(contentsOf: [option, words.joined(separator: " ")], at: 1)
        return "teardown " + ShellWords.command(typed)
    }

    private static func fileExists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }
}
