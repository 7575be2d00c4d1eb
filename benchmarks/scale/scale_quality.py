"""Quality at scale: a benchmark's pool plus N distractors, the ANN index against exact search over the same vectors.

    python -m benchmarks.scale.scale_quality --distractors 100000 [--set vectors.kind=ivfpq ...]
    make bench-scale-quality DISTRACTORS=100000

Indexes cosqa-dev's pool (6,267 functions) with N distractors (`benchmarks.scale.distractors`: real
functions of functions.csv first, seeded noisy copies beyond) as a build of that size does: the
vector index kind it chooses (flat up to vectors.flat_max, HNSW above; `--set` overrides), and at
every N the teacher scope a large build chooses (documented functions). Every query is searched end to end (`Searcher.search`, k = --depth) in
hybrid and neural mode twice: with the built index, and with the neural scorer's index swapped for
exact inner product over the very vectors the build indexed. That exact search is IndexFlatIP over
the union of every query's exact top candidates, found by one streamed pass over all the vectors
(kept in a memory-mapped file: 10M are 15 GB): for these queries it returns what exact search over
all of them would, in a fraction of the memory. `--index DIR` takes the real distractors and their
vectors from an index the same model built, instead of encoding functions.csv. A gold answer not in the
top --depth counts as not found (MRR@depth). recall@10 compares the ANN index's raw neural top 10
with the exact one, over the queries whose exact top 10 hold no two copies of one function (copies
are near-duplicates by construction: which of them is "truly" 10th says nothing a user would see).
The last line printed is one JSON object: distractors, index_kind, exact_mrr, ann_mrr, ann_s10, ...
"""
from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from index import vectors
from index.analysis import parse_query
from index.build import build_index
from index.encoders import limit_torch_threads, load_encoder
from index.manifest import VECTORS, IndexConfig, read_manifest
from index.scorers import NeuralScorer
from index.searcher import Searcher
from benchmarks.benchfile import pool_records, read_bench
from benchmarks.ranking import scores_row
from benchmarks.scale.distractors import DistractorConfig, DistractorEncoder, build_set

MODES = ("hybrid", "neural")


@dataclass
class ScaleConfig:
    """The benchmark, the model, the distractors, and where the index is built."""

    bench: str = "../shared/bench/cosqa-dev.jsonl"
    model: str = "codenn/pretrained"
    distractors: DistractorConfig = field(default_factory=DistractorConfig)
    depth: int = 100                 # ranks searched; a gold answer beyond counts as not found
    workdir: str = "data/bench/scale-quality"
    settings: tuple[str, ...] = ()   # IndexConfig overrides, e.g. vectors.kind=ivfpq
    keep: bool = False


def exact_index(ids: np.ndarray, xb: np.ndarray) -> faiss.Index:
    """Exact inner product over (ids (n,), xb (n, d))."""
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(xb.shape[1]))
    index.add_with_ids(np.ascontiguousarray(xb, np.float32), np.ascontiguousarray(ids, np.int64))
    return index


def streamed_top(chunks, xq: np.ndarray, depth: int) -> np.ndarray:
    """(nq, depth) ids of each query's exact top `depth`, best first, over (ids, vectors) chunks read once."""
    best_s = np.full((len(xq), 0), -np.inf, np.float32)
    best_i = np.zeros((len(xq), 0), np.int64)
    for part, x in chunks:
        S = np.hstack([best_s, xq @ np.asarray(x, np.float32).T])
        I = np.hstack([best_i, np.broadcast_to(part, (len(xq), len(part)))])
        if S.shape[1] > depth:
            top = np.argpartition(-S, depth - 1, axis=1)[:, :depth]
            S, I = np.take_along_axis(S, top, 1), np.take_along_axis(I, top, 1)
        best_s, best_i = S, I
    return np.take_along_axis(best_i, np.argsort(-best_s, axis=1), 1)


