import TeardownAnalysis

/// A JUnit XML report of a `teardown check` run, the format CI systems display.
///
/// One `<testsuite>` per capture, one `<testcase>` per selected connection, named by its server and
/// its place among the connections to that server (`to 127.0.0.1:8080, connection 2`: stable from
/// run to run, unlike the client's port; a `<failure>` carries the evidence and the id), plus one test case per capture named `capture and selection` for the checks that
/// are about the capture rather than one connection (readable, not cut short, no drops, count).
public struct JUnitReport: Sendable {
    /// One checked connection: only what its test case shows, so that a check of many
    /// connections keeps a few words for each that passed.
    public struct Case: Sendable {
        /// The connection's id (the cases of a suite are in its order).
        public var id: Int
        /// The connection's server: a case is named by it and by the connection's place among
        /// those to it.
        public var server: SocketAddress
        /// Empty when the expectation held.
        public var problems: [String]
        /// With problems: the failure's message and the connection as a JSON Lines line.
        var failure: (message: String, connection: String)?

        public init(connection: Connection, problems: [String]) {
            id = connection.id
            server = connection.server
            self.problems = problems
            if !problems.isEmpty {
                failure = (Evidence.failure(connection, problems: problems), JSONReport.line(connection, timestampDigits: 6, file: nil))
            }
        }
    }

    /// One capture's results.
    public struct Suite: Sendable {
        public var file: String
        public var cases: [Case]
        /// Capture-level problems (truncation, drops, count, unreadable); empty when none.
        public var captureProblems: [String]
        public init(file: String, cases: [Case], captureProblems: [String]) {
            self.file = file
            self.cases = cases
            self.captureProblems = captureProblems
        }
    }

    public var suites: [Suite] = []
    /// What was expected, for the failure messages.
    public var expectation: String

    public init(expectation: String) { self.expectation = expectation }

    /// The XML document.
    public func render() -> String {
        let tests = suites.reduce(0) { $0 + $1.cases.count + 1 }
        let failures = suites.reduce(0) {
            $0 + $1.cases.filter { !$0.problems.isEmpty }.count + ($1.captureProblems.isEmpty ? 0 : 1)
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"teardown check\" tests=\"\(tests)\" failures=\"\(failures)\">\n"
        for suite in suites {
            let suiteFailures = suite.cases.filter { !$0.problems.isEmpty }.count + (suite.captureProblems.isEmpty ? 0 : 1)
            xml += "  <testsuite name=\"\(Self.escape(suite.file))\" tests=\"\(suite.cases.count + 1)\" failures=\"\(suiteFailures)\">\n"
            xml += "    <testcase classname=\"\(Self.escape(suite.file))\" name=\"capture and selection\">\n"
            if !suite.captureProblems.isEmpty {
                let message = suite.captureProblems.joined(separator: "; ")
                xml += "      <failure message=\"\(Self.escape(message))\">\(Self.escape(message))</failure>\n"
            }
            xml += "    </testcase>\n"
            // Names CI history can follow from run to run: the server and the connection's place
            // among those to it, not the client's ephemeral port or the id.
            var toServer: [SocketAddress: Int] = [:]
            for item in suite.cases {
                toServer[item.server, default: 0] += 1
                let name = "to \(item.server), connection \(toServer[item.server]!)"
                xml += "    <testcase classname=\"\(Self.escape(suite.file))\" name=\"\(Self.escape(name))\">\n"
                if let failure = item.failure {
                    xml += "      <failure message=\"\(Self.escape(failure.message))\">expected: \(Self.escape(expectation))\n"
                    xml += "\(Self.escape(failure.connection))</failure>\n"
                }
                xml += "    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        xml += "</testsuites>\n"
        return xml
    }

    /// XML-escapes text for attributes and content; drops characters XML 1.0 cannot hold.
    static func escape(_ text: String) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            case "\n", "\t", "\r": output.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20: continue
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
