"""A bag model's code side without torch, and how the index-time teacher replaces rows of it.

The code vector is a field-scaled, weighted mean of the name's, API sequence's and tokens' subword
embeddings (codenn.bag.BagEmbedder.encode_code): numpy computes it from the safetensors file, so a
sync of one edited file never imports torch. The teacher helpers are shared with codenn.encoder.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np

from preprocess.text import FieldTokenizer, Vocab
from .bundle_files import WEIGHTS, vocab_file

CODE_FIELDS = ("name", "apiseq", "tokens")   # codenn.bag.CODE_FIELDS, without importing torch


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)


class NumpyBag:
    """codenn.bag.WeightedBag at inference: per text, the weighted sum of its pieces' embeddings and the weight."""

    def __init__(self, tensors, prefix: str):
        self.emb = tensors.get_tensor(f"{prefix}.emb.weight").astype(np.float32)
        self.weight = np.maximum(tensors.get_tensor(f"{prefix}.weight").astype(np.float32), 0.0)
        self.dim = int(self.emb.shape[1])

    def __call__(self, id_lists: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        sums = np.zeros((len(id_lists), self.dim), np.float32)
        weights = np.zeros(len(id_lists), np.float32)
        for i, ids in enumerate(id_lists):
            if len(ids):
                w = self.weight[ids]
                sums[i], weights[i] = w @ self.emb[ids], w.sum()
        return sums, weights


def piece_ids(tokenizer: FieldTokenizer, vocab: Vocab, field: str, texts: Sequence[str], max_len: int) -> list:
    """Each text's vocabulary ids, truncated as the model's batches truncate them."""
    return [np.asarray(vocab.encode(p)[:max_len], np.int64) for p in tokenizer.tokenize_batch(field, texts)]


class StaticCodeSide:
    """encode(records) -> (N, D) float32 code vectors, as BagEmbedder.encode_code gives them (not normalised)."""

    def __init__(self, model_dir: Path, raw_config: dict, tokenizer: FieldTokenizer):
        from safetensors import safe_open
        with safe_open(str(Path(model_dir) / WEIGHTS), framework="numpy") as f:
            self.bag = NumpyBag(f, "code_bag")
            self.scale = np.maximum(f.get_tensor("field_scale").astype(np.float32), 0.0)
        self.vocabs = {field: Vocab.load(Path(model_dir) / vocab_file(field)) for field in CODE_FIELDS}
        self.max_lens = {field: int(raw_config["data"][f"{field}_len"]) for field in CODE_FIELDS}
        self.tokenizer = tokenizer

    def encode(self, records: Sequence[dict]) -> np.ndarray:
        total = np.zeros((len(records), self.bag.dim), np.float32)
        weight = np.zeros(len(records), np.float32)
        for scale, field in zip(self.scale, CODE_FIELDS):
            texts = [r.get(field) or "" for r in records]
            s, w = self.bag(piece_ids(self.tokenizer, self.vocabs[field], field, texts, self.max_lens[field]))
            total, weight = total + scale * s, weight + scale * w
        return total / np.maximum(weight, 1e-6)[:, None]


def teacher_covers(record: dict, scope: str) -> bool:
    """Whether the index-time teacher encodes this record under a scope (documented | all | none)."""
    if scope == "none" or not (record.get("code") or "").strip():
        return False
    return scope == "all" or bool((record.get("desc") or "").strip())


def with_teacher(records: Sequence[dict], code: np.ndarray, teacher, scope: str,
                 static_shift: np.ndarray | None) -> np.ndarray:
    """Unit static code vectors, the rows the teacher's scope covers replaced by its vector of their code."""
    code = unit(code)
    if static_shift is not None:   # onto the teacher vectors' scale (codenn.distill_train.static_shift)
        code = unit(code + static_shift)
    chosen = [i for i, r in enumerate(records) if teacher_covers(r, scope)]
    if chosen:
        code[chosen] = teacher.encode([records[i]["code"] for i in chosen])
    return code


def reconfigured_teacher(teacher, scope: str, max_tokens: int = 0, int8: bool | None = None, runtime: str = ""):
    """The teacher with these index settings applied (the same object when nothing changes).

    Scope "none" keeps the teacher for queries but gives no function its vector: a quick first index.
    """
    if scope not in ("documented", "all", "none"):
        raise ValueError(f"teacher scope must be documented, all or none, not {scope!r}")
    from .code_teacher import CodeTeacher
    cfg = teacher.cfg
    changes = {k: v for k, v in (("max_tokens", max_tokens or cfg.max_tokens),
                                 ("int8", cfg.int8 if int8 is None else int8),
                                 ("runtime", runtime or cfg.runtime)) if getattr(cfg, k) != v}
    return CodeTeacher(dataclasses.replace(cfg, **changes)) if changes else teacher
