"""Whole-pool ranks from a score matrix, and the metric table row: a thin adapter over codenn.metrics."""
from __future__ import annotations

import numpy as np

from codenn import metrics

# display name -> key of codenn.metrics.summarize
METRICS = {"MRR": "mrr", "SR@1": "sr@1", "SR@5": "sr@5", "SR@10": "sr@10", "nDCG@10": "ndcg@10"}


def whole_pool_ranks(S: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Rank of gold[i] among all nb items of row i of S (nq, nb): 1 + items scored strictly higher.

    A non-finite score (NaN, -inf) means "not returned": such items never outrank anything, and a
    gold item that was not returned is ranked last (nb), whatever the ties.
    """
    S = np.asarray(S, dtype=np.float64)
    nq, nb = S.shape
    gold = np.asarray(gold, dtype=np.int64)
    assert gold.shape == (nq,), (gold.shape, nq)
    assert nq == 0 or (0 <= gold.min() and gold.max() < nb), "gold index outside the pool"
    S = np.where(np.isfinite(S), S, -np.inf)
    ranks = metrics.ranks_from_scores(S, gold)                 # (nq,)
    absent = ~np.isfinite(S[np.arange(nq), gold])
    ranks[absent] = nb
    return ranks


def scores_row(ranks: np.ndarray) -> dict[str, float]:
    """MRR, SR@1/5/10 and nDCG@10 of a rank array, under their display names."""
    s = metrics.summarize(np.asarray(ranks))
    return {name: s[key] for name, key in METRICS.items()}
