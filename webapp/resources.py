"""Open the search index lazily, share it read-only between requests and server threads, follow `index sync`."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from flask import current_app

log = logging.getLogger(__name__)
NO_INDEX = "No index yet: run `make index` (or `make demo`) to build one, then reload this page."
WRONG_MODEL = "The index was built with another model: rebuild it with `make index`."
DAMAGED = "The index cannot be read: rebuild it with `make index`."


class IndexUnavailable(Exception):
    """The index cannot be opened; the message is safe to show a user (no paths, no traceback)."""


@dataclass(frozen=True)
class Facets:
    repos: tuple[str, ...]
    languages: tuple[str, ...]
    size: int
    modes: tuple[str, ...] | None = None   # what the index can serve (None: whatever the app offers)


class SearcherHolder:
    """Hold one Searcher for the whole app: opened on first use, retried while the index is missing."""

    def __init__(self, index_dir: str | None, model_dir: str | None = None, searcher=None):
        self.index_dir, self.model_dir = index_dir, model_dir
        self._lock = threading.Lock()
        self._searcher = searcher
        self._injected = searcher is not None
        self._live = None          # index.live.LiveSearcher: follows `codesearch index sync`
        self._facets: Facets | None = None
        self._facets_of = None

    def get(self):
        """Return the shared Searcher (the index's newest generation); raise IndexUnavailable when it cannot be opened."""
        if self._injected:
            return self._searcher
        with self._lock:  # one thread opens (loads the model); the others wait for it
            searcher = self._open()
            if searcher is not self._searcher:
                # the first `best` query would wait for its transformer (a quick index swapped for a full one
                # has none loaded yet), the first filter for the row table (1.4 s at 358k functions: only at
                # start, not for every generation a sync publishes): load them beside the first requests
                first = self._searcher is None
                threading.Thread(target=warm, args=(searcher, first), name="warm-up", daemon=True).start()
                self._searcher = searcher
        return searcher

    def facets(self) -> Facets:
        """Return the repositories and languages of the index (read once per generation)."""
        searcher = self.get()
        if self._facets is None or self._facets_of is not searcher:
            modes = tuple(searcher.modes()) if hasattr(searcher, "modes") else None
            self._facets = Facets(repos=tuple(searcher.repos()), languages=tuple(searcher.languages()),
                                  size=int(searcher.size), modes=modes)
            self._facets_of = searcher
        return self._facets

    def building(self) -> dict | None:
        """The progress of a build that will replace this index (index.progress), or None."""
        if not self.index_dir:
            return None
        from index.progress import read_status
        return read_status(self.index_dir)

    def close(self) -> None:
        """Close the Searcher if it was opened and can be closed."""
        with self._lock:
            searcher, self._searcher, self._facets = self._searcher, None, None
            live, self._live = self._live, None
        if live is not None:
            live.close()
        elif searcher is not None and hasattr(searcher, "close"):
            searcher.close()

    def _open(self):
        # Imported here: the index stage (FAISS, torch) loads only when a search needs it.
        from index.errors import IndexCorruptError, IndexMissingError, ModelMismatchError
        from index.live import LiveSearcher
        if not self.index_dir:
            raise IndexUnavailable(NO_INDEX)
        try:
            if self._live is None:
                self._live = LiveSearcher(self.index_dir, self.model_dir)
            return self._live.get()
        except IndexMissingError as e:
            log.warning("index unavailable: %s", e)
            raise IndexUnavailable(NO_INDEX) from e
        except ModelMismatchError as e:
            log.error("index unavailable: %s", e)
            raise IndexUnavailable(WRONG_MODEL) from e
        except IndexCorruptError as e:
            log.error("index unavailable: %s", e)
            raise IndexUnavailable(DAMAGED) from e


def warm(searcher, rows: bool = True) -> None:
    """Load the searcher's lazy query encoders; a failure is logged and left to the first query to report."""
    try:
        searcher.warm(rows)
    except Exception:  # noqa: BLE001 -- a warm-up must never take the server down
        log.exception("warming up the query encoders failed")


def holder() -> SearcherHolder:
    """Return the current app's SearcherHolder."""
    return current_app.extensions["codesearch"]
