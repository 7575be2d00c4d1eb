"""Fuse ranked lists from several scorers: reciprocal rank fusion or a weighted sum of normalised scores."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

METHODS = ("rrf", "weighted")
NORMALIZERS = ("zscore", "minmax")


@dataclass
class FusionConfig:
    """How hybrid modes combine their scorers.

    The weighted z-score sum measured best on cosqa-dev with the earlier model (0.415 against min-max
    0.413 and RRF k=5..60 0.407..0.403) and is kept; the weights are per mode and kind of query.

    weighted: sum of w * normalise(score) per scorer, the statistics taken over each scorer's top
    `depth` candidates; a function missing from a list counts as that list's lowest score.
    rrf: sum of w / (rrf_k + rank), tied scores sharing a rank.
    """

    method: str = "weighted"
    weights: dict[str, float] = field(default_factory=lambda: {"neural": 1.0, "lexical": 1.0})
    normalize: str = "zscore"
    rrf_k: float = 60.0
    # per mode, then per kind of query (index.analysis.query_kind, or "*" for any), weights that
    # replace those in `weights`: web queries and docstring-like sentences want different shares of
    # lexical evidence. Tuned with benchmarks/quality/fusion_kinds.py on cosqa-dev (keywords) and on docstring
    # queries of the default corpus's valid split (sentence, identifier); never on a test split.
    mode_weights: dict[str, dict[str, dict[str, float]]] = field(default_factory=lambda: {
        "hybrid": {"keywords": {"lexical": 0.35}, "sentence": {"lexical": 0.75}, "identifier": {"lexical": 1.0}},
        "best": {"keywords": {"teacher": 1.0, "neural": 0.3, "lexical": 0.1},
                 "sentence": {"teacher": 1.0, "neural": 0.5, "lexical": 0.75},
                 "identifier": {"teacher": 1.0, "neural": 0.1, "lexical": 1.5}},
    })

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"fusion.method must be one of {METHODS}, not {self.method!r}")
        if self.normalize not in NORMALIZERS:
            raise ValueError(f"fusion.normalize must be one of {NORMALIZERS}, not {self.normalize!r}")
        if self.rrf_k < 0:
            raise ValueError(f"fusion.rrf_k must be >= 0, not {self.rrf_k}")

    def weight(self, scorer: str, kind: str | None = None, mode: str | None = None) -> float:
        """The scorer's weight for this mode and kind of query (mode.kind, mode.*, then `weights`)."""
        by_mode = self.mode_weights.get(mode or "", {})
        for key in (kind, "*"):
            if key is not None and scorer in by_mode.get(key, {}):
                return float(by_mode[key][scorer])
        return float(self.weights.get(scorer, 1.0))


Ranked = tuple[np.ndarray, np.ndarray]  # (ids (n,) int64, scores (n,) float32), best first


def normalizer(top: np.ndarray, how: str):
    """A function mapping a scorer's scores onto a common scale, fitted on its top candidates."""
    top = np.asarray(top, np.float64)
    if how == "zscore":
        mu, sd = float(top.mean()), float(top.std())
        return lambda s: (np.asarray(s, np.float64) - mu) / (sd if sd > 1e-12 else 1.0)
    lo, hi = float(top.min()), float(top.max())
    return lambda s: np.ones(np.shape(s)) if hi - lo < 1e-12 else (np.asarray(s, np.float64) - lo) / (hi - lo)


def ranks(sorted_scores: np.ndarray) -> np.ndarray:
    """1-based competition ranks of scores sorted best first: equal scores share the better rank."""
    neg = -np.asarray(sorted_scores, np.float64)
    return np.searchsorted(neg, neg, side="left") + 1


def fuse(lists: dict[str, Ranked], cfg: FusionConfig, kind: str | None = None, mode: str | None = None) -> Ranked:
    """One ranked list from several (one list passes through with its own scores)."""
    lists = {k: v for k, v in lists.items() if len(v[0])}
    if len(lists) <= 1:
        return next(iter(lists.values()), (np.zeros(0, np.int64), np.zeros(0, np.float32)))
    all_ids, gains = [], []
    base = 0.0  # what every function gets from the lists it is missing from
    for name, (ids, scores) in lists.items():
        w = cfg.weight(name, kind, mode)
        if cfg.method == "rrf":
            # tied scores share a rank, so the fused order does not depend on how ids are numbered
            contrib = w / (cfg.rrf_k + ranks(scores))
            floor = 0.0
        else:
            norm = normalizer(scores, cfg.normalize)
            contrib, floor = w * norm(scores), w * float(norm(scores.min()))
        base += floor
        all_ids.append(np.asarray(ids, np.int64))
        gains.append(np.asarray(contrib, np.float64) - floor)
    ids, where = np.unique(np.concatenate(all_ids), return_inverse=True)
    fused = np.bincount(where, weights=np.concatenate(gains), minlength=len(ids)) + base
    order = np.lexsort((ids, -fused))  # ties: lower id first, so results are reproducible
    return ids[order], fused[order].astype(np.float32)


def fuse_all(arrays: dict[str, np.ndarray], cfg: FusionConfig, depth: int, kind: str | None = None,
             mode: str | None = None) -> np.ndarray:
    """Fused scores of a whole pool: arrays are aligned (N,) scores, NaN where a scorer has no evidence.

    Ranks run over each scorer's complete list; weighted fusion normalises with the statistics of
    each scorer's top `depth` (as search() sees them), and NaN counts as that scorer's lowest score.
    """
    n = len(next(iter(arrays.values()))) if arrays else 0
    out = np.zeros(n, np.float64)
    for name, s in arrays.items():
        has = np.flatnonzero(~np.isnan(s))
        if not len(has):
            continue
        order = has[np.argsort(-s[has], kind="stable")]
        w = cfg.weight(name, kind, mode)
        if cfg.method == "rrf":
            out[order] += w / (cfg.rrf_k + ranks(s[order]))
        else:
            norm = normalizer(s[order[:depth]], cfg.normalize)
            out += w * norm(np.where(np.isnan(s), s[order[-1]], s))
    return out.astype(np.float32)
