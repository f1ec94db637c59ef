#!/usr/bin/env python3
"""The performance benchmark: one command, release build, synthetic captures made on the fly.

    python3 bench/run.py [--packets 1000000,10000000] [--runs 7] [--no-slow] [--baseline OLD_BINARY]

Builds teardown in release mode (with the Swift runtime linked in, as the README builds it),
generates deterministic synthetic captures (teardown-synth, seed 1 and 2) into a temporary
directory, and measures, alternating the tools run by run (this machine is shared and noisy;
compare within one run; each measured command starts after `sync`, untimed):
  - teardown analyze --format jsonl (streamed) and --format summary: wall time, CPU time, peak RSS,
    and teardown's verdicts checked against the generator's ground truth (bench/verify.py);
  - the C yardstick track_mmap from ../shared/bench, when that directory exists;
  - tshark -q -z conv,tcp and tcptrace -n, where installed (skipped with --no-slow: minutes, GBs);
  - two files analysed at once against one file on one thread (--jobs 1, as each of the two gets),
    in pairs run back to back (the median of the pairs' ratios: the VM's speed drifts between
    pairs, much less within one);
  - the largest capture cut into 10 pieces (editcap, package tshark), read with --continuous and
    counted (--format summary) with --jobs 1 and with all cores, in pairs: the speed-up, and that
    every output is identical and equal to the whole file's (issue 23), with the share of the CPUs'
    time the hypervisor took from this VM during each pair (/proc/stat's steal): a run that loses
    its second vCPU to another guest cannot be faster on two.
With --baseline, an older build of teardown is measured too, alternating with this one run by run,
and the two are compared (a change that must not cost speed or memory).
Peak RSS is reported per tool as the median of the runs with their range. The same capture's peak
varies from run to run by a few hundred KiB, mostly because the random load addresses of the
executable and the libraries decide which 64 KiB windows of their code the kernel maps around each
page fault (with address randomisation off, the executable's share is the same every run), so
"the 10 M capture needs no more than the 1 M one" is judged as: the 10 M runs' median peak is no
higher than the highest peak of the 1 M runs. Memory that grew with the file would lift every
10 M run above them.
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


def stolen_seconds():
    """CPU seconds the hypervisor gave to others while this VM's vCPUs wanted them (the `steal`
    column of /proc/stat, all CPUs), 0 where the kernel does not count it."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


# The share of the CPUs' time the hypervisor took during the last run() (steal ÷ (CPUs × wall)).
last_steal = 0.0


