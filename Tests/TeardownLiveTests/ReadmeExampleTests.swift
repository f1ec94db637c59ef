// README-EXAMPLE-BEGIN
import Testing
import TeardownAnalysis
import TeardownCapture
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

@Test("teardown check --live captures around a command and checks it", .enabled(if: LiveCapture.isPermitted(), "needs root or CAP_NET_RAW"))
func liveCheck() throws {
    let listener = try Listener(ipv6: false, listen: true)
    let port = listener.address.port
    let server = OSThread {
        guard let socket = try? listener.accept() else { return }
        socket.receiveUntilEOF()
        socket.close()
    }
    let script = "exec 3<>/dev/tcp/127.0.0.1/\(port); printf hello >&3; exec 3>&-"
    let passed = Command.teardown("check", "--live", "-f", "tcp port \(port)", "--expect", "graceful", "--connections", "1", "--", "bash", "-c", script)
    server.join()
    #expect(passed.status == 0, "\(passed.stdout)\(passed.stderr)")
    #expect(passed.stdout == "check passed: 1 connection checked (graceful, exactly 1 connections)\n")

    let listener2 = try Listener(ipv6: false, listen: true)
    let port2 = listener2.address.port
    let server2 = OSThread {
        guard let socket = try? listener2.accept() else { return }
        socket.receiveUntilEOF()
        socket.close()
    }
    // The command fails: its status is passed on, and the check result is still printed.
    let failing = "exec 3<>/dev/tcp/127.0.0.1/\(port2); printf hello >&3; exec 3>&-; exit 3"
    let result = Command.teardown("check", "--live", "-f", "tcp port \(port2)", "--forbid", "graceful", "--", "bash", "-c", failing)
    server2.join()
    #expect(result.status == 3)
    #expect(result.stdout.contains("graceful is forbidden"))
}
