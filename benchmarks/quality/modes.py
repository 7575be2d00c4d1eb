"""The modes of the quality report: ours (neural, lexical, hybrid) and the peers, one registry entry each.

A mode turns an evaluation context into a score matrix S (nq, nb) over the whole pool, plus the time
one query takes. Adding a mode (e.g. a fusion of two others, see `fused`) is one entry in MODES.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm import tqdm

from benchmarks import peers as peers_mod
from benchmarks.benchfile import Bench, pool_records


@dataclass
class ModeRun:
    """What one mode produced: scores over the pool and the median time of one query."""

    S: np.ndarray          # (nq, nb) float32; -inf where an item was not returned
    ms_per_query: float


@dataclass
class Mode:
    """A registry entry: how to run the mode, and what it needs ("model", "minilm")."""

    run: Callable[["Context"], ModeRun]
    needs: tuple[str, ...] = ()
    label: str = ""


@dataclass
class Context:
    """Lazily built, shared state of one evaluation: records, our index, fitted peers, mode runs."""

    bench: Bench
    model_dir: str | None = None
    workdir: str | None = None          # where our index is built (a temporary folder by default)
    cache_dir: str | None = None        # peer embedding cache
    time_sample: int = 50               # single queries timed for batched scorers
    progress: bool = True
    index_settings: list[str] = field(default_factory=list)   # IndexConfig overrides, e.g. teacher_tokens=256
    notes: list[str] = field(default_factory=list)
    build_s: dict[str, float] = field(default_factory=dict)   # index/fit seconds per system
    unparsed: int = 0                   # pool functions indexed from raw text (no parse)
    _records: list[dict] | None = None
    _searcher: object = None
    _positions: np.ndarray | None = None
    _peers: dict = field(default_factory=dict)
    _runs: dict = field(default_factory=dict)
    _tmp: object = None

    @property
    def records(self) -> list[dict]:
        """The pool as functions.csv records (id = pool index + 1)."""
        if self._records is None:
            self._records, self.unparsed = pool_records(self.bench)
            if self.unparsed:
                self.notes.append(f"{self.unparsed} of {self.bench.nb} pool functions did not parse: "
                                  "indexed from their raw text")
        return self._records

    @property
    def searcher(self):
        """Our Searcher over the pool, indexed with the trained model in a temporary folder."""
        if self._searcher is None:
            from index.build import build_index
            from index.manifest import IndexConfig
            from index.searcher import Searcher
            if self.workdir is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="bench-index-")
                self.workdir = self._tmp.name
            out = Path(self.workdir) / "index"
            records = self.records
            t0 = time.perf_counter()
            build_index(records, self.model_dir, out, IndexConfig(progress=self.progress).override(self.index_settings))
            self.build_s["ours"] = time.perf_counter() - t0
            self._searcher = Searcher.open(out, self.model_dir)
            by_id = {r["id"]: i for i, r in enumerate(records)}
            self._positions = np.array([by_id[int(i)] for i in self._searcher.ids()], dtype=np.int64)
        return self._searcher

    def peer(self, name: str):
        """A peer fitted on the pool (embeddings come from the cache when it has them)."""
        if name not in self._peers:
            p = peers_mod.PEERS[name](cache_dir=self.cache_dir)
            t0 = time.perf_counter()
            p.fit(self.bench.codes)
            self.build_s[name] = time.perf_counter() - t0
            if getattr(p, "cache_hit", False):
                self.notes.append(f"{name}: pool embeddings read from the cache {p.cache_path(self.bench.codes)}")
            self._peers[name] = p
        return self._peers[name]

    def run(self, name: str) -> ModeRun:
        """Run a mode once (memoised, so fusions reuse their parts)."""
        if name not in self._runs:
            self._runs[name] = MODES[name].run(self)
        return self._runs[name]

    def close(self) -> None:
        if self._searcher is not None and hasattr(self._searcher, "close"):
            self._searcher.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def timed_matrix(score_one: Callable[[str], np.ndarray], queries: Sequence[str], nb: int,
                 score_many: Callable[[Sequence[str]], np.ndarray] | None = None,
                 sample: int = 50, progress: bool = False, desc: str = "") -> ModeRun:
    """Score every query; time single queries (all of them, or a sample when a batched path exists)."""
    times = []
    if score_many is None:
        S = np.empty((len(queries), nb), dtype=np.float32)
        for i, q in enumerate(tqdm(queries, desc=desc, disable=not progress, leave=False)):
            t0 = time.perf_counter()
            S[i] = score_one(q)
            times.append(time.perf_counter() - t0)
    else:
        S = np.asarray(score_many(queries), dtype=np.float32)
        for q in queries[:2]:                       # warm-up: first calls allocate
            score_one(q)
        for q in queries[:sample]:
            t0 = time.perf_counter()
            score_one(q)
            times.append(time.perf_counter() - t0)
    assert S.shape == (len(queries), nb), (S.shape, len(queries), nb)
    return ModeRun(S, 1000 * statistics.median(times) if times else 0.0)


def ours(mode: str) -> Callable[[Context], ModeRun]:
    """Our Searcher in one of its modes, scoring the whole pool (Searcher.score_all)."""
    def run(ctx: Context) -> ModeRun:
        searcher, nb = ctx.searcher, ctx.bench.nb
        pos = ctx._positions

        def score_one(q: str) -> np.ndarray:
            row = np.full(nb, -np.inf, dtype=np.float32)   # items missing from the index are not returned
            row[pos] = searcher.score_all(q, mode)
            return row
        return timed_matrix(score_one, ctx.bench.queries, nb, progress=ctx.progress, desc=mode)
    return run


def peer(name: str) -> Callable[[Context], ModeRun]:
    """A peer; one scoring the queries in a batch (score_many) has a sample of single queries timed."""
    def run(ctx: Context) -> ModeRun:
        p = ctx.peer(name)
        return timed_matrix(p.scores, ctx.bench.queries, ctx.bench.nb, getattr(p, "score_many", None),
                            ctx.time_sample, ctx.progress, name)
    return run


def fused(parts: Sequence[str], fuse: Callable[[list[np.ndarray]], np.ndarray]) -> Callable[[Context], ModeRun]:
    """A fusion of other modes' score matrices; its query time is theirs plus the fusion's share."""
    def run(ctx: Context) -> ModeRun:
        runs = [ctx.run(p) for p in parts]
        t0 = time.perf_counter()
        S = np.asarray(fuse([r.S for r in runs]), dtype=np.float32)
        fuse_ms = 1000 * (time.perf_counter() - t0) / max(ctx.bench.nq, 1)
        return ModeRun(S, sum(r.ms_per_query for r in runs) + fuse_ms)
    return run


MODES: dict[str, Mode] = {
    "neural": Mode(ours("neural"), ("model",), "ours: CODEnn vectors"),
    "lexical": Mode(ours("lexical"), ("model",), "ours: lexical index"),
    "hybrid": Mode(ours("hybrid"), ("model",), "ours: hybrid (default)"),
    "best": Mode(ours("best"), ("model", "minilm", "teacher"), "ours: best (MiniLM query + hybrid)"),
    "bm25": Mode(peer("bm25"), (), "peer: BM25 (bm25s) over identifier-split code"),
    "minilm": Mode(peer("minilm"), ("minilm",), "peer: all-MiniLM-L6-v2, off the shelf"),
}
