"""Incremental updates: add new repositories' functions, remove repositories, without re-encoding the rest.

Each update copies the index folder to a temporary sibling, changes the copy and swaps it in, so a
reader never sees half an update. The result equals a fresh build over the same repositories: new
functions get ids after every id used so far (as a fresh build over the concatenated functions.csv
would), the lexical index is rebuilt from the store after a removal (tantivy keeps deleted
documents in its BM25 statistics until a merge), and the FAISS index changes kind (flat <-> HNSW)
when its size crosses the threshold, as a fresh build would choose.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable

import numpy as np

from codesearch_common.fsutil import atomic_dir
from . import vectors
from .build import ingest
from .encoders import check_identity, encoder_for, limit_torch_threads, load_encoder
from .lexical import LexicalIndex
from .manifest import LEXICAL, STORE, VECTORS, IndexConfig, now, read_manifest, write_manifest
from .store import Store


def add_functions(index_dir: str | Path, records: Iterable[dict], model_dir: str | Path | None = None, *,
                  encoder=None, replace: bool = False, progress: bool = True) -> dict:
    """Add the functions of repositories not yet indexed (or replace them, with replace=True)."""
    manifest = not_synced(read_manifest(index_dir), index_dir)
    if encoder is None:
        encoder = load_encoder(model_dir) if model_dir is not None else encoder_for(manifest["model"])
    check_identity(manifest["model"], encoder)
    records = list(records)
    if not records:
        raise ValueError("no functions to add")
    cfg = IndexConfig.from_dict(manifest["config"])
    cfg.progress = progress
    teacher = manifest["model"].get("teacher")
    if teacher is not None and hasattr(encoder, "configure_teacher"):   # new functions as the build encoded its own
        encoder.configure_teacher(teacher["scope"], teacher["max_tokens"], teacher["int8"],
                                  teacher.get("runtime", "torch"))
    limit_torch_threads(cfg.torch_threads)
    vectors.use_threads(cfg.faiss_threads)
    new_repos = sorted({r.get("repo") or "" for r in records})
    with atomic_dir(index_dir) as tmp:
        shutil.copytree(index_dir, tmp, dirs_exist_ok=True)
        store = Store(tmp / STORE)
        present = set(store.repos()) & set(new_repos)
        if present and not replace:
            raise ValueError(f"already indexed: {', '.join(sorted(present))} (remove first, or use --replace)")
        index = vectors.load(tmp / VECTORS)
        removed = _delete_repos(store, index, sorted(present), cfg)
        next_id = iter(range(max(manifest["next_id"], store.max_id() + 1), 2 ** 62))
        # a removal rebuilds the lexical index; it is not opened first, or tantivy's writer could still be
        # writing into the folder the rebuild deletes
        lex = rebuild_lexical(store, tmp / LEXICAL, cfg) if removed else LexicalIndex(tmp / LEXICAL, cfg.lexical)
        ingest(records, store, lex, encoder, cfg, lambda r: next(next_id), index.add_with_ids, len(records))
        manifest = _finish(tmp, store, lex, index, cfg, manifest)
    return manifest


def remove_repos(index_dir: str | Path, repos: Iterable[str]) -> dict:
    """Remove every function of these repositories; an unknown repository is an error."""
    manifest = not_synced(read_manifest(index_dir), index_dir)
    repos = list(dict.fromkeys(repos))
    if not repos:
        raise ValueError("name at least one repository to remove")
    cfg = IndexConfig.from_dict(manifest["config"])
    cfg.progress = False
    vectors.use_threads(cfg.faiss_threads)
    with atomic_dir(index_dir) as tmp:
        shutil.copytree(index_dir, tmp, dirs_exist_ok=True)
        store = Store(tmp / STORE)
        unknown = sorted(set(repos) - set(store.repos()))
        if unknown:
            raise ValueError(f"not in the index: {', '.join(unknown)}")
        index = vectors.load(tmp / VECTORS)
        _delete_repos(store, index, repos, cfg)
        lex = rebuild_lexical(store, tmp / LEXICAL, cfg)
        manifest = _finish(tmp, store, lex, index, cfg, manifest)
    return manifest


def not_synced(manifest: dict, index_dir) -> dict:
    """The manifest of an index `index sync` does not keep; a synced one (generations) is changed by syncing."""
    if "generation" in manifest:
        raise ValueError(f"{index_dir} is kept by `codesearch index sync`: add or remove folders by syncing them")
    return manifest


def _delete_repos(store: Store, index, repos: list[str], cfg: IndexConfig) -> int:
    """Delete repositories from the store and the vectors (HNSW keeps tombstones); return the count."""
    n = 0
    for repo in repos:
        ids = store.delete_repo(repo)
        if not vectors.remove(index, ids):
            store.add_tombstones(ids)
        n += len(ids)
    return n


def rebuild_lexical(store: Store, path: Path, cfg: IndexConfig) -> LexicalIndex:
    """A fresh lexical index from the store's records (no encoding involved)."""
    shutil.rmtree(path)
    lex = LexicalIndex(path, cfg.lexical, create=True)
    for batch in store.iter_records():
        lex.add(batch)
    return lex


def _finish(tmp: Path, store: Store, lex: LexicalIndex, index, cfg: IndexConfig, manifest: dict) -> dict:
    """Compact or convert the vectors as a fresh build would have them, commit everything, update the manifest."""
    index = reshape(store, index, cfg)
    store.commit()
    lex.commit()
    vectors.save(index, tmp / VECTORS)
    manifest = dict(manifest, size=store.count(), repos=len(store.repos()), updated=now(),
                    next_id=max(manifest["next_id"], store.max_id() + 1))
    manifest["vectors"] = dict(manifest["vectors"], kind=vectors.kind_of(index), ntotal=int(index.ntotal),
                               tombstones=len(store.tombstones()))
    write_manifest(tmp, manifest)
    store.close()
    return manifest


def reshape(store: Store, index, cfg: IndexConfig):
    """Rebuild the FAISS index from its own vectors when its kind no longer fits its size or tombstones pile up."""
    live = store.count()
    want = vectors.choose_kind(live, cfg.vectors)
    have = vectors.kind_of(index)
    tombs = store.tombstones()
    crowded = len(tombs) > cfg.vectors.compact_fraction * max(index.ntotal, 1)
    if want == have and not crowded:
        return index
    if want == "ivfpq" and have == "ivfpq" and not (crowded and vectors.refined(index)):
        return index   # plain IVF-PQ removes ids in place; a refined one keeps tombstones until crowded
    ids, xb = vectors.reconstruct_all(index)
    keep = ~np.isin(ids, tombs)
    order = np.argsort(ids[keep], kind="stable")  # a fresh build adds in id order
    store.clear_tombstones()
    return vectors.build(xb[keep][order], ids[keep][order], cfg.vectors, kind=want)
