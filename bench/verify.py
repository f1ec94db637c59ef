#!/usr/bin/env python3
"""Compares `teardown analyze --format jsonl` output with teardown-synth's ground truth.

usage: verify.py TRUTH.tsv REPORT.jsonl   -> prints "verified N/N connections" and exits 0 when all match
"""
import ipaddress
import json
import sys


def canonical(endpoint):
    """'[2001:db8:0:0:0:0:0:1]:80' and '[2001:db8::1]:80' are the same endpoint."""
    host, port = endpoint.rsplit(":", 1)
    return f"{ipaddress.ip_address(host.strip('[]'))}:{port}"

truth_path, report_path = sys.argv[1], sys.argv[2]
expected = {}
with open(truth_path) as truth:
    header = truth.readline().rstrip("\n").split("\t")
    for line in truth:
        row = dict(zip(header, line.rstrip("\n").split("\t")))
        expected[(canonical(row["client"]), canonical(row["server"]))] = row

seen, mismatches = 0, []
with open(report_path) as report:
    for line in report:
        got = json.loads(line)
        key = (canonical(got["client"]), canonical(got["server"]))
        row = expected.get(key)
        if row is None:
            mismatches.append(f"unexpected connection {key}")
            continue
        seen += 1
        want = {
            "verdict": row["verdict"], "completed": row["completed"] == "true",
            "firstCloser": None if row["firstCloser"] == "null" else row["firstCloser"],
            "resetBy": None if row["resetBy"] == "null" else row["resetBy"],
            "bytes": {"client": int(row["bytesClient"]), "server": int(row["bytesServer"])},
            "lostBytes": {"client": int(row["lostClient"]), "server": int(row["lostServer"])},
            "bytesAfterFirstFin": int(row["bytesAfterFirstFin"]),
        }
        for field, value in want.items():
            if got[field] != value:
                mismatches.append(f"{key} {row['verdict']}: {field} {got[field]!r}, expected {value!r}")
missing = len(expected) - seen
for problem in mismatches[:20]:
    print(problem)
print(f"verified {seen - len({m.split(':')[0] for m in mismatches if not m.startswith('unexpected')})}/{len(expected)} connections"
      f" ({len(mismatches)} field mismatches, {missing} missing)")
sys.exit(0 if not mismatches and missing == 0 else 1)
