import TeardownTestSupport

#if canImport(Glibc)
import Glibc
#endif

// teardown-synth: writes a deterministic synthetic capture and its ground truth.
//
//   teardown-synth OUT.pcap PACKETS [--seed N] [--concurrent N] [--snaplen N]
//
// Ethernet/IPv4 with ~10% IPv6, many concurrent connections interleaved in time, handshakes, data
// both ways and a mix of every teardown in the contract. OUT.pcap.truth.tsv gets one line per
// connection with what teardown must report (client, server, verdict, completed, firstCloser,
// resetBy, bytes and lost bytes per side, bytesAfterFirstFin).

@main
enum TeardownSynth {
    static func say(_ text: String) {
        let line = text + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String, _ fallback: Int) -> Int {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count, let value = Int(arguments[index + 1]) else {
                return fallback
            }
            arguments.removeSubrange(index...(index + 1))
            return value
        }
        let seed = option("--seed", 1)
        let concurrent = option("--concurrent", 20_000)
        let snaplen = option("--snaplen", 96)
        guard arguments.count == 2, let packets = Int(arguments[1]), packets > 0 else {
            say("usage: teardown-synth OUT.pcap PACKETS [--seed N] [--concurrent N] [--snaplen N]")
            exit(64)
        }
        let path = arguments[0]
        guard let file = fopen(path, "wb"), let truthFile = fopen(path + ".truth.tsv", "wb") else {
            say("teardown-synth: cannot write \(path): \(String(cString: strerror(errno)))")
            exit(66)
        }

        var random = SplitMix64(seed: UInt64(seed))
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 23)
        // pcap header: nanosecond magic, version 2.4, snaplen, Ethernet.
        for value: UInt32 in [0xa1b2_3c4d] { buffer += [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)] }
        buffer += [2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        buffer += [UInt8(snaplen & 0xff), UInt8(snaplen >> 8 & 0xff), 0, 0, 1, 0, 0, 0]

        let kinds = Teardown.allCases
        var nextID = 1
        func newConnection() -> SyntheticConnection {
            let kind = kinds[random.below(kinds.count)]
            defer { nextID += 1 }
            return SyntheticConnection(kind: kind, id: nextID, ipv6: random.below(10) == 0, random: &random)
        }
        var pool: [SyntheticConnection] = []
        var truth: [String] = []
        var written = 0
        var time: Int64 = 1_700_000_000_000_000_000
        // Connections still to be started must all fit: stop starting new ones when what is left of the
        // budget is about what the pool needs to finish.
        // Steps the pool still has to emit: a connection is started only when it fits the budget.
        var pending = 0
        while written < packets {
            if pool.count < concurrent {
                let connection = newConnection()
                if written + pending + connection.steps.count <= packets {
                    pending += connection.steps.count
                    pool.append(connection)
                    continue
                }
            }
            if pool.isEmpty { break }
            let index = random.below(pool.count)
            time += Int64(2_000 + random.below(16_000))
            pool[index].emit(into: &buffer, time: time, snaplen: snaplen)
            written += 1
            pending -= 1
            if pool[index].done {
                truth.append(pool[index].truth)
                pool.swapAt(index, pool.count - 1)
                pool.removeLast()
            }
            if buffer.count > 1 << 22 {
                fwrite(buffer, 1, buffer.count, file)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        // Connections start only when their whole script fits the budget, so none is left running:
        // each one ends as scripted.
        fwrite(buffer, 1, buffer.count, file)
        fclose(file)
        let header = "client\tserver\tverdict\tcompleted\tfirstCloser\tresetBy\tbytesClient\tbytesServer\tlostClient\tlostServer\tbytesAfterFirstFin\n"
        fputs(header, truthFile)
        for line in truth { fputs(line + "\n", truthFile) }
        fclose(truthFile)
        say("teardown-synth: \(written) packets, \(truth.count) connections, seed \(seed) -> \(path)")

    }
}
