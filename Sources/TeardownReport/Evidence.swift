import TeardownAnalysis

/// A connection's teardown in words: the facts behind its verdict in one phrase, as `check` prints
/// them next to a failed expectation ("client reset after its FIN; 9 server bytes lost").
public enum Evidence {
    /// The evidence phrase for `connection` (without the verdict itself).
    public static func phrase(_ connection: Connection) -> String {
        var parts: [String] = []
        switch connection.verdict {
        case .refused:
            parts.append("the server answered the SYN with a reset")
        case .attempt:
            parts.append("the SYN was never answered")
        case .open:
            parts.append("neither side sent FIN or RST")
        case .graceful:
            switch connection.firstCloser {
            case .both?: parts.append("both FINs crossed (simultaneous close)")
            case let closer?: parts.append("\(closer) closed first, then the \(closer == .client ? "server" : "client")")
            case nil: parts.append("FIN pair")
            }
        case .halfClosed:
            if let closer = connection.firstCloser {
                let other = closer == .server ? "client" : "server"
                if connection.bytesAfterFirstFin > 0 {
                    parts.append("\(closer == .both ? "client" : closer.rawValue) closed first; the \(other) sent \(connection.bytesAfterFirstFin) bytes after that FIN")
                } else {
                    parts.append("\(closer) closed first")
                }
                parts.append(connection.completed ? "then the \(other) closed too" : "the \(other) had not closed when the capture ended")
            }
        case .abortive:
            if let resetter = connection.resetBy {
                var text = "\(resetter) reset"
                if let closer = connection.firstCloser {
                    if closer.rawValue == resetter.rawValue {
                        text += " after its FIN"
                    } else if closer == .both {
                        text += " after both FINs"
                    } else {
                        text += " after the \(closer)'s FIN"
                    }
                }
                parts.append(text)
            }
        }
        if connection.verdict == .abortive || connection.totalLostBytes > 0 {
            var lost: [String] = []
            if connection.lostBytes.client > 0 { lost.append("\(connection.lostBytes.client) client bytes") }
            if connection.lostBytes.server > 0 { lost.append("\(connection.lostBytes.server) server bytes") }
            parts.append(lost.isEmpty ? "no bytes lost" : lost.joined(separator: " and ") + " lost")
        }
        if connection.notes.contains(.unreadDataSuspected) {
            parts.append("close() with unread data suspected")
        }
        return parts.joined(separator: "; ")
    }

    /// `127.0.0.1:41000 → 127.0.0.1:8080`.
    public static func endpoints(_ connection: Connection) -> String {
        "\(connection.client) → \(connection.server)"
    }

    /// A connection that broke an expectation, in one line: `#3 A → B abortive: what happened;
    /// what it broke`.
    public static func failure(_ connection: Connection, problems: [String]) -> String {
        "#\(connection.id) \(endpoints(connection)) \(connection.verdict): \(phrase(connection)); \(problems.joined(separator: "; "))"
    }
}
