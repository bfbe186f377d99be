#!/usr/bin/env python3
"""The side-by-side table of `tools/bench/vector-peers`.

  vector_report.py [--header TEXT]... FILE...    JSON lines of annals-bench vectors and vector_peers.py -> table

One line per system, search mode and ef, with queries/s for each thread count, queries per CPU-second of the
process on one thread (less disturbed by other load on the machine than the wall clock), and ratios (this row's
queries/s divided by the reference's, on the same number of threads, and the same for queries per CPU-second:
above 1 means faster than the reference):

  exact rows (annals-exact)   against faiss-flat in the same mode (single against single, batch against batch)
  approximate rows            against hnswlib at comparable recall: the smallest hnswlib ef (the fastest setting)
                              whose recall is at least this row's, so the comparison never favours the row; when no
                              hnswlib setting reaches this row's recall, against hnswlib's most accurate, marked "<"
"""

import argparse
import json
import sys


def fmt(value, digits):
    return "-" if value is None else f"{value:,.{digits}f}"


def recall_key(row):
    return next(k for k in row if k.startswith("recall_at_"))


def group_rows(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["system"], r["mode"], r.get("ef_search")), []).append(r)
    return groups


def reference(key, groups):
    """The reference group of a row group, and how to label it; None when there is none."""
    system, mode, ef = key
    if system == "faiss-flat" or system == "hnswlib":
        return None, ""
    if ef is None:
        ref = groups.get(("faiss-flat", mode, None))
        return (ref, f"faiss-flat {mode}") if ref else (None, "")
    candidates = [(k, g) for k, g in groups.items() if k[0] == "hnswlib"]
    if not candidates:
        return None, ""
    recall = groups[key][0]["recall"]
    enough = [(k, g) for k, g in candidates if g[0]["recall"] >= recall]
    if enough:
        k, g = min(enough, key=lambda kg: kg[0][2])
        return g, f"hnswlib ef {k[2]}"
    k, g = max(candidates, key=lambda kg: kg[1][0]["recall"])
    return g, f"< hnswlib ef {k[2]}"


def table(args):
    rows = []
    for path in args.files:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    r = json.loads(line)
                    r["recall"] = r[recall_key(r)]
                    rows.append(r)
    if not rows:
        raise SystemExit("vector_report: no results")
    threads = sorted({r["threads"] for r in rows})
    k = rows[0].get("k", 10)
    groups = group_rows(rows)

    headings = (["system", "mode", "ef", f"recall@{k}"] + [f"q/s {t} thr" for t in threads]
                + ["q/CPU-s 1 thr", "build s", "index MB", "RSS Δ MB"] + [f"ratio {t} thr" for t in threads]
                + ["ratio CPU", "against"])
    lines = []
    for key, group in groups.items():
        by_threads = {r["threads"]: r for r in group}
        first = group[0]
        ref, label = reference(key, groups)
        ref_by_threads = {r["threads"]: r for r in ref} if ref else {}
        ratios = []
        for t in threads:
            mine, theirs = by_threads.get(t), ref_by_threads.get(t)
            ratios.append(fmt(mine["qps"] / theirs["qps"], 2) if mine and theirs else "-")
        mine, theirs = by_threads.get(1), ref_by_threads.get(1)
        cpu_ratio = (fmt(mine["cpu_qps"] / theirs["cpu_qps"], 2)
                     if mine and theirs and mine.get("cpu_qps") and theirs.get("cpu_qps") else "-")
        mb = lambda v: None if v is None else v / 1e6
        lines.append(
            [key[0], key[1], "-" if key[2] is None else str(key[2]), fmt(first["recall"], 4)]
            + [fmt(by_threads[t]["qps"], 0) if t in by_threads else "-" for t in threads]
            + [fmt(by_threads[1].get("cpu_qps"), 0) if 1 in by_threads else "-"]
            + [fmt(first.get("build_seconds"), 2), fmt(mb(first.get("memory_bytes")), 1),
               fmt(mb(first.get("rss_delta_bytes")), 1)]
            + ratios + [cpu_ratio, label])

    widths = [max(len(h), *(len(l[i]) for l in lines)) for i, h in enumerate(headings)]

    def render(cells):
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths)):
            if i == len(cells) - 1:
                out.append(cell)
            elif i < 2:
                out.append(cell.ljust(w))
            else:
                out.append(cell.rjust(w))
        return "  ".join(out).rstrip()

    for h in args.header:
        print(h)
    print(render(headings))
    print(render(["-" * w for w in widths]))
    for l in lines:
        print(render(l))
    clients = {}
    for r in rows:
        if r.get("client"):
            clients.setdefault(f"{r['system']} {r['mode']}", r["client"])
    for name, client in clients.items():
        print(f"{name}: {client}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("files", nargs="+")
    table(ap.parse_args())


if __name__ == "__main__":
    main()
