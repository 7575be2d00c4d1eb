"""Query latency, memory, disk, encoding throughput and ANN recall of the index at 10k / 100k / 1M functions.

    python -m benchmarks.scale.index_latency --model data/model --sizes 10000,100000,1000000 [--budget 3000]

Sizes up to the corpus use its first N real functions. Larger sizes replicate them: copy c of
function i gets id c*n + i, repository `<repo>~c`, its name suffixed `_c<c>` (in the code too, so
near-duplicate collapsing does not fold the copies), and the real function's normalised code vector
plus Gaussian noise of norm --noise (0.3: cosine ~0.96 to the original), renormalised. Queries are
the benchmark file's real ones, encoded by the real model, one at a time, end to end
(Searcher.search: encode + FAISS + lexical + fusion + collapse + fetch + matched lines).

Guards: sizes run smallest first; a size whose build is projected (from the previous one) to
overrun the remaining --budget seconds, or to need more memory than is available, is skipped with
a note. Each index is deleted after its size unless --keep.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
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


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def pct(ts) -> dict:
    a = np.asarray(ts) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p99_ms": round(float(np.percentile(a, 99)), 2),
            "mean_ms": round(float(a.mean()), 2)}


class ReplicaEncoder:
    """Code vectors of real functions (precomputed) and of their perturbed copies; queries go to the model."""

    def __init__(self, model, base: np.ndarray, noise: float):
        self.model, self.base, self.noise = model, vectors.normalize(base), noise
        self.identity, self.dim = model.identity, model.dim

    def encode_functions(self, records) -> np.ndarray:
        n = len(self.base)
        ids = np.array([r["id"] for r in records])
        x = self.base[ids % n].copy()
        for row, i in enumerate(ids):
            if i >= n:  # a copy: the same direction, moved by seeded noise
                x[row] += self.noise * np.random.default_rng(int(i)).standard_normal(self.dim) / np.sqrt(self.dim)
        return x

    def encode_queries(self, texts) -> np.ndarray:
        return self.model.encode_queries(texts)


def replicate(real: list[dict], n: int):
    """n records: the real ones, then renamed copies (ids continue: copy c of i is c * len(real) + i)."""
    m = len(real)
    for i in range(n):
        r, c = real[i % m], i // m
        if c == 0:
            yield dict(r, id=i)
        else:
            name = f"{r['name']}_c{c}"
            yield dict(r, id=i, repo=f"{r['repo']}~{c}", name=name, code=r["code"].replace(r["name"], name, 1))


def base_vectors(model, real: list[dict], cache: Path) -> tuple[np.ndarray, dict]:
    """The model's code vectors of the real functions (cached per model) and the encoding speed."""
    path = cache / f"base-{model.identity}-{len(real)}.npy"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return np.load(path), json.loads(meta.read_text())
    t, c = time.perf_counter(), time.process_time()
    out = []
    for i in range(0, len(real), 4096):
        out.append(model.encode_functions(real[i: i + 4096]))
        print(f"\rencoding {i + len(out[-1]):,}/{len(real):,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    rate = {"functions_per_s": round(len(real) / (time.perf_counter() - t), 1),
            "functions_per_cpu_s": round(len(real) / (time.process_time() - c), 1), "functions": len(real)}
    x = np.concatenate(out).astype(np.float32)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, x)
    meta.write_text(json.dumps(rate))
    return x, rate


def time_queries(s: Searcher, queries: list[str], k: int) -> dict:
    """End-to-end latency per mode, and the parts of a hybrid query, one query at a time."""
    for q in queries[:20]:  # warm caches and lazily loaded pages
        s.search(q, k=k)
    out = {}
    for mode in ("hybrid", "neural", "lexical"):
        ts, cpu = [], []
        for q in queries:
            t, c = time.perf_counter(), time.process_time()
            s.search(q, k=k, mode=mode)
            ts.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        # CPU time too: on a shared machine the wall clock also counts waiting for a core
        out[mode] = {**pct(ts), "cpu": pct(cpu)}
    neural, lexical = s.scorers["neural"], s.scorers["lexical"]
    parts = {"encode": [], "faiss": [], "lexical": []}
    for q in queries:
        pq = parse_query(q)
        t = time.perf_counter()
        xq = neural.embed(pq)
        parts["encode"].append(time.perf_counter() - t)
        if xq is not None:
            t = time.perf_counter()
            vectors.search(neural.index, xq, s.cfg.depth, neural.params)
            parts["faiss"].append(time.perf_counter() - t)
        t = time.perf_counter()
        lexical.top(pq, s.cfg.depth)
        parts["lexical"].append(time.perf_counter() - t)
    out["parts"] = {k2: pct(v) for k2, v in parts.items() if v}
    return out


