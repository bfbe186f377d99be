#!/usr/bin/env python3
"""LangChain's RecursiveCharacterTextSplitter on one UTF-8 file, timed, for `tools/bench/chunker-peers`.

Prints one JSON line shaped like `annals-bench chunk --json`: bytes, the best wall-clock and CPU seconds of the
passes, MB/s of each (10^6 bytes), the chunk count and the mean chunk length in characters (Python's len, code
points: the scalars Annals counts).
Reading the file and building the splitter are not timed; split_text on the whole text is.
"""

import argparse
import importlib.metadata
import json
import time

from langchain_text_splitters import RecursiveCharacterTextSplitter


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", required=True)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--overlap", type=int, default=150)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()

    with open(args.file, encoding="utf-8") as f:
        text = f.read()
    size = len(text.encode("utf-8"))
    splitter = RecursiveCharacterTextSplitter(chunk_size=args.chunk_size, chunk_overlap=args.overlap)
    best = best_cpu = float("inf")
    chunks = []
    for _ in range(args.passes):
        start, start_cpu = time.perf_counter(), time.process_time()
        chunks = splitter.split_text(text)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
        best = min(best, time.perf_counter() - start)
    print(json.dumps({
        "system": "langchain",
        "workload": "split_text",
        "version": importlib.metadata.version("langchain-text-splitters"),
        "bytes": size,
        "chunk_size": args.chunk_size,
        "overlap": args.overlap,
        "seconds": round(best, 4),
        "mb_per_second": round(size / best / 1e6, 1),
        "cpu_seconds": round(best_cpu, 4),
        "mb_per_cpu_second": round(size / best_cpu / 1e6, 1),
        "chunks": len(chunks),
        "mean_chunk_chars": round(sum(map(len, chunks)) / max(1, len(chunks)), 1),
    }))


if __name__ == "__main__":
    main()
