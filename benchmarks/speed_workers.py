"""Workers of the speed benchmark, one process each so that resident memory is that system's alone.

    python -m benchmarks.speed_workers build-ours  --bench F --model M --base X.npy --size N --out DIR
    python -m benchmarks.speed_workers query-ours  --bench F --model M --index DIR --queries Q
    python -m benchmarks.speed_workers query-minilm --bench F --base X.npy --size N --queries Q

Each prints one JSON object as its last line. Corpora of N functions are the benchmark pool repeated
with renamed copies; a copy's vector is its original's plus seeded noise (encoding speed is measured
on its own, so the latency points need not encode a million functions).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from .benchfile import pool_records, read_bench

NOISE = 0.5          # norm of the noise added to a copy's vector (originals have norm 1)
WARMUP = 5


def rss_mb() -> dict[str, float]:
    """Resident memory of this process now and at its peak, in MiB (Linux /proc)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = int(value.split()[0]) / 1024
    return out


def synthetic_records(records: list[dict], n: int) -> Iterator[dict]:
    """n functions: the pool, then renamed copies of it (distinct code, so no near-duplicate collapse)."""
    nb = len(records)
    for j in range(n):
        r = records[j % nb]
        if j < nb:
            yield {**r, "id": j + 1}
            continue
        copy = j // nb
        name = f"{r['name'] or 'fn'}_{copy}"
        code = re.sub(r"\bdef\s+\w+", f"def {name}", r["code"], count=1)
        if code == r["code"]:
            code = f"# copy {copy}\n{code}\npass  # {copy}"
        yield {**r, "id": j + 1, "name": name, "code": code, "path": f"{r['path']}~{copy}"}


def noisy_copies(base: np.ndarray, idx: np.ndarray, seed: int) -> np.ndarray:
    """Vectors of pool items idx, plus seeded noise of norm ~NOISE for copies, unit-normalised."""
    x = base[idx % len(base)].astype(np.float32)                       # (n, d)
    copies = idx >= len(base)
    if copies.any():
        rng = np.random.default_rng(seed)
        x[copies] += rng.standard_normal((int(copies.sum()), base.shape[1])).astype(np.float32) \
            * (NOISE / np.sqrt(base.shape[1]))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class LookupEncoder:
    """Code vectors of synthetic records from precomputed pool vectors (the model's identity kept)."""

    def __init__(self, base: np.ndarray, identity: str):
        self.base, self.identity, self.dim = base, identity, base.shape[1]

    def encode_functions(self, records) -> np.ndarray:
        idx = np.array([int(r["id"]) - 1 for r in records], dtype=np.int64)
        return noisy_copies(self.base, idx, seed=int(idx[0]) if len(idx) else 0)

    def encode_queries(self, queries) -> np.ndarray:
        raise NotImplementedError("the lookup encoder only builds indexes")


def build_ours(args) -> dict:
    """Index args.size synthetic functions with our index builder; report the build time."""
    from index.build import build_index
    from index.encoders import load_encoder
    from index.manifest import IndexConfig
    records, _ = pool_records(read_bench(args.bench))
    encoder = LookupEncoder(np.load(args.base), load_encoder(args.model).identity)
    t0 = time.perf_counter()
    manifest = build_index(synthetic_records(records, args.size), args.model, args.out,
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
    from .peers import MiniLMPeer
    bench = read_bench(args.bench)
    base = np.load(args.base)
    index = faiss.IndexFlatIP(base.shape[1])
    for i0 in range(0, args.size, 100_000):
        index.add(noisy_copies(base, np.arange(i0, min(i0 + 100_000, args.size)), seed=i0))
    peer = MiniLMPeer(progress=False)

    def one(q: str):
        return index.search(peer.encode([q]), 10)
    out = latencies(one, bench.queries, args.queries)
    out.update(rss_mb(), size=int(index.ntotal))
    return out


WORKERS = {"build-ours": build_ours, "query-ours": query_ours, "query-minilm": query_minilm}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed_workers")
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
    print(json.dumps(WORKERS[args.kind](args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
