#!/usr/bin/env python3
"""JSON plumbing and the table for `tools/bench/log-peers`.

  report.py annotate --client TEXT [--round R] [--half-rate FILE --target N] [--goal-rate FILE --goal N]
                                                        JSON line on stdin -> JSON line on stdout, with the
                                                        client, the round and the open-loop runs folded in
  report.py get KEY                                     print one top-level field of the JSON on stdin
  report.py table --header TEXT FILE                    the side-by-side table of FILE's JSON lines; with
                                                        several rounds, medians, then each round's figures

The bash entry point keeps no JSON logic of its own; everything that reads or writes JSON is here.
"""

import argparse
import json
import statistics
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
    result["round"] = args.round
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


def render_table(headings, lines, text_last=True):
    """The first column, and the last when `text_last`, left-aligned text; figures right-aligned; the last column
    not padded when it is text."""
    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(headings)]

    def render(cells):
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths)):
            if i == len(cells) - 1 and text_last:
                out.append(cell)
            elif i == 0:
                out.append(cell.ljust(w))
            else:
                out.append(cell.rjust(w))
        return "  ".join(out)

    print(render(headings))
    print(render(["-" * w for w in widths]))
    for l in lines:
        print(render(l))


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def table(args):
    with open(args.file) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if not rows:
        raise SystemExit("report.py: no results to report (check --systems)")
    rounds = sorted({r.get("round", 1) for r in rows})
    # Each system's rows, in the order systems first appear, and annals' events/s in each round.
    systems = {}
    for r in rows:
        systems.setdefault(r["system"], []).append(r)
    annals = {r.get("round", 1): r["events_per_second"] for r in rows if r["system"] == "annals"}

    def ratios(runs):
        # annals' events/s divided by this system's, within each round: above 1 means annals is faster.
        return [annals[r.get("round", 1)] / r["events_per_second"] for r in runs if r.get("round", 1) in annals]

    headings = ["system", "events/s", "p50 ms", "p99 ms", "p99 ms @½ rate", "ratio", "client"]
    lines = []
    for name, runs in systems.items():
        if len(runs) == 1:
            r = runs[0]
            lat = r.get("latency_ms") or {}
            own = ratios(runs)
            lines.append([
                name, fmt(r["events_per_second"], 0), fmt(lat.get("p50"), 2), fmt(lat.get("p99"), 2),
                half_p99(r.get("half_rate")), fmt(own[0], 2) if own else "-",
                r.get("client", "") + (f" (round {r.get('round', 1)} only)" if len(rounds) > 1 else ""),
            ])
            continue
        # Several rounds: medians, the worst half-rate p99 after its median, the ratios' median and range.
        halves = [r["half_rate"] for r in runs if r.get("half_rate") and r["half_rate"]["latency_ms"].get("p99")]
        half = "-"
        if halves:
            half = (fmt(median_of(h["latency_ms"].get("p99") for h in halves), 2) + " (worst "
                    + half_p99(max(halves, key=lambda h: h["latency_ms"].get("p99") or 0)) + ")")
        own = ratios(runs)
        lines.append([
            name,
            fmt(median_of(r["events_per_second"] for r in runs), 0),
            fmt(median_of((r.get("latency_ms") or {}).get("p50") for r in runs), 2),
            fmt(median_of((r.get("latency_ms") or {}).get("p99") for r in runs), 2),
            half,
            "1.00" if name == "annals" else
            f"{fmt(median_of(own), 2)} ({fmt(min(own), 2)}–{fmt(max(own), 2)})" if own else "-",
            runs[0].get("client", ""),
        ])

    for h in args.header:
        print(h)
    if len(rounds) > 1:
        print(f"{len(rounds)} rounds, in alternating order: medians; ratio: the median of each round's ratio, "
              "and their range")
    render_table(headings, lines)
    if len(rounds) > 1:
        print()
        print("events/s by round, and the ratio of annals to each system within the round")
        by_round = []
        for name, runs in systems.items():
            taken = {r.get("round", 1): r for r in runs}
            cells = [name]
            for n in rounds:
                r = taken.get(n)
                if r is None:
                    cells.append("-")
                elif n in annals and name != "annals":
                    cells.append(f"{fmt(r['events_per_second'], 0)} ({annals[n] / r['events_per_second']:.2f})")
                else:
                    cells.append(fmt(r["events_per_second"], 0))
            by_round.append(cells)
        render_table(["system"] + [f"round {n}" for n in rounds], by_round, text_last=False)
    # Say what "latency" means wherever it is not an appender's own end-to-end wait.
    notes = {}
    for r in rows:
        if r.get("latency_is"):
            names = notes.setdefault(r["latency_is"], [])
            if r["system"] not in names:
                names.append(r["system"])
    for note, names in notes.items():
        print(f"latency of {', '.join(names)}: {note}")
    for r in rows:
        half = r.get("half_rate")
        if half and overloaded(half):
            where = f" in round {r.get('round', 1)}" if len(rounds) > 1 else ""
            print(f"* {r['system']}{where} reached only {half['events_per_second']:,.0f} of the "
                  f"{half['target_events_per_second']:,} events/s asked at half rate: it was overloaded")
    for r in rows:
        goal = r.get("goal_rate")
        if goal:
            lat = goal["latency_ms"]
            where = f", round {r.get('round', 1)}" if len(rounds) > 1 else ""
            print(f"{r['system']} in an open loop at {goal['target_events_per_second']:,} events/s (the goal's half "
                  f"rate{where}): p50 {fmt(lat.get('p50'), 2)} ms, p99 {fmt(lat.get('p99'), 2)} ms, "
                  f"p99.9 {fmt(lat.get('p999'), 2)} ms"
                  + (f"; it reached only {goal['events_per_second']:,.0f} events/s, overloaded"
                     if overloaded(goal) else ""))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("annotate")
    a.add_argument("--client", required=True)
    a.add_argument("--round", type=int, default=1)
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
