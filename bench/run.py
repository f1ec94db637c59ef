#!/usr/bin/env python3
"""The performance benchmark: one command, release build, synthetic captures made on the fly.

    python3 bench/run.py [--packets 1000000,10000000] [--runs 3] [--no-slow]

Builds teardown in release mode, generates deterministic synthetic captures (teardown-synth, seed 1
and 2) into a temporary directory, and measures, alternating the tools run by run (this machine is
shared and noisy; compare within one run):
  - teardown analyze --format jsonl (streamed) and --format summary: wall time, CPU time, peak RSS,
    and teardown's verdicts checked against the generator's ground truth (bench/verify.py);
  - the C yardstick track_mmap from ../shared/bench, when that directory exists;
  - tshark -q -z conv,tcp and tcptrace -n, where installed (skipped with --no-slow: minutes, GBs);
  - two files analysed at once against one.
Prints a Markdown table; the captures are deleted afterwards.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(command, stdout=subprocess.DEVNULL):
    """Runs command; returns (wall seconds, cpu seconds, peak RSS in MB, exit status)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    # Each measured command runs in a fresh child of a fresh process, so ru_maxrss is its own.
    wrapper = [sys.executable, "-c",
               "import resource,subprocess,sys;"
               "r=subprocess.run(sys.argv[1:],stdout=sys.stdout);"
               "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
               "sys.stderr.write('RUSAGE %d %f\\n'%(u.ru_maxrss,u.ru_utime+u.ru_stime));sys.exit(r.returncode)"] + command
    result = subprocess.run(wrapper, stdout=stdout, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    rss, cpu = 0.0, 0.0
    for line in result.stderr.splitlines():
        if line.startswith("RUSAGE "):
            _, kilobytes, seconds = line.split()
            rss, cpu = int(kilobytes) / 1024, float(seconds)
    return wall, cpu, rss, result.returncode


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", default="1000000,10000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-slow", action="store_true", help="skip tshark and tcptrace")
    args = parser.parse_args()

    subprocess.run(["swift", "build", "-c", "release", "--product", "teardown"], cwd=ROOT, check=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "teardown-synth"], cwd=ROOT, check=True)
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.strip()
    teardown, synth = os.path.join(binary, "teardown"), os.path.join(binary, "teardown-synth")
    work = tempfile.mkdtemp(prefix="teardown-bench-")
    tracker = None
    bench_c = os.path.join(ROOT, "..", "shared", "bench", "track_mmap.c")
    if os.path.exists(bench_c):
        tracker = os.path.join(work, "track_mmap")
        subprocess.run(["cc", "-O2", "-o", tracker, bench_c], check=True)
    rows = []
    try:
        machine = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
        cpus = os.cpu_count()
        print(f"machine: {machine}, {cpus} CPUs; runs per tool: {args.runs} (median)")
        for packets in [int(p) for p in args.packets.split(",")]:
            capture = os.path.join(work, f"synthetic-{packets}.pcap")
            subprocess.run([synth, capture, str(packets), "--seed", "1"], check=True)
            size = os.path.getsize(capture) / 2**20
            report = os.path.join(work, "report.jsonl")
            measured = {name: [] for name in ["jsonl", "summary", "track_mmap"]}
            for _ in range(args.runs):
                with open(report, "w") as out:
                    measured["jsonl"].append(run([teardown, "analyze", "--format", "jsonl", capture], stdout=out))
                measured["summary"].append(run([teardown, "analyze", "--format", "summary", capture]))
                if tracker:
                    measured["track_mmap"].append(run([tracker, capture]))
            verify = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "verify.py"), capture + ".truth.tsv", report],
                                    capture_output=True, text=True)
            verdicts = verify.stdout.strip().splitlines()[-1]
            slow = {}
            if not args.no_slow:
                if shutil.which("tshark"):
                    slow["tshark -q -z conv,tcp"] = run(["tshark", "-q", "-z", "conv,tcp", "-r", capture])
                if shutil.which("tcptrace"):
                    slow["tcptrace -n"] = run(["tcptrace", "-n", capture])
            print(f"\n### {packets:,} packets ({size:.0f} MiB), ground truth: {verdicts}\n")
            print("| tool | wall s (median) | CPU s | packets/s (wall) | peak RSS MiB | wall time ÷ teardown jsonl |")
            print("|---|---|---|---|---|---|")
            jsonl_wall = median([m[0] for m in measured["jsonl"]])
            for name, runs in measured.items():
                if not runs:
                    continue
                wall, cpu, rss = median([r[0] for r in runs]), median([r[1] for r in runs]), max(r[2] for r in runs)
                label = {"jsonl": "teardown analyze --format jsonl", "summary": "teardown analyze --format summary",
                         "track_mmap": "C yardstick track_mmap"}[name]
                print(f"| {label} | {wall:.2f} | {cpu:.2f} | {packets / wall / 1e6:.2f} M | {rss:.0f} | {wall / jsonl_wall:.2f} |")
            for name, (wall, cpu, rss, status) in slow.items():
                print(f"| {name} | {wall:.2f} | {cpu:.2f} | {packets / wall / 1e6:.2f} M | {rss:.0f} | {wall / jsonl_wall:.1f} |")
            rows.append((packets, capture))
        # Two files at once against one (the largest size): both cores.
        packets, capture = rows[-1]
        second = os.path.join(work, "second.pcap")
        subprocess.run([synth, second, str(packets), "--seed", "2"], check=True)
        one, two = [], []
        for _ in range(args.runs):
            one.append(run([teardown, "analyze", "--format", "summary", capture])[0])
            two.append(run([teardown, "analyze", "--format", "summary", capture, second])[0])
        print(f"\nTwo {packets:,}-packet files at once: {median(two):.2f} s against {median(one):.2f} s for one "
              f"({median(two) / median(one):.2f}×)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
