// README-EXAMPLE-BEGIN
import Testing
import TeardownAnalysis
import TeardownCapture
import TeardownIO
import TeardownScenarios

@Test("the echo server closes gracefully", .enabled(if: LiveCapture.isPermitted(), "needs root or CAP_NET_RAW"))
func echoServerClosesGracefully() throws {
    let listener = try Listener(ipv6: false, listen: true)  // your server's listening socket
    let analysis = try LoopbackCapture.record(filter: "tcp port \(listener.address.port)") {
        let server = OSThread {  // your server, on a real thread
            guard let connection = try? listener.accept() else { return }
            connection.send(connection.receive(exactly: 5))
            connection.receiveUntilEOF()
            connection.close()
        }
        let client = try listener.connect()  // your client
        client.send("hello")
        client.receive(exactly: 5)
        client.close()
        server.join()
    }
    #expect(analysis.connections.count == 1)
    #expect(analysis.connections.allSatisfy { $0.verdict == .graceful })
    #expect(analysis.connections.allSatisfy { $0.totalLostBytes == 0 })
}
// README-EXAMPLE-END

import TeardownTestSupport

@Test("the README shows the example test above, verbatim")
func readmeShowsTheExample() {
    let source = String(decoding: Fixtures.bytes(Fixtures.root + "/Tests/TeardownLiveTests/ReadmeExampleTests.swift"), as: UTF8.self)
    let begin = source.firstRange(of: "// README-EXAMPLE-BEGIN\n")!.upperBound
    let end = source.firstRange(of: "// README-EXAMPLE-END")!.lowerBound
    let readme = String(decoding: Fixtures.bytes(Fixtures.root + "/README.md"), as: UTF8.self)
    #expect(readme.contains("```swift\n" + source[begin..<end] + "```"))
}

/// Runs `teardown check --live ... -- bash -c SCRIPT` against a one-connection server that closes
/// after reading 5 bytes; `PORT` in the script is replaced by the server's port. The scripts read to
/// EOF before they exit, so both FINs are on the wire before the command ends, however late the
/// server thread is scheduled (the capture stops 20 ms after the command, which a loaded CI machine
/// can exceed).
func liveCheck(_ options: [String], script: String) throws -> CommandResult {
    let listener = try Listener(ipv6: false, listen: true)
    let port = listener.address.port
    let server = OSThread {
        guard let socket = try? listener.accept() else { return }
        socket.receive(exactly: 5)
        socket.close()
    }
    defer { server.join() }
    let command = script.split(separator: "PORT", omittingEmptySubsequences: false).joined(separator: String(port))
    return Command.run(
        [Command.teardown, "check", "--live", "-f", "tcp port \(port)"] + options + ["--", "bash", "-c", command],
        environment: ["COLUMNS": "200"])
}

@Test("teardown check --live captures around a command and checks it", .enabled(if: LiveCapture.isPermitted(), "needs root or CAP_NET_RAW"))
func liveCheck() throws {
    let passed = try liveCheck(
        ["--expect", "graceful", "--connections", "1"], script: "exec 3<>/dev/tcp/127.0.0.1/PORT; printf hello >&3; cat <&3; exec 3>&-")
    #expect(passed.status == 0, "\(passed.stdout)\(passed.stderr)")
    #expect(passed.stdout == "check passed: 1 connection checked (graceful, exactly 1 connection)\n")
    // The command fails: its status is passed on, and the check result is still printed.
    let failed = try liveCheck(
        ["--forbid", "graceful"], script: "exec 3<>/dev/tcp/127.0.0.1/PORT; printf hello >&3; cat <&3; exec 3>&-; exit 3")
    #expect(failed.status == 3)
    #expect(failed.stdout.contains("graceful is forbidden"))
}
