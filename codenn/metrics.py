"""Retrieval metrics from fully sorted ranks: MRR, SuccessRate@k, nDCG@k.

Every query has exactly one relevant item. rank = 1 + the number of pool items scored strictly
higher than the relevant one (a full sort, ties counted in the query's favour), never a top-k cut.
Two protocols: (a) the whole split is the pool; (b) DeepCS's: random pools of 1,000 pairs.
"""
from __future__ import annotations

import numpy as np

KS = (1, 5, 10)


def normalize(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def ranks_from_scores(S: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Rank of gold[i] in row i of the score matrix S (nq, nb): 1 + items scored strictly higher."""
    nq, nb = S.shape
    assert gold.shape == (nq,), (gold.shape, nq)
    g = S[np.arange(nq), gold]                                  # (nq,)
    return 1 + (S > g[:, None]).sum(axis=1)


def cosine_ranks(xq: np.ndarray, xb: np.ndarray, gold: np.ndarray, bs: int = 1024) -> np.ndarray:
    """Ranks of gold items for queries xq (nq, d) over the pool xb (nb, d), by cosine, in query batches."""
    xq, xb = normalize(xq), normalize(xb)
    assert xq.shape[1] == xb.shape[1], (xq.shape, xb.shape)
    out = np.empty(len(xq), dtype=np.int64)
    for i0 in range(0, len(xq), bs):
        S = xq[i0 : i0 + bs] @ xb.T                             # (bs, nb)
        out[i0 : i0 + bs] = ranks_from_scores(S, gold[i0 : i0 + bs])
    return out


def mrr(ranks: np.ndarray) -> float:
    return float(np.mean(1.0 / ranks)) if len(ranks) else 0.0


def success_at(ranks: np.ndarray, k: int) -> float:
    return float(np.mean(ranks <= k)) if len(ranks) else 0.0


def ndcg_at(ranks: np.ndarray, k: int) -> float:
    """nDCG@k with one relevant item: 1 / log2(rank + 1) when it is in the top k (ideal DCG is 1)."""
    if not len(ranks):
        return 0.0
    gain = np.where(ranks <= k, 1.0 / np.log2(ranks + 1.0), 0.0)
    return float(gain.mean())


def summarize(ranks: np.ndarray, ks=KS) -> dict[str, float]:
    """MRR, SuccessRate@k and nDCG@10 of a rank array."""
    out = {"mrr": mrr(ranks)}
    out.update({f"sr@{k}": success_at(ranks, k) for k in ks})
    out["ndcg@10"] = ndcg_at(ranks, 10)
    out["n"] = int(len(ranks))
    return out


def whole_split_ranks(xq: np.ndarray, xb: np.ndarray) -> np.ndarray:
    """Aligned pairs: description i asks for code i among every code of the split."""
    assert xq.shape == xb.shape, (xq.shape, xb.shape)
    return cosine_ranks(xq, xb, np.arange(len(xq)))


def pools(n: int, pool_size: int = 1000, seed: int = 0) -> list[np.ndarray]:
    """DeepCS protocol: shuffle n pairs (seeded), cut them into pools of pool_size, drop the remainder.

    The remainder is dropped as DeepCS's drop_last loader does; fewer than pool_size pairs make one pool.
    """
    perm = np.random.default_rng(seed).permutation(n)
    size = min(pool_size, n)
    return [perm[p0 : p0 + size] for p0 in range(0, n - size + 1, size)] if size else []


def pool_ranks(xq: np.ndarray, xb: np.ndarray, pool_size: int = 1000, seed: int = 0) -> np.ndarray:
    """Ranks of each pooled pair's code among its pool's codes (see `pools`)."""
    assert xq.shape == xb.shape, (xq.shape, xb.shape)
    out = [cosine_ranks(xq[idx], xb[idx], np.arange(len(idx))) for idx in pools(len(xq), pool_size, seed)]
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def evaluate_pairs(xq: np.ndarray, xb: np.ndarray, pool_size: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Both protocols over aligned (description, code) vector pairs."""
    return {
        "whole": summarize(whole_split_ranks(xq, xb)),
        f"pool{pool_size}": summarize(pool_ranks(xq, xb, pool_size, seed)),
    }
