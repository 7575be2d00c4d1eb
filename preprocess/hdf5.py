"""Write and read token-id sequences in the DeepCS HDF5 layout (/phrases + /indices)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

INDEX_DTYPE = np.dtype([("length", "<i8"), ("pos", "<i8")])


def write_field(path: str | Path, sequences: Sequence[Sequence[int]]) -> None:
    """Write sequences as flat /phrases with (length, pos) rows in /indices; byte-reproducible."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    pos = np.zeros_like(lengths)
    if len(lengths):
        pos[1:] = np.cumsum(lengths)[:-1]
    phrases = np.fromiter((t for s in sequences for t in s), dtype=np.int64, count=int(lengths.sum()))
    indices = np.empty(len(sequences), dtype=INDEX_DTYPE)
    indices["length"], indices["pos"] = lengths, pos
    # track_times=False: HDF5 stamps datasets with the time otherwise, breaking identical re-runs
    with h5py.File(path, "w", track_order=False) as f:
        f.create_dataset("phrases", data=phrases, track_times=False)
        f.create_dataset("indices", data=indices, track_times=False)


def read_field(path: str | Path) -> list[np.ndarray]:
    """Read every sequence of one field file."""
    phrases, indices = read_arrays(path)
    return [phrases[p : p + n] for n, p in zip(indices["length"], indices["pos"])]


def read_arrays(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Return the raw (phrases, indices) arrays of one field file."""
    with h5py.File(path, "r") as f:
        return f["phrases"][:], f["indices"][:]
