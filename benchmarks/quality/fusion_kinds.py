"""Sweep the fusion weights of a mode on benchmark files, per kind of query (index.analysis.query_kind).

    python -m benchmarks.quality.fusion_kinds ../shared/bench/cosqa-dev.jsonl data/bench/default-valid.jsonl \
        --model codenn/pretrained --mode hybrid [--json]

Each file's pool is indexed once; every scorer of the mode scores every query over the whole pool
once; then each weight combination is fused from those score matrices (the searcher's own
`fuse_all`) and scored by whole-pool MRR, per file and per query kind. Tune only on cosqa-dev and
on sets from training-side repositories (never on a test split).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import defaultdict

import numpy as np

from index.analysis import parse_query
from index.fusion import FusionConfig, fuse_all
from benchmarks.benchfile import read_bench
from benchmarks.peers import set_threads
from benchmarks.quality.modes import Context
from benchmarks.ranking import whole_pool_ranks

GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5)


def score_matrices(ctx: Context, names: tuple[str, ...]) -> tuple[dict[str, np.ndarray], list[str]]:
    """{scorer: (nq, nb) scores, NaN for no evidence} over the pool, and each query's kind."""
    s = ctx.searcher
    ids, pos, nb = s.ids(), ctx._positions, ctx.bench.nb
    out = {n: np.full((ctx.bench.nq, nb), np.nan, np.float32) for n in names}
    kinds = []
    for i, query in enumerate(ctx.bench.queries):
        q = s.check(query, 1, "lexical", None, None, None, 0)
        kinds.append(q.kind)
        for n in names:
            out[n][i, pos] = s.scorers[n].score_all(q, ids)
    return out, kinds


def mrr_of(S: dict[str, np.ndarray], weights: dict[str, float], gold: np.ndarray, rows: np.ndarray,
           depth: int) -> float:
    cfg = FusionConfig(weights=weights)
    fused = np.stack([fuse_all({n: m[i] for n, m in S.items()}, cfg, depth) for i in rows])
    ranks = whole_pool_ranks(fused, gold[rows])
    return float(np.mean(1.0 / ranks))


def sweep(path: str, model: str, names: tuple[str, ...], progress: bool, grid=GRID,
          index_settings: list[str] | None = None) -> dict:
    """MRR of every weight combination (the first scorer's weight fixed at 1), overall and per kind."""
    bench = read_bench(path)
    ctx = Context(bench, model_dir=model, progress=progress, index_settings=list(index_settings or []))
    try:
        S, kinds = score_matrices(ctx, names)
        depth = ctx.searcher.cfg.depth
    finally:
        ctx.close()
    by_kind = defaultdict(list)
    for i, k in enumerate(kinds):
        by_kind[k].append(i)
    groups = {"all": np.arange(bench.nq), **{k: np.asarray(v) for k, v in by_kind.items()}}
    rows = []
    for combo in itertools.product(grid, repeat=len(names) - 1):
        weights = {names[0]: 1.0, **dict(zip(names[1:], combo))}
        rows.append({"weights": weights, **{g: mrr_of(S, weights, bench.gold, r, depth) for g, r in groups.items()}})
    return {"file": path, "kinds": {k: len(v) for k, v in groups.items()}, "rows": rows}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.quality.fusion_kinds", description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--model", required=True)
    ap.add_argument("--scorers", default="neural,lexical", help="the mode's scorers, first one at weight 1")
    ap.add_argument("--grid", help=f"comma-separated weights to try (default {','.join(map(str, GRID))})")
    ap.add_argument("--index-set", action="append", default=[], metavar="KEY=VALUE",
                    help="an index setting, e.g. teacher_tokens=256 (repeatable)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    names = tuple(n.strip() for n in args.scorers.split(",") if n.strip())
    try:
        grid = tuple(float(w) for w in args.grid.split(",")) if args.grid else GRID
        reports = [sweep(f, args.model, names, not args.quiet, grid, args.index_set) for f in args.files]
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(reports, indent=2))
        return 0
    for rep in reports:
        print(f"{rep['file']}: queries per kind {rep['kinds']}")
        for g in rep["kinds"]:
            best = max(rep["rows"], key=lambda r: r[g])
            print(f"  {g:>10}: best MRR {best[g]:.4f} at {best['weights']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
