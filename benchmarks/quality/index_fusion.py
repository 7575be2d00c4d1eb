"""Choose the lexical settings and the fusion of the hybrid mode by measurement on a benchmark file.

    python -m benchmarks.quality.index_fusion ../shared/bench/cosqa-dev.jsonl --model data/model [--minilm]

Indexes the pool once with the model, keeps each scorer's whole-pool scores per query
(Searcher.score_all's parts), then ranks the pool under every candidate setting: lexical field
boosts and stemming (each a rebuilt lexical index), RRF with several k and weights, and a weighted
sum of min-max-normalised scores. Prints MRR / SR@k tables and writes a JSON report. With --minilm
the off-the-shelf sentence encoder joins as a third scorer (the lead's optional "best" mode).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmarks.benchfile import pool_records, read_bench
from benchmarks.ranking import scores_row, whole_pool_ranks
from index.analysis import parse_query
from index.build import build_index
from index.fusion import FusionConfig, fuse_all
from index.lexical import LexicalConfig, LexicalIndex
from index.manifest import IndexConfig
from index.scorers import LexicalScorer
from index.searcher import Searcher

BOOSTS = [{"name": 0.5, "doc": 0.5, "code": 1.0}, {"name": 1.0, "doc": 1.0, "code": 1.0},
          {"name": 0.0, "doc": 0.0, "code": 1.0}, {"name": 0.0, "doc": 0.5, "code": 1.0},
          {"name": 0.25, "doc": 0.5, "code": 1.0}, {"name": 1.0, "doc": 0.5, "code": 1.0},
          {"name": 0.5, "doc": 1.0, "code": 1.0}, {"name": 0.5, "doc": 0.25, "code": 1.0}]
RRF_K = [5, 10, 20, 60]
WEIGHTS = [0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]     # lexical weight; the other scorer's is 1


class MiniLMScorer:
    """The benchmarks' MiniLM peer as a scorer over the pool (whole-pool scoring only)."""

    name = "minilm"

    def __init__(self, codes, positions):
        from benchmarks.peers import MiniLMPeer
        self.peer = MiniLMPeer(progress=True)
        self.peer.fit(codes)
        self.positions = positions

    def score_all(self, q, ids):
        return self.peer.scores(q.text)[self.positions].astype(np.float32)


def evaluate(arrays: dict[str, np.ndarray], gold: np.ndarray, cfg: FusionConfig, depth: int = 100) -> dict:
    """Metrics of fusing the scorers' (nq, nb) arrays (NaN: no evidence) with cfg, ranks over the whole pool."""
    nq = len(gold)
    if len(arrays) == 1:
        S = np.nan_to_num(next(iter(arrays.values())), nan=0.0)
    else:
        S = np.stack([fuse_all({k: a[i] for k, a in arrays.items()}, cfg, depth) for i in range(nq)])
    return scores_row(whole_pool_ranks(S, gold))


