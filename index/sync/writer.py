"""`codesearch index sync DIR...`: create an index of folders, or bring it up to date with what changed on disk.

Only files whose git blob id changed are extracted and encoded again; the functions of deleted
files go; renamed files keep their functions (new path and permalink). Each batch of files is one
generation, committed in one SQLite transaction (see index/snapshot.py), so a killed sync leaves the
last committed generation usable and the next sync carries on from it.
"""
from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import multiprocessing as mp
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from codesearch_common.fsutil import atomic_dir, atomic_open
from crawler.manifest import RepoRecord, permalink
from .. import vectors
from ..build import build_index, ingest
from ..encoders import check_identity, encoder_for, limit_torch_threads, load_encoder
from ..lexical import LexicalIndex
from ..manifest import MANIFEST, STORE, IndexConfig, now, write_manifest
from ..snapshot import part_paths, read_delta, stored_manifest
from ..store import Store
from ..update import rebuild_lexical, reshape
from . import file_table as ss
from .scan import Changes, FileState, Key, diff, extract, repo_records, restatted, scan

LAST_SYNC = "last_sync.json"
RACY_NS = 2_000_000_000   # files modified this close to the last sync are re-hashed (coarse clocks)


class SyncBusyError(RuntimeError):
    """Another sync holds the index's lock."""


@dataclass
class SyncConfig:
    """How a sync runs: the model for a new index, batching, when to fold deltas, waiting for another sync."""

    model: str | None = None          # a new index's model (default: the shipped one); later syncs use the index's
    index: IndexConfig = field(default_factory=IndexConfig)
    progress: bool = True
    wait: bool = False                # wait for a running sync instead of refusing
    batch_files: int = 2000           # files per generation: a killed sync keeps the batches it committed
    workers: int = max(1, min(2, os.cpu_count() or 1))
    fold_min: int = 20_000            # fold the vector delta into the base FAISS file beyond max(fold_min,
    fold_fraction: float = 0.1        #   fold_fraction * base size) vectors: readers add the delta at open
    lexical_rebuild_fraction: float = 0.2   # rebuild BM25 once this share of its documents is deleted ones


@dataclass
class SyncReport:
    """What a sync did."""

    created: bool = False
    changes: Changes = field(default_factory=Changes)
    added: int = 0          # functions
    removed: int = 0
    functions: int = 0
    generation: int = 0
    seconds: float = 0.0
    encoder: object = field(default=None, repr=False)   # the model it loaded, for the next sync of a watch

    def to_dict(self) -> dict:
        """What changed, for programs (the MCP `sync_index` tool)."""
        ch = self.changes
        return {"changed": bool(self.created or ch or self.added or self.removed), "created": self.created,
                "files_added_or_changed": [f"{r}/{p}" for r, p in ch.added],
                "files_removed_or_changed": [f"{r}/{p}" for r, p in ch.deleted],
                "files_renamed": [[f"{a[0]}/{a[1]}", f"{b[0]}/{b[1]}"] for a, b in ch.renamed],
                "functions_added": self.added, "functions_removed": self.removed, "functions": self.functions,
                "generation": self.generation, "seconds": round(self.seconds, 3), "summary": self.summary()}

    def summary(self) -> str:
        if not self.created and not self.changes and not self.added and not self.removed:
            return f"up to date: {self.functions:,} functions (generation {self.generation}, {self.seconds:.2f} s)"
        verb = "created" if self.created else "updated"
        return (f"{verb}: {self.changes.summary()}; +{self.added:,} -{self.removed:,} functions, "
                f"{self.functions:,} in all (generation {self.generation}, {self.seconds:.2f} s)")


def shipped_model() -> str:
    """The model directory shipped inside the codenn package (found without importing torch)."""
    spec = importlib.util.find_spec("codenn")
    return str(Path(list(spec.submodule_search_locations)[0]) / "pretrained")


