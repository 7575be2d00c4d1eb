"""The single machine's ceiling: a 10M-function index (the kind auto chooses, compressed store, tantivy) timed end to end.

    python -m benchmarks.scale.index_10m --model codenn/pretrained --size 10000000 --time-cap 7200 \
        [--base-index data/index]

Corpus and queries as benchmarks/scale/index_latency.py (renamed copies of the real functions, their
vectors the originals' plus seeded noise). The real functions are functions.csv's, encoded by the
model, or with --base-index an index already built: its records and the vectors it holds. The vector
index is the kind a build of that size chooses (above vectors.hnsw_max: IVF-PQ re-ranked by SQ8
codes); its build streams, training on the first `vectors.train_max` vectors and adding the rest
batch by batch, so 10M float vectors never sit in memory. The store zlibs code, tokens and apiseq
(`compress_code`). `--time-cap` stops feeding records once 60% of it is spent and indexes what was
reached (the report says how many). The searcher is then measured in a fresh process (`--measure
DIR`): peak and final RSS, hybrid/neural/lexical p50/p99, and recall@10 of the neural top 10 (searched
at the searcher's depth, as a query is) against exact inner product over the true vectors of every
indexed function, for each nprobe, over the queries whose exact top 10 hold no two copies of one
function (and over all queries).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from index import vectors
from index.analysis import parse_query
from index.build import build_index
from index.encoders import limit_torch_threads, load_encoder
from index.manifest import IndexConfig, read_manifest
from index.searcher import Searcher
from preprocess.csvio import read_functions
from benchmarks.scale.distractors import read_real_from_index
from benchmarks.scale.scale_quality import streamed_top
from benchmarks.scale.index_latency import ReplicaEncoder, base_vectors, du_mb, replicate, time_queries

SETTINGS = ["compress_code=true", "batch_size=4096"]   # the vector index: what auto chooses at that size


def capped(records, deadline: float, reached: list):
    """The records until the deadline passes; reached[0] counts what was yielded."""
    for r in records:
        if time.perf_counter() > deadline:
            return
        reached[0] += 1
        yield r


def status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def exact_top10(encoder: ReplicaEncoder, n: int, xq: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    """Ids (nq, 10) of the exact top-10 over the true vectors of ids 0..n-1, streamed in chunks."""
    parts = (np.arange(i0, min(n, i0 + chunk)) for i0 in range(0, n, chunk))
    return streamed_top(((ids, vectors.normalize(encoder.encode_functions([{"id": int(i)} for i in ids])))
                         for ids in parts), xq, 10)


def recall_by_nprobe(s: Searcher, encoder: ReplicaEncoder, queries: list[str], nprobes: list[int]) -> dict:
    """recall@10 of the neural search against exact search, and its FAISS p50 ms, per nprobe.

    Searched at the searcher's depth and cut to 10, as a query's neural list is. `recall_at_10` counts
    the queries whose exact top 10 are ten different functions (copy c of function i is id c * n + i);
    `recall_at_10_all` every query.
    """
    neural = s.scorers["neural"]
    xq = np.concatenate([x for x in (neural.embed(parse_query(q)) for q in queries) if x is not None])
    truth = exact_top10(encoder, s.size, xq)
    distinct = np.array([len(set(row % len(encoder.base))) == 10 for row in truth])
    out = {"recall_queries": int(distinct.sum()), "queries": len(truth)}
    for nprobe in nprobes:
        params = vectors.search_params(neural.index, dataclasses.replace(neural.cfg, ivf_nprobe=nprobe))
        ts, found = [], []
        for row in xq:
            t = time.perf_counter()
            _, I = vectors.search(neural.index, row[None], s.cfg.depth, params)
            ts.append(time.perf_counter() - t)
            found.append(I[0][:10])
        hits = np.array([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])
        out[str(nprobe)] = {"recall_at_10": round(float(hits[distinct].mean()), 4) if distinct.any() else None,
                            "recall_at_10_all": round(float(hits.mean()), 4),
                            "faiss_p50_ms": round(float(np.median(ts)) * 1000, 2)}
    return out


def load_base(args, model, cache: Path) -> tuple[list[dict], np.ndarray, dict]:
    """The real functions, their vectors, and how fast they were encoded (none when taken from an index)."""
    if args.base_index:
        t = time.perf_counter()
        real, base = read_real_from_index(args.base_index, sys.maxsize, set(), seed=0)   # all of them
        real = [dict(r, id=i) for i, r in enumerate(real)]   # ids 0..n-1: copy c of i is c * n + i
        return real, base, {"from_index": args.base_index, "functions": len(real),
                            "read_s": round(time.perf_counter() - t, 1)}
    real = list(read_functions(args.functions))
    base, rate = base_vectors(model, real, cache)
    return real, base, rate


def measure(args) -> int:
    """The searcher alone, in this fresh process: RSS, latency per mode, recall per nprobe."""
    model = load_encoder(args.model)
    limit_torch_threads(1)
    real, base, _ = load_base(args, model, Path(args.workdir) / "cache")
    encoder = ReplicaEncoder(model, base, args.noise)
    del real
    queries = load_queries(args.bench, args.queries)
    rss0 = status_mb("VmRSS")
    t = time.perf_counter()
    s = Searcher.open(args.measure, encoder=encoder)
    row = {"open_s": round(time.perf_counter() - t, 1), "functions": s.size, "latency": time_queries(s, queries, 10),
           "rss_mb": round(status_mb("VmRSS"), 1), "rss_before_open_mb": round(rss0, 1),
           "peak_rss_mb": round(status_mb("VmHWM"), 1)}
    row["recall"] = recall_by_nprobe(s, encoder, queries[: args.recall_queries], [int(x) for x in args.nprobe.split(",")])
    s.close()
    print(json.dumps(row))
    return 0


def load_queries(bench: str, n: int) -> list[str]:
    """The first n queries of a benchmark file."""
    qs = [json.loads(line).get("query") for line in Path(bench).read_text().splitlines() if line.strip()]
    return [q for q in qs if q][:n]


def finish_report(report: dict, out: str) -> int:
    """Stamp the load average, write the report as JSON and print it."""
    report["load_avg_at_end"] = os.getloadavg()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="codenn/pretrained")
    p.add_argument("--functions", default="data/functions.csv")
    p.add_argument("--base-index", metavar="DIR", help="take the real functions and their vectors from this index")
    p.add_argument("--bench", default="../shared/bench/cosqa-dev.jsonl", help="where the queries come from")
    p.add_argument("--size", type=int, default=10_000_000)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--recall-queries", type=int, default=100)
    p.add_argument("--nprobe", default="16,32,64,128,256", help="nprobe values whose recall@10 is measured")
    p.add_argument("--noise", type=float, default=0.3)
    p.add_argument("--time-cap", type=float, default=7200, help="seconds for the build; 60%% of it feeds records")
    p.add_argument("--workdir", default="data/bench/index-10m")
    p.add_argument("--set", action="append", default=[], help="index setting on top of the IVF-PQ defaults")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--resume", action="store_true", help="checkpoint the build; run again to continue a killed one")
    p.add_argument("--measure", metavar="DIR", help=argparse.SUPPRESS)   # the child process's job
    p.add_argument("--out", default="data/bench/index_10m.json")
    args = p.parse_args(argv)
    if args.measure:
        return measure(args)
    work = Path(args.workdir)
    model = load_encoder(args.model)
    limit_torch_threads(1)
    real, base, enc_rate = load_base(args, model, work / "cache")
    encoder = ReplicaEncoder(model, base, args.noise)
    out = work / f"n{args.size}"
    cfg = IndexConfig().override(SETTINGS + args.set)
    t0, reached = time.perf_counter(), [0]
    records = capped(replicate(real, args.size), t0 + 0.6 * args.time_cap, reached)
    manifest = build_index(records, None, out, cfg, encoder=encoder, total=args.size, resume=args.resume)
    build_s, build_rss = time.perf_counter() - t0, status_mb("VmHWM")
    del real, base, encoder
    child = subprocess.run([sys.executable, "-m", "benchmarks.scale.index_10m", "--measure", str(out), "--model", args.model,
                            "--functions", args.functions, *(["--base-index", args.base_index] if args.base_index else []),
                            "--bench", args.bench, "--queries", str(args.queries),
                            "--recall-queries", str(args.recall_queries), "--nprobe", args.nprobe,
                            "--noise", str(args.noise), "--workdir", args.workdir],
                           capture_output=True, text=True, check=True)
    report = {"asked": args.size, "reached": reached[0], "capped": reached[0] < args.size, "build_s": round(build_s, 1),
              "build_peak_rss_mb": round(build_rss, 1),
              "build": manifest["build"], "settings": SETTINGS + args.set, "encoding": enc_rate,
              "vectors": read_manifest(out)["vectors"], "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
              "disk_mb": {part.name: round(du_mb(part) if part.is_dir() else part.stat().st_size / 2**20, 1)
                          for part in out.iterdir()},
              "searcher": json.loads(child.stdout.strip().splitlines()[-1])}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(summary(report))
    if not args.keep:
        import shutil
        shutil.rmtree(out)
    return 0


def summary(r: dict) -> str:
    s, L = r["searcher"], r["searcher"]["latency"]
    R = s["recall"]
    recall = ", ".join(f"nprobe {k}: {v['recall_at_10']} (all {v['recall_at_10_all']}; {v['faiss_p50_ms']} ms)"
                       for k, v in R.items() if isinstance(v, dict))
    recall += f"; {R['recall_queries']} of {R['queries']} queries have ten different functions in their exact top 10"
    return (f"{r['reached']:,} of {r['asked']:,} functions{' (time cap hit)' if r['capped'] else ''}; "
            f"build {r['build_s']:.0f} s; disk {sum(r['disk_mb'].values()):,.0f} MB {r['disk_mb']}\n"
            f"searcher RSS {s['rss_mb']:,.0f} MB (peak {s['peak_rss_mb']:,.0f}); hybrid p50/p99 "
            f"{L['hybrid']['p50_ms']}/{L['hybrid']['p99_ms']} ms, neural {L['neural']['p50_ms']}/{L['neural']['p99_ms']}, "
            f"lexical {L['lexical']['p50_ms']}/{L['lexical']['p99_ms']}\nrecall@10 vs exact: {recall}")


if __name__ == "__main__":
    sys.exit(main())
