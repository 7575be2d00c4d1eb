"""The record store: SQLite holds every indexed function; its row ids are the FAISS and lexical ids."""
from __future__ import annotations

import sqlite3
import threading
import zlib
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .analysis import code_hash

COLUMNS = ("id", "repo", "path", "start_line", "end_line", "url", "language",
           "name", "apiseq", "tokens", "desc", "code")
REQUIRED = ("repo", "path", "name", "code")
SCHEMA = """
CREATE TABLE functions (
    id INTEGER PRIMARY KEY,
    repo TEXT NOT NULL, path TEXT NOT NULL, start_line INTEGER NOT NULL, end_line INTEGER NOT NULL,
    url TEXT NOT NULL, language TEXT NOT NULL, name TEXT NOT NULL, apiseq TEXT NOT NULL,
    tokens TEXT NOT NULL, desc TEXT NOT NULL, code TEXT NOT NULL,
    code_hash INTEGER NOT NULL
);
CREATE INDEX functions_repo ON functions(repo);
CREATE INDEX functions_language ON functions(language);
-- vector ids that an approximate (HNSW) index still holds after their functions were removed
CREATE TABLE tombstones (id INTEGER PRIMARY KEY);
"""
_INSERT = f"INSERT INTO functions ({', '.join(COLUMNS)}, code_hash) VALUES ({', '.join('?' * (len(COLUMNS) + 1))})"
_IN_CHUNK = 900  # SQLite's default limit on bound parameters is 999


def check_record(r: dict) -> None:
    """Raise ValueError naming the first field a record lacks."""
    for key in REQUIRED:
        if not isinstance(r.get(key), str) or (key != "code" and not r[key]):
            raise ValueError(f"function record {r.get('id')!r} has no {key!r}")


COMPRESSED = ("apiseq", "tokens", "code")   # the long columns: most of a 10M-row store's bytes


def pack(text: str):
    """zlib bytes of text where that is shorter (SQLite keeps them as a BLOB), else the text itself."""
    raw = text.encode("utf-8")
    z = zlib.compress(raw, 6)
    return z if len(z) < len(raw) else text


def unpack(row: sqlite3.Row) -> dict:
    """A record as a dict, compressed columns back to text."""
    d = dict(row)
    for key in COMPRESSED:
        if isinstance(d.get(key), bytes):
            d[key] = zlib.decompress(d[key]).decode("utf-8")
    return d


def _row(r: dict, rid: int, compress: bool = False) -> tuple:
    text = [r.get("apiseq") or "", r.get("tokens") or "", r["code"]]
    if compress:
        text = [pack(t) for t in text]
    return (int(rid), r["repo"], r["path"], int(r.get("start_line") or 0), int(r.get("end_line") or 0),
            r.get("url") or "", r.get("language") or "", r["name"], text[0], text[1], r.get("desc") or "", text[2],
            code_hash(r["code"]))


