"""FAISS vectors keyed by store row ids: exact inner product when small, HNSW when large, IVF-PQ (re-ranked) when huge."""
from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from codesearch_common.threads import thread_budget

KINDS = ("auto", "flat", "hnsw", "ivfpq")
REFINES = ("none", "sq8", "fp16", "flat")   # IVF-PQ re-ranking codes: d, 2d or 4d bytes a vector


@dataclass
class VectorConfig:
    """Which FAISS index to build and how to search it."""

    kind: str = "auto"                 # auto: flat up to flat_max vectors, hnsw up to hnsw_max, ivfpq above
    flat_max: int = 50_000             # exact search of 50k x 256 floats takes ~3 ms on one core
    hnsw_max: int = 2_000_000          # HNSW keeps floats and graph in RAM: ~2.3 KB a vector, 4.6 GB at 2M
    hnsw_m: int = 32
    hnsw_ef_construction: int = 40
    hnsw_ef_search: int = 320          # recall@10 0.965 at 1M, FAISS 2.2 ms (128: 0.925, 256: 0.956; index_latency.py)
    ivf_nlist: int = 0                 # 0: 4 * sqrt(n), at most one list per 39 training vectors
    pq_m: int = 64                     # sub-quantizers (dim must be a multiple)
    pq_nbits: int = 8
    ivf_nprobe: int = 64
    refine: str = "none"               # re-rank IVF-PQ's top k * refine_factor by these codes (faiss IndexRefine)
    auto_refine: str = "sq8"           # the refine of an IVF-PQ that auto chose (100k: recall@10 0.76 -> 0.956)
    refine_factor: int = 8
    train_max: int = 200_000           # IVF-PQ training sample
    exact_filter_max: int = 20_000     # a filter leaving at most this many vectors is searched exactly
    compact_fraction: float = 0.2      # rebuild an HNSW graph once this share of it is tombstones

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"vectors.kind must be one of {KINDS}, not {self.kind!r}")
        for key in ("refine", "auto_refine"):
            if getattr(self, key) not in REFINES:
                raise ValueError(f"vectors.{key} must be one of {REFINES}, not {getattr(self, key)!r}")
        if self.refine_factor < 1:
            raise ValueError(f"vectors.refine_factor must be at least 1, not {self.refine_factor}")


def use_threads(n: int | None) -> None:
    """Set FAISS's OpenMP threads, process-wide (None: the thread budget, codesearch_common.threads).

    One query gains nothing from threads, and on the shared 2-core machine two OpenMP threads made
    an exact search of 10k vectors take 60 ms instead of 0.8 ms (HNSW at 100k: 20 ms vs 1.7 ms).
    """
    faiss.omp_set_num_threads(thread_budget(n))


