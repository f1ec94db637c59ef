/// What a set of connections must show: the assertion behind `teardown check` and the library API
/// for test suites.
public struct TeardownExpectation: Sendable, Hashable {
    /// Each selected connection must have one of these verdicts (empty: any).
    public var allowed: Set<Verdict> = []
    /// No selected connection may have one of these verdicts.
    public var forbidden: Set<Verdict> = []
    /// Each selected connection's `firstCloser` must be this.
    public var firstCloser: FirstCloser?
    /// At most this many payload bytes lost per connection (both sides together).
    public var maximumLostBytes: Int64?
    /// Exactly this many connections must be selected.
    public var exactCount: Int?
    /// At least this many connections must be selected.
    public var minimumCount: Int?

    public init(
        allowed: Set<Verdict> = [], forbidden: Set<Verdict> = [], firstCloser: FirstCloser? = nil,
        maximumLostBytes: Int64? = nil, exactCount: Int? = nil, minimumCount: Int? = nil
    ) {
        self.allowed = allowed
        self.forbidden = forbidden
        self.firstCloser = firstCloser
        self.maximumLostBytes = maximumLostBytes
        self.exactCount = exactCount
        self.minimumCount = minimumCount
    }

    /// Why `connection` fails the per-connection part of the expectation (empty: it holds).
    public func violations(_ connection: Connection) -> [String] {
        var problems: [String] = []
        if !allowed.isEmpty && !allowed.contains(connection.verdict) {
            problems.append("expected \(Self.list(allowed))")
        }
        if forbidden.contains(connection.verdict) {
            problems.append("\(connection.verdict) is forbidden")
        }
        if let firstCloser, connection.firstCloser != firstCloser {
            problems.append("expected the \(firstCloser) to close first, not \(connection.firstCloser.map { "the \($0)" } ?? "nobody")")
        }
        if let maximumLostBytes, connection.totalLostBytes > maximumLostBytes {
            problems.append("\(connection.totalLostBytes) bytes lost, at most \(maximumLostBytes) allowed")
        }
        return problems
    }

    /// Why `count` selected connections fail the count part (`nil`: it holds). An empty selection
    /// fails unless exactly 0 connections were expected.
    public func countViolation(_ count: Int) -> String? {
        if let exactCount {
            return count == exactCount ? nil : "expected exactly \(exactCount) connections, selected \(count)"
        }
        if let minimumCount, count < minimumCount {
            return "expected at least \(minimumCount) connections, selected \(count)"
        }
        return count == 0 ? "no connection was selected (use --connections 0 if none is expected)" : nil
    }

    /// Verdicts in the contract's order, joined with "or".
    static func list(_ verdicts: Set<Verdict>) -> String {
        Verdict.allCases.filter(verdicts.contains).map(\.rawValue).joined(separator: " or ")
    }

    /// A one-line description: `graceful or half-closed, client closes first, ≤ 0 bytes lost`.
    public var summary: String {
        var parts: [String] = []
        if !allowed.isEmpty { parts.append(Self.list(allowed)) }
        if !forbidden.isEmpty { parts.append("not " + Self.list(forbidden)) }
        if let firstCloser { parts.append("\(firstCloser) closes first") }
        if let maximumLostBytes { parts.append("≤ \(maximumLostBytes) bytes lost") }
        if let exactCount { parts.append("exactly \(exactCount) connections") }
        if let minimumCount { parts.append("at least \(minimumCount) connections") }
        return parts.isEmpty ? "any teardown" : parts.joined(separator: ", ")
    }
}
