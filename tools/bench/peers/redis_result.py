#!/usr/bin/env python3
"""Turn redis-benchmark's human-readable report into the JSON of `annals-bench append`.

The plain report is parsed rather than `--csv` because only it carries the percentile distribution, from
which p90 and p99.9 come; p50, p99 and max come from its summary table as redis-benchmark states them.
The distribution lists HdrHistogram percentile steps (50, 75, 87.5, 93.75, ... 99.902 ...), so p90 and
p99.9 are read at the first step at or above them: an upper bound, close for p99.9, loose for p90.

Usage: redis_result.py --label NAME --events N --appenders K --size B [--pipeline P] < report
"""

import argparse
import json
import re
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--appenders", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--stored", type=int, required=True, help="XLEN after the run")
    args = ap.parse_args()

    # Progress updates are written with carriage returns; only the final lines matter.
    text = sys.stdin.read().replace("\r", "\n")

    def need(pattern):
        m = re.search(pattern, text, re.S)
        if not m:
            raise SystemExit(f"redis_result: redis-benchmark output lacks {pattern!r}")
        return m

    seconds = float(need(r"(\d+) requests completed in ([\d.]+) seconds").group(2))
    rps = float(need(r"throughput summary: ([\d.]+) requests per second").group(1))
    cols = need(r"latency summary \(msec\):\s*\n\s*(.+?)\n\s*(.+?)\n").groups()
    summary = dict(zip(cols[0].split(), map(float, cols[1].split())))

    steps = [(float(p), float(ms)) for p, ms in
             re.findall(r"^\s*([\d.]+)% <= ([\d.]+) milliseconds \(cumulative count \d+\)",
                        text.split("Cumulative distribution")[0], re.M)]

    def at_or_above(target):
        return next((ms for p, ms in steps if p >= target), None)

    if args.stored != args.events:
        raise SystemExit(f"redis_result: {args.events} XADDs sent but the stream holds {args.stored}")

    print(json.dumps({
        "system": args.label,
        "workload": "append",
        "events": args.events,
        "appenders": args.appenders,
        "payload_bytes": args.size,
        "record_bytes": args.size,
        "pipeline": args.pipeline,
        "seconds": seconds,
        "events_per_second": rps,
        "latency_ms": {
            "p50": summary["p50"],
            "p90": at_or_above(90),
            "p99": summary["p99"],
            "p999": at_or_above(99.9),
            "max": summary["max"],
        },
        "latency_is": "per request as redis-benchmark measures it; p90/p999 are the next reported step up",
    }))


if __name__ == "__main__":
    main()
