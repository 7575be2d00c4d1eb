"""Checkpointed builds: a killed `index build` continues from its last committed batch, without duplicates.

The build writes into `.<out>.partial` beside the output (not a throwaway temporary folder) and,
every `checkpoint_rows` functions, makes its progress durable in this order: the vectors so far
appended to a spool file and fsynced, the lexical index committed, the store committed. The store
is the record of progress: a resumed build takes its row count n as the input records done, cuts
the spool back to n rows, rebuilds the lexical index from the store when it holds another count
(killed between the two commits), skips the first n records and carries on. At the end the
vectors are indexed from the spool in the batches a build without checkpoints adds them in, so
the index equals one built in a single run. A resume whose model or settings differ is refused.
"""
from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterable

import numpy as np

from codesearch_common.fsutil import atomic_open, swap_in
from . import vectors
from .build import configure_teacher, finish_build, ingest, record_id, teacher_rows
from .encoders import limit_torch_threads, load_encoder, model_info
from .lexical import LexicalIndex
from .manifest import LEXICAL, STORE, IndexConfig, write_manifest
from .store import Store

META = "checkpoint.json"
SPOOL_IDS, SPOOL_VECS = "spool.ids", "spool.f32"
DEFAULT_ROWS = 100_000   # a resumable build that names no checkpoint_rows commits this often


def partial_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    return out.with_name(f".{out.name}.partial")


class VectorSpool:
    """Append-only ids (int64) and vectors (float32 rows) of the functions indexed so far."""

    def __init__(self, folder: Path, d: int):
        self.ids_path, self.x_path, self.d = folder / SPOOL_IDS, folder / SPOOL_VECS, d
        self.fi, self.fx = open(self.ids_path, "ab"), open(self.x_path, "ab")

    def count(self) -> int:
        return min(self.ids_path.stat().st_size // 8, self.x_path.stat().st_size // (4 * self.d))

    def truncate(self, n: int) -> None:
        """Keep the first n rows (those a killed run wrote after its last checkpoint go)."""
        if self.count() < n:
            raise ValueError(f"{self.ids_path.parent}: the vector spool holds {self.count()} rows, the store {n}: "
                             "run the build again without --resume")
        self.fi.truncate(8 * n)
        self.fx.truncate(4 * self.d * n)

    def add(self, xb: np.ndarray, ids: np.ndarray) -> None:
        assert xb.shape == (len(ids), self.d), (xb.shape, len(ids), self.d)
        self.fx.write(np.ascontiguousarray(xb, np.float32).tobytes())
        self.fi.write(np.ascontiguousarray(ids, np.int64).tobytes())

    def sync(self) -> None:
        for f in (self.fx, self.fi):
            f.flush()
            os.fsync(f.fileno())

    def close(self) -> None:
        self.fi.close()
        self.fx.close()

    def remove(self) -> None:
        self.close()
        self.ids_path.unlink()
        self.x_path.unlink()


class SpoolSink:
    """What finish_build indexes: the spool's vectors, fed to a VectorSink in the build's batches."""

    def __init__(self, spool: VectorSpool, cfg: IndexConfig):
        self.spool, self.cfg = spool, cfg

    def finish(self):
        self.spool.sync()
        n, d = self.spool.count(), self.spool.d
        sink = vectors.VectorSink(self.cfg.vectors, d, expected=n)
        if n:
            ids = np.memmap(self.spool.ids_path, np.int64, "r", shape=(n,))
            xb = np.memmap(self.spool.x_path, np.float32, "r", shape=(n, d))
            for i0 in range(0, n, self.cfg.batch_size):
                sink.add(np.array(xb[i0: i0 + self.cfg.batch_size]), np.array(ids[i0: i0 + self.cfg.batch_size]))
        return sink.finish()


def open_partial(work: Path, meta: dict, cfg: IndexConfig, resume: bool) -> tuple[Store, LexicalIndex, int]:
    """The partial build's store and lexical index, fresh or as a killed run left them, and the rows done."""
    if work.exists() and not resume:
        shutil.rmtree(work)
    if not work.exists():
        work.mkdir(parents=True)
        with atomic_open(work / META, "w", encoding="utf-8") as f:
            json.dump(meta, f, sort_keys=True)
        return Store(work / STORE, create=True, compress=cfg.compress_code), \
            LexicalIndex(work / LEXICAL, cfg.lexical, create=True), 0
    saved = json.loads((work / META).read_text(encoding="utf-8"))
    if saved != json.loads(json.dumps(meta, sort_keys=True)):
        changed = sorted(k for k in meta if saved.get(k) != json.loads(json.dumps(meta[k])))
        raise ValueError(f"{work} was built with another {', '.join(changed)}: run without --resume to start over")
    store = Store(work / STORE, compress=cfg.compress_code)
    done = store.count()
    lex = LexicalIndex(work / LEXICAL, cfg.lexical)
    if lex.num_docs() != done:   # killed after the lexical commit, before the store's
        from .update import rebuild_lexical
        lex = rebuild_lexical(store, work / LEXICAL, cfg)
        lex.commit()
    return store, lex, done


def build_checkpointed(records: Iterable[dict], model_dir, out_dir: str | Path, cfg: IndexConfig, *,
                       encoder=None, total: int | None = None, resume: bool = False,
                       documented: int | None = None, status: bool = False) -> dict:
    """build_index with checkpoints; `resume` continues the partial build a killed run left."""
    every = cfg.checkpoint_rows or DEFAULT_ROWS
    encoder = encoder if encoder is not None else load_encoder(model_dir)
    limit_torch_threads(cfg.torch_threads)
    vectors.use_threads(cfg.faiss_threads)
    total = len(records) if hasattr(records, "__len__") else total
    teacher = configure_teacher(encoder, cfg, total)
    work = partial_dir(out_dir)
    meta = {"model": model_info(encoder, model_dir), "config": dict(cfg.to_dict(), checkpoint_rows=every),
            "teacher": teacher}
    t0 = time.perf_counter()
    store, lex, done = open_partial(work, meta, cfg, resume)
    spool = VectorSpool(work, encoder.dim)
    committed = [done]

    def commit(n: int) -> None:
        spool.sync()
        lex.commit()
        store.commit()   # last: the store's rows are what a resume trusts
        committed[0] = done + n

    def checkpoint(n: int) -> None:
        if done + n - committed[0] >= every:
            commit(n)

    try:
        spool.truncate(done)
        if done and hasattr(encoder, "skip_rows"):   # an encoder streaming vectors (Ray) starts past them
            encoder.skip_rows(done)
        rest = itertools.islice(iter(records), done, None)
        n, enc_s = ingest(rest, store, lex, encoder, cfg, record_id, spool.add, total, checkpoint, done,
                          teacher_total=teacher_rows(teacher, total, documented),
                          status_of=Path(out_dir) if status else None)
        if not done + n:
            raise ValueError("no functions to index: the records are empty")
        commit(n)
    except BaseException:
        lex.abort()      # the partial folder stays for --resume
        store.close()
        spool.close()
        raise
    manifest = finish_build(work, store, SpoolSink(spool, cfg), encoder, model_dir, cfg, teacher, (n, enc_s, t0))
    spool.remove()
    (work / META).unlink()
    manifest["build"].update(functions=done + n, resumed_from=done)
    write_manifest(work, manifest)
    swap_in(work, Path(out_dir))
    return manifest