@contextlib.contextmanager
def sync_lock(index_dir: Path, wait: bool, kind: str = "sync"):
    """Hold the index's sync lock (a sibling file, so it exists before the index does).

    kind "watch" is the lock a process keeping the index in sync holds for its life (`index sync
    --watch`, `codesearch mcp`): a second such process serves and leaves the syncing to the first.
    """
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    path = index_dir.with_name(f".{index_dir.name}.{kind}.lock")
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            if kind == "watch":
                raise SyncBusyError(f"process {holder} already keeps {index_dir} in sync") from None
            raise SyncBusyError(f"another `codesearch index sync` (pid {holder}) is updating {index_dir}: "
                                f"run again when it has finished, or pass --wait to queue behind it") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def sync(dirs: list[str], index_dir: str | Path, cfg: SyncConfig | None = None, *, encoder=None) -> SyncReport:
    """Create or update the index of these folders (none: the folders it was synced from) to match them."""
    cfg = cfg or SyncConfig()
    index_dir = Path(index_dir)
    t0 = time.perf_counter()
    with sync_lock(index_dir, cfg.wait):
        if not (index_dir / MANIFEST).exists():
            if not dirs:
                raise ValueError(f"{index_dir} does not exist yet: name the folders to index")
            if index_dir.exists() and (not index_dir.is_dir() or any(index_dir.iterdir())):
                raise ValueError(f"{index_dir} exists and is not an index: choose a new or empty folder for --index")
            report = create(repo_records(dirs), index_dir, cfg, encoder)
        else:
            updater = Updater(index_dir, cfg, encoder)
            report = updater.run(dirs)
            report.encoder = updater._encoder
        report.seconds = time.perf_counter() - t0
        # outside the generations: a sync that changed nothing still says when the folders were last read
        with atomic_open(index_dir / LAST_SYNC, "w", encoding="utf-8") as f:
            json.dump({"at": now(), "seconds": round(report.seconds, 3), "generation": report.generation,
                       "changed": bool(report.created or report.changes or report.added or report.removed)}, f)
    return report


def extract_rows(keys: list[Key], sources: dict, repos: dict[str, RepoRecord], cfg: SyncConfig,
                 cache: dict[Key, list[dict]] | None = None) -> list[dict]:
    """The function rows of these files, in (repo, path, position) order, as `preprocess extract` writes them.

    Files in `cache` (rows a first sync extracted already) are not read again.
    """
    cache = cache or {}
    files = [sources[k] for k in keys if k not in cache]
    parallel = cfg.workers > 1 and len(files) >= 64   # forking costs more than a few files take
    found = {}
    with mp.get_context("fork").Pool(cfg.workers) if parallel else contextlib.nullcontext() as pool:
        results = pool.imap(extract, files, chunksize=8) if parallel else map(extract, files)
        for src, (records, _) in tqdm(zip(files, results), total=len(files), desc="extract", unit="file",
                                      disable=not cfg.progress or len(files) < 100, mininterval=1):
            repo = repos[src.repo]
            found[(src.repo, src.relpath)] = [
                {"repo": src.repo, "path": src.relpath,
                 "url": permalink(repo, src.relpath, rec["start_line"], rec["end_line"]),
                 "language": rec.get("language") or getattr(src, "language", None) or "python", **rec}
                for rec in records]
    return [r for k in keys for r in (cache[k] if k in cache else found[k])]


def repo_state(repos: list[RepoRecord]) -> dict:
    return {r.name: {"path": r.path, "url": r.url, "sha": r.sha, "subdir": r.subdir} for r in repos}


