"""The default model's query side without torch: a bag model's description encoder is an embedding lookup.

A query is a weighted mean of its subword pieces' embeddings (codenn.bag.WeightedBag), which numpy
computes from the safetensors file in microseconds, so a search process never imports torch. The
code side (index time) still needs the full model: it loads on the first call that encodes code.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from preprocess.text import FieldTokenizer, Vocab
from .bundle_files import WEIGHTS, read_raw_config, vocab_file, weights_identity

# every indexed function is Python, so the language's name in a query ("python read csv") says nothing
QUERY_NOISE = re.compile(r"\b(python|py)\b", re.IGNORECASE)


def clean_query(q: str) -> str:
    """The query without the language's name (kept when nothing else is left)."""
    cleaned = QUERY_NOISE.sub(" ", q)
    return cleaned if cleaned.strip() else q


class StaticQueryEncoder:
    """encode_queries in numpy; encode_functions and configure_teacher load the full model on first use."""

    def __init__(self, model_dir: str | Path):
        self.model_dir = Path(model_dir)
        raw = read_raw_config(self.model_dir)
        if raw["model"].get("arch") != "bag":
            raise ValueError(f"{model_dir}: only a bag model's queries encode without torch")
        from safetensors import safe_open
        with safe_open(str(self.model_dir / WEIGHTS), framework="numpy") as f:
            self.emb = f.get_tensor("desc_bag.emb.weight").astype(np.float32)
            self.weight = np.maximum(f.get_tensor("desc_bag.weight").astype(np.float32), 0.0)
        self.vocab = Vocab.load(self.model_dir / vocab_file("desc"))
        self.tokenizer = FieldTokenizer.load(self.model_dir)
        self.max_len = int(raw["data"]["desc_len"])
        self.dim = int(self.emb.shape[1])
        self.identity = weights_identity(self.model_dir)
        self.normalized = False
        self.teacher_config = self._teacher_config(raw.get("meta", {}).get("index_teacher"))
        self._full = None
        self._lock = threading.Lock()

    @staticmethod
    def _teacher_config(spec: dict | None):
        if spec is None:
            return None
        from .code_teacher import TeacherConfig
        return TeacherConfig.from_dict(spec)

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """(N, D) float32 vectors of natural-language queries, as CodeEncoder.encode_queries gives them."""
        pieces = self.tokenizer.tokenize_batch("desc", [clean_query(q) or "" for q in queries])
        out = np.zeros((len(queries), self.dim), np.float32)
        for i, p in enumerate(pieces):
            ids = np.asarray(self.vocab.encode(p)[: self.max_len], np.int64)
            if len(ids):
                w = self.weight[ids]
                out[i] = (w @ self.emb[ids]) / max(float(w.sum()), 1e-6)
        return out

    def full(self):
        """The full model (torch), loaded once: what encodes code."""
        with self._lock:
            if self._full is None:
                from .encoder import CodeEncoder
                self._full = CodeEncoder(self.model_dir)
            return self._full

    @property
    def teacher(self):
        return self.full().teacher

    def encode_functions(self, records: Sequence[dict]) -> np.ndarray:
        return self.full().encode_functions(records)

    def configure_teacher(self, *args, **kwargs):
        return self.full().configure_teacher(*args, **kwargs)
