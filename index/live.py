"""What the front ends open: an index's newest generation once, or a Searcher that follows its generations."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from .searcher import Searcher
from .snapshot import generation_of


def open_index(index_dir: str | Path, model_dir: str | Path | None = None, encoder=None) -> Searcher:
    """Open the index's newest generation once (a command's search, a server's start-up check)."""
    return Searcher.open(index_dir, model_dir, encoder=encoder)


def query_encoder(searcher: Searcher):
    """The query model an open Searcher loaded, for a sync to share instead of loading its own."""
    return searcher.scorers["neural"].encoder


class LiveSearcher:
    """Hand out the Searcher of the index's newest generation, reopened (models kept) when it changes.

    Each get() stats manifest.json (a few microseconds) unless check_every seconds have not passed.
    """

    def __init__(self, index_dir: str | Path, model_dir: str | Path | None = None, check_every: float = 0.0,
                 encoder=None):
        self.index_dir, self.model_dir, self.check_every = Path(index_dir), model_dir, check_every
        self._encoder = encoder    # a model already loaded (a sync's): the first open takes it
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._retired: Searcher | None = None
        self._token: tuple = ()
        self._checked = 0.0

    def get(self) -> Searcher:
        """The current Searcher; a request already running keeps the one it took (its generation stays whole)."""
        now = time.monotonic()
        current = self._searcher
        if current is not None and (now - self._checked < self.check_every or generation_of(self.index_dir) == self._token):
            return current
        # while one thread opens the new generation, the others keep answering from the old one
        if not self._lock.acquire(blocking=current is None):
            return current
        try:
            self._checked = now
            token = generation_of(self.index_dir)
            if not token and self._searcher is not None:
                return self._searcher   # a rebuilt index is being swapped in (a moment without a manifest)
            if self._searcher is None or token != self._token:
                previous = self._searcher.scorers.get("teacher") if self._searcher is not None else None
                opened = Searcher.open(self.index_dir, self.model_dir, encoder=self.encoder(),
                                       teacher=previous.encoder if previous is not None else None)
                # requests take milliseconds: the generation before the old one has none left, so close it
                # (its threads and its SQLite snapshot, which would otherwise keep the WAL from being reset)
                if self._retired is not None:
                    self._retired.close()
                self._retired, self._searcher, self._token = self._searcher, opened, token
            return self._searcher
        finally:
            self._lock.release()

    def encoder(self):
        """The query model the current Searcher loaded (None before the first open)."""
        current = self._searcher
        return query_encoder(current) if current is not None else self._encoder

    def close(self) -> None:
        """Close the Searchers this opened."""
        with self._lock:
            for s in {id(x): x for x in (self._retired, self._searcher) if x is not None}.values():
                s.close()
            self._retired = self._searcher = None
