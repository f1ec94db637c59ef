import ArgumentParser

/// Report formats (contract §4).
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, jsonl
    /// Only the summary line per file (verdict counts): constant memory, like jsonl.
    case summary
    /// A Zeek conn.log (TSV) with our verdict as an extra column.
    case zeek
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