def exact_candidates(xb: np.ndarray, ids: np.ndarray, xq: np.ndarray, depth: int, chunk: int = 1 << 18) -> np.ndarray:
    """The sorted union of each query's exact top `depth` ids over xb[ids], in one streamed pass.

    Any function outside the union scores below every query's depth-th, so exact search over the
    union gives each of these queries its exact top `depth`.
    """
    parts = (ids[i0: i0 + chunk] for i0 in range(0, len(ids), chunk))
    return np.unique(streamed_top(((part, xb[part]) for part in parts), xq, depth))


def ranks(s: Searcher, queries: list[str], gold_ids: np.ndarray, mode: str, depth: int, total: int) -> np.ndarray:
    """1-based rank of each query's gold id in the searcher's answer (total + 1 when not in the top depth)."""
    out = np.full(len(queries), total + 1, np.int64)
    for i, (q, g) in enumerate(zip(queries, gold_ids)):
        got = [h.id for h in s.search(q, k=depth, mode=mode).hits]
        if g in got:
            out[i] = got.index(g) + 1
    return out


def quality(s: Searcher, queries: list[str], gold_ids: np.ndarray, depth: int, total: int) -> dict:
    """MRR and SR@k per mode, and the median seconds of one query."""
    out = {}
    for mode in MODES:
        t = time.perf_counter()
        row = scores_row(ranks(s, queries, gold_ids, mode, depth, total))
        out[mode] = {k: round(float(v), 4) for k, v in row.items()}
        out[mode]["ms_per_query"] = round(1000 * (time.perf_counter() - t) / max(len(queries), 1), 2)
    return out


def distinct_recall(ann: faiss.Index, params, exact: faiss.Index, xq: np.ndarray, origin: np.ndarray) -> dict:
    """recall@10 of ann against exact over queries whose exact top 10 are ten different functions."""
    _, Iex = vectors.search(exact, xq, 10)
    _, Iann = vectors.search(ann, xq, 10, params)
    distinct = np.array([len(set(origin[row[row >= 0]])) == 10 for row in Iex])
    hits = [len(set(a) & set(e)) / 10 for a, e, d in zip(Iann, Iex, distinct) if d]
    return {"recall_at_10": round(float(np.mean(hits)), 4) if hits else None, "recall_queries": int(distinct.sum()),
            "recall_at_10_all": round(float(np.mean([len(set(a) & set(e)) / 10 for a, e in zip(Iann, Iex)])), 4)}


