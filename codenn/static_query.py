"""The default model without torch: a bag model's description and code encoders are embedding lookups.

A query is a weighted mean of its subword pieces' embeddings (codenn.bag.WeightedBag), which numpy
computes from the safetensors file in microseconds, so a search process never imports torch; the
code side is the same lookup per field (codenn.static_code), and the teacher runs on ONNX Runtime.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np

from preprocess.text import FieldTokenizer, Vocab
from .bundle_files import WEIGHTS, read_raw_config, vocab_file, weights_identity
from .static_code import NumpyBag, StaticCodeSide, piece_ids, reconfigured_teacher, unit, with_teacher

# every indexed function is Python, so the language's name in a query ("python read csv") says nothing
QUERY_NOISE = re.compile(r"\b(python|py)\b", re.IGNORECASE)


def clean_query(q: str) -> str:
    """The query without the language's name (kept when nothing else is left)."""
    cleaned = QUERY_NOISE.sub(" ", q)
    return cleaned if cleaned.strip() else q


class StaticEncoder:
    """encode_queries and encode_functions in numpy, as CodeEncoder (torch) gives them."""

    def __init__(self, model_dir: str | Path):
        self.model_dir = Path(model_dir)
        raw = read_raw_config(self.model_dir)
        if raw["model"].get("arch") != "bag":
            raise ValueError(f"{model_dir}: only a bag model encodes without torch")
        from safetensors import safe_open
        with safe_open(str(self.model_dir / WEIGHTS), framework="numpy") as f:
            self.bag = NumpyBag(f, "desc_bag")
        self.vocab = Vocab.load(self.model_dir / vocab_file("desc"))
        self.tokenizer = FieldTokenizer.load(self.model_dir)
        self.max_len = int(raw["data"]["desc_len"])
        self.dim = self.bag.dim
        self.identity = weights_identity(self.model_dir)
        self.normalized = False
        meta = raw.get("meta", {})
        self.code_side = StaticCodeSide(self.model_dir, raw, self.tokenizer)
        self.teacher = self._teacher(meta.get("index_teacher"))
        self.teacher_scope = "documented"   # or "all": see configure_teacher
        shift = meta.get("static_shift")
        self.static_shift = np.asarray(shift, np.float32) if shift is not None else None

    @staticmethod
    def _teacher(spec: dict | None):
        if spec is None:
            return None
        from .code_teacher import CodeTeacher, TeacherConfig
        return CodeTeacher(TeacherConfig.from_dict(spec))

    @property
    def teacher_config(self):
        """The index-time teacher's settings (None for a model without one)."""
        return self.teacher.cfg if self.teacher is not None else None

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        """(N, D) float32 vectors of natural-language queries, as CodeEncoder.encode_queries gives them."""
        return self.encode_texts([clean_query(q) for q in queries])

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(N, D) float32 description-encoder vectors of texts."""
        sums, weights = self.bag(piece_ids(self.tokenizer, self.vocab, "desc", [t or "" for t in texts], self.max_len))
        return sums / np.maximum(weights, 1e-6)[:, None]

    def encode_functions(self, records: Sequence[dict]) -> np.ndarray:
        """(N, D) float32 vectors of functions.csv-style records, as CodeEncoder.encode_functions gives them."""
        if not len(records):
            return np.zeros((0, self.dim), np.float32)
        code = self.code_side.encode(records)
        if self.teacher is not None:
            return with_teacher(records, code, self.teacher, self.teacher_scope, self.static_shift)
        # a bag model without a teacher places a function's docstring in its vector (codenn.encoder)
        return unit(code) + unit(self.encode_texts([r.get("desc") or "" for r in records]))

    def configure_teacher(self, scope: str, max_tokens: int = 0, int8: bool | None = None,
                          runtime: str = "") -> dict | None:
        """As CodeEncoder.configure_teacher: the teacher's scope and settings, for the index manifest."""
        if self.teacher is None:
            return None
        self.teacher = reconfigured_teacher(self.teacher, scope, max_tokens, int8, runtime)
        self.teacher_scope = scope
        return {**self.teacher.cfg.to_dict(), "scope": scope}