def create(repos: list[RepoRecord], index_dir: Path, cfg: SyncConfig, encoder) -> SyncReport:
    """A new index of the folders: the first batch of files built in a temporary folder and renamed into
    place, the other batches added as generations, so that a killed first sync resumes where it stopped."""
    states, sources = scan(repos, {}, 0)
    keys = sorted(states)
    rows = extract_rows(keys, sources, {r.name: r for r in repos}, cfg)
    if not rows:
        raise ValueError(f"no functions found in {', '.join(r.path for r in repos)}: nothing to index")
    by_file: dict[Key, list[dict]] = {k: [] for k in keys}
    for r in rows:
        by_file[(r["repo"], r["path"])].append(r)
    # the teacher's `auto` scope looks at the whole corpus, not at the first batch
    if cfg.index.teacher == "auto":
        cfg.index.teacher = "all" if len(rows) <= cfg.index.teacher_all_max else "documented"
    # the first batch: batch_files files, and more until it holds a function (an index is never empty)
    n = min(cfg.batch_files, len(keys))
    while not any(by_file[k] for k in keys[:n]):
        n += 1
    first = [r for k in keys[:n] for r in by_file[k]]
    for i, r in enumerate(first):
        r["id"] = i
    for orphan in index_dir.parent.glob(f".{index_dir.name}.*.tmp"):   # a killed first sync's build folder
        shutil.rmtree(orphan, ignore_errors=True)
    model = cfg.model or shipped_model()
    encoder = encoder if encoder is not None else load_encoder(model, torch_free=True)
    cfg.index.progress = cfg.progress
    with atomic_dir(index_dir) as tmp:
        built = tmp / "build"
        manifest = build_index(first, model, built, cfg.index, encoder=encoder)
        for f in built.iterdir():
            os.replace(f, tmp / f.name)
        built.rmdir()
        store = Store(tmp / STORE)
        ss.init(store)
        ss.put_files(store, {k: states[k] for k in keys[:n]})
        manifest = dict(manifest, generation=0, sync={"roots": {r.name: r.path for r in repos}, "files": n})
        ss.put_state(store, "repos", repo_state(repos))
        ss.put_state(store, "synced_ns", time.time_ns())
        ss.put_state(store, "manifest", manifest)
        store.commit()
        store.close()
        write_manifest(tmp, manifest)
    report = SyncReport(created=True, added=len(first), functions=manifest["size"], encoder=encoder)
    if n < len(keys):
        rest = {k: (states[k].blob, by_file[k]) for k in keys[n:]}
        updater = Updater(index_dir, cfg, encoder, cache=rest)
        more = updater.run([r.path for r in repos])
        report.added, report.functions, report.generation = len(first) + more.added, more.functions, more.generation
    report.changes = Changes(added=keys)
    return report


