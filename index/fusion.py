"""Fuse ranked lists from several scorers: reciprocal rank fusion or a weighted sum of normalised scores."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("rrf", "weighted")


@dataclass
class FusionConfig:
    """How hybrid modes combine their scorers (defaults chosen on cosqa-dev: benchmarks/index_fusion.py)."""

    method: str = "rrf"
    weights: dict[str, float] = field(default_factory=lambda: {"neural": 1.0, "lexical": 1.0})
    rrf_k: float = 60.0

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"fusion.method must be one of {METHODS}, not {self.method!r}")
        if self.rrf_k < 0:
            raise ValueError(f"fusion.rrf_k must be >= 0, not {self.rrf_k}")

    def weight(self, scorer: str) -> float:
        return float(self.weights.get(scorer, 1.0))


Ranked = tuple[np.ndarray, np.ndarray]  # (ids (n,) int64, scores (n,) float32), best first


def _minmax(scores: np.ndarray) -> np.ndarray:
    lo, hi = float(scores.min()), float(scores.max())
    return np.ones_like(scores) if hi - lo < 1e-12 else (scores - lo) / (hi - lo)


def ranks(sorted_scores: np.ndarray) -> np.ndarray:
    """1-based competition ranks of scores sorted best first: equal scores share the better rank."""
    neg = -np.asarray(sorted_scores, np.float64)
    return np.searchsorted(neg, neg, side="left") + 1


def fuse(lists: dict[str, Ranked], cfg: FusionConfig) -> Ranked:
    """One ranked list from several (one list passes through with its own scores)."""
    lists = {k: v for k, v in lists.items() if len(v[0])}
    if len(lists) <= 1:
        return next(iter(lists.values()), (np.zeros(0, np.int64), np.zeros(0, np.float32)))
    total: dict[int, float] = {}
    for name, (ids, scores) in lists.items():
        w = cfg.weight(name)
        # tied scores share a rank, so the fused order does not depend on how ids are numbered
        contrib = w / (cfg.rrf_k + ranks(scores)) if cfg.method == "rrf" else w * _minmax(scores)
        for i, c in zip(ids.tolist(), contrib.tolist()):
            total[i] = total.get(i, 0.0) + c
    ids = np.fromiter(total.keys(), np.int64, len(total))
    fused = np.fromiter(total.values(), np.float64, len(total))
    order = np.lexsort((ids, -fused))  # ties: lower id first, so results are reproducible
    return ids[order], fused[order].astype(np.float32)


def fuse_all(arrays: dict[str, np.ndarray], cfg: FusionConfig, depth: int) -> np.ndarray:
    """Fused scores of a whole pool: arrays are aligned (N,) scores, NaN where a scorer has no evidence.

    Ranks run over each scorer's complete list; weighted fusion normalises with the min and max of
    each scorer's top `depth` (as search() sees them), clipped to [0, 1].
    """
    names = list(arrays)
    n = len(next(iter(arrays.values()))) if arrays else 0
    out = np.zeros(n, np.float64)
    for name in names:
        s = arrays[name]
        has = np.flatnonzero(~np.isnan(s))
        if not len(has):
            continue
        order = has[np.argsort(-s[has], kind="stable")]
        w = cfg.weight(name)
        if cfg.method == "rrf":
            out[order] += w / (cfg.rrf_k + ranks(s[order]))
        else:
            top = s[order[:depth]]
            lo, hi = float(top.min()), float(top.max())
            norm = np.ones(len(order)) if hi - lo < 1e-12 else np.clip((s[order] - lo) / (hi - lo), 0.0, 1.0)
            out[order] += w * norm
    return out.astype(np.float32)
