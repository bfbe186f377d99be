#!/usr/bin/env python3
"""The table of `tools/bench/chunker-peers`: JSON lines in (annals-bench chunk --json, langchain_chunk.py), one
table out. The ratio divides each row's MB per CPU second by LangChain's: both run on one thread, and CPU time stays
comparable on a machine shared with other work, where wall-clock rates move with the load.

  chunk_report.py --header TEXT [--header TEXT ...] FILE
"""

import argparse
import json

LABELS = {
    ("annals", "chunk-whole"): "annals, whole text",
    ("annals", "chunk-64k"): "annals, fed in 64 KiB pieces",
    ("annals", "extract"): "annals, extraction alone",
    ("annals", "extract-chunk-embed"): "annals, extract + chunk + hashing embed",
    ("langchain", "split_text"): "langchain RecursiveCharacterTextSplitter",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("file")
    args = parser.parse_args()
    with open(args.file) as f:
        rows = [json.loads(line) for line in f if line.strip().startswith("{")]
    langchain = next((r["mb_per_cpu_second"] for r in rows if r["system"] == "langchain"), None)
    for line in args.header:
        print(line)
    print()
    print("| system | MB per CPU s | MB/s wall | chunks | mean chunk chars | × LangChain (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        label = LABELS.get((r["system"], r["workload"]), f'{r["system"]} {r["workload"]}')
        if r["system"] == "langchain":
            label += f' {r.get("version", "")}'.rstrip()
        ratio = "-" if not langchain else f'{r["mb_per_cpu_second"] / langchain:.2f}'
        chunks = "-" if r["chunks"] == 0 else f'{r["chunks"]:,}'
        mean = "-" if r["chunks"] == 0 else f'{r["mean_chunk_chars"]:,.1f}'
        print(f'| {label} | {r["mb_per_cpu_second"]:,.1f} | {r["mb_per_second"]:,.1f} | {chunks} | {mean} | {ratio} |')


if __name__ == "__main__":
    main()
