/// What a set of connections must show: the assertion behind `teardown check`, the built-in
/// scenarios' expectations, and the library API for test suites.
public struct TeardownExpectation: Sendable, Hashable {
    /// Each selected connection must have one of these verdicts (empty: any).
    public var allowed: Set<Verdict> = []
    /// Allowed verdicts qualified by their completion (contract 2.1): `half-closed:completed`
    /// allows a half-closed connection only when the second FIN came too.
    public var allowedCompletion: [Verdict: Bool] = [:]
    /// No selected connection may have one of these verdicts.
    public var forbidden: Set<Verdict> = []
    /// Each selected connection's `completed` must be this (contract 2.1).
    public var completed: Bool?
    /// Each selected connection's `firstCloser` must be this.
    public var firstCloser: FirstCloser?
    /// Each selected connection must have been reset by this side (contract 2.4).
    public var resetBy: Side?
    /// At most this many payload bytes lost per connection (both sides together).
    public var maximumLostBytes: Int64?
    /// At least this many bytes of each side lost per connection (a scenario that must lose data).
    public var minimumLostBytes = PerSide<Int64>(client: 0, server: 0)
    /// Each connection that has a cause (contract 2.5) must have one of these (empty: any).
    public var causes: Set<Cause.Code> = []
    /// No connection may have a cause among these.
    public var forbiddenCauses: Set<Cause.Code> = []
    /// For a cause inferred from the wire (no kernel account), these instead of ``causes`` when
    /// not empty: the wire cannot tell some causes apart (a segment reaching TIME_WAIT looks like
    /// data after close).
    public var causesFromWire: Set<Cause.Code> = []
    /// Each side's state when the capture ended must be one of these (contract 2.6; empty: any).
    public var finalStates = PerSide<Set<TCPState>>(client: [], server: [])
    /// Each side's state when the capture ended must not be one of these ("the server must not be
    /// left in CLOSE_WAIT").
    public var forbiddenFinalStates = PerSide<Set<TCPState>>(client: [], server: [])
    /// Whether any of it is about states: without, a connection's states need not be inferred.
    public var judgesStates: Bool {
        Side.allCases.contains { !finalStates[$0].isEmpty || !forbiddenFinalStates[$0].isEmpty }
    }
    /// Exactly this many connections must be selected.
    public var exactCount: Int?
    /// At least this many connections must be selected.
    public var minimumCount: Int?

    public init(
        allowed: Set<Verdict> = [], forbidden: Set<Verdict> = [], completed: Bool? = nil, firstCloser: FirstCloser? = nil,
        resetBy: Side? = nil, maximumLostBytes: Int64? = nil, minimumLostBytes: PerSide<Int64> = PerSide(client: 0, server: 0),
        exactCount: Int? = nil, minimumCount: Int? = nil
    ) {
        self.allowed = allowed
        self.forbidden = forbidden
        self.completed = completed
        self.firstCloser = firstCloser
        self.resetBy = resetBy
        self.maximumLostBytes = maximumLostBytes
        self.minimumLostBytes = minimumLostBytes
        self.exactCount = exactCount
        self.minimumCount = minimumCount
    }

    /// Why `connection` fails the per-connection part of the expectation (empty: it holds).
    public func violations(_ connection: Connection) -> [String] {
        var problems: [String] = []
        if !allowed.isEmpty && !allowed.contains(connection.verdict) {
            problems.append("expected \(allowedList)")
        } else if let completion = allowedCompletion[connection.verdict], connection.completed != completion {
            problems.append("expected \(allowedList), not \(Self.qualified(connection.verdict, completed: connection.completed))")
        }
        if forbidden.contains(connection.verdict) {
            problems.append("\(connection.verdict) is forbidden")
        }
        if let completed, connection.completed != completed {
            problems.append(completed ? "expected it completed (both FINs)" : "expected it not completed")
        }
        if let firstCloser, connection.firstCloser != firstCloser {
            problems.append("expected the \(firstCloser) to close first, not \(connection.firstCloser.map { "the \($0)" } ?? "nobody")")
        }
        if let resetBy, connection.resetBy != resetBy {
            problems.append("expected a reset by the \(resetBy), not by \(connection.resetBy.map { "the \($0)" } ?? "nobody")")
        }
        if let maximumLostBytes, connection.totalLostBytes > maximumLostBytes {
            problems.append("\(connection.totalLostBytes) bytes lost, at most \(maximumLostBytes) allowed")
        }
        for side in Side.allCases where connection.lostBytes[side] < minimumLostBytes[side] {
            problems.append("\(connection.lostBytes[side]) \(side) bytes lost, at least \(minimumLostBytes[side]) expected")
        }
        if let cause = connection.cause {
            let allowed = cause.source == .wire && !causesFromWire.isEmpty ? causesFromWire : causes
            if !allowed.isEmpty && !allowed.contains(cause.code) {
                problems.append("cause \(cause.code) (\(cause.source)), expected \(Self.list(allowed))")
            }
            if forbiddenCauses.contains(cause.code) { problems.append("cause \(cause.code) (\(cause.source)) is forbidden") }
        } else if !causes.isEmpty && (connection.verdict == .abortive || connection.verdict == .refused) {
            problems.append("no cause known, expected \(Self.list(causes))")
        }
        for side in Side.allCases {
            let final = connection.states.final(side)
            let name = final?.rawValue ?? "no state"
            if !finalStates[side].isEmpty && !(final.map(finalStates[side].contains) ?? false) {
                problems.append("the \(side) ended in \(name), expected \(Self.list(finalStates[side]))")
            }
            if let final, forbiddenFinalStates[side].contains(final) {
                problems.append("the \(side) was left in \(final), which is forbidden")
            }
        }
        return problems
    }

