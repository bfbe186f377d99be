#!/usr/bin/env python3
"""The LMDB floor for `tools/bench/log-peers`: what raw LMDB allows for durable appends.

One writer, no concurrency machinery: records of header + payload under big-endian u64 keys put with
append=True, one synchronous commit per group of `--group` records. Default environment flags (sync and
metasync on, no writemap, no map_async), so every commit pays LMDB's two syncs (data pages, then meta page).
A group of K models a group commit of K appenders with one event in flight each; a group of 1,000 shows
the ceiling when batches are large.

Latency is the time of each commit, which is the least that any event in that group waits. It is not an
appender's end-to-end latency (there are no appenders here).

Prints one JSON object with the fields of `annals-bench append`.
"""

import argparse
import json
import math
import os
import struct
import time

import lmdb


def percentile(sorted_values, p):
    """Nearest-rank percentile, the same rule as the C peer."""
    i = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--events", type=int, required=True)
    ap.add_argument("--group", type=int, required=True, help="records per commit")
    ap.add_argument("--size", type=int, required=True, help="payload bytes")
    ap.add_argument("--header", type=int, default=100, help="envelope bytes added to each payload")
    ap.add_argument("--appenders", type=int, default=None, help="reported only: the K this group models")
    ap.add_argument("--preallocate", action="store_true",
                    help="write and sync zeros past the data file's end before timing (what Annals' writer keeps "
                         "doing as it goes), so that commits overwrite allocated blocks")
    args = ap.parse_args()

    record_bytes = args.size + args.header
    # Values this size sit a few to a 4 KiB page; leave room for that and for branch pages.
    map_size = max(1 << 30, 4 * args.events * (record_bytes + 64))
    env = lmdb.open(args.data, map_size=map_size, subdir=True)
    if args.preallocate:
        # Enough for every record with LMDB's page overhead, written before the clock starts: the best case
        # of preallocation, with none of its cost in the timed part.
        path = os.path.join(args.data, "data.mdb")
        with open(path, "r+b") as f:
            f.seek(0, os.SEEK_END)
            zeros = bytes(1 << 20)
            for _ in range(2 * args.events * (record_bytes + 64) // len(zeros) + 1):
                f.write(zeros)
            f.flush()
            os.fdatasync(f.fileno())

    payload = os.urandom(args.size)
    header_pad = bytes(args.header - 16)
    pack = struct.Struct(">Q").pack
    stamp = struct.Struct("<Qd").pack

    commit_ms = []
    seq = 0
    start = time.perf_counter()
    while seq < args.events:
        n = min(args.group, args.events - seq)
        t0 = time.perf_counter()
        with env.begin(write=True) as txn:
            for _ in range(n):
                seq += 1
                # The envelope differs per record (sequence, time) as a real event's would.
                txn.put(pack(seq), stamp(seq, t0) + header_pad + payload, append=True)
        commit_ms.append((time.perf_counter() - t0) * 1e3)
    seconds = time.perf_counter() - start

    entries = env.stat()["entries"]
    env.close()
    if entries != args.events:
        raise SystemExit(f"lmdb_append: expected {args.events} entries, found {entries}")

    commit_ms.sort()
    print(json.dumps({
        "system": f"lmdb-floor-g{args.group}" + ("-preallocated" if args.preallocate else ""),
        "workload": "append",
        "events": args.events,
        "appenders": args.appenders if args.appenders is not None else 1,
        "payload_bytes": args.size,
        "record_bytes": record_bytes,
        "group": args.group,
        "seconds": round(seconds, 6),
        "events_per_second": round(args.events / seconds, 1),
        "latency_ms": {k: round(percentile(commit_ms, p), 4)
                       for k, p in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9))}
                      | {"max": round(commit_ms[-1], 4)},
        "latency_is": "commit time per group",
        "commits": len(commit_ms),
        "lmdb_version": ".".join(map(str, lmdb.version())),
        "py_lmdb_version": lmdb.__version__,
    }))


if __name__ == "__main__":
    main()
