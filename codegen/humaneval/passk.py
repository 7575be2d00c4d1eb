"""The unbiased pass@k estimator (Chen et al. 2021), computed stably."""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

DEFAULT_KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Return 1 - C(n-c, k) / C(n, k): the chance that k of n samples, c correct, include a pass.

    The ratio is a product of (1 - k/i) for i in n-c+1..n, which never forms huge binomials.
    """
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"need 0 <= c <= n and k >= 1, got n={n} c={c} k={k}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def estimate(ns: Sequence[int], cs: Sequence[int], k: int) -> np.ndarray:
    """Return pass@k per problem for sample counts `ns` and correct counts `cs`."""
    assert len(ns) == len(cs), (len(ns), len(cs))
    return np.array([pass_at_k(int(n), int(c), k) for n, c in zip(ns, cs)], dtype=np.float64)


def summarize(ns: Sequence[int], cs: Sequence[int], ks: Iterable[int] = DEFAULT_KS) -> dict:
    """Return {"pass@k": mean, ..., "n_problems": P} for every k that all problems have samples for."""
    out: dict = {}
    if len(ns):
        for k in ks:
            if min(ns) >= k:
                out[f"pass@{k}"] = float(estimate(ns, cs, k).mean())
    out["n_problems"] = len(ns)
    return out