def run(command, stdout=subprocess.DEVNULL):
    """Runs command; returns (wall seconds, cpu seconds, peak RSS in MB, exit status), and leaves in
    last_steal the share of the CPUs' time the hypervisor took meanwhile."""
    global last_steal
    # What earlier runs left dirty in the page cache (a jsonl run writes hundreds of MB) is
    # written out first, untimed: otherwise the kernel writes it back during this run, on the
    # same cores, and each run pays for the one before.
    os.sync()
    stolen = stolen_seconds()
    start = time.monotonic()
    # Each measured command runs in a fresh child of a fresh process, so ru_maxrss is its own.
    wrapper = [sys.executable, "-c",
               "import resource,subprocess,sys;"
               "r=subprocess.run(sys.argv[1:],stdout=sys.stdout);"
               "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
               "sys.stderr.write('RUSAGE %d %f\\n'%(u.ru_maxrss,u.ru_utime+u.ru_stime));sys.exit(r.returncode)"] + command
    result = subprocess.run(wrapper, stdout=stdout, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    last_steal = (stolen_seconds() - stolen) / ((os.cpu_count() or 1) * wall)
    rss, cpu = 0.0, 0.0
    for line in result.stderr.splitlines():
        if line.startswith("RUSAGE "):
            _, kilobytes, seconds = line.split()
            rss, cpu = int(kilobytes) / 1024, float(seconds)
    return wall, cpu, rss, result.returncode


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def build_release(*products, quiet=False):
    """Builds `products` as the README's release build does (the Swift runtime linked into the
    executable); returns the directory holding the executables."""
    build = ["swift", "build", "-c", "release", "--static-swift-stdlib"]
    for product in products:
        subprocess.run(build + ["--product", product], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL if quiet else None)
    return subprocess.run(build + ["--show-bin-path"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", default="1000000,10000000")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-slow", action="store_true", help="skip tshark and tcptrace")
    parser.add_argument("--baseline", help="an older teardown binary to measure alternately and compare with")
    args = parser.parse_args()

    binary = build_release("teardown", "teardown-synth")
    teardown, synth = os.path.join(binary, "teardown"), os.path.join(binary, "teardown-synth")
    work = tempfile.mkdtemp(prefix="teardown-bench-")
    tracker = None
    bench_c = os.path.join(ROOT, "..", "shared", "bench", "track_mmap.c")
    if os.path.exists(bench_c):
        tracker = os.path.join(work, "track_mmap")
        subprocess.run(["cc", "-O2", "-o", tracker, bench_c], check=True)
    rows = []
    results = {}  # packets -> {tool name: (wall, cpu, rss runs)}, for the closing check against the targets
    try:
        machine = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
        cpus = os.cpu_count()
        print(f"machine: {machine}, {cpus} CPUs; runs per tool: {args.runs} (median)")
        for packets in [int(p) for p in args.packets.split(",")]:
            capture = os.path.join(work, f"synthetic-{packets}.pcap")
            subprocess.run([synth, capture, str(packets), "--seed", "1"], check=True)
            size = os.path.getsize(capture) / 2**20
            report = os.path.join(work, "report.jsonl")
            measured = {name: [] for name in ["jsonl", "summary", "baseline jsonl", "baseline summary", "track_mmap"]}
            for _ in range(args.runs):
                with open(report, "w") as out:
                    measured["jsonl"].append(run([teardown, "analyze", "--format", "jsonl", capture], stdout=out))
                if args.baseline:
                    with open(report + ".baseline", "w") as out:
                        measured["baseline jsonl"].append(
                            run([args.baseline, "analyze", "--format", "jsonl", capture], stdout=out))
                measured["summary"].append(run([teardown, "analyze", "--format", "summary", capture]))
                if args.baseline:
                    measured["baseline summary"].append(run([args.baseline, "analyze", "--format", "summary", capture]))
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
            results[packets] = {"verified": verdicts}
            print(f"\n### {packets:,} packets ({size:.0f} MiB), ground truth: {verdicts}\n")
            print("| tool | wall s (median) | CPU s | packets/s (wall) | peak RSS MiB (median, range) | wall time ÷ teardown jsonl |")
            print("|---|---|---|---|---|---|")
            jsonl_wall = median([m[0] for m in measured["jsonl"]])
            for name, runs in measured.items():
                if not runs:
                    continue
                wall, cpu, rss = median([r[0] for r in runs]), median([r[1] for r in runs]), [r[2] for r in runs]
                label = {"jsonl": "teardown analyze --format jsonl", "summary": "teardown analyze --format summary",
                         "baseline jsonl": "baseline analyze --format jsonl",
                         "baseline summary": "baseline analyze --format summary",
                         "track_mmap": "C yardstick track_mmap"}[name]
                print(f"| {label} | {wall:.2f} | {cpu:.2f} | {packets / wall / 1e6:.2f} M | "
                      f"{median(rss):.1f} ({min(rss):.1f}–{max(rss):.1f}) | {wall / jsonl_wall:.2f} |")
                results[packets][name] = (wall, cpu, rss)
            for name in ["jsonl", "summary"] if args.baseline else []:
                new, old = results[packets][name], results[packets]["baseline " + name]
                print(f"\n{name} against the baseline: wall {new[0] / old[0]:.3f}×, CPU {new[1] / old[1]:.3f}×, "
                      f"peak RSS {median(new[2]) / median(old[2]):.3f}× (medians; within 10 %: "
                      f"{'met' if max(new[0] / old[0], median(new[2]) / median(old[2])) <= 1.1 else 'not met'})")
            for name, (wall, cpu, rss, status) in slow.items():
                print(f"| {name} | {wall:.2f} | {cpu:.2f} | {packets / wall / 1e6:.2f} M | {rss:.0f} | {wall / jsonl_wall:.1f} |")
                results[packets][name.split()[0]] = (wall, cpu, [rss])
            rows.append((packets, capture))
        # Every format's peak memory on the largest capture (issue 19: at most 64 MB each), and
        # jsonl read from a pipe against the file.
        packets, capture = rows[-1]
        print(f"\nPeak RSS per format, {packets:,} packets (one run each):\n")
        print("| format | wall s | peak RSS MiB | ≤ 64 MiB |")
        print("|---|---|---|---|")
        peaks = {}
        for format in ["text", "json", "zeek", "jsonl", "summary"]:
            wall, cpu, rss, status = run([teardown, "analyze", "--format", format, capture])
            peaks[format] = rss
            print(f"| {format} | {wall:.2f} | {rss:.1f} | {'met' if rss <= 64 else 'not met'} |")
        # check evaluates each connection as it finishes: a passing check holds no more than the
        # formats do (one that fails keeps each failure's line until the end, in id order).
        wall, cpu, rss, status = run([teardown, "check", "--at-least", "1", capture])
        print(f"| `check --at-least 1` (passes) | {wall:.2f} | {rss:.1f} | {'met' if rss <= 64 else 'not met'} |")
        wall, cpu, rss, status = run(["sh", "-c", f"cat {capture} | {teardown} analyze --format jsonl -"])
        print(f"| jsonl from a pipe (`cat FILE \\| teardown analyze --format jsonl -`) | {wall:.2f} | {rss:.1f} | "
              f"{'met' if rss <= 64 else 'not met'}; {rss / peaks['jsonl']:.3f}× the file's (within 10 %: "
              f"{'met' if rss <= peaks['jsonl'] * 1.1 else 'not met'}) |")
        # Two files at once against one (the largest size): both cores.
        packets, capture = rows[-1]
        second = os.path.join(work, "second.pcap")
        subprocess.run([synth, second, str(packets), "--seed", "2"], check=True)
        one, two = [], []
        for _ in range(args.runs):
            # One file on one thread, as each of two files read at once gets.
            one.append(run([teardown, "analyze", "--format", "summary", "--jobs", "1", capture])[0])
            two.append(run([teardown, "analyze", "--format", "summary", capture, second])[0])
        ratios = [b / a for a, b in zip(one, two)]
        print(f"\nTwo {packets:,}-packet files at once: {median(two):.2f} s against {median(one):.2f} s for one; "
              f"median of the pairs' ratios {median(ratios):.2f}× (pairs: {', '.join(f'{r:.2f}' for r in sorted(ratios))})")
        os.remove(second)
        pieces = measure_pieces(teardown, capture, packets, work, args.runs)
        print_targets(results, packets, median(ratios), pieces)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure_pieces(teardown, capture, packets, work, runs):
    """Issue 23: the capture cut into 10 pieces (editcap), read as one with --continuous and
    counted (--format summary) with one thread (--jobs 1) and with the machine's cores, in pairs run
    back to back. Returns (median of the pairs' speed-ups, whether every output was identical and
    equal to the whole file's), or None without editcap."""
    if not shutil.which("editcap"):
        print("\nPieces: editcap (package tshark) is not installed; not measured.")
        return None
    directory = os.path.join(work, "pieces")
    os.mkdir(directory)
    subprocess.run(["editcap", "-F", "pcap", "-c", str(-(-packets // 10)), capture, os.path.join(directory, "piece.pcap")],
                   check=True, stdout=subprocess.DEVNULL)
    pieces = sorted(os.path.join(directory, name) for name in os.listdir(directory))
    command = [teardown, "analyze", "--continuous", "--format", "summary"]
    whole = subprocess.run([teardown, "analyze", "--format", "summary", capture], capture_output=True, text=True).stdout
    outputs, one, many, steal = set(), [], [], []
    report = os.path.join(work, "pieces.txt")
    for _ in range(runs):
        taken = 0.0
        for jobs, times in [("1", one), (str(os.cpu_count()), many)]:
            with open(report, "w") as out:
                times.append(run(command + ["--jobs", jobs] + pieces, stdout=out))
            taken = max(taken, last_steal)
            with open(report) as text:
                outputs.add(text.read())
        steal.append(taken)
    ratios = [a[0] / b[0] for a, b in zip(one, many)]
    # Pairs in which the hypervisor took under 5 % of the CPUs' time in both runs.
    quiet = [r for r, taken in zip(ratios, steal) if taken < 0.05]
    identical = len(outputs) == 1 and outputs == {whole}
    print(f"\n{len(pieces)} pieces of the {packets:,}-packet capture, `--continuous --format summary`: "
          f"--jobs 1 {median([r[0] for r in one]):.2f} s wall ({median([r[1] for r in one]):.2f} s CPU), "
          f"--jobs {os.cpu_count()} {median([r[0] for r in many]):.2f} s ({median([r[1] for r in many]):.2f} s CPU); "
          f"median of the pairs' speed-ups {median(ratios):.2f}× (pairs, with the share of CPU time the hypervisor "
          f"took: {', '.join(f'{r:.2f} ({s:.0%})' for r, s in sorted(zip(ratios, steal)))}); "
          f"{f'over the {len(quiet)} pairs without steal: {median(quiet):.2f}×; ' if quiet else ''}"
          f"outputs {'identical, and equal to the whole file' if identical else 'DIFFERENT'}: "
          f"{next(iter(outputs)).strip() if len(outputs) == 1 else outputs}")
    shutil.rmtree(directory)
    return median(ratios), identical


def print_targets(results, packets, two_files, pieces=None):
    """Issue 6's targets for the largest capture, from the figures of this run."""
    largest = results[packets]
    smallest = results[min(results)]
    print(f"\n### Against the targets ({packets:,} packets, this run)\n")
    print("| target | jsonl | summary |")
    print("|---|---|---|")

    def row(target, check):
        cells = []
        for name in ["jsonl", "summary"]:
            text, met = check(largest[name])
            cells.append(f"{text} ({'met' if met else 'not met'})")
        print(f"| {target} | {cells[0]} | {cells[1]} |")

    row("≥ 6 M packets/s", lambda m: (f"{packets / m[0] / 1e6:.2f} M/s", packets / m[0] >= 6e6))
    if "track_mmap" in largest:
        c = largest["track_mmap"][0]
        row("≥ 0.7× the C tracker's speed", lambda m: (f"{c / m[0]:.2f}×", c / m[0] >= 0.7))
    if "tshark" in largest:
        t = largest["tshark"][0]
        row("≥ 50× tshark", lambda m: (f"{t / m[0]:.1f}×", t / m[0] >= 50))
    if "tcptrace" in largest:
        t = largest["tcptrace"][0]
        row("≥ 10× tcptrace", lambda m: (f"{t / m[0]:.1f}×", t / m[0] >= 10))
    rss, small_rss = largest["jsonl"][2], smallest["jsonl"][2]
    print(f"\nPeak RSS with jsonl: {max(rss):.1f} MiB at most for {packets:,} packets "
          f"(≤ 64 MiB: {'met' if max(rss) <= 64 else 'not met'}); median {median(rss) * 1024:.0f} KiB "
          f"(highest {max(rss) * 1024:.0f}), against at most "
          f"{max(small_rss) * 1024:.0f} KiB for {min(results):,} (not above the smaller capture's: "
          f"{'met' if median(rss) <= max(small_rss) else 'not met'}). "
          f"Two files at once: {two_files:.2f}× one ({'met' if two_files <= 1.2 else 'not met'}: ≤ 1.2×). "
          f"Verdicts: {largest['verified']}.")
    if pieces:
        speedup, identical = pieces
        print(f"\nTen pieces read --continuous, counted with {os.cpu_count()} threads against one: {speedup:.2f}× "
              f"({'met' if speedup >= 1.6 else 'not met'}: ≥ 1.6×), output identical: {'met' if identical else 'not met'}.")


if __name__ == "__main__":
    main()