def run(cfg: ScaleConfig) -> dict:
    """Build, measure, and the report (the index folder is removed unless cfg.keep)."""
    bench = read_bench(cfg.bench)
    pool, _ = pool_records(bench)
    t = time.perf_counter()
    dset = build_set(pool, cfg.distractors)
    set_s = time.perf_counter() - t
    model = load_encoder(cfg.model)
    limit_torch_threads(1)
    if cfg.distractors.index:
        built_by = read_manifest(cfg.distractors.index)["model"].get("identity")
        if built_by != model.identity:
            raise SystemExit(f"{cfg.distractors.index} was built by {built_by}, not by {cfg.model} ({model.identity}): "
                             "its vectors would not be this model's")
    encoder = DistractorEncoder(model, dset, cache=Path(cfg.workdir) / "cache",
                                spill=Path(cfg.workdir) / f"vectors-n{cfg.distractors.n}")
    icfg = IndexConfig(progress=False).override(list(cfg.settings))
    out = Path(cfg.workdir) / f"n{cfg.distractors.n}"
    t = time.perf_counter()
    manifest = build_index(dset.records(), cfg.model, out, icfg, encoder=encoder, total=dset.total)
    build_s = time.perf_counter() - t
    vectors_mb = round((out / VECTORS).stat().st_size / 2**20, 1)
    s = Searcher.open(out, encoder=encoder)
    try:
        gold_ids = bench.gold + 1            # pool records have id = pool index + 1
        ann = s.scorers["neural"]
        vcfg = ann.cfg
        kind = vectors.kind_of(ann.index)   # a refine that auto chose is in kind_config, not in the settings
        kind += f"+{vectors.kind_config(kind, vcfg).refine}" if vectors.refined(ann.index) else ""
        ann_q = quality(s, bench.queries, gold_ids, cfg.depth, dset.total)
        xq = np.concatenate([x for x in (ann.embed(parse_query(q)) for q in bench.queries) if x is not None])
        # twice the candidates the searcher asks a scorer for at k = depth, in case of ties at the edge
        union = exact_candidates(encoder.xb, np.flatnonzero(encoder.seen), xq, 2 * max(s.cfg.depth, 2 * cfg.depth))
        exact = exact_index(union, np.asarray(encoder.xb[union]))
        s.scorers["neural"] = NeuralScorer(encoder, exact, vcfg, s.store.tombstones())
        exact_q = quality(s, bench.queries, gold_ids, cfg.depth, dset.total)
        recall = distinct_recall(ann.index, ann.params, exact, xq, dset.origin)
    finally:
        s.close()
        if not cfg.keep:
            shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(Path(cfg.workdir) / f"vectors-n{cfg.distractors.n}", ignore_errors=True)
    return {"distractors": cfg.distractors.n, "index_kind": kind, "functions": dset.total,
            "real_distractors": len(dset.real), "copies": dset.n_copies,
            "real_from": cfg.distractors.index or cfg.distractors.functions, "exact_union": len(union),
            "exact_mrr": exact_q["hybrid"]["MRR"], "ann_mrr": ann_q["hybrid"]["MRR"],
            "exact_s10": exact_q["hybrid"]["SR@10"], "ann_s10": ann_q["hybrid"]["SR@10"],
            "ann_keeps": round(ann_q["hybrid"]["MRR"] / max(exact_q["hybrid"]["MRR"], 1e-9), 4),
            "neural_exact_mrr": exact_q["neural"]["MRR"], "neural_ann_mrr": ann_q["neural"]["MRR"],
            "neural_exact_s10": exact_q["neural"]["SR@10"], "neural_ann_s10": ann_q["neural"]["SR@10"],
            **recall, "ann": ann_q, "exact": exact_q, "queries": bench.nq, "depth": cfg.depth,
            "settings": list(cfg.settings), "vectors": manifest["vectors"], "vectors_mb": vectors_mb,
            "teacher": (manifest["model"].get("teacher") or {}).get("scope"),
            "set_s": round(set_s, 1), "build_s": round(build_s, 1), "date": datetime.date.today().isoformat()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--distractors", type=int, default=0, help="distractor functions added to the pool")
    p.add_argument("--bench", default=ScaleConfig.bench)
    p.add_argument("--model", default=ScaleConfig.model)
    p.add_argument("--functions", default=DistractorConfig.functions, help="real distractors (first)")
    p.add_argument("--index", help="take the real distractors and their vectors from this index (built by --model)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=DistractorConfig.noise)
    p.add_argument("--depth", type=int, default=ScaleConfig.depth)
    p.add_argument("--workdir", default=ScaleConfig.workdir)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="an index setting")
    p.add_argument("--out", help="also write the report here (JSON)")
    p.add_argument("--keep", action="store_true", help="keep the index folder")
    a = p.parse_args(argv)
    # the teacher scope a large build chooses at every N, so that N alone changes between runs
    cfg = ScaleConfig(bench=a.bench, model=a.model, depth=a.depth, workdir=a.workdir,
                      settings=("teacher=documented", *a.set),
                      keep=a.keep, distractors=DistractorConfig(n=a.distractors, functions=a.functions, index=a.index,
                                                                seed=a.seed, noise=a.noise))
    t = time.perf_counter()
    report = run(cfg)
    report["wall_s"] = round(time.perf_counter() - t, 1)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