def score_matrix(scorer, queries, ids, desc) -> np.ndarray:
    return np.stack([scorer.score_all(parse_query(q), ids)
                     for q in tqdm(queries, desc=desc, leave=False, disable=not sys.stderr.isatty())])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bench", nargs="?", default="../shared/bench/cosqa-dev.jsonl")
    p.add_argument("--model", default="codenn/pretrained", help="model directory, or 'hashing' (untrained baseline)")
    p.add_argument("--minilm", action="store_true", help="also fuse the off-the-shelf MiniLM encoder")
    p.add_argument("--out", default="data/bench/index_fusion.json")
    p.add_argument("--no-lexical-variants", dest="lexical_variants", action="store_false",
                   help="skip the lexical settings' grid (a rebuilt lexical index each)")
    p.add_argument("--top", type=int, default=6, help="rows shown per fused mode (the JSON has them all)")
    args = p.parse_args(argv)

    bench = read_bench(args.bench)
    records, unparsed = pool_records(bench)
    gold = bench.gold
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="index-fusion-") as tmp:
        build_index(records, args.model, Path(tmp) / "ix", IndexConfig(progress=False))
        s = Searcher.open(Path(tmp) / "ix", args.model)
        ids = s.ids()
        assert np.array_equal(ids, np.arange(1, bench.nb + 1)), "pool ids are pool index + 1"
        arrays = {"neural": score_matrix(s.scorers["neural"], bench.queries, ids, "neural"),
                  "lexical": score_matrix(s.scorers["lexical"], bench.queries, ids, "lexical")}
        lexical_variants = []
        for boosts, stemmer in itertools.product(BOOSTS if args.lexical_variants else [], ("english", "")):
            cfg = LexicalConfig(boosts=boosts, stemmer=stemmer)
            lex = LexicalIndex(Path(tmp) / f"lex-{len(lexical_variants)}", cfg, create=True)
            lex.add(records)
            lex.commit()
            A = score_matrix(LexicalScorer(lex), bench.queries, ids, "lexical variant")
            lexical_variants.append({"boosts": boosts, "stemmer": stemmer or None, **evaluate({"l": A}, gold, None)})
        if args.minilm:
            arrays["minilm"] = score_matrix(MiniLMScorer(bench.codes, ids - 1), bench.queries, ids, "minilm")
        s.close()

    rows = [{"mode": name, **evaluate({name: arrays[name]}, gold, None)} for name in arrays]
    for other in [n for n in ("neural", "minilm") if n in arrays]:
        pair = {other: arrays[other], "lexical": arrays["lexical"]}
        label = "hybrid" if other == "neural" else f"{other}+lexical"
        for k, w in itertools.product(RRF_K, WEIGHTS):
            cfg = FusionConfig("rrf", {other: 1.0, "lexical": w}, rrf_k=k)
            rows.append({"mode": label, "method": "rrf", "rrf_k": k, "w_lexical": w, **evaluate(pair, gold, cfg)})
        for norm, w in itertools.product(("zscore", "minmax"), WEIGHTS):
            cfg = FusionConfig("weighted", {other: 1.0, "lexical": w}, normalize=norm)
            rows.append({"mode": label, "method": f"weighted {norm}", "w_lexical": w, **evaluate(pair, gold, cfg)})
    if "minilm" in arrays:
        for method, k, w in (("rrf", 20, 1.0), ("rrf", 60, 1.0), ("weighted", None, 0.3)):
            cfg = FusionConfig(method, {"neural": 1.0, "lexical": w, "minilm": 1.0}, rrf_k=k or 60)
            rows.append({"mode": "neural+lexical+minilm", "method": method, "rrf_k": k, "w_lexical": w,
                         **evaluate(arrays, gold, cfg)})

    report = {"bench": args.bench, "model": args.model, "pool": bench.nb, "queries": bench.nq,
              "unparsed": unparsed, "seconds": round(time.perf_counter() - t0, 1),
              "lexical_variants": lexical_variants, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(f"# {args.bench}: pool {bench.nb}, {bench.nq} queries, model {args.model} ({report['seconds']} s)\n")
    print("| lexical boosts (name/doc/code) | stemmer | MRR | SR@1 | SR@10 |\n|---|---|---|---|---|")
    for v in sorted(lexical_variants, key=lambda v: -v["MRR"]):
        b = v["boosts"]
        print(f"| {b['name']}/{b['doc']}/{b['code']} | {v['stemmer']} | {v['MRR']:.3f} | {v['SR@1']:.3f} | "
              f"{v['SR@10']:.3f} |")
    print("\n| mode | method | rrf k | w_lexical | MRR | SR@1 | SR@5 | SR@10 |\n|---|---|---|---|---|---|---|---|")
    shown = [r for r in rows if "method" not in r]
    for mode in dict.fromkeys(r["mode"] for r in rows if "method" in r):
        of_mode = sorted((r for r in rows if r["mode"] == mode and "method" in r), key=lambda r: -r["MRR"])
        d = FusionConfig()
        default = [r for r in of_mode if r["method"] == f"{d.method} {d.normalize}"
                   and r["w_lexical"] == d.weight("lexical")]
        shown += of_mode[:args.top] + [r for r in default if r not in of_mode[:args.top]]
    for r in shown:
        print(f"| {r['mode']} | {r.get('method', '')} | {r.get('rrf_k') or ''} | {r.get('w_lexical', '')} | "
              f"{r['MRR']:.3f} | {r['SR@1']:.3f} | {r['SR@5']:.3f} | {r['SR@10']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
