"""A thread-safe, periodically flushed view of the manifest: the crawlers' only state."""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

from .manifest import RepoRecord, read_manifest, write_manifest


class ManifestJournal:
    """Hold every manifest record in memory; upsert from worker threads; rewrite the file atomically.

    Rewriting the whole file on every record would be quadratic for large crawls, so writes happen at
    most every `flush_seconds` (0: after every record) and on close; a crawl killed in between redoes
    at most those last seconds of work.
    """

    def __init__(self, path: str | Path, flush_seconds: float = 5.0,
                 on_add: Callable[[RepoRecord], None] | None = None):
        self.path = Path(path)
        self.flush_seconds = flush_seconds
        self.on_add = on_add
        self._records = {r.name: r for r in read_manifest(self.path)}
        self._lock = threading.Lock()
        self._dirty = False
        self._last_write = time.monotonic()

    def get(self, name: str) -> RepoRecord | None:
        """Return the record named `name`, if any."""
        with self._lock:
            return self._records.get(name)

    def add(self, record: RepoRecord) -> None:
        """Upsert one record and write the manifest if the last write is old enough."""
        with self._lock:
            self._records[record.name] = record
            self._dirty = True
            if self.on_add:
                self.on_add(record)
            if time.monotonic() - self._last_write >= self.flush_seconds:
                self._write()

    def flush(self) -> None:
        """Write the manifest now if anything changed."""
        with self._lock:
            if self._dirty:
                self._write()

    def records(self) -> list[RepoRecord]:
        """Return a snapshot of all records, sorted by name."""
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.name)

    def _write(self) -> None:
        write_manifest(self.path, self._records.values())
        self._dirty = False
        self._last_write = time.monotonic()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM acts like Ctrl-C, so a stopped crawl still waits for its workers and flushes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt
