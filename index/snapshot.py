"""Open one consistent generation of an index folder: manifest, store snapshot, vectors and lexical paths.

A folder written by `index build` has one generation (manifest.json, store.sqlite, lexical/,
vectors.faiss). `index sync` changes it in place without copying it: the store changes inside one
SQLite transaction (WAL), which also records the new manifest (the commit point); the lexical index
of each generation is a hard-linked copy of the previous one plus new segments (tantivy never
rewrites a file); vectors added since the base FAISS file sit in a small delta file, and removed
ones are tombstones in the store. A reader pins a SQLite read snapshot and takes the parts that
snapshot's manifest names, so it sees the old generation or the new one, never a mix.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import vectors
from .errors import IndexCorruptError
from .manifest import LEXICAL, STORE, VECTORS, read_manifest
from .store import Store

STATE_TABLE = "sync_state"   # key -> JSON value; 'manifest' is the committed manifest of a synced index


@dataclass
class Snapshot:
    """One generation: its manifest, a store pinned at it, and the paths of its other parts."""

    manifest: dict
    store: Store
    lexical_dir: Path
    vectors_file: Path
    delta_file: Path | None

    @property
    def generation(self) -> int:
        return int(self.manifest.get("generation", 0))


def stored_manifest(store: Store) -> dict | None:
    """The manifest a synced store committed (None for an index that `index build` wrote)."""
    with store.lock:
        has = store.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (STATE_TABLE,)).fetchone()
        row = has and store.db.execute(f"SELECT value FROM {STATE_TABLE} WHERE key='manifest'").fetchone()
    return json.loads(row[0]) if row else None


def part_paths(index_dir: Path, manifest: dict) -> tuple[Path, Path, Path | None]:
    """(lexical dir, base vectors file, delta file or None) named by a manifest."""
    lex = index_dir / (manifest.get("lexical") or {}).get("dir", LEXICAL)
    vec = manifest.get("vectors") or {}
    delta = vec.get("delta")
    return lex, index_dir / vec.get("file", VECTORS), (index_dir / delta if delta else None)


def open_snapshot(index_dir: str | Path, tries: int = 3) -> Snapshot:
    """Pin the store's current generation and return it; retried when a sync retires parts meanwhile."""
    index_dir = Path(index_dir)
    for attempt in range(tries):
        fallback = read_manifest(index_dir)   # IndexMissingError / IndexCorruptError for the user
        store = Store(index_dir / STORE, readonly=True)
        with store.lock:
            # a read transaction pins this generation (WAL only: in rollback mode it would block writers)
            if store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                store.db.execute("BEGIN")
        manifest = stored_manifest(store) or fallback
        lex, vec, delta = part_paths(index_dir, manifest)
        if lex.exists() and vec.exists() and (delta is None or delta.exists()):
            return Snapshot(manifest, store, lex, vec, delta)
        store.close()
    raise IndexCorruptError(f"{index_dir}: the parts its manifest names are missing: run `codesearch index sync` again")


def load_vectors(snap: Snapshot):
    """The generation's FAISS index: the base file plus the delta's vectors."""
    index = vectors.load(snap.vectors_file)
    if snap.delta_file is not None:
        ids, xb = read_delta(snap.delta_file)
        if len(ids):
            index.add_with_ids(xb, ids)
    return index


def read_delta(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ids (n,), vectors (n, d)) of a delta file."""
    with np.load(path) as z:
        ids, xb = z["ids"].astype(np.int64), np.ascontiguousarray(z["xb"], np.float32)
    assert xb.ndim == 2 and ids.shape == (len(xb),), (ids.shape, xb.shape)
    return ids, xb


def generation_of(index_dir: str | Path) -> tuple:
    """A cheap token that changes whenever a sync publishes a generation (the manifest file's identity)."""
    try:
        st = (Path(index_dir) / "manifest.json").stat()
    except FileNotFoundError:
        return ()
    return (st.st_ino, st.st_mtime_ns, st.st_size)