class Updater:
    """One incremental sync of an existing index (the caller holds its lock)."""

    def __init__(self, index_dir: Path, cfg: SyncConfig, encoder, cache: dict[Key, tuple[str, list[dict]]] | None = None):
        self.dir, self.cfg, self._encoder, self._cache = index_dir, cfg, encoder, cache or {}
        self.store = Store(index_dir / STORE)
        manifest = stored_manifest(self.store)
        if manifest is None:
            self.store.close()
            raise ValueError(f"{index_dir} was built by `index build`, not by `index sync`: sync into a new folder "
                             f"(or use `codesearch index add|remove`)")
        self.manifest = manifest
        self.icfg = IndexConfig.from_dict(manifest["config"])
        self.icfg.progress = cfg.progress

    def run(self, dirs: list[str]) -> SyncReport:
        try:
            return self._run(dirs)
        finally:
            self.store.close()   # an uncommitted batch rolls back: the last generation stays

    def _run(self, dirs: list[str]) -> SyncReport:
        self._repair()
        roots = self.manifest.get("sync", {}).get("roots", {})
        repos = repo_records(dirs or list(roots.values()))
        self.repos = {r.name: r for r in repos}
        known = ss.read_files(self.store)
        racy = ss.get_state(self.store, "synced_ns", 0) - RACY_NS
        states, self.sources = scan(repos, known, racy)
        changes = diff(known, states)
        # rows a first sync extracted, for files still holding the bytes it read
        self.cache = {k: rows for k, (blob, rows) in self._cache.items() if k in states and states[k].blob == blob}
        old_repos = ss.get_state(self.store, "repos", {})
        relink = [n for n, s in repo_state(repos).items() if n in old_repos and old_repos[n] != s]
        report = SyncReport(changes=changes)
        if changes or relink or set(old_repos) != set(self.repos):
            self._apply(changes, states, relink, report)
        touched = restatted(known, states)
        if touched:   # no new generation: readers never look at file stats
            ss.put_files(self.store, touched)
            self.store.commit()
        report.functions, report.generation = self.store.count(), int(self.manifest.get("generation", 0))
        return report

    def _repair(self) -> None:
        """Rewrite manifest.json from the store when a killed sync committed but did not get to write it."""
        on_disk = self.dir / MANIFEST
        try:
            same = json.loads(on_disk.read_text(encoding="utf-8")).get("generation") == self.manifest.get("generation")
        except (OSError, ValueError):
            same = False
        if not same:
            write_manifest(self.dir, self.manifest)

    @property
    def encoder(self):
        """The index's own model, loaded only when something has to be encoded."""
        if self._encoder is None:
            # numpy for the default model: a one-file sync does not wait for torch to import
            self._encoder = encoder_for(self.manifest["model"], torch_free=True) if not self.cfg.model else \
                load_encoder(self.cfg.model, torch_free=True)
        check_identity(self.manifest["model"], self._encoder)
        teacher = self.manifest["model"].get("teacher")
        if teacher is not None and hasattr(self._encoder, "configure_teacher"):
            self._encoder.configure_teacher(teacher["scope"], teacher["max_tokens"], teacher["int8"],
                                             teacher.get("runtime", "torch"))
        limit_torch_threads(self.icfg.torch_threads)
        return self._encoder

    def _apply(self, ch: Changes, states: dict[Key, FileState], relink: list[str], report: SyncReport) -> None:
        """Commit the changes in batches of files, one generation each; renames and relinks go in the first."""
        deleted, added = set(ch.deleted), set(ch.added)
        keys = sorted(deleted | added)
        batches = [keys[i: i + self.cfg.batch_files] for i in range(0, len(keys), self.cfg.batch_files)] or [[]]
        bar = tqdm(total=len(keys), desc="sync", unit="file", disable=not self.cfg.progress or len(keys) < 100)
        for n, batch in enumerate(batches):
            first = n == 0
            self._generation([k for k in batch if k in deleted], [k for k in batch if k in added], states,
                             ch.renamed if first else [], relink if first else [], report)
            bar.update(len(batch))
        bar.close()

    def _generation(self, dels: list[Key], adds: list[Key], states, renames, relink, report) -> None:
        """Write and commit one generation."""
        gen = int(self.manifest.get("generation", 0)) + 1
        previous = self.manifest
        for old, new in renames:
            ss.move_file(self.store, old, new, self._url_of(new[0]))
        for repo in relink:
            ss.relink(self.store, repo, self._url_of(repo))
        removed = ss.drop_files(self.store, dels)
        ss.put_files(self.store, {k: states[k] for k in adds} | {new: states[new] for _, new in renames})
        rows = extract_rows(adds, self.sources, self.repos, self.cfg, self.cache)
        lex_dir, delta_ids, delta_xb, lex_deleted = self._lexical(gen, removed)
        next_id = iter(range(max(self.manifest["next_id"], self.store.max_id() + 1), 2 ** 62))
        new_ids, new_xb = [], []
        lex = LexicalIndex(lex_dir, self.icfg.lexical)
        if lex_deleted and len(removed):   # not rebuilt: delete the old documents (one commit with the new ones)
            lex.delete(removed)
        if rows:
            ingest(rows, self.store, lex, self.encoder, self.icfg, lambda r: next(next_id),
                   lambda xb, ids: (new_xb.append(xb), new_ids.append(ids)), len(rows))
        lex.commit()
        in_delta = np.isin(removed, delta_ids)
        self.store.add_tombstones(removed[~in_delta])
        keep = ~np.isin(delta_ids, removed)
        ids = np.concatenate([delta_ids[keep]] + new_ids)
        xb = np.concatenate([delta_xb[keep]] + new_xb) if len(ids) else np.zeros((0, delta_xb.shape[1]), np.float32)
        vec = self._vectors(gen, ids, xb)
        self.manifest = self._manifest(gen, lex_dir, vec, lex_deleted)
        ss.put_state(self.store, "manifest", self.manifest)
        ss.put_state(self.store, "repos", repo_state(list(self.repos.values())))
        ss.put_state(self.store, "synced_ns", time.time_ns())
        self.store.commit()                      # the commit point: readers now open this generation
        write_manifest(self.dir, self.manifest)
        ss.collect_garbage(self.dir, [self.manifest, previous])
        report.added += len(rows)
        report.removed += len(removed)

    def _url_of(self, repo: str):
        rec = self.repos[repo]
        return lambda path, start, end: permalink(rec, path, start, end)

    def _lexical(self, gen: int, removed: np.ndarray):
        """This generation's lexical folder (hard-linked copy, or rebuilt when deletions pile up) and the delta."""
        lex_dir, base, delta = part_paths(self.dir, self.manifest)
        new_dir = self.dir / f"lexical.{gen}"
        deleted = int(self.manifest["lexical"].get("deleted", 0)) + len(removed)
        if deleted > self.cfg.lexical_rebuild_fraction * max(self.store.count(), 1):
            new_dir.mkdir(exist_ok=True)
            rebuild_lexical(self.store, new_dir, self.icfg).commit()  # BM25 statistics without the deleted
            deleted = 0
        else:
            ss.link_copy(lex_dir, new_dir)
        if delta is not None:
            ids, xb = read_delta(delta)
        else:
            ids, xb = np.zeros(0, np.int64), np.zeros((0, int(self.manifest["model"]["dim"])), np.float32)
        return new_dir, ids, xb, deleted

    def _vectors(self, gen: int, ids: np.ndarray, xb: np.ndarray) -> dict:
        """Write this generation's delta, or fold it into a new base FAISS file when it has grown large."""
        _, base, _ = part_paths(self.dir, self.manifest)
        info = dict(self.manifest["vectors"])
        base_n = int(info.get("ntotal", 0)) - int(info.get("delta_size", 0))
        tombs = len(self.store.tombstones())
        fold = len(ids) > max(self.cfg.fold_min, self.cfg.fold_fraction * base_n) or \
            tombs > self.icfg.vectors.compact_fraction * max(base_n, 1)
        if fold:
            vectors.use_threads(self.icfg.faiss_threads)
            index = vectors.load(base)
            if len(ids):
                index.add_with_ids(xb, ids)
            index = reshape(self.store, index, self.icfg)    # the kind a fresh build would choose; no tombstones
            name = f"vectors.{gen}.faiss"
            vectors.save(index, self.dir / name)
            return dict(info, file=name, delta=None, delta_size=0, kind=vectors.kind_of(index),
                        ntotal=int(index.ntotal), tombstones=len(self.store.tombstones()))
        name = f"vectors.{gen}.delta.npz"
        ss.write_delta(self.dir / name, ids, xb)
        return dict(info, delta=name, delta_size=len(ids), ntotal=base_n + len(ids), tombstones=tombs)

    def _manifest(self, gen: int, lex_dir: Path, vec: dict, lex_deleted: int) -> dict:
        m = dict(self.manifest, generation=gen, size=self.store.count(), repos=len(self.store.repos()), updated=now(),
                 next_id=max(self.manifest["next_id"], self.store.max_id() + 1), vectors=vec)
        m["lexical"] = dict(m["lexical"], dir=lex_dir.name, deleted=lex_deleted)
        m["sync"] = {"roots": {n: r.path for n, r in self.repos.items()}, "files": ss.count_files(self.store)}
        return m