class Store:
    """Records by row id; safe to share between threads (one connection behind a lock)."""

    def __init__(self, path: str | Path, create: bool = False, readonly: bool = False, compress: bool = False):
        self.path, self.compress = Path(path), compress   # compress: zlib the long columns of new rows
        if not create and not self.path.exists():
            raise FileNotFoundError(f"{self.path} does not exist")
        uri = f"file:{self.path}?mode={'ro' if readonly else 'rwc'}"
        self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        if create:
            self.db.executescript(SCHEMA)
            self.db.commit()

    def close(self) -> None:
        self.db.close()

    # -- writing ---------------------------------------------------------------------------------
    def insert(self, records: Sequence[dict], ids: Sequence[int]) -> None:
        """Insert records under the given row ids (no commit; see commit())."""
        for r in records:
            check_record(r)
        try:
            with self.lock:
                self.db.executemany(_INSERT, (_row(r, i, self.compress) for r, i in zip(records, ids)))
        except sqlite3.IntegrityError as e:
            raise ValueError(f"duplicate function id among the records ({e})") from None

    def delete_repo(self, repo: str) -> np.ndarray:
        """Delete one repository's functions; return their row ids."""
        with self.lock:
            ids = np.array([r[0] for r in self.db.execute("SELECT id FROM functions WHERE repo = ?", (repo,))],
                           np.int64)
            self.db.execute("DELETE FROM functions WHERE repo = ?", (repo,))
        return ids

    def add_tombstones(self, ids: Iterable[int]) -> None:
        with self.lock:
            self.db.executemany("INSERT OR IGNORE INTO tombstones (id) VALUES (?)", ((int(i),) for i in ids))

    def clear_tombstones(self) -> None:
        with self.lock:
            self.db.execute("DELETE FROM tombstones")

    def commit(self) -> None:
        with self.lock:
            self.db.commit()

    # -- reading ---------------------------------------------------------------------------------
    def _scalar(self, sql: str, args: tuple = ()):
        with self.lock:
            return self.db.execute(sql, args).fetchone()[0]

    def _ids(self, sql: str, args: tuple = ()) -> np.ndarray:
        with self.lock:
            return np.array([r[0] for r in self.db.execute(sql, args)], np.int64)

    def count(self) -> int:
        return self._scalar("SELECT COUNT(*) FROM functions")

    def max_id(self) -> int:
        """The largest row id ever used by a live function or a tombstone (-1 when empty)."""
        a = self._scalar("SELECT MAX(id) FROM functions")
        b = self._scalar("SELECT MAX(id) FROM tombstones")
        return max(-1 if a is None else a, -1 if b is None else b)

    def ids(self) -> np.ndarray:
        return self._ids("SELECT id FROM functions ORDER BY id")

    def ids_and_hashes(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted row ids and their near-duplicate keys, as arrays (8 MB each per million functions)."""
        with self.lock:
            rows = self.db.execute("SELECT id, code_hash FROM functions ORDER BY id").fetchall()
        a = np.array(rows, np.int64).reshape(-1, 2)
        return a[:, 0].copy(), a[:, 1].copy()

    def tombstones(self) -> np.ndarray:
        return self._ids("SELECT id FROM tombstones ORDER BY id")

    def repos(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT DISTINCT repo FROM functions ORDER BY repo")]

    def languages(self) -> list[str]:
        with self.lock:
            return [r[0] for r in self.db.execute("SELECT DISTINCT language FROM functions ORDER BY language")]

    def filter_ids(self, repo: str | None = None, language: str | None = None, path: str | None = None) -> np.ndarray:
        """Sorted row ids of the functions that pass the filters (path is a glob: `*`, `?`, `[...]`)."""
        where, args = [], []
        for col, op, val in (("repo", "=", repo), ("language", "=", language), ("path", "GLOB", path)):
            if val is not None:
                where.append(f"{col} {op} ?")
                args.append(val)
        sql = "SELECT id FROM functions" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
        return self._ids(sql, tuple(args))

    def _in(self, cols: str, ids: Sequence[int]) -> list[sqlite3.Row]:
        rows = []
        ids = [int(i) for i in ids]
        with self.lock:
            for i0 in range(0, len(ids), _IN_CHUNK):
                chunk = ids[i0: i0 + _IN_CHUNK]
                rows += self.db.execute(f"SELECT {cols} FROM functions WHERE id IN ({','.join('?' * len(chunk))})",
                                        chunk).fetchall()
        return rows

    def get(self, ids: Sequence[int]) -> list[dict]:
        """Records of these row ids, in the order asked; unknown ids are left out."""
        by_id = {r["id"]: unpack(r) for r in self._in("*", ids)}
        return [by_id[int(i)] for i in ids if int(i) in by_id]

    def hashes(self, ids: Sequence[int]) -> dict[int, int]:
        """Near-duplicate keys (code_hash) of these row ids."""
        return {r[0]: r[1] for r in self._in("id, code_hash", ids)}

    def iter_records(self, batch: int = 2048, repo: str | None = None) -> Iterable[list[dict]]:
        """All records (optionally of one repository) in id order, in batches."""
        last = -1
        while True:
            sql = "SELECT * FROM functions WHERE id > ?" + (" AND repo = ?" if repo else "") + " ORDER BY id LIMIT ?"
            with self.lock:
                rows = [unpack(r) for r in self.db.execute(sql, (last, repo, batch) if repo else (last, batch))]
            if not rows:
                return
            yield rows
            last = rows[-1]["id"]
