"""HNSW at scale: build time, memory, and recall@10 / latency against exact search for several efSearch.

    python -m benchmarks.scale.index_ann --model data/model --n 1000000 --ef 64,128,256,512

Vectors are the ones benchmarks/scale/index_latency.py uses: the model's code vectors of the real
functions (its cache, or encoded now), replicated to n with seeded noise; queries are the benchmark
file's, encoded by the model. Exact top-10 comes from a streamed numpy inner product.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.scale.index_latency import available_mb, base_vectors, rss_mb
from index import vectors
from index.encoders import limit_torch_threads, load_encoder
from index.vectors import VectorConfig
from preprocess.csvio import read_functions


def replicated(base: np.ndarray, n: int, noise: float) -> np.ndarray:
    """n vectors: the base ones, then copies moved by seeded noise (as index_latency.ReplicaEncoder)."""
    m, d = base.shape
    out = np.empty((n, d), np.float32)
    out[: min(n, m)] = base[: min(n, m)]
    for i0 in range(m, n, m):
        k = min(m, n - i0)
        rng = np.random.default_rng(i0)  # one generator per copy block: fast, still deterministic
        out[i0: i0 + k] = base[:k] + noise * rng.standard_normal((k, d), np.float32) / np.sqrt(d)
    return vectors.normalize(out)


def exact_top10(xb: np.ndarray, xq: np.ndarray) -> np.ndarray:
    best_s, best_i = np.full((len(xq), 10), -np.inf, np.float32), np.zeros((len(xq), 10), np.int64)
    for i0 in range(0, len(xb), 200_000):
        S = xq @ xb[i0: i0 + 200_000].T
        allS = np.hstack([best_s, S])
        allI = np.hstack([best_i, np.broadcast_to(np.arange(i0, i0 + S.shape[1]), S.shape)])
        top = np.argsort(-allS, axis=1)[:, :10]
        best_s, best_i = np.take_along_axis(allS, top, 1), np.take_along_axis(allI, top, 1)
    return best_i


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="data/model")
    p.add_argument("--functions", default="data/functions.csv")
    p.add_argument("--bench", default="../shared/bench/cosqa-dev.jsonl")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--m", type=int, default=32, help="HNSW M")
    p.add_argument("--ef-construction", type=int, default=40)
    p.add_argument("--ef", default="64,128,256,512")
    p.add_argument("--noise", type=float, default=0.3)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--workdir", default="data/bench/index-latency")
    p.add_argument("--out", default="data/bench/index_ann.json")
    args = p.parse_args(argv)
    model = load_encoder(args.model)
    limit_torch_threads(1)
    need = args.n * model.dim * 4 * 2.6 / 2**20
    if need > available_mb():
        print(f"needs ~{need:.0f} MB, {available_mb():.0f} MB available: use a smaller --n", file=sys.stderr)
        return 1
    base, _ = base_vectors(model, list(read_functions(args.functions)), Path(args.workdir) / "cache")
    xb = replicated(vectors.normalize(base), args.n, args.noise)
    queries = [json.loads(line).get("query") for line in Path(args.bench).read_text().splitlines() if line.strip()]
    xq = vectors.normalize(model.encode_queries([q for q in queries if q][: args.queries]))
    truth = exact_top10(xb, xq)
    rss0 = rss_mb()
    t = time.perf_counter()
    vectors.use_threads(None)
    index = vectors.build(xb, np.arange(args.n), VectorConfig(kind="hnsw", hnsw_m=args.m,
                                                              hnsw_ef_construction=args.ef_construction))
    report = {"n": args.n, "m": args.m, "ef_construction": args.ef_construction, "build_s": round(time.perf_counter() - t, 1),
              "index_rss_mb": round(rss_mb() - rss0, 1), "rows": []}
    vectors.use_threads(1)
    for ef in (int(x) for x in args.ef.split(",")):
        params = vectors.search_params(index, VectorConfig(hnsw_ef_search=ef))
        ts, found = [], []
        for q in xq:
            t = time.perf_counter()
            _, I = vectors.search(index, q[None], 10, params)
            ts.append(time.perf_counter() - t)
            found.append(I[0])
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]))
        row = {"ef_search": ef, "recall_at_10": round(recall, 4),
               "p50_ms": round(float(np.percentile(ts, 50)) * 1000, 3), "p99_ms": round(float(np.percentile(ts, 99)) * 1000, 3)}
        report["rows"].append(row)
        print(json.dumps(row), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"n={args.n:,} M={args.m}: built in {report['build_s']} s, index RSS {report['index_rss_mb']} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
