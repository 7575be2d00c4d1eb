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
from .sync import SyncConfig, SyncReport, sync
from .sync_files import repo_records


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
        while True:
            r = sync(dirs, index_dir, cfg, encoder=encoder)
            encoder = r.encoder    # loaded once: later syncs encode at once
            syncs += 1
            report(r)
            if wcfg.max_syncs is not None and syncs >= wcfg.max_syncs:
                return syncs
            dirs = dirs or list(_roots(index_dir))
            seen = fingerprint(dirs)
            while True:      # wait for a change, then for quiet
                sleep(wcfg.interval)
                now = fingerprint(dirs)
                if now == seen:
                    continue
                seen = now
                sleep(wcfg.settle)
                now = fingerprint(dirs)
                if now == seen:
                    break
                seen = now
    except KeyboardInterrupt:
        print("stopped watching: the index holds the last completed sync", file=sys.stderr)
        return syncs


def _roots(index_dir) -> list[str]:
    from .manifest import read_manifest
    return list(read_manifest(index_dir).get("sync", {}).get("roots", {}).values())