def normalize(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero); inner product is then cosine."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    assert x.ndim == 2, x.shape
    if not np.isfinite(x).all():
        x = np.where(np.isfinite(x), x, 0.0).astype(np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def choose_kind(n: int, cfg: VectorConfig) -> str:
    if cfg.kind != "auto":
        return cfg.kind
    return "flat" if n <= cfg.flat_max else "hnsw" if n <= cfg.hnsw_max else "ivfpq"


def kind_config(kind: str, cfg: VectorConfig) -> VectorConfig:
    """The settings an index of this kind is built with: an IVF-PQ that auto chose re-ranks by auto_refine."""
    if kind == "ivfpq" and cfg.kind == "auto" and cfg.refine == "none":
        return dataclasses.replace(cfg, refine=cfg.auto_refine)
    return cfg


def empty_index(kind: str, d: int, cfg: VectorConfig) -> faiss.Index:
    """An untrained, empty index of this kind whose ids are store row ids."""
    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(d))
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(d, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = cfg.hnsw_ef_construction
        inner.hnsw.efSearch = cfg.hnsw_ef_search
        return faiss.IndexIDMap2(inner)
    raise ValueError(f"no empty index of kind {kind!r}")


def build(xb: np.ndarray, ids: np.ndarray, cfg: VectorConfig, kind: str | None = None) -> faiss.Index:
    """Index normalised vectors xb (n, d) under ids (n,)."""
    n, d = xb.shape
    assert ids.shape == (n,), (ids.shape, n)
    kind = kind or choose_kind(n, cfg)
    if kind == "ivfpq":
        index = build_ivfpq(xb, kind_config(kind, cfg))
    else:
        index = empty_index(kind, d, cfg)
    if n:
        index.add_with_ids(np.ascontiguousarray(xb, np.float32), np.ascontiguousarray(ids, np.int64))
    return index


class VectorSink:
    """Vectors arriving in batches, indexed at finish().

    Flat and HNSW keep the batches and build at the end (their index holds the floats anyway). IVF-PQ
    trains on the first train_max vectors and then adds each batch as it comes, so the floats of a
    corpus that does not fit in memory never sit there all at once. Auto decides by `expected` (the
    build's total, when known) or, without it, turns to IVF-PQ once more than hnsw_max are held.
    """

    def __init__(self, cfg: VectorConfig, d: int, expected: int | None = None):
        self.cfg, self.d, self.expected = cfg, d, expected
        self.streams = cfg.kind == "ivfpq" or (cfg.kind == "auto" and expected is not None
                                               and choose_kind(expected, cfg) == "ivfpq")
        self.xs: list[np.ndarray] = []
        self.ids: list[np.ndarray] = []
        self.held = 0
        self.index: faiss.Index | None = None

    def add(self, xb: np.ndarray, ids: np.ndarray) -> None:
        assert xb.shape == (len(ids), self.d), (xb.shape, len(ids), self.d)
        if self.index is not None:
            self.index.add_with_ids(np.ascontiguousarray(xb, np.float32), np.ascontiguousarray(ids, np.int64))
            return
        self.xs.append(xb)
        self.ids.append(np.asarray(ids, np.int64))
        self.held += len(ids)
        if (self.streams and self.held >= self.cfg.train_max) or (self.cfg.kind == "auto" and self.held > self.cfg.hnsw_max):
            self._start_ivfpq()

    def _start_ivfpq(self) -> None:
        """Train IVF-PQ on what is held (a train_max sample of it) and add it all."""
        xb, ids = self._take()
        self.index = build_ivfpq(xb, kind_config("ivfpq", self.cfg), expected=self.expected)
        for i0 in range(0, len(ids), 65536):
            self.index.add_with_ids(np.ascontiguousarray(xb[i0: i0 + 65536], np.float32), ids[i0: i0 + 65536])

    def _take(self) -> tuple[np.ndarray, np.ndarray]:
        xb = np.concatenate(self.xs) if self.xs else np.zeros((0, self.d), np.float32)
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, np.int64)
        self.xs, self.ids, self.held = [], [], 0
        return xb, ids

    def finish(self) -> faiss.Index:
        return self.index if self.index is not None else build(*self._take(), self.cfg)


