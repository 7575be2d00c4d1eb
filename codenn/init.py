"""Initialise a bag model: piece weights from training-set idf, embeddings from the teacher (cached)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from codesearch_common.fsutil import atomic_open
from preprocess.text import Vocab
from .bag import CODE_FIELDS, BagEmbedder
from .model import ModelConfig


def idf_weights(arrays: dict[str, torch.Tensor], vocab_size: int) -> torch.Tensor:
    """(V,) log((N + 1) / (df + 1)) + 1 over the code fields of the training functions."""
    n = len(arrays["name"])
    df = torch.zeros(vocab_size)
    for i in range(n):
        seen = torch.cat([arrays[f][i, : arrays[f"{f}_len"][i]] for f in CODE_FIELDS]).unique()
        df[seen] += 1
    return torch.log((n + 1) / (df + 1)) + 1


def teacher_embeddings(data_dir: Path, vocab: Vocab) -> np.ndarray:
    """MiniLM piece embeddings for `vocab`, cached in the dataset folder by vocabulary hash."""
    key = hashlib.sha1("\n".join(vocab.itos).encode()).hexdigest()[:16]
    cache = data_dir / f"teacher.minilm.{key}.npy"
    if cache.exists():
        return np.load(cache)
    from .teacher import piece_embeddings

    print(f"computing MiniLM embeddings of {len(vocab):,} pieces (cached in {cache})", flush=True)
    emb = piece_embeddings(vocab)
    with atomic_open(cache, "wb") as f:
        np.save(f, emb)
    return emb


def init_bag_model(model: BagEmbedder, cfg: ModelConfig, train_arrays: dict, data_dir: Path) -> None:
    """Piece weights from idf; embeddings from MiniLM when cfg.init == 'minilm'."""
    emb = None
    if cfg.init == "minilm":
        vocab = Vocab.load(data_dir / "vocab.desc.json")
        emb = torch.from_numpy(teacher_embeddings(data_dir, vocab))
        if emb.shape[1] != cfg.emb_size:
            raise ValueError(f"model.init=minilm gives {emb.shape[1]}-d embeddings: set model.emb_size={emb.shape[1]}")
    model.init_from(emb, idf_weights(train_arrays, cfg.n_desc))
