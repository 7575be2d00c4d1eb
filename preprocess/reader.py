"""A torch Dataset over the HDF5 splits that yields fixed-length padded tensors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .hdf5 import read_arrays

FIELDS = ("name", "apiseq", "tokens", "desc")
DEFAULT_MAX_LENS = {"name": 6, "apiseq": 30, "tokens": 50, "desc": 30}


def pad_matrix(phrases: np.ndarray, indices: np.ndarray, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Turn (phrases, indices) into a (N, max_len) zero-padded id matrix and (N,) lengths."""
    n = len(indices)
    lengths = np.minimum(indices["length"], max_len)
    out = np.zeros((n, max_len), dtype=np.int64)
    cols = np.arange(max_len)
    mask = cols[None, :] < lengths[:, None]                      # (N, L)
    src = indices["pos"][:, None] + cols[None, :]                # (N, L)
    out[mask] = phrases[src[mask]]
    return out, lengths.astype(np.int64)


class CodeSearchDataset(Dataset):
    """Aligned (name, apiseq, tokens, desc) samples of one split, padded with 0 to fixed lengths."""

    def __init__(self, data_dir: str | Path, split: str, max_lens: dict | None = None):
        self.data_dir, self.split = Path(data_dir), split
        self.max_lens = {**DEFAULT_MAX_LENS, **(max_lens or {})}
        self.arrays = {}
        for field in FIELDS:
            path = self.data_dir / f"{split}.{field}.h5"
            if not path.exists():
                raise FileNotFoundError(f"{path} is missing: run `make dataset` first")
            ids, lengths = pad_matrix(*read_arrays(path), self.max_lens[field])
            self.arrays[field] = torch.from_numpy(ids)
            self.arrays[f"{field}_len"] = torch.from_numpy(lengths)
        sizes = {len(v) for v in self.arrays.values()}
        if len(sizes) != 1:
            raise ValueError(f"{self.data_dir}: fields of split {split!r} are not aligned: sizes {sizes}")

    def __len__(self) -> int:
        return len(self.arrays["name"])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {k: v[i] for k, v in self.arrays.items()}
