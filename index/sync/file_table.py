"""The parts of a synced index that `index sync` writes: its file table and state in SQLite, lexical copies, vector deltas."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..snapshot import STATE_TABLE, part_paths
from ..store import Store
from .scan import FileState, Key

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sync_files (
    repo TEXT NOT NULL, path TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    PRIMARY KEY (repo, path)
);
CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS functions_repo_path ON functions(repo, path);
"""
_GENERATED = re.compile(r"^(lexical|vectors)(\.\d+)?(\.faiss|\.delta\.npz)?$")


def init(store: Store) -> None:
    """Add the sync tables to a store and switch it to WAL, so readers keep a snapshot while a sync writes."""
    with store.lock:
        store.db.executescript(SCHEMA)
        store.db.execute("PRAGMA journal_mode=WAL")


def read_files(store: Store) -> dict[Key, FileState]:
    with store.lock:
        rows = store.db.execute("SELECT repo, path, blob, size, mtime_ns FROM sync_files").fetchall()
    return {(r[0], r[1]): FileState(r[2], r[3], r[4]) for r in rows}


def count_files(store: Store) -> int:
    with store.lock:
        return store.db.execute("SELECT COUNT(*) FROM sync_files").fetchone()[0]


def put_files(store: Store, states: dict[Key, FileState]) -> None:
    with store.lock:
        store.db.executemany("INSERT OR REPLACE INTO sync_files VALUES (?, ?, ?, ?, ?)",
                             ((k[0], k[1], s.blob, s.size, s.mtime_ns) for k, s in states.items()))


def drop_files(store: Store, keys: list[Key]) -> np.ndarray:
    """Forget files and delete their functions; return the deleted functions' row ids."""
    ids = []
    with store.lock:
        for repo, path in keys:
            ids += [r[0] for r in store.db.execute("SELECT id FROM functions WHERE repo=? AND path=?", (repo, path))]
            store.db.execute("DELETE FROM functions WHERE repo=? AND path=?", (repo, path))
            store.db.execute("DELETE FROM sync_files WHERE repo=? AND path=?", (repo, path))
    return np.asarray(ids, np.int64)


def move_file(store: Store, old: Key, new: Key, url_of) -> None:
    """Point a renamed file's functions (same content, same lines) at their new path and permalink."""
    with store.lock:
        rows = store.db.execute("SELECT id, start_line, end_line FROM functions WHERE repo=? AND path=?", old).fetchall()
        store.db.executemany("UPDATE functions SET path=?, url=? WHERE id=?",
                             ((new[1], url_of(new[1], r[1], r[2]), r[0]) for r in rows))
        store.db.execute("DELETE FROM sync_files WHERE repo=? AND path=?", old)


def relink(store: Store, repo: str, url_of) -> None:
    """Recompute every permalink of a repository (its HEAD or remote changed)."""
    with store.lock:
        rows = store.db.execute("SELECT id, path, start_line, end_line FROM functions WHERE repo=?", (repo,)).fetchall()
        store.db.executemany("UPDATE functions SET url=? WHERE id=?", ((url_of(r[1], r[2], r[3]), r[0]) for r in rows))


def get_state(store: Store, key: str, default=None):
    with store.lock:
        row = store.db.execute(f"SELECT value FROM {STATE_TABLE} WHERE key=?", (key,)).fetchone()
    return json.loads(row[0]) if row else default


def put_state(store: Store, key: str, value) -> None:
    with store.lock:
        store.db.execute(f"INSERT OR REPLACE INTO {STATE_TABLE} VALUES (?, ?)", (key, json.dumps(value, sort_keys=True)))


def link_copy(src: Path, dst: Path) -> None:
    """A copy of a tantivy folder made of hard links: tantivy never rewrites a file, it writes new ones and renames."""
    if dst.exists():
        shutil.rmtree(dst)    # left by a killed sync
    dst.mkdir()
    for f in src.iterdir():
        if f.is_file() and not f.name.startswith(".tantivy-"):   # lock files stay per folder
            os.link(f, dst / f.name)


def write_delta(path: Path, ids: np.ndarray, xb: np.ndarray) -> None:
    """Write a delta file (ids, vectors) under a temporary name and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, ids=np.asarray(ids, np.int64), xb=np.asarray(xb, np.float32))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def collect_garbage(index_dir: Path, keep: list[dict]) -> None:
    """Delete generation parts that none of the kept manifests (the current and the previous) names."""
    named = set()
    for m in keep:
        named |= {p.name for p in part_paths(index_dir, m) if p is not None}
    for f in index_dir.iterdir():
        if _GENERATED.match(f.name) and f.name not in named:
            shutil.rmtree(f) if f.is_dir() else f.unlink(missing_ok=True)
