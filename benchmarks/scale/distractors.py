"""A benchmark pool plus N distractor functions: real ones first, then seeded noisy copies of them.

The pool keeps its ids (1..P, as `benchfile.pool_records` numbers them); distractors continue at P+1.
Real distractors are functions.csv rows whose near-duplicate key (`code_hash`) no pool function has,
so no distractor can collapse onto a gold answer; when there are more than N, a seeded sample of N
is taken (in file order). Beyond the real ones come copies: copy c of real distractor r gets repository
`<repo>~c`, its name suffixed `_c<c>` (in the code too, so the copies do not collapse onto each other),
a seeded share of its description and code words dropped, and as its vector the original's plus
Gaussian noise of norm `noise` (0.3: cosine ~0.96), renormalised; only real functions are encoded.
With `index`, the real distractors are an index's records instead, and their vectors the ones it
holds (an index built by the same model: its vectors are what encoding them again would give).
Everything depends on the seed alone: the same seed and inputs give the same records and vectors.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from index import vectors
from index.analysis import code_hash


@dataclass
class DistractorConfig:
    """How many distractors, where the real ones come from, and how copies are perturbed."""

    n: int = 0
    functions: str | None = "data/functions.csv"   # real distractors (None or a missing file: copies only of none)
    index: str | None = None    # or an index built by the same model: its records and the vectors it holds
    seed: int = 0
    noise: float = 0.3          # norm of a copy's vector noise before renormalising
    drop_words: float = 0.1     # share of a copy's description and code words left out


@dataclass
class DistractorSet:
    """The pool and its distractors: records by id order, and each id's original (for copies)."""

    pool: list[dict]
    real: list[dict]
    cfg: DistractorConfig
    n_copies: int = 0
    origin: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))   # (max id + 1,) id -> original
    real_vectors: np.ndarray | None = None     # (len(real), d) when they come from an index

    @property
    def total(self) -> int:
        return len(self.pool) + len(self.real) + self.n_copies

    @property
    def first_copy(self) -> int:
        return len(self.pool) + len(self.real) + 1

    def records(self) -> Iterator[dict]:
        """Every record, ids ascending: pool, real distractors, copies (made as they are read)."""
        yield from self.pool
        yield from self.real
        for j in range(self.n_copies):
            yield self.copy(j)

    def copy(self, j: int) -> dict:
        """The j-th copy (0-based): of real distractor j mod R, the (j // R + 1)-th copy of it."""
        src, c = self.real[j % len(self.real)], j // len(self.real) + 1
        rid = self.first_copy + j
        rng = np.random.default_rng([self.cfg.seed, rid])
        name = f"{src['name']}_c{c}"
        return dict(src, id=rid, repo=f"{src['repo']}~{c}", name=name,
                    code=src["code"].replace(src["name"].rsplit(".", 1)[-1], name.rsplit(".", 1)[-1], 1),
                    desc=drop_words(src["desc"], self.cfg.drop_words, rng),
                    tokens=drop_words(src["tokens"], self.cfg.drop_words, rng))


def drop_words(text: str, share: float, rng: np.random.Generator) -> str:
    """text without a seeded share of its words (at least one word stays when there was one)."""
    words = (text or "").split()
    if not words or share <= 0:
        return text or ""
    keep = rng.random(len(words)) >= share
    keep[rng.integers(len(words))] = True
    return " ".join(w for w, k in zip(words, keep) if k)


def read_real(path: str | None, n: int, exclude: set[int], seed: int) -> list[dict]:
    """Up to n functions.csv rows whose code_hash is not in exclude: a seeded sample, in file order."""
    if not n or not path or not Path(path).is_file():
        return []
    from preprocess.csvio import read_functions
    keep = [i for i, r in enumerate(read_functions(path)) if code_hash(r["code"]) not in exclude]
    if len(keep) > n:
        keep = np.sort(np.random.default_rng(seed).choice(keep, n, replace=False)).tolist()
    wanted, out = set(keep), []
    for i, r in enumerate(read_functions(path)):
        if i in wanted:
            out.append(r)
    return out


def read_real_from_index(index_dir: str, n: int, exclude: set[int], seed: int) -> tuple[list[dict], np.ndarray]:
    """Up to n of an index's records whose code_hash is not in exclude (a seeded sample, in id order), and their vectors."""
    from index.manifest import STORE, VECTORS
    from index.store import Store
    store = Store(Path(index_dir) / STORE, readonly=True)
    try:
        ids, hashes = store.ids_and_hashes()
        keep = ids[~np.isin(hashes, np.fromiter(exclude, np.int64, len(exclude)))] if exclude else ids
        if len(keep) > n:
            keep = np.sort(np.random.default_rng(seed).choice(keep, n, replace=False))
        records = []
        for i0 in range(0, len(keep), 8192):
            records.extend(store.get(keep[i0: i0 + 8192].tolist()))
    finally:
        store.close()
    index = vectors.load(Path(index_dir) / VECTORS)
    xb = np.concatenate([vectors.reconstruct(index, keep[i0: i0 + 65536]) for i0 in range(0, len(keep), 65536)]
                        or [np.zeros((0, index.d), np.float32)])
    return records, vectors.normalize(xb)