def recall_at_10(s: Searcher, queries: list[str]) -> float:
    """Recall@10 of the index's search against exact inner product over the same vectors."""
    neural = s.scorers["neural"]
    xq = np.concatenate([x for x in (neural.embed(parse_query(q)) for q in queries) if x is not None])
    _, I = vectors.search(neural.index, xq, 10, neural.params)
    ids, best_s, best_i = s.ids(), np.full((len(xq), 10), -np.inf), np.zeros((len(xq), 10), np.int64)
    for i0 in range(0, len(ids), 200_000):  # stream: 1M x 256 floats at once is 1 GB
        chunk = ids[i0: i0 + 200_000]
        S = xq @ vectors.reconstruct(neural.index, chunk).T
        allS, allI = np.hstack([best_s, S]), np.hstack([best_i, np.broadcast_to(chunk, S.shape)])
        top = np.argsort(-allS, axis=1)[:, :10]
        best_s, best_i = np.take_along_axis(allS, top, 1), np.take_along_axis(allI, top, 1)
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(I, best_i)]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="data/model")
    p.add_argument("--functions", default="data/functions.csv")
    p.add_argument("--bench", default="../shared/bench/cosqa-dev.jsonl", help="where the queries come from")
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--noise", type=float, default=0.3)
    p.add_argument("--budget", type=float, default=3000, help="seconds for the whole run (builds included)")
    p.add_argument("--workdir", default="data/bench/index-latency")
    p.add_argument("--keep", action="store_true", help="keep the indexes")
    p.add_argument("--reuse", action="store_true", help="time a kept index of a size again instead of rebuilding it")
    p.add_argument("--set", action="append", default=[], help="index setting, e.g. vectors.hnsw_ef_search=64")
    p.add_argument("--out", default="data/bench/index_latency.json")
    args = p.parse_args(argv)
    t_start = time.perf_counter()
    sizes = sorted(int(x) for x in args.sizes.split(","))
    work = Path(args.workdir)
    model = load_encoder(args.model)
    limit_torch_threads(1)  # as build_index and the Searcher do
    real = list(read_functions(args.functions))  # all of them: the vector cache then serves every size
    queries = [json.loads(line).get("query") for line in Path(args.bench).read_text().splitlines() if line.strip()]
    queries = [q for q in queries if q][: args.queries]
    base, enc_rate = base_vectors(model, real, work / "cache")
    encoder = ReplicaEncoder(model, base, args.noise)
    report = {"model": str(args.model), "identity": model.identity, "real_functions": len(real),
              "encoding": enc_rate, "torch_threads": _torch_threads(),
              "noise": args.noise, "queries": len(queries), "k": args.k, "cpus": os.cpu_count(),
              "load_avg_at_start": os.getloadavg(), "sizes": {}, "skipped": []}
    print(f"model {model.identity}: encodes {enc_rate['functions_per_s']:,.0f} functions/s on CPU "
          f"({enc_rate['functions_per_cpu_s']:,.0f} per CPU-second)", flush=True)
    prev = None
    for n in sizes:
        left = args.budget - (time.perf_counter() - t_start)
        need_mb = n * (model.dim * 4 * 3 + 3000) / 2**20
        projected = prev[1] * n / prev[0] * 1.3 if prev else 0
        if projected > left or need_mb > available_mb():
            note = f"{n:,}: skipped (projected build {projected:.0f} s vs {left:.0f} s left; needs ~{need_mb:.0f} MB)"
            report["skipped"].append(note)
            print(note, flush=True)
            continue
        out = work / f"n{n}"
        if args.reuse and (out / "manifest.json").exists():
            manifest = read_manifest(out)  # its build figures are those of the run that kept it
            build_s = manifest["build"]["total_seconds"]
        else:
            cfg = IndexConfig().override(args.set)
            t = time.perf_counter()
            manifest = build_index(replicate(real, n), None, out, cfg, encoder=encoder)
            build_s = time.perf_counter() - t
        prev = (n, build_s)
        rss0 = rss_mb()
        s = Searcher.open(out, encoder=encoder)
        row = {"kind": manifest["vectors"]["kind"], "build_s": round(build_s, 1), "build": manifest["build"],
               "disk_mb": {part.name: round(du_mb(part) if part.is_dir() else part.stat().st_size / 2**20, 1)
                           for part in out.iterdir()}}
        row["latency"] = time_queries(s, queries, args.k)
        row["rss_after_queries_mb"] = round(rss_mb() - rss0, 1)
        row["faiss_bytes_per_vector"] = round(os.path.getsize(out / "vectors.faiss") / max(n, 1), 1)
        if row["kind"] != "flat":
            row["recall_at_10"] = round(recall_at_10(s, queries), 4)
        s.close()
        report["sizes"][str(n)] = row
        print(json.dumps({n: row}), flush=True)
        if not (args.keep or args.reuse):
            shutil.rmtree(out)
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    report["load_avg_at_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(table(report))
    return 0


def _torch_threads():
    return sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None


def table(report: dict) -> str:
    lines = ["| functions | index | hybrid p50 / p99 ms (CPU p50 / p99) | neural p50 / p99 | lexical p50 / p99 | "
             "encode / FAISS / BM25 p50 ms | recall@10 | build s | disk MB | RSS MB |", "|---" * 10 + "|"]
    for n, r in report["sizes"].items():
        L = r["latency"]
        parts = " / ".join(f"{L['parts'][x]['p50_ms']}" for x in ("encode", "faiss", "lexical") if x in L["parts"])
        cpu = L["hybrid"]["cpu"]
        lines.append(f"| {int(n):,} | {r['kind']} | {L['hybrid']['p50_ms']} / {L['hybrid']['p99_ms']} "
                     f"({cpu['p50_ms']} / {cpu['p99_ms']}) | "
                     f"{L['neural']['p50_ms']} / {L['neural']['p99_ms']} | {L['lexical']['p50_ms']} / "
                     f"{L['lexical']['p99_ms']} | {parts} | {r.get('recall_at_10', 'exact')} | {r['build_s']} | "
                     f"{sum(r['disk_mb'].values()):.0f} | {r['rss_after_queries_mb']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
