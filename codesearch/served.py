"""The index a server answers from: opened on a background thread (the protocol's handshake never waits
for it), created by a first sync when it does not exist yet, then kept in sync by an AutoSync."""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from index.errors import QueryError

log = logging.getLogger("codesearch.served")
MANIFEST = "manifest.json"   # index.manifest's, not imported: the handshake does not wait for numpy

WAIT_S = 60.0    # a call waits this long for the index to open (or a first sync to create it) before saying so


class ServedIndex:
    """A LiveSearcher opened in the background plus the AutoSync that keeps its folders' index fresh."""

    def __init__(self, index_dir: str | Path, model_dir: str | None, make_autosync: Callable, auto: bool):
        self.index_dir, self.model_dir, self.auto = Path(index_dir), model_dir, auto
        self._make_autosync = make_autosync     # called on the thread: index.sync imports numpy, FAISS, tantivy
        self.autosync = None
        self.live = None
        self.made = threading.Event()     # the AutoSync exists
        self.ready = threading.Event()    # opened, or failed to
        self.error: Exception | None = None
        self.creating = not (self.index_dir / MANIFEST).exists()

    def start(self) -> "ServedIndex":
        """Open (or first create) the index on a thread; the sync loop starts once it is open."""
        threading.Thread(target=self._open, name="codesearch-open", daemon=True).start()
        return self

    def _open(self) -> None:
        try:
            try:
                self.autosync = self._make_autosync()
                self.autosync.encoder_of = lambda: self.live.encoder() if self.live is not None else None
            finally:
                self.made.set()
            from index.live import LiveSearcher
            if self.creating:   # the first sync builds it; the server says so meanwhile
                if self.auto:
                    self.autosync.start()
                    self.autosync.first_done.wait()
                else:
                    self.autosync.sync_now()
            self.live = LiveSearcher(self.index_dir, self.model_dir, encoder=self.autosync.encoder)
            self.live.get()
        except Exception as e:  # noqa: BLE001 -- every call reports it as a tool error
            log.error("cannot open %s: %s", self.index_dir, e)
            self.error = e
        finally:
            self.ready.set()
        if self.auto and not self.creating and self.error is None:
            self.autosync.start()   # after the open: the sync shares the Searcher's model

    def get(self):
        """The newest generation's Searcher; QueryError while the index is not there yet or cannot be opened."""
        if not self.ready.wait(WAIT_S):
            raise QueryError("the index is still being created from its folders (first sync): call again shortly")
        if self.error is not None and self.creating and (self.index_dir / MANIFEST).exists():
            from index.live import LiveSearcher
            self.error = None     # the first sync failed (no functions yet?); a later one created it
            self.live = LiveSearcher(self.index_dir, self.model_dir, encoder=self.autosync.encoder)
        if self.error is not None:
            raise QueryError(f"the index cannot be opened: {self.error}")
        return self.live.get()

    def status(self) -> dict:
        """Whether the index is open, and its sync state; what it holds once it is open."""
        from index import lookup
        self.made.wait()
        out = {"ready": self.ready.is_set() and self.error is None, "index": str(self.index_dir),
               "error": str(self.error) if self.error is not None else None,
               "sync": dict(self.autosync.status() if self.autosync else {}, enabled=self.auto)}
        if out["ready"]:
            out.update(lookup.status(self.live.get()))
        return out

    def sync_now(self) -> dict:
        """Sync now (the `sync_index` tool) and return what changed; QueryError when it cannot run."""
        from index.sync import SyncBusyError
        self.made.wait()
        if self.autosync is None:
            raise QueryError(f"the index cannot be synced: {self.error}")
        try:
            return self.autosync.sync_now()
        except (SyncBusyError, ValueError, OSError) as e:
            raise QueryError(str(e)) from None

    def close(self) -> None:
        """Stop syncing and close the Searchers."""
        if self.autosync is not None:
            self.autosync.close()
        if self.live is not None:
            self.live.close()
