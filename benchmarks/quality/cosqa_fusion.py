"""Sweep neural/BM25 fusion on a benchmark file: each mode's whole-pool MRR from one set of score matrices.

python -m benchmarks.quality.cosqa_fusion ../shared/bench/cosqa-dev.jsonl --model codenn/pretrained
"""
from __future__ import annotations

import argparse
import json
import re
import time

import bm25s
import numpy as np

import codenn
from codenn.encoder import unit
from preprocess.functions import extract_functions_from_source
from preprocess.text import split_identifier

WORD = re.compile(r"[A-Za-z0-9]+")
STOP = set("a an the of to in for and or is are be how with on by from do does what python py".split())


def words(text: str) -> list[str]:
    return [t for w in WORD.findall(text) for t in split_identifier(w)]


def record(code: str) -> dict:
    """The outermost function's fields; unparsable code becomes a bag of its words."""
    try:
        return extract_functions_from_source(code)[0]
    except (SyntaxError, ValueError, RecursionError, IndexError):
        return {"name": "", "apiseq": "", "tokens": " ".join(words(code)), "desc": ""}


def mrr(S: np.ndarray, gold: np.ndarray) -> float:
    """Mean reciprocal rank with rank = 1 + items scored strictly higher."""
    gs = S[np.arange(len(gold)), gold]
    return float((1.0 / (1 + (S > gs[:, None]).sum(1))).mean())


def zscore(S: np.ndarray) -> np.ndarray:
    return (S - S.mean(1, keepdims=True)) / (S.std(1, keepdims=True) + 1e-9)


def rrf(S: np.ndarray, k: int) -> np.ndarray:
    return 1.0 / (k + np.argsort(np.argsort(-S, 1), 1) + 1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench")
    p.add_argument("--model", default="codenn/pretrained")
    args = p.parse_args(argv)
    rs = [json.loads(line) for line in open(args.bench, encoding="utf-8") if line.strip()]
    codes = sorted({r["code"] for r in rs})
    cid = {c: i for i, c in enumerate(codes)}
    qs = [(r["query"], cid[r["code"]]) for r in rs if r.get("query")]
    gold = np.array([c for _, c in qs])
    enc = codenn.load(args.model)
    t0 = time.perf_counter()
    xb = unit(enc.encode_functions([record(c) for c in codes]))
    t1 = time.perf_counter()
    xq = unit(enc.encode_queries([q for q, _ in qs]))
    t2 = time.perf_counter()
    N = xq @ xb.T
    bm25 = bm25s.BM25(k1=1.2, b=0.75)
    bm25.index([words(c) for c in codes], show_progress=False)
    L = np.stack([bm25.get_scores([t for t in words(q) if t not in STOP] or words(q)) for q, _ in qs]).astype(np.float32)
    print(f"pool {len(codes):,}, queries {len(qs)}; encode {len(codes) / (t1 - t0):,.0f} functions/s, "
          f"{len(qs) / (t2 - t1):,.0f} queries/s")
    print(f"bm25 {mrr(L, gold):.4f}  neural {mrr(N, gold):.4f}")
    for w in (0.1, 0.2, 0.3, 0.5, 0.8):
        print(f"hybrid z-score w={w}: {mrr(zscore(N) + w * zscore(L), gold):.4f}")
    for k in (5, 10, 60):
        print(f"hybrid rrf k={k}: {mrr(rrf(N, k) + rrf(L, k), gold):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
