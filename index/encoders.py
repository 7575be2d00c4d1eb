"""Encoders the index accepts: a trained CODEnn model directory, or the built-in hashing baseline.

An encoder is any object with `encode_functions(records) -> (N, D)`, `encode_queries(texts) -> (N, D)`,
`.identity` and `.dim` (the codenn bundle contract). `HashingEncoder` is a deterministic, untrained
bag-of-words random projection: tests and benchmarks use it so they need no trained model.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from codesearch_common.threads import thread_budget
from .analysis import STOP_WORDS, words
from .errors import ModelMismatchError, ModelMissingError

HASHING = "hashing"


class HashingEncoder:
    """Sum of per-word Gaussian vectors (seeded by the word's hash): cosine ~ shared words."""

    def __init__(self, dim: int = 256, seed: int = 0):
        if dim <= 0:
            raise ValueError(f"the hashing encoder needs a positive dimension, not {dim}")
        self.dim, self.seed = int(dim), int(seed)
        self.identity = f"{HASHING}-{self.dim}-{self.seed}"
        self._rows: dict[str, int] = {}
        self._table = np.zeros((1024, self.dim), np.float32)

    def spec(self) -> dict:
        return {"name": HASHING, "dim": self.dim, "seed": self.seed}

    def _row(self, word: str) -> int:
        i = self._rows.get(word)
        if i is None:
            digest = hashlib.blake2b(f"{self.seed}:{word}".encode(), digest_size=8).digest()
            i = self._rows[word] = len(self._rows)
            if i == len(self._table):
                self._table = np.concatenate([self._table, np.zeros_like(self._table)])
            self._table[i] = np.random.default_rng(int.from_bytes(digest, "big")).standard_normal(self.dim)
        return i

    def _encode(self, bags: Sequence[list[str]]) -> np.ndarray:
        out = np.zeros((len(bags), self.dim), np.float32)
        for n, bag in enumerate(bags):
            rows = [self._row(w) for w in bag if w not in STOP_WORDS]
            if rows:
                out[n] = self._table[rows].sum(axis=0)
        return out

    def encode_functions(self, records: Sequence[dict]) -> np.ndarray:
        return self._encode([words(f"{r.get('name', '')} {r.get('apiseq', '')} {r.get('tokens', '')}")
                             for r in records])

    def encode_queries(self, queries: Sequence[str]) -> np.ndarray:
        return self._encode([words(q) for q in queries])


def limit_torch_threads(n: int | None) -> None:
    """Cap torch's intra-op threads when torch is in use (None: the thread budget, codesearch_common.threads).

    On the shared 2-core machine, 2 threads encoded 79 functions/s and 1 thread 1,642 (threads spin
    waiting for each other when the cores are busy elsewhere); a query encoded in 126 ms vs 9 ms.
    """
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(thread_budget(n))


def parse_hashing(spec: str) -> HashingEncoder | None:
    """`hashing` or `hashing:DIM` -> a HashingEncoder; anything else -> None."""
    if spec == HASHING:
        return HashingEncoder()
    if spec.startswith(HASHING + ":"):
        try:
            return HashingEncoder(int(spec.split(":", 1)[1]))
        except ValueError:
            raise ValueError(f"--model {spec}: the hashing encoder's dimension must be an integer") from None
    return None


def load_encoder(model: str | Path, torch_free: bool = False):
    """A trained model directory (codenn.load) or `hashing[:DIM]` -> an encoder.

    torch_free: a bag model in numpy (codenn.load_static), for search and sync processes.
    """
    enc = parse_hashing(str(model))
    if enc is not None:
        return enc
    model = Path(model)
    if not model.exists():
        raise ModelMissingError(f"no model at {model}: train one with `make train` "
                                f"(or pass --model hashing for the untrained baseline)")
    import codenn  # torch is heavy: import it only when a trained model is asked for
    return codenn.load_static(model) if torch_free else codenn.load(model)


def model_info(encoder, model_dir: str | Path | None) -> dict:
    """The manifest's record of the model: identity, dimension, and how to load it again."""
    info = {"identity": str(encoder.identity), "dim": int(encoder.dim), "dir": None}
    if hasattr(encoder, "spec"):
        info["builtin"] = encoder.spec()
    elif model_dir is not None and parse_hashing(str(model_dir)) is None:
        info["dir"] = str(Path(model_dir).resolve())
    return info


def encoder_for(info: dict, torch_free: bool = False):
    """Load the encoder a manifest names (its built-in spec or its model directory)."""
    builtin = info.get("builtin")
    if builtin and builtin.get("name") == HASHING:
        return HashingEncoder(builtin["dim"], builtin.get("seed", 0))
    if not info.get("dir"):
        raise ModelMissingError(f"the index does not say where its model ({info.get('identity')}) is: pass --model")
    if not Path(info["dir"]).exists():
        raise ModelMissingError(f"the model this index was built with ({info.get('identity')}) is missing at "
                                f"{info['dir']}: pass --model DIR, or run `make train` then `make index`")
    return load_encoder(info["dir"], torch_free)


def check_identity(info: dict, encoder) -> None:
    """Refuse an encoder other than the one the index was built with."""
    if str(encoder.identity) != info.get("identity"):
        raise ModelMismatchError(info.get("identity", "?"), info.get("dir"), str(encoder.identity))
