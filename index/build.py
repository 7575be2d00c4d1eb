"""Build an index folder: records into SQLite and tantivy, code vectors into FAISS, then a manifest."""
from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import tantivy

from codesearch_common.fsutil import atomic_dir
from . import vectors
from .encoders import limit_torch_threads, load_encoder, model_info
from .lexical import LexicalIndex
from .manifest import FORMAT, LEXICAL, STORE, VECTORS, IndexConfig, now, write_manifest
from .progress import BuildProgress, clear_status
from .store import Store


def batched(items: Iterable, n: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(itertools.islice(it, n)):
        yield batch


def record_id(r: dict) -> int:
    """The record's integer id (functions.csv `id`), or a ValueError saying it is missing."""
    try:
        return int(r["id"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"function record without an integer id: {str(r)[:120]}") from None


def encode(encoder, records: list[dict]) -> np.ndarray:
    """L2-normalised code vectors (n, d) of records, checked against the encoder's dimension."""
    x = encoder.encode_functions(records)
    if x.shape != (len(records), encoder.dim):
        raise ValueError(f"the encoder returned {x.shape} vectors for {len(records)} functions (dim {encoder.dim})")
    return vectors.normalize(x)


def ingest(records: Iterable[dict], store: Store, lex: LexicalIndex, encoder, cfg: IndexConfig,
           assign_id: Callable[[dict], int], sink: Callable[[np.ndarray, np.ndarray], None],
           total: int | None = None, after_batch: Callable[[int], None] | None = None,
           done: int = 0, teacher_total: int | None = None, status_of: Path | None = None) -> tuple[int, float]:
    """Insert records into the store and the lexical index, encode them into sink(xb, ids): (count, encode s).

    after_batch(count) runs after each batch (a checkpoint); `done` records were indexed by an earlier run.
    teacher_total (how many records the teacher encodes) weighs the progress bar's ETA; status_of: an
    index folder whose build status file (index.progress) this build keeps up to date.
    """
    n, enc_s = 0, 0.0
    bar = BuildProgress(total, teacher_total, encoder, show=cfg.progress, done=done, status_of=status_of)
    try:
        for batch in batched(records, cfg.batch_size):
            rids = [assign_id(r) for r in batch]
            store.insert(batch, rids)
            lex.add({**r, "id": i} for r, i in zip(batch, rids))
            t = time.perf_counter()
            xb = encode(encoder, batch)
            enc_s += time.perf_counter() - t
            sink(xb, np.asarray(rids, np.int64))
            n += len(batch)
            bar.update(batch)
            if after_batch is not None:
                after_batch(n)
    finally:
        bar.close()
    return n, enc_s


def build_index(records: Iterable[dict], model_dir: str | Path | None, out_dir: str | Path,
                cfg: IndexConfig | None = None, *, encoder=None, total: int | None = None,
                resume: bool = False, documented: int | None = None, status: bool = False) -> dict:
    """Index records (functions.csv rows with int `id`) into out_dir, atomically; return the manifest.

    The encoder is `encoder` when given (any object with the codenn bundle methods), else loaded from
    model_dir (a trained model directory, or `hashing[:DIM]` for the untrained baseline). With
    cfg.checkpoint_rows (or resume), progress is committed as it goes and `resume` continues a
    killed build of the same records (index.checkpoint). `documented` (how many records have a
    docstring) lets the progress bar weigh the teacher's work; `status` keeps a status file beside
    out_dir (index.progress) that the web app reads while this build replaces the index it serves.
    """
    cfg = cfg or IndexConfig()
    try:
        if resume or cfg.checkpoint_rows:
            from .checkpoint import build_checkpointed
            return build_checkpointed(records, model_dir, out_dir, cfg, encoder=encoder, total=total,
                                      resume=resume, documented=documented, status=status)
        return build_once(records, model_dir, out_dir, cfg, encoder, total, documented, status)
    finally:
        if status:
            clear_status(out_dir)


def build_once(records: Iterable[dict], model_dir, out_dir, cfg: IndexConfig, encoder, total: int | None,
               documented: int | None, status: bool) -> dict:
    """build_index in one run, without checkpoints."""
    encoder = encoder if encoder is not None else load_encoder(model_dir)
    limit_torch_threads(cfg.torch_threads)
    vectors.use_threads(cfg.faiss_threads)
    total = len(records) if hasattr(records, "__len__") else total
    teacher = configure_teacher(encoder, cfg, total)
    t0 = time.perf_counter()
    with atomic_dir(out_dir) as tmp:
        store = Store(tmp / STORE, create=True, compress=cfg.compress_code)
        lex = LexicalIndex(tmp / LEXICAL, cfg.lexical, create=True)
        sink = vectors.VectorSink(cfg.vectors, encoder.dim, expected=total)
        try:
            n, enc_s = ingest(records, store, lex, encoder, cfg, record_id, sink.add, total,
                              teacher_total=teacher_rows(teacher, total, documented),
                              status_of=Path(out_dir) if status else None)
        except BaseException:
            lex.abort()   # tantivy's threads would otherwise write into the folder being deleted
            store.close()
            raise
        if not n:
            raise ValueError("no functions to index: the records are empty")
        store.commit()
        lex.commit()
        manifest = finish_build(tmp, store, sink, encoder, model_dir, cfg, teacher, (n, enc_s, t0))
    return manifest


def finish_build(tmp: Path, store: Store, sink, encoder, model_dir, cfg: IndexConfig, teacher: dict | None,
                 timing: tuple[int, float, float]) -> dict:
    """Index the sink's vectors, write them and the manifest into tmp, close the store; the manifest.

    timing: (functions encoded, their encoding seconds, the build's start) for the build figures.
    """
    t = time.perf_counter()
    index = sink.finish()
    vec_s = time.perf_counter() - t
    vectors.save(index, tmp / VECTORS)
    manifest = new_manifest(encoder, model_dir, cfg, store, index)
    if teacher is not None:
        manifest["model"]["teacher"] = teacher
    n, enc_s, t0 = timing
    manifest["build"] = build_stats(n, enc_s, vec_s, t0)
    write_manifest(tmp, manifest)
    store.close()
    return manifest


def build_stats(n: int, enc_s: float, vec_s: float, t0: float) -> dict:
    """The manifest's build figures: functions, encoding speed, vector index and total seconds."""
    return {"functions": n, "encode_seconds": round(enc_s, 3), "functions_per_second": round(n / max(enc_s, 1e-9), 1),
            "vector_index_seconds": round(vec_s, 3), "total_seconds": round(time.perf_counter() - t0, 3)}


def teacher_rows(teacher: dict | None, total: int | None, documented: int | None) -> int | None:
    """How many of the records the teacher will encode, from its scope (None when not known)."""
    scope = (teacher or {}).get("scope")
    if scope is None:
        return None
    return 0 if scope == "none" else total if scope == "all" else documented


def configure_teacher(encoder, cfg: IndexConfig, total: int | None) -> dict | None:
    """Apply the index's teacher settings to a distilled model's encoder; the settings, for the manifest.

    `auto` gives every function the teacher's vector when the corpus is small enough to encode in a
    few minutes (teacher_all_max functions; an unknown size counts as large), else documented ones only.
    """
    if not hasattr(encoder, "configure_teacher"):
        return None
    scope = cfg.teacher
    if scope == "auto":
        scope = "all" if total is not None and total <= cfg.teacher_all_max else "documented"
    settings = encoder.configure_teacher(scope, cfg.teacher_tokens, cfg.teacher_int8, cfg.teacher_runtime)
    from .searcher import teacher_queries
    queries = teacher_queries(encoder, settings)
    if queries is not None:   # the build pays for the query model's export, not the first `best` search
        queries.prepare()
    return settings


def new_manifest(encoder, model_dir, cfg: IndexConfig, store: Store, index, **parts) -> dict:
    """The manifest of a fresh index; `parts` (e.g. a backend's lexical/vectors) replace the native ones."""
    stamp = now()
    native = {"lexical": {"engine": "tantivy", "version": tantivy.__version__, "dir": LEXICAL}}
    if index is not None:
        native["vectors"] = {"file": VECTORS, "kind": vectors.kind_of(index), "ntotal": int(index.ntotal),
                             "tombstones": len(store.tombstones())}
    return {
        "format": FORMAT,
        "model": model_info(encoder, model_dir),
        "size": store.count(),
        "repos": len(store.repos()),
        "next_id": store.max_id() + 1,
        "store": STORE,
        **native,
        **parts,
        "config": cfg.to_dict(),
        "created": stamp,
        "updated": stamp,
    }
