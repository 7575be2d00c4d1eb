"""`codesearch index sync --watch`: poll the folders and sync once their changes have settled.

Polling, not watchdog: a sync already finds changes by a stat walk that costs a fraction of a second
at 10k files, works the same on every OS and filesystem (network mounts and containers included,
where inotify is silent), needs no per-folder inotify watch (Linux caps them per user:
fs.inotify.max_user_watches) and keeps no event queue that could grow while a sync runs. Memory is
one (path, size, mtime) fingerprint per file plus the model loaded once.
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from preprocess.files import discover
from .scan import repo_records
from .writer import SyncConfig, SyncReport, sync, sync_lock


@dataclass
class WatchConfig:
    """How often to look, and how long the folders must stay still before a sync."""

    interval: float = 2.0     # seconds between stat walks
    settle: float = 1.0       # a change must be this old, with nothing newer, before syncing
    max_syncs: int | None = None   # stop after this many syncs (tests); None: until Ctrl-C


def fingerprint(dirs: list[str]) -> frozenset:
    """(repo, path, size, mtime_ns) of every source file of the folders."""
    out = []
    for repo in repo_records(dirs):
        for src in discover(repo.name, repo.path)[0]:
            try:
                st = os.stat(src.abspath)
            except OSError:
                continue
            out.append((repo.name, src.relpath, st.st_size, st.st_mtime_ns))
    return frozenset(out)


def watch(dirs: list[str], index_dir: str | Path, cfg: SyncConfig, wcfg: WatchConfig | None = None,
          report: Callable[[SyncReport], None] | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Sync now, then again after every settled change; return the number of syncs (Ctrl-C ends it cleanly)."""
    wcfg = wcfg or WatchConfig()
    report = report or (lambda r: print(r.summary(), file=sys.stderr, flush=True))
    encoder = None
    syncs = 0
    try:
        with sync_lock(Path(index_dir), False, "watch"):   # a `codesearch mcp` keeping it in sync already: refuse
            while True:
                seen = fingerprint(dirs) if dirs else None   # before the sync: an edit during it is seen after
                r = sync(dirs, index_dir, cfg, encoder=encoder)
                encoder = r.encoder    # loaded once: later syncs encode at once
                syncs += 1
                report(r)
                if wcfg.max_syncs is not None and syncs >= wcfg.max_syncs:
                    return syncs
                dirs = dirs or roots(index_dir)
                wait_for_change(dirs, wcfg, sleep, seen)
    except KeyboardInterrupt:
        print("stopped watching: the index holds the last completed sync", file=sys.stderr)
        return syncs


def wait_for_change(dirs: list[str], wcfg: WatchConfig, sleep: Callable[[float], object] = time.sleep,
                    seen: frozenset | None = None) -> bool:
    """Return True once the folders differ from `seen` (default: now) and then stayed still for wcfg.settle.

    False as soon as `sleep` returns something true (threading.Event.wait: the owner asked to stop).
    """
    seen = fingerprint(dirs) if seen is None else seen
    while True:
        if sleep(wcfg.interval):
            return False
        now = fingerprint(dirs)
        if now == seen:
            continue
        seen = now
        if sleep(wcfg.settle):
            return False
        now = fingerprint(dirs)
        if now == seen:
            return True
        seen = now


def roots(index_dir) -> list[str]:
    """The folders an index was synced from."""
    from ..manifest import read_manifest
    return list(read_manifest(index_dir).get("sync", {}).get("roots", {}).values())
