#!/usr/bin/env python3
"""The Python peers of `tools/bench/vector-peers`: hnswlib and FAISS on the data `annals-bench vectors --export` wrote.

Reads DIR/base.fvecs, DIR/query.fvecs and DIR/groundtruth.ivecs (TEXMEX formats; ids are positions in
base.fvecs) and prints one JSON line per measurement, with the fields of `annals-bench vectors --json`:

  hnswlib      hnswlib.Index(space="ip"), M and ef_construction as given; each ef; knn_query on all queries
               with num_threads=T, which searches one query at a time on each of T threads
  faiss-flat   faiss.IndexFlatIP: "single" is one index.search call per query (T Python threads, OpenMP at 1;
               FAISS releases the GIL while it searches), "batch" is one call for all queries with T OpenMP threads
  faiss-hnsw   faiss.IndexHNSWFlat(d, M, METRIC_INNER_PRODUCT), efConstruction as given; each efSearch; one
               search call on all queries with T OpenMP threads, which searches one query at a time per thread

Indexes are built with --build-threads threads (1 by default, as Annals builds). memory_bytes is the index's own
size where the library says it (FAISS flat: the stored vectors), else null; rss_delta_bytes is the process's
resident memory after building minus before, for every system.
"""

import argparse
import json
import os
from importlib.metadata import version
import threading
import time

import numpy as np


def read_vecs(path, dtype):
    """A TEXMEX file as a 2-D array: each record is an int32 dimension followed by that many 4-byte values."""
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise SystemExit(f"vector_peers: {path} is empty")
    d = int(raw[0])
    if d <= 0 or raw.size % (d + 1) != 0:
        raise SystemExit(f"vector_peers: {path} is not whole records of dimension {d}")
    records = raw.reshape(-1, d + 1)
    if not (records[:, 0] == d).all():
        raise SystemExit(f"vector_peers: {path} has records of different dimensions")
    return np.ascontiguousarray(records[:, 1:]).view(dtype)


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def recall(found, truth, k):
    """Mean |found ∩ truth| / k over the queries, each list cut to its first k ids (as annals-bench computes it)."""
    total = 0.0
    for row, expected in zip(found, truth):
        wanted = set(int(x) for x in expected[:k])
        total += len(set(int(x) for x in row[:k] if x >= 0) & wanted) / max(1, len(wanted))
    return total / len(truth)


