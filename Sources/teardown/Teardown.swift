import ArgumentParser

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
              65  the input is not a readable capture (bad header, unsupported link type, impossible record)
              66  an input file cannot be opened
              74  writing failed part-way (a capture file or the report: disk full)
              77  live capture is not permitted (needs root or CAP_NET_RAW)
              130 interrupted by Ctrl-C (143: SIGTERM); what was complete is reported
            """,
        version: "0.1.0",
        subcommands: [Analyze.self, Check.self, Explain.self, Capture.self, Run.self],
        defaultSubcommand: nil
    )
}
