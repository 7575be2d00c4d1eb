"""Workers of the speed benchmark, one process each so that resident memory is that system's alone.

    python -m benchmarks.speed.speed_workers build-ours  --bench F --model M --base X.npy --size N --out DIR
    python -m benchmarks.speed.speed_workers query-ours  --bench F --model M --index DIR --queries Q
    python -m benchmarks.speed.speed_workers query-minilm --bench F --base X.npy --size N --queries Q

Each prints one JSON object as its last line. Corpora of N functions are the benchmark pool repeated
with renamed copies (benchmarks.scale.index_latency.replicate); a copy's vector is its original's plus
seeded noise (ReplicaEncoder): encoding speed is measured on its own, so the latency points need not
encode a million functions. The MiniLM peer gets the same copies of its own vectors.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from index import vectors
from benchmarks.benchfile import pool_records, read_bench
from benchmarks.scale.index_latency import ReplicaEncoder, replicate   # the index engineer's replicated corpora

NOISE = 0.3          # norm of the noise added to a copy's vector: cosine ~0.96 to its original
WARMUP = 5


def rss_mb() -> dict[str, float]:
    """Resident memory of this process now and at its peak, in MiB (Linux /proc)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = int(value.split()[0]) / 1024
    return out


class VectorsOnly:
    """The identity and dimension ReplicaEncoder reads from a model, for precomputed peer vectors."""

    identity = "precomputed"

    def __init__(self, dim: int):
        self.dim = dim


def replica_vectors(base: np.ndarray, n: int, chunk: int = 100_000) -> Iterator[np.ndarray]:
    """Vectors of the first n functions of a replicated corpus (index_latency's copies), in chunks."""
    enc = ReplicaEncoder(VectorsOnly(base.shape[1]), base, NOISE)
    for i0 in range(0, n, chunk):
        yield vectors.normalize(enc.encode_functions([{"id": i} for i in range(i0, min(i0 + chunk, n))]))


def build_ours(args) -> dict:
    """Index args.size synthetic functions with our index builder; report the build time."""
    from index.build import build_index
    from index.encoders import load_encoder
    from index.manifest import IndexConfig
    records, _ = pool_records(read_bench(args.bench))
    encoder = ReplicaEncoder(load_encoder(args.model), np.load(args.base), NOISE)
    t0 = time.perf_counter()
    manifest = build_index(replicate(records, args.size), args.model, args.out,
                           IndexConfig(progress=not args.quiet), encoder=encoder)
    return {"build_s": time.perf_counter() - t0, "size": manifest["size"], "vectors": manifest["vectors"]["kind"]}


def latencies(fn, queries: list[str], n: int) -> dict:
    """Time fn(query) over n queries (cycling) after a warm-up: p50 and p99 in ms."""
    for q in queries[:WARMUP]:
        fn(q)
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(queries[i % len(queries)])
        times.append(1000 * (time.perf_counter() - t0))
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99)), "queries": n}


def query_ours(args) -> dict:
    """Latency of Searcher.search (hybrid, k=10) over a built index, and this process's memory."""
    from index.searcher import Searcher
    bench = read_bench(args.bench)
    searcher = Searcher.open(args.index, args.model)
    out = latencies(lambda q: searcher.search(q, k=10, mode=args.mode), bench.queries, args.queries)
    out.update(rss_mb(), size=searcher.size)
    return out


def query_minilm(args) -> dict:
    """Latency of encoding a query with MiniLM and searching args.size vectors exactly (FAISS flat)."""
    import faiss
    from benchmarks.peers import MiniLMPeer
    bench = read_bench(args.bench)
    base = np.load(args.base)
    index = faiss.IndexFlatIP(base.shape[1])
    for x in replica_vectors(base, args.size):
        index.add(x)
    peer = MiniLMPeer(progress=False)

    def one(q: str):
        return index.search(peer.encode([q]), 10)
    out = latencies(one, bench.queries, args.queries)
    out.update(rss_mb(), size=int(index.ntotal))
    return out


WORKERS = {"build-ours": build_ours, "query-ours": query_ours, "query-minilm": query_minilm}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed.speed_workers")
    ap.add_argument("kind", choices=sorted(WORKERS))
    ap.add_argument("--bench", required=True)
    ap.add_argument("--model", default="data/model")
    ap.add_argument("--base", help=".npy of pool vectors (unit norm)")
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--index")
    ap.add_argument("--mode", default="hybrid")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads > 0:                      # the parent's --threads, passed down through the environment
        from benchmarks.peers import set_threads
        set_threads(threads)
    print(json.dumps(WORKERS[args.kind](args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