class Timer:
    """Wall time and the process's CPU time (every thread, OpenMP's and OpenBLAS's included) of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.timing = (time.perf_counter() - self.wall, time.process_time() - self.cpu)


def split(n, parts):
    return [(p * n // parts, (p + 1) * n // parts) for p in range(parts)]


def on_threads(parts, body):
    """Runs body(start, end) for `parts` contiguous slices of the queries, each on its own thread; returns the
    results in order and the (wall, CPU) time."""
    results = [None] * len(parts)
    errors = []

    def run(i, start, end):
        try:
            results[i] = body(start, end)
        except BaseException as e:  # reported after the join
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, s, e)) for i, (s, e) in enumerate(parts)]
    with Timer() as timer:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    return np.concatenate(results), timer.timing


class Run:
    def __init__(self, args, base, queries, truth):
        self.args = args
        self.base = base
        self.queries = queries
        self.truth = truth
        self.k = args.k

    def emit(self, system, mode, ef, threads, found, timing, build_seconds, memory_bytes, rss_delta, client):
        seconds, cpu_seconds = timing
        print(json.dumps({
            "system": system,
            "mode": mode,
            "n": int(self.base.shape[0]),
            "dim": int(self.base.shape[1]),
            "k": self.k,
            "queries": int(self.queries.shape[0]),
            "ef_search": ef,
            "threads": threads,
            f"recall_at_{self.k}": round(recall(found, self.truth, self.k), 4),
            "qps": round(self.queries.shape[0] / seconds, 1),
            "cpu_qps": round(self.queries.shape[0] / cpu_seconds, 1),
            "build_seconds": round(build_seconds, 3),
            "memory_bytes": memory_bytes,
            "rss_delta_bytes": rss_delta,
            "client": client,
        }), flush=True)

    def warm(self, search):
        search(self.queries[: min(20, len(self.queries))])

    def hnswlib(self):
        import hnswlib

        a = self.args
        n, d = self.base.shape
        before = resident_bytes()
        t0 = time.perf_counter()
        index = hnswlib.Index(space="ip", dim=d)
        index.init_index(max_elements=n, ef_construction=a.ef_construction, M=a.m, random_seed=100)
        index.add_items(self.base, np.arange(n), num_threads=a.build_threads)
        build = time.perf_counter() - t0
        rss = resident_bytes() - before
        client = f"hnswlib {version('hnswlib')}, knn_query(all queries, num_threads=T)"
        for ef in a.ef_search:
            index.set_ef(ef)
            self.warm(lambda q: index.knn_query(q, k=self.k, num_threads=1))
            for threads in a.threads:
                with Timer() as timer:
                    labels, _ = index.knn_query(self.queries, k=self.k, num_threads=threads)
                self.emit("hnswlib", "single", ef, threads, labels, timer.timing, build, None, rss, client)

    def faiss_flat(self):
        import faiss

        n, d = self.base.shape
        faiss.omp_set_num_threads(self.args.build_threads)
        before = resident_bytes()
        t0 = time.perf_counter()
        index = faiss.IndexFlatIP(d)
        index.add(self.base)
        build = time.perf_counter() - t0
        rss = resident_bytes() - before
        size = n * d * 4
        version = faiss.__version__
        faiss.omp_set_num_threads(1)
        self.warm(lambda q: index.search(q, self.k))
        for threads in self.args.threads:
            # One query per call: T Python threads, each searching its slice one query at a time on one OpenMP
            # thread, as annals-bench does.
            faiss.omp_set_num_threads(1)

            def one_at_a_time(start, end):
                # OpenMP's thread count is a per-thread setting: a new thread starts from the default (all cores)
                # and would fork a team for every query.
                faiss.omp_set_num_threads(1)
                out = np.empty((end - start, self.k), dtype=np.int64)
                for i in range(start, end):
                    _, out[i - start] = index.search(self.queries[i : i + 1], self.k)
                return out

            found, timing = on_threads(split(len(self.queries), threads), one_at_a_time)
            self.emit("faiss-flat", "single", None, threads, found, timing, build, size, rss,
                      f"faiss-cpu {version}, search(1 query) per call, T Python threads, OpenMP 1")
        for threads in self.args.threads:
            faiss.omp_set_num_threads(threads)
            with Timer() as timer:
                _, found = index.search(self.queries, self.k)
            self.emit("faiss-flat", "batch", None, threads, found, timer.timing, build, size, rss,
                      f"faiss-cpu {version}, search(all queries), OpenMP T")

    def faiss_hnsw(self):
        import faiss

        a = self.args
        n, d = self.base.shape
        faiss.omp_set_num_threads(a.build_threads)
        before = resident_bytes()
        t0 = time.perf_counter()
        index = faiss.IndexHNSWFlat(d, a.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = a.ef_construction
        index.add(self.base)
        build = time.perf_counter() - t0
        rss = resident_bytes() - before
        client = f"faiss-cpu {faiss.__version__}, search(all queries), OpenMP T"
        for ef in a.ef_search:
            index.hnsw.efSearch = ef
            faiss.omp_set_num_threads(1)
            self.warm(lambda q: index.search(q, self.k))
            for threads in a.threads:
                faiss.omp_set_num_threads(threads)
                with Timer() as timer:
                    _, found = index.search(self.queries, self.k)
                self.emit("faiss-hnsw", "single", ef, threads, found, timer.timing, build, None, rss, client)


def int_list(text):
    return [int(x) for x in text.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="directory with base.fvecs, query.fvecs, groundtruth.ivecs")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--ef-search", type=int_list, default=[16, 32, 64, 128])
    ap.add_argument("--threads", type=int_list, default=[1, 2])
    ap.add_argument("--build-threads", type=int, default=1)
    ap.add_argument("--systems", default="hnswlib,faiss-flat,faiss-hnsw")
    args = ap.parse_args()

    base = read_vecs(os.path.join(args.data, "base.fvecs"), np.float32)
    queries = read_vecs(os.path.join(args.data, "query.fvecs"), np.float32)
    truth = read_vecs(os.path.join(args.data, "groundtruth.ivecs"), np.int32)
    if truth.shape[0] != queries.shape[0] or truth.shape[1] < args.k:
        raise SystemExit(f"vector_peers: ground truth is {truth.shape}, expected {queries.shape[0]} rows of ≥ {args.k}")
    run = Run(args, base, queries, truth)
    known = {"hnswlib": run.hnswlib, "faiss-flat": run.faiss_flat, "faiss-hnsw": run.faiss_hnsw}
    for name in args.systems.split(","):
        if name not in known:
            raise SystemExit(f"vector_peers: unknown system {name}; known: {', '.join(known)}")
        known[name]()


if __name__ == "__main__":
    main()
