"""Keep an index in sync from inside a server (`codesearch mcp`, `python -m webapp --sync`).

One thread syncs at start, then polls the folders as `index sync --watch` does (same interval and
settle time, index/sync/watch.py), with the model loaded once and shared with the server's Searcher. It
holds the index's watch lock for its life: a second server on the same index finds it taken and only
serves. Each sync takes the ordinary sync lock without waiting, so a hand-run `index sync` is never
queued behind, and a round it holds is retried after the next change.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Callable

from ..manifest import MANIFEST, now, read_manifest
from .watch import WatchConfig, fingerprint, roots, wait_for_change
from .writer import SyncBusyError, SyncConfig, sync, sync_lock

log = logging.getLogger("codesearch.autosync")


class AutoSync:
    """Sync one index now (`sync_now`) or in the background (`start`), and say how that went (`status`)."""

    def __init__(self, index_dir: str | Path, dirs: list[str] | None = None, cfg: SyncConfig | None = None,
                 wcfg: WatchConfig | None = None, encoder_of: Callable[[], object] = lambda: None):
        self.index_dir, self.dirs = Path(index_dir), list(dirs or [])
        self.cfg = cfg or SyncConfig(progress=False)
        self.wcfg = wcfg or WatchConfig()
        self.encoder_of = encoder_of       # the server's loaded model, when it has one
        self.encoder = None                # the model the last sync used
        self.first_done = threading.Event()    # the first sync ended, or the thread will run none
        self._stop = threading.Event()
        self._mutex = threading.Lock()     # one sync at a time in this process: the loop's or a tool's
        self._thread: threading.Thread | None = None
        self.watching = False
        self.note: str | None = None       # why this process does not keep the index in sync
        self.running = False
        self.syncs = 0
        self.last: dict | None = None
        self.error: str | None = None

    def start(self) -> "AutoSync":
        """Sync on a background thread now and after every settled change, until close()."""
        self._thread = threading.Thread(target=self._loop, name="codesearch-autosync", daemon=True)
        self._thread.start()
        return self

    def sync_now(self) -> dict:
        """Sync once (after any sync of this process already running) and return what changed.

        SyncBusyError when another process's sync holds the index; ValueError/OSError for folders or
        an index that cannot be synced.
        """
        with self._mutex:
            self.running, started = True, now()
            try:
                r = sync(self.dirs, self.index_dir, self.cfg, encoder=self.encoder or self.encoder_of())
            except Exception as e:
                self.error = str(e)
                self.last = {"started": started, "ended": now(), "error": str(e)}
                raise
            finally:
                self.running = False
            self.encoder, self.error = r.encoder or self.encoder, None
            self.syncs += 1
            self.last = dict(r.to_dict(), started=started, ended=now())
            return self.last

    def status(self) -> dict:
        """Whether this process keeps the index in sync, whether a sync runs now, and how the last one went."""
        return {"auto_sync": self.watching, "running": self.running, "syncs": self.syncs, "last": self.last,
                "error": self.error, "note": self.note,
                "interval_s": self.wcfg.interval, "settle_s": self.wcfg.settle}

    def close(self, timeout: float = 10.0) -> None:
        """Stop the loop (a sync under way finishes first, up to `timeout` seconds of waiting)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        with contextlib.ExitStack() as stack:
            try:
                self._check_syncable()
                stack.enter_context(sync_lock(self.index_dir, False, "watch"))
            except (SyncBusyError, ValueError, OSError) as e:
                self.note = str(e)
                self.first_done.set()
                return
            self.watching = True
            try:
                while not self._stop.is_set():
                    if not self._round():
                        break
            finally:
                self.watching = False
                self.first_done.set()

    def _round(self) -> bool:
        """One sync, then wait for the next settled change; False when asked to stop."""
        try:
            dirs = self.dirs or roots(self.index_dir)
            seen = fingerprint(dirs)       # before the sync: an edit saved during it is seen after
            try:
                self.sync_now()
            except SyncBusyError as e:     # a hand-run sync: this round is its
                log.info("%s", e)
            except Exception as e:  # noqa: BLE001 -- recorded by sync_now; the next change may fix it
                log.warning("sync of %s failed: %s", self.index_dir, e)
            finally:
                self.first_done.set()
            return wait_for_change(dirs, self.wcfg, self._stop.wait, seen)
        except Exception as e:  # noqa: BLE001 -- a folder gone must not end the server's syncing
            log.warning("watching %s failed: %s", self.index_dir, e)
            self.error = str(e)
            return not self._stop.wait(self.wcfg.interval)

    def _check_syncable(self) -> None:
        """ValueError for an index that `index sync` did not write, or one that does not exist with no folders."""
        if not (self.index_dir / MANIFEST).exists():
            if not self.dirs:
                raise ValueError(f"{self.index_dir} does not exist yet: name the folders to index")
            return
        if "sync" not in read_manifest(self.index_dir):
            raise ValueError(f"{self.index_dir} was built by `index build`: there are no folders to sync it from")