def build_set(pool: list[dict], cfg: DistractorConfig) -> DistractorSet:
    """The pool (ids 1..P) and cfg.n distractors numbered from P+1."""
    assert [r["id"] for r in pool] == list(range(1, len(pool) + 1)), "pool ids must be 1..P"
    exclude = {code_hash(r["code"]) for r in pool}
    real_vectors = None
    if cfg.index and cfg.n:
        real, real_vectors = read_real_from_index(cfg.index, cfg.n, exclude, cfg.seed)
    else:
        real = read_real(cfg.functions, cfg.n, exclude, cfg.seed)
    if cfg.n > len(real) and not real:
        raise ValueError(f"{cfg.n:,} distractors need real functions to copy: {cfg.index or cfg.functions} has none")
    p = len(pool)
    real = [dict(r, id=p + 1 + i) for i, r in enumerate(real)]
    s = DistractorSet(pool=pool, real=real, cfg=cfg, n_copies=max(0, cfg.n - len(real)), real_vectors=real_vectors)
    origin = np.arange(s.total + 1, dtype=np.int64)
    if s.n_copies:
        origin[s.first_copy:] = p + 1 + np.arange(s.n_copies) % len(real)
    s.origin = origin
    return s


class DistractorEncoder:
    """The encoder a build sees: the model for real functions (cached per batch), noise for copies.

    Every vector it returns is kept (`xb`, `ids`), so exact search can run over the very vectors
    the index was built from; with `spill`, in a memory-mapped file there (10M vectors are 15 GB).
    """

    def __init__(self, model, dset: DistractorSet, cache: Path | None = None, spill: Path | None = None):
        self.model, self.dset, self.cache = model, dset, cache
        self.identity, self.dim = model.identity, model.dim
        shape = (dset.total + 1, model.dim)   # row = id (row 0 unused)
        if spill is None:
            self.xb = np.zeros(shape, np.float32)
        else:
            spill.mkdir(parents=True, exist_ok=True)
            self.xb = np.lib.format.open_memmap(spill / "vectors.npy", mode="w+", dtype=np.float32, shape=shape)
        self.seen = np.zeros(dset.total + 1, bool)
        self.teacher_settings = None

    def __getattr__(self, name):   # spec, teacher, configure_teacher, ...: what the build asks the model
        if name in ("model", "__setstate__"):
            raise AttributeError(name)
        return getattr(self.model, name)

    def configure_teacher(self, *args):
        """The model's teacher settings (the build's choice for its size); they key the cache too."""
        configure = getattr(self.model, "configure_teacher", None)
        self.teacher_settings = configure(*args) if configure is not None else None
        return self.teacher_settings

    def encode_queries(self, texts):
        return self.model.encode_queries(texts)

    def encode_functions(self, records: list[dict]) -> np.ndarray:
        ids = np.array([int(r["id"]) for r in records], np.int64)
        copies = ids >= self.dset.first_copy
        if (~copies).any():   # first: a copy may follow its original in the same batch
            real = ids[~copies]
            self.xb[real] = self.encode_real([r for r, c in zip(records, copies) if not c])
            self.seen[real] = True
        for rid in ids[copies]:
            self.xb[rid], self.seen[rid] = self.noisy(int(rid)), True
        return self.xb[ids].copy()

    def noisy(self, rid: int) -> np.ndarray:
        """A copy's vector: its original's (already encoded: copies come last) plus seeded noise."""
        src = int(self.dset.origin[rid])
        assert self.seen[src], f"copy {rid} before its original {src}"
        rng = np.random.default_rng([self.dset.cfg.seed, rid, 1])
        x = self.xb[src] + self.dset.cfg.noise * rng.standard_normal(self.dim).astype(np.float32) / np.sqrt(self.dim)
        return vectors.normalize(x[None])[0]

    def encode_real(self, records: list[dict]) -> np.ndarray:
        """Normalised vectors of real functions: an index's for its distractors, else the model's (cached per batch)."""
        first = len(self.dset.pool) + 1
        if self.dset.real_vectors is not None and records and int(records[0]["id"]) >= first:
            return self.dset.real_vectors[np.array([int(r["id"]) for r in records]) - first]
        if self.dset.real_vectors is not None and int(records[-1]["id"]) >= first:   # a batch across the pool's end
            k = next(i for i, r in enumerate(records) if int(r["id"]) >= first)
            return np.concatenate([self.encode_real(records[:k]), self.encode_real(records[k:])])
        path = None
        if self.cache is not None:
            key = hashlib.sha1(f"{self.identity}|{sorted((self.teacher_settings or {}).items())}".encode())
            for r in records:
                key.update(f"\0{r['name']}\0{r['code']}".encode())
            path = self.cache / f"{key.hexdigest()}.npy"
            if path.is_file():
                return np.load(path)
        x = vectors.normalize(self.model.encode_functions(records))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, x)
        return x

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, xb) of every function encoded so far."""
        ids = np.flatnonzero(self.seen).astype(np.int64)
        return ids, self.xb[ids]
