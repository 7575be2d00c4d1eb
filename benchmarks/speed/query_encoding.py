"""Query encoding latency of a model on one thread: each query of a benchmark file encoded alone.

    python -m benchmarks.speed.query_encoding ../shared/bench/cosqa-dev.jsonl --model codenn/pretrained [--best]

`--best` also times the `best` mode's transformer query encoder (MiniLM).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

from benchmarks.benchfile import read_bench
from benchmarks.peers import set_threads


def timings(encode, queries: list[str], warmup: int = 5) -> dict:
    """p50/p99/mean milliseconds of encode([q]) over the queries."""
    for q in queries[:warmup]:
        encode([q])
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        encode([q])
        ms.append(1000 * (time.perf_counter() - t0))
    return {"p50_ms": statistics.median(ms), "p99_ms": float(np.percentile(ms, 99)), "mean_ms": statistics.fmean(ms),
            "queries": len(ms)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed.query_encoding", description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--model", default="codenn/pretrained")
    ap.add_argument("--best", action="store_true", help="time the transformer query encoder of the best mode too")
    args = ap.parse_args(argv)
    set_threads(1)
    try:
        queries = read_bench(args.file).queries
        import codenn
        enc = codenn.load(args.model)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = {"static (default)": timings(enc.encode_queries, queries)}
    if args.best:
        if enc.teacher is None:
            print(f"error: {args.model} has no teacher: --best needs a distilled model", file=sys.stderr)
            return 2
        from codenn.code_teacher import TeacherQueries
        rows["MiniLM (best)"] = timings(TeacherQueries(enc.teacher.cfg).encode_queries, queries)
    print("| query encoder | p50 ms | p99 ms | mean ms | queries |\n|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['mean_ms']:.2f} | {r['queries']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
