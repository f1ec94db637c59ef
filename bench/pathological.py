#!/usr/bin/env python3
"""Resource-limit benchmark (issue 7): pathological captures, generated on the fly, never committed.

    python3 bench/pathological.py [--count 1000000]

Writes three raw-IPv4 pcaps into a temporary directory and runs the release `teardown analyze
--format summary` and `--format jsonl` on each, printing wall time and peak RSS:
  - half-open: COUNT SYNs from distinct tuples within a few seconds of capture time, none answered
    (all concurrent: the table must stay at its cap and report the least recently active);
  - retransmissions: one connection, its 1000-byte segment retransmitted COUNT times;
  - holes: one connection, COUNT segments sent with a gap after each (every segment a new covered
    run: the run list must stay bounded).
Then the same at COUNT/10, so the scaling is visible (linear: about 10x the time).
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time

from run import build_release


def packet(src, dst, sport, dport, seq, ack, flags, payload=0):
    """A raw IPv4 + TCP header (no payload bytes captured; lengths say `payload`)."""
    total = 20 + 20 + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 6, 0, src, dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535, 0, 0)
    return ip + tcp, total


def write(path, packets):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 256, 101))  # LINKTYPE_RAW
        for index, (data, length) in enumerate(packets):
            seconds, micros = divmod(index * 5, 1_000_000)  # 5 µs apart
            out.write(struct.pack("<IIII", 1_700_000_000 + seconds, micros, len(data), length))
            out.write(data)


SYN, ACK, PSH = 0x02, 0x10, 0x08


def half_open(count):
    for i in range(count):
        src = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
        yield packet(src, bytes([192, 168, 0, 1]), 1024 + (i % 50000), 80, 1000, 0, SYN)


def retransmissions(count):
    client, server = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    yield packet(client, server, 40000, 80, 1000, 0, SYN)
    yield packet(server, client, 80, 40000, 5000, 1001, SYN | ACK)
    for _ in range(count):
        yield packet(client, server, 40000, 80, 1001, 5001, PSH | ACK, 1000)


def holes(count):
    client, server = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    yield packet(client, server, 40000, 80, 1000, 0, SYN)
    yield packet(server, client, 80, 40000, 5000, 1001, SYN | ACK)
    for i in range(count):
        yield packet(client, server, 40000, 80, 1001 + i * 200, 5001, PSH | ACK, 100)


def measure(binary, fmt, path):
    command = ["/usr/bin/time", "-f", "%e %M", binary, "analyze", "--format", fmt, path]
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, rss = result.stderr.strip().split("\n")[-1].split()
    return float(wall), int(rss) / 1024, result.returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()
    binary = os.path.join(build_release("teardown", quiet=True), "teardown")
    print("| capture | packets | format | wall s | peak RSS MiB | exit |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="teardown-patho-") as work:
        for count in (args.count // 10, args.count):
            for name, generator in (("half-open", half_open), ("retransmissions", retransmissions), ("holes", holes)):
                path = os.path.join(work, f"{name}-{count}.pcap")
                write(path, generator(count))
                for fmt in ("summary", "jsonl"):
                    wall, rss, code = measure(binary, fmt, path)
                    print(f"| {name} | {count:,} | {fmt} | {wall:.2f} | {rss:.1f} | {code} |", flush=True)
                os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
