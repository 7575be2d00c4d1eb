"""Scorers: each turns a parsed query into a ranked list of store ids (and scores a whole pool).

A scorer has a `name`, `top(query, n, filt) -> (ids, scores)` best first, and
`score_all(query, ids) -> (N,)` scores aligned with ids, NaN where it has no evidence.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import faiss
import numpy as np

from . import vectors
from .analysis import ParsedQuery
from .lexical import LexicalIndex
from .vectors import VectorConfig

EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.float32))


@dataclass
class Filter:
    """Search filters and, for any of them, the sorted store ids that pass (computed once, then cached)."""

    repo: str | None = None
    language: str | None = None
    path: str | None = None
    allowed: np.ndarray | None = None
    cache: dict = field(default_factory=dict)   # per-scorer derived data (vectors, FAISS selectors)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.repo, self.language, self.path))


def top_n(ids: np.ndarray, scores: np.ndarray, n: int):
    """The n best (ids, scores) of an unsorted pool, best first (ties: lower id first)."""
    if len(scores) > n:
        part = np.argpartition(-scores, n - 1)[:n]
        ids, scores = ids[part], scores[part]
    order = np.lexsort((ids, -scores))
    return ids[order], scores[order].astype(np.float32)


class NeuralScorer:
    """Cosine of the query's description vector with the code vectors (FAISS)."""

    name = "neural"

    def __init__(self, encoder, index: faiss.Index, cfg: VectorConfig, tombstones: np.ndarray,
                 name: str = "neural"):
        self.encoder, self.index, self.cfg, self.name = encoder, index, cfg, name
        self._tombs = None
        self.params = vectors.search_params(index, cfg)
        if len(tombstones):
            # keep the inner selector referenced: IDSelectorNot only points to it
            self._tombs = faiss.IDSelectorBatch(np.ascontiguousarray(tombstones, np.int64))
            self._not_tombs = faiss.IDSelectorNot(self._tombs)
            self.params = vectors.search_params(index, cfg, self._not_tombs)
        self._matrix = None

    def embed(self, q: ParsedQuery) -> np.ndarray | None:
        """The query's normalised vector (1, d), or None for a query with no words to encode."""
        if not q.words:
            return None
        xq = vectors.normalize(self.encoder.encode_queries([q.text]))
        assert xq.shape == (1, self.index.d), xq.shape
        return xq if np.any(xq) else None

    def top(self, q: ParsedQuery, n: int, filt: Filter | None = None):
        xq = self.embed(q)
        if xq is None:
            return EMPTY
        if filt is None or not filt.active:
            D, I = vectors.search(self.index, xq, n, self.params)
        elif not len(filt.allowed):
            return EMPTY
        elif len(filt.allowed) <= self.cfg.exact_filter_max:
            xb = self._filtered(filt, "vectors", lambda: vectors.reconstruct(self.index, filt.allowed))
            return top_n(filt.allowed, xb @ xq[0], n)
        else:
            sel = self._filtered(filt, "selector", lambda: faiss.IDSelectorBatch(filt.allowed))
            params = vectors.search_params(self.index, self.cfg, sel, len(filt.allowed) / max(self.index.ntotal, 1))
            D, I = vectors.search(self.index, xq, n, params)
        keep = I[0] >= 0
        ids, scores = I[0][keep].astype(np.int64), D[0][keep].astype(np.float32)
        order = np.lexsort((ids, -scores))  # ties by id, whatever the index's internal order
        return ids[order], scores[order]

    @staticmethod
    def _filtered(filt: Filter, key: str, make):
        with filt.lock:
            if key not in filt.cache:
                filt.cache[key] = make()
            return filt.cache[key]

    def score_all(self, q: ParsedQuery, ids: np.ndarray) -> np.ndarray:
        xq = self.embed(q)
        if xq is None:
            return np.full(len(ids), np.nan, np.float32)
        if self._matrix is None or len(self._matrix[0]) != len(ids) or not np.array_equal(self._matrix[0], ids):
            self._matrix = (ids.copy(), vectors.reconstruct(self.index, ids))
        return self._matrix[1] @ xq[0]


class LexicalScorer:
    """BM25 over name tokens, docstrings and identifiers (tantivy)."""

    name = "lexical"
    path_overfetch = 10  # a path glob is applied after the search: ask for more

    def __init__(self, lex: LexicalIndex):
        self.lex = lex

    def stems(self, q: ParsedQuery) -> set[str]:
        return set(self.lex.stems(q.terms))

    def top(self, q: ParsedQuery, n: int, filt: Filter | None = None):
        if not q.terms:
            return EMPTY
        if filt is None or not filt.active:
            return self.lex.top(q.terms, n)
        if filt.allowed is not None and not len(filt.allowed):
            return EMPTY
        m = n * self.path_overfetch if filt.path is not None else n
        ids, scores = self.lex.top(q.terms, m, filt.repo, filt.language)
        if filt.path is not None:
            keep = np.isin(ids, filt.allowed)
            ids, scores = ids[keep][:n], scores[keep][:n]
        return ids, scores

    def score_all(self, q: ParsedQuery, ids: np.ndarray) -> np.ndarray:
        out = np.full(len(ids), np.nan, np.float32)
        if not q.terms:
            return out
        hit_ids, scores = self.lex.top(q.terms, max(self.lex.num_docs(), 1))
        pos = np.searchsorted(ids, hit_ids)
        ok = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == hit_ids)
        out[pos[ok]] = scores[ok]
        return out