    /// Why `count` selected connections fail the count part (`nil`: it holds). An empty selection
    /// fails unless exactly 0 connections were expected.
    public func countViolation(_ count: Int) -> String? {
        if let exactCount {
            return count == exactCount ? nil : "expected exactly \(counted(exactCount, "connection")), selected \(count)"
        }
        if let minimumCount, count < minimumCount {
            return "expected at least \(counted(minimumCount, "connection")), selected \(count)"
        }
        return count == 0 ? "no connection was selected (use --connections 0 if none is expected)" : nil
    }

    /// The allowed verdicts, with their qualifiers: `half-closed:completed or graceful`.
    private var allowedList: String {
        Verdict.allCases.filter(allowed.contains).map { verdict in
            allowedCompletion[verdict].map { Self.qualified(verdict, completed: $0) } ?? verdict.rawValue
        }.joined(separator: " or ")
    }

    /// `half-closed:completed`, `half-closed:not-completed`: a verdict with its completion.
    public static func qualified(_ verdict: Verdict, completed: Bool) -> String {
        "\(verdict.rawValue):\(completed ? "completed" : "not-completed")"
    }

    /// Verdicts in the contract's order, joined with "or".
    static func list(_ verdicts: Set<Verdict>) -> String {
        Verdict.allCases.filter(verdicts.contains).map(\.rawValue).joined(separator: " or ")
    }

    /// Cause codes in the contract's order, joined with "or".
    static func list(_ codes: Set<Cause.Code>) -> String {
        Cause.Code.allCases.filter(codes.contains).map(\.rawValue).joined(separator: " or ")
    }

    /// States in RFC order, joined with "or".
    static func list(_ states: Set<TCPState>) -> String {
        TCPState.allCases.filter(states.contains).map(\.rawValue).joined(separator: " or ")
    }

    /// A one-line description: `graceful or half-closed, client closes first, ≤ 0 bytes lost`.
    public var summary: String {
        var parts: [String] = []
        if !allowed.isEmpty { parts.append(allowedList) }
        if !forbidden.isEmpty { parts.append("not " + Self.list(forbidden)) }
        if let completed { parts.append(completed ? "completed" : "not completed") }
        if let firstCloser { parts.append("\(firstCloser) closes first") }
        if let resetBy { parts.append("reset by \(resetBy)") }
        if let maximumLostBytes { parts.append("≤ \(maximumLostBytes) bytes lost") }
        for side in Side.allCases where minimumLostBytes[side] > 0 {
            parts.append("≥ \(minimumLostBytes[side]) \(side) bytes lost")
        }
        if !causes.isEmpty { parts.append("caused by \(Self.list(causes))") }
        if !forbiddenCauses.isEmpty { parts.append("not caused by \(Self.list(forbiddenCauses))") }
        for side in Side.allCases where !finalStates[side].isEmpty {
            parts.append("\(side) ends in \(Self.list(finalStates[side]))")
        }
        for side in Side.allCases where !forbiddenFinalStates[side].isEmpty {
            parts.append("\(side) not left in \(Self.list(forbiddenFinalStates[side]))")
        }
        if let exactCount { parts.append("exactly \(counted(exactCount, "connection"))") }
        if let minimumCount { parts.append("at least \(counted(minimumCount, "connection"))") }
        return parts.isEmpty ? "any teardown" : parts.joined(separator: ", ")
    }
}