def build_ivfpq(xb: np.ndarray, cfg: VectorConfig, expected: int | None = None) -> faiss.Index:
    """An IVF-PQ index trained on a sample of xb, for corpora that do not fit in memory as floats.

    Its lists number 4 sqrt(expected) (the vectors it will hold; default xb's), at most one per 39
    training vectors. With cfg.refine, IVF-PQ proposes k * refine_factor candidates and IndexRefine
    re-ranks them by their SQ8, fp16 or float codes; IndexRefine numbers vectors by position, so an
    id map wraps it.
    """
    n, d = xb.shape
    if d % cfg.pq_m:
        raise ValueError(f"vectors.pq_m={cfg.pq_m} must divide the dimension {d}")
    nlist = cfg.ivf_nlist or max(1, int(4 * np.sqrt(max(n, expected or 0, 1))))
    nlist = min(nlist, max(1, min(n, cfg.train_max) // 39))  # k-means wants ~39 points per centroid
    ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(d), d, nlist, cfg.pq_m, cfg.pq_nbits, faiss.METRIC_INNER_PRODUCT)
    index = ivf if cfg.refine == "none" else refine_index(ivf, cfg)
    rng = np.random.default_rng(0)
    sample = xb if n <= cfg.train_max else xb[np.sort(rng.choice(n, cfg.train_max, replace=False))]
    if len(sample) < 2 ** cfg.pq_nbits:
        raise ValueError(f"IVF-PQ needs at least {2 ** cfg.pq_nbits} vectors to train; use vectors.kind=flat")
    index.train(np.ascontiguousarray(sample, np.float32))
    ivf.nprobe = cfg.ivf_nprobe
    if cfg.refine != "none":
        return faiss.IndexIDMap2(index)
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct and remove by row id
    return index


def refine_index(ivf: faiss.Index, cfg: VectorConfig) -> faiss.IndexRefine:
    """IVF-PQ whose candidates are re-ranked by cfg.refine codes of every vector."""
    if cfg.refine == "flat":
        index = faiss.IndexRefineFlat(ivf)
    else:
        qtype = {"sq8": faiss.ScalarQuantizer.QT_8bit, "fp16": faiss.ScalarQuantizer.QT_fp16}[cfg.refine]
        index = faiss.IndexRefine(ivf, faiss.IndexScalarQuantizer(ivf.d, qtype, faiss.METRIC_INNER_PRODUCT))
    index.k_factor = cfg.refine_factor
    return index


def refined(index: faiss.Index) -> bool:
    """Whether the index re-ranks its candidates (an id map over IndexRefine)."""
    return isinstance(index, faiss.IndexIDMap2) and isinstance(faiss.downcast_index(index.index), faiss.IndexRefine)


def kind_of(index: faiss.Index) -> str:
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    if isinstance(inner, faiss.IndexFlat):
        return "flat"
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(inner, (faiss.IndexIVF, faiss.IndexRefine)):
        return "ivfpq"
    raise ValueError(f"unsupported FAISS index {type(inner).__name__}")


def all_ids(index: faiss.Index) -> np.ndarray:
    """Every id the index holds, in its internal order."""
    if isinstance(index, faiss.IndexIDMap2):
        return faiss.vector_to_array(index.id_map).astype(np.int64)
    ivf = faiss.extract_index_ivf(index)
    invlists = ivf.invlists
    out = [faiss.rev_swig_ptr(invlists.get_ids(l), invlists.list_size(l)).copy() for l in range(ivf.nlist)
           if invlists.list_size(l)]
    return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def reconstruct(index: faiss.Index, ids: np.ndarray) -> np.ndarray:
    """Stored vectors of these ids (n, d) (approximate for IVF-PQ)."""
    ids = np.ascontiguousarray(ids, np.int64)
    if not len(ids):
        return np.zeros((0, index.d), np.float32)
    if isinstance(index, faiss.IndexIDMap2):
        return index.reconstruct_batch(ids)
    return np.stack([index.reconstruct(int(i)) for i in ids])


def reconstruct_all(index: faiss.Index) -> tuple[np.ndarray, np.ndarray]:
    """(ids (n,), vectors (n, d)) of everything the index holds."""
    ids = all_ids(index)
    if isinstance(index, faiss.IndexIDMap2):
        return ids, index.index.reconstruct_n(0, index.ntotal)
    return ids, reconstruct(index, ids)


def search_params(index: faiss.Index, cfg: VectorConfig, sel: faiss.IDSelector | None = None,
                  fraction: float = 1.0) -> faiss.SearchParameters | None:
    """Per-query parameters: the id selector, and a wider HNSW beam when a filter leaves few vectors."""
    kind = kind_of(index)
    if kind == "hnsw":
        ef = int(min(4096, cfg.hnsw_ef_search / max(fraction, 1e-3)))
        return faiss.SearchParametersHNSW(sel=sel, efSearch=ef)
    if kind == "ivfpq" and refined(index):
        return refine_params(index, cfg, sel)
    if kind == "ivfpq":
        return faiss.SearchParametersIVF(sel=sel, nprobe=cfg.ivf_nprobe)
    return faiss.SearchParameters(sel=sel) if sel is not None else None


def refine_params(index: faiss.IndexIDMap2, cfg: VectorConfig, sel: faiss.IDSelector | None):
    """IndexRefine's parameters: its k factor, and IVF's nprobe and selector, the selector seeing row ids.

    IndexIDMap2 would translate a selector for the index it wraps, but IndexRefine hands its base only
    base_index_params, so the translated selector goes there.
    """
    inner = faiss.SearchParametersIVF(nprobe=cfg.ivf_nprobe)
    if sel is not None:
        inner.sel = faiss.IDSelectorTranslated(index.id_map, sel)
    return faiss.IndexRefineSearchParameters(k_factor=cfg.refine_factor, base_index_params=inner)


def search(index: faiss.Index, xq: np.ndarray, k: int, params=None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (D (nq, k) inner products, I (nq, k) ids, -1 where fewer), best first."""
    assert xq.ndim == 2 and xq.shape[1] == index.d, (xq.shape, index.d)
    k = max(1, min(k, index.ntotal))
    if index.ntotal == 0:
        return np.zeros((len(xq), 0), np.float32), np.zeros((len(xq), 0), np.int64)
    return index.search(np.ascontiguousarray(xq, np.float32), k, params=params)


def remove(index: faiss.Index, ids: np.ndarray) -> bool:
    """Remove ids where the index supports it; False for HNSW and refined IVF-PQ (the caller keeps tombstones)."""
    if kind_of(index) == "hnsw" or refined(index):
        return False
    index.remove_ids(np.ascontiguousarray(ids, np.int64))
    return True


def save(index: faiss.Index, path: str | Path) -> None:
    """Write the index to a temporary sibling and rename it over path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        faiss.write_index(index, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | Path) -> faiss.Index:
    index = faiss.read_index(str(path))
    if kind_of(index) == "ivfpq" and not refined(index):
        faiss.extract_index_ivf(index).set_direct_map_type(faiss.DirectMap.Hashtable)
    return index
