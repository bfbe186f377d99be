#!/usr/bin/env python3
"""JSON plumbing and the table for `tools/bench/log-peers`.

  report.py annotate --client TEXT [--half-rate FILE --target N] [--goal-rate FILE --goal N]
                                                        JSON line on stdin -> JSON line on stdout, with the
                                                        client and the open-loop runs folded in
  report.py get KEY                                     print one top-level field of the JSON on stdin
  report.py table --header TEXT FILE                    the side-by-side table of FILE's JSON lines

The bash entry point keeps no JSON logic of its own; everything that reads or writes JSON is here.
"""

import argparse
import json
import sys


def read_one(stream):
    """The last line that is a JSON object: benchmark binaries may log before their result."""
    found = None
    for line in stream:
        line = line.strip()
        if line.startswith("{"):
            found = json.loads(line)
    if found is None:
        raise SystemExit("report.py: no JSON object in the input")
    return found


def annotate(args):
    result = read_one(sys.stdin)
    result["client"] = args.client
    for key, path, target in (("half_rate", args.half_rate, args.target), ("goal_rate", args.goal_rate, args.goal)):
        if path:
            with open(path) as f:
                run = read_one(f)
            result[key] = {
                "target_events_per_second": target,
                "events_per_second": run["events_per_second"],
                "latency_ms": run["latency_ms"],
            }
    print(json.dumps(result))


def get(args):
    print(read_one(sys.stdin)[args.key])


def fmt(value, digits):
    return "-" if value is None else f"{value:,.{digits}f}"


def overloaded(half):
    """An open-loop run that fell behind its schedule measures a growing queue, not the system's latency."""
    return half["events_per_second"] < 0.95 * half["target_events_per_second"]


def half_p99(half):
    if not half:
        return "-"
    return fmt(half["latency_ms"].get("p99"), 2) + ("*" if overloaded(half) else "")


def table(args):
    with open(args.file) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    annals = next((r for r in rows if r["system"] == "annals"), None)

    headings = ["system", "events/s", "p50 ms", "p99 ms", "p99 ms @½ rate", "ratio", "client"]
    lines = []
    for r in rows:
        lat = r.get("latency_ms") or {}
        half = r.get("half_rate")
        lines.append([
            r["system"],
            fmt(r["events_per_second"], 0),
            fmt(lat.get("p50"), 2),
            fmt(lat.get("p99"), 2),
            half_p99(half),
            # annals' events/s divided by this system's: above 1 means annals is faster.
            fmt(annals["events_per_second"] / r["events_per_second"], 2) if annals else "-",
            r.get("client", ""),
        ])

    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(headings)]
    # Text columns left-aligned, figures right-aligned; the last column is not padded.
    def render(cells):
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths)):
            if i == len(cells) - 1:
                out.append(cell)
            elif i == 0:
                out.append(cell.ljust(w))
            else:
                out.append(cell.rjust(w))
        return "  ".join(out)

    for h in args.header:
        print(h)
    print(render(headings))
    print(render(["-" * w for w in widths]))
    for l in lines:
        print(render(l))
    # Say what "latency" means wherever it is not an appender's own end-to-end wait.
    notes = {}
    for r in rows:
        if r.get("latency_is"):
            notes.setdefault(r["latency_is"], []).append(r["system"])
    for note, names in notes.items():
        print(f"latency of {', '.join(names)}: {note}")
    for r in rows:
        half = r.get("half_rate")
        if half and overloaded(half):
            print(f"* {r['system']} reached only {half['events_per_second']:,.0f} of the "
                  f"{half['target_events_per_second']:,} events/s asked at half rate: it was overloaded")
    for r in rows:
        goal = r.get("goal_rate")
        if goal:
            lat = goal["latency_ms"]
            print(f"{r['system']} in an open loop at {goal['target_events_per_second']:,} events/s (the goal's half "
                  f"rate): p50 {fmt(lat.get('p50'), 2)} ms, p99 {fmt(lat.get('p99'), 2)} ms, "
                  f"p99.9 {fmt(lat.get('p999'), 2)} ms"
                  + (f"; it reached only {goal['events_per_second']:,.0f} events/s, overloaded"
                     if overloaded(goal) else ""))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("annotate")
    a.add_argument("--client", required=True)
    a.add_argument("--half-rate")
    a.add_argument("--target", type=int)
    a.add_argument("--goal-rate")
    a.add_argument("--goal", type=int)
    g = sub.add_parser("get")
    g.add_argument("key")
    t = sub.add_parser("table")
    t.add_argument("--header", action="append", default=[])
    t.add_argument("file")
    args = ap.parse_args()
    {"annotate": annotate, "get": get, "table": table}[args.cmd](args)


if __name__ == "__main__":
    main()
