"""Functions by id in an open Searcher: the whole function with its context, its nearest code neighbours, the index's status."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from . import vectors
from .errors import QueryError
from .snapshot import STATE_TABLE


def check_id(fid) -> int:
    """A function id from a hit; QueryError for anything else."""
    if isinstance(fid, bool) or not isinstance(fid, (int, np.integer, str)):
        raise QueryError(f"the function id must be a whole number from a search hit, not {fid!r}")
    try:
        fid = int(fid)
    except ValueError:
        raise QueryError(f"the function id must be a whole number from a search hit, not {fid!r}") from None
    if not 0 <= fid < 2 ** 62:
        raise QueryError(f"no function with id {fid} in the index")
    return fid


def record(searcher, fid) -> dict:
    """The stored record of a function id, or QueryError naming the id."""
    fid = check_id(fid)
    recs = searcher.store.get([fid])
    if not recs:
        raise QueryError(f"no function with id {fid} in the index (ids come from search hits; the index may have been re-synced)")
    return recs[0]


def function(searcher, fid, context: int = 3) -> dict:
    """The whole function and up to `context` lines either side, read from its file only if that file is still the one indexed."""
    if isinstance(context, bool) or not isinstance(context, int) or not 0 <= context <= 50:
        raise QueryError(f"context must be a whole number of lines from 0 to 50, not {context!r}")
    r = record(searcher, fid)
    out = {k: r[k] for k in ("id", "name", "repo", "path", "start_line", "end_line", "url", "language", "desc", "code")}
    lines = source_lines(searcher, r) if context else None
    s, e = r["start_line"], r["end_line"]
    out["before"] = "\n".join(lines[max(0, s - 1 - context): s - 1]) if lines else ""
    out["after"] = "\n".join(lines[e: e + context]) if lines else ""
    out["context_from_file"] = lines is not None
    return out


def source_lines(searcher, r: dict) -> list[str] | None:
    """The lines of a function's file when a synced index knows its folder and the file is unchanged since the sync."""
    roots = searcher.manifest.get("sync", {}).get("roots", {})
    root = roots.get(r["repo"])
    if not root:
        return None
    with searcher.store.lock:
        has = searcher.store.db.execute("SELECT 1 FROM sqlite_master WHERE name='sync_files'").fetchone()
        row = has and searcher.store.db.execute("SELECT blob FROM sync_files WHERE repo=? AND path=?",
                                                (r["repo"], r["path"])).fetchone()
    if not row:
        return None
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(real_root, r["path"]))
    if os.path.commonpath([real_root, path]) != real_root:   # the index names the path; still never leave the folder
        return None
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    if hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest() != row[0]:
        return None    # edited since the sync: its lines no longer match the stored function
    return data.decode("utf-8", errors="replace").splitlines()


def similar(searcher, fid, k: int = 10) -> list[dict]:
    """The k functions whose code vectors are nearest to this function's (itself and removed ones left out)."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 100:
        raise QueryError(f"k must be a whole number from 1 to 100, not {k!r}")
    r = record(searcher, fid)
    I, D = neighbours(searcher.scorers["neural"], r["id"], k + 16)
    keep = (I >= 0) & (I != r["id"])
    ids, scores = searcher.collapse(I[keep], D[keep])
    by_id = {x["id"]: x for x in searcher.store.get(ids[:k])}
    return [dict(hit_fields(by_id[i]), score=float(s)) for i, s in zip(ids[:k].tolist(), scores[:k].tolist())
            if i in by_id]


def neighbours(scorer, fid: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids (n,), scores (n,)) nearest to a function's stored vector, best first, itself included."""
    if not hasattr(scorer, "index"):   # a Milvus collection searches by the vector it stores
        return scorer.similar(fid, n)
    try:
        xq = vectors.reconstruct(scorer.index, np.asarray([fid], np.int64))
    except RuntimeError:
        raise QueryError(f"function {fid} has no stored vector") from None
    D, I = vectors.search(scorer.index, vectors.normalize(xq), n, scorer.params)
    return I[0], D[0]


def hit_fields(r: dict) -> dict:
    return {k: r[k] for k in ("id", "name", "repo", "path", "start_line", "end_line", "url", "language", "desc", "code")}


def status(searcher) -> dict:
    """What the index holds and when it last changed."""
    m = searcher.manifest
    with searcher.store.lock:
        langs = searcher.store.db.execute("SELECT language, COUNT(*) FROM functions GROUP BY language ORDER BY 2 DESC").fetchall()
        has = searcher.store.db.execute("SELECT 1 FROM sqlite_master WHERE name=?", (STATE_TABLE,)).fetchone()
    return {"functions": int(searcher.size), "repositories": len(searcher.repos()),
            "languages": {lang: n for lang, n in langs}, "model": m["model"].get("identity"),
            "modes": searcher.modes(), "generation": int(m.get("generation", 0)), "synced": bool(has),
            "created": m.get("created"), "last_changed": m.get("updated"), "last_synced": last_sync(searcher.index_dir),
            "vectors": m["vectors"].get("kind")}


def last_sync(index_dir: Path) -> str | None:
    """When `index sync` last read the folders (changed or not); None for an index it never synced."""
    try:
        return json.loads((Path(index_dir) / "last_sync.json").read_text(encoding="utf-8")).get("at")
    except (OSError, ValueError):
        return None
