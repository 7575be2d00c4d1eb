"""Milvus (lite) against the native engine: build time, query p50/p99, top-10 overlap, cosqa-dev MRR.

    python -m benchmarks.scale.milvus_backend --functions data/functions.csv --model codenn/pretrained \
        --bench ../shared/bench/cosqa-dev.jsonl

Part 1 indexes functions.csv (`--limit` rows; 0: all) natively and into milvus-lite with the same
model, then runs the benchmark file's queries one at a time through both in each mode: hybrid
(Milvus's weighted ranker, its RRF ranker, and our fusion over Milvus's two lists), neural and
lexical, reporting p50/p99 and the mean top-10 overlap with the native answer. Part 2 indexes the
benchmark's pool both ways and scores every query over the whole pool (Searcher.score_all, ranks
fully sorted as benchmarks/quality/quality.py does) for MRR and SuccessRate@k per backend and mode.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.backends.milvus import MilvusConfig
from index.backends.milvus_build import build_milvus_index
from index.build import build_index
from index.manifest import IndexConfig
from index.searcher import Searcher
from preprocess.csvio import read_functions
from benchmarks.benchfile import read_bench
from benchmarks.quality.modes import Context
from benchmarks.ranking import scores_row, whole_pool_ranks
from benchmarks.scale.index_10m import finish_report, load_queries
from benchmarks.scale.index_latency import du_mb, pct

VARIANTS = ("hybrid:weighted", "hybrid:rrf", "hybrid:ours", "neural", "lexical")
RANKER = MilvusConfig(fusion="weighted")   # built with a Milvus ranker's scorer, so variant() can switch among all


def variant(s: Searcher, name: str) -> str:
    """Point a Milvus searcher's hybrid mode at one fusion; the mode to search with."""
    mode, _, fusion = name.partition(":")
    if fusion == "ours":
        s.cfg.modes["hybrid"] = ("neural", "lexical")
    elif fusion:
        s.cfg.modes["hybrid"] = ("milvus_hybrid",)
        s.scorers["milvus_hybrid"].method = fusion
    return mode


def build_both(records, model: str, work: Path) -> dict:
    """Native and milvus-lite indexes of the same records; their build seconds and disk MB."""
    out = {}
    for name, build in (("native", lambda r, o: build_index(r, model, o, IndexConfig())),
                        ("milvus", lambda r, o: build_milvus_index(r, model, o, IndexConfig(), RANKER))):
        t = time.perf_counter()
        build(records() if callable(records) else records, work / name)
        out[name] = {"build_s": round(time.perf_counter() - t, 1), "disk_mb": round(du_mb(work / name), 1)}
    return out


def latency_and_overlap(native: Searcher, milvus: Searcher, queries: list[str]) -> dict:
    """p50/p99 of each variant through Milvus, and its top-10 overlap with the native mode."""
    out = {}
    for mode in ("hybrid", "neural", "lexical"):
        ts = []
        for q in queries:
            t = time.perf_counter()
            native.search(q, mode=mode)
            ts.append(time.perf_counter() - t)
        out[f"native {mode}"] = pct(ts)
    for name in tqdm(VARIANTS, desc="milvus variants", unit="variant"):
        mode = variant(milvus, name)
        for q in queries[:10]:
            milvus.search(q, mode=mode)   # warm
        ts, overlap = [], []
        for q in queries:
            t = time.perf_counter()
            got = milvus.search(q, mode=mode)
            ts.append(time.perf_counter() - t)
            ref = {h.id for h in native.search(q, mode=mode).hits}
            overlap.append(len(ref & {h.id for h in got.hits}) / max(len(ref), 1))
        out[f"milvus {name}"] = {**pct(ts), "top10_overlap": round(float(np.mean(overlap)), 3)}
    return out


def pool_quality(bench_path: str, model: str, work: Path, n_queries: int = 0) -> dict:
    """MRR and SR@k of each backend and mode over the benchmark's whole pool (the first n_queries, 0: all)."""
    bench = read_bench(bench_path)
    if n_queries:
        bench.queries, bench.gold = bench.queries[:n_queries], bench.gold[:n_queries]
    records = Context(bench).records
    builds = build_both(records, model, work)
    gold = bench.gold
    out = {"build": builds}
    for backend in ("native", "milvus"):
        s = Searcher.open(work / backend, model)
        pos = s.ids() - 1   # pool records have id = pool index + 1
        for name in (VARIANTS if backend == "milvus" else ("hybrid", "neural", "lexical")):
            mode = variant(s, name) if backend == "milvus" else name
            S = np.full((bench.nq, bench.nb), -np.inf, np.float32)
            for qi, q in enumerate(tqdm(bench.queries, desc=f"{backend} {name}", unit="q", mininterval=2)):
                S[qi, pos] = s.score_all(q, mode)
            row = scores_row(whole_pool_ranks(S, gold))
            out[f"{backend} {name}"] = {k: round(v, 4) for k, v in row.items()}
        s.close()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--functions", default="data/functions.csv")
    p.add_argument("--limit", type=int, default=0, help="index only the first N functions (0: all)")
    p.add_argument("--model", default="codenn/pretrained")
    p.add_argument("--bench", default="../shared/bench/cosqa-dev.jsonl")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--skip-pool", action="store_true", help="leave out part 2 (cosqa-dev MRR per backend)")
    p.add_argument("--pool-queries", type=int, default=0, help="part 2 on the first N queries (0: all)")
    p.add_argument("--out", default="data/bench/milvus_backend.json")
    args = p.parse_args(argv)
    report = {"model": args.model, "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-milvus-") as tmp:
        work = Path(tmp)
        rows = lambda: itertools.islice(read_functions(args.functions), args.limit or None)  # noqa: E731
        report["corpus"] = {"functions": sum(1 for _ in rows()), **build_both(rows, args.model, work / "corpus")}
        native, milvus = Searcher.open(work / "corpus/native", args.model), Searcher.open(work / "corpus/milvus", args.model)
        report["queries"] = latency_and_overlap(native, milvus, load_queries(args.bench, args.queries))
        native.close()
        milvus.close()
        if not args.skip_pool:
            report["pool"] = pool_quality(args.bench, args.model, work / "pool", args.pool_queries)
    return finish_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
