"""A build's progress: a bar whose ETA weighs each function by what it costs, and a status file readers show.

A function the index-time teacher encodes costs about TEACHER_COST bag-only ones (86 vs ~3,500
functions/s through the whole build on two cores), and the documented functions, the teacher's,
are not spread evenly through functions.csv: counting functions made the ETA swing between 1 and
12 hours. The bar counts work instead (TEACHER_COST units per teacher function, 1 per other), so
its rate and ETA hold steady; its label shows the functions done.

The status file (`.<index>.build.json`, beside the index folder) lets the web app say how far a
build that will replace the index it serves has got; it is rewritten atomically every few seconds,
says "vectors" once every function is encoded (the vector index is being built), and is removed
by the build (clear_status) once the new index is in place.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Callable, Sequence

from tqdm import tqdm

from codesearch_common.fsutil import atomic_open

TEACHER_COST = 40
WRITE_EVERY = 2.0   # seconds between status-file writes


def status_path(index_dir: str | Path) -> Path:
    """Where a build of index_dir reports its progress."""
    index_dir = Path(index_dir)
    return index_dir.with_name(f".{index_dir.name}.build.json")


def read_status(index_dir: str | Path) -> dict | None:
    """The progress of a build of index_dir that is running now, or None (none, finished, or its process died)."""
    try:
        status = json.loads(status_path(index_dir).read_text(encoding="utf-8"))
        os.kill(int(status["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return status


def clear_status(index_dir: str | Path) -> None:
    """Remove the status file of a build of index_dir (it has ended, swapped in or failed)."""
    with contextlib.suppress(FileNotFoundError):
        status_path(index_dir).unlink()


def teacher_filter(encoder) -> Callable[[dict], bool] | None:
    """Which records the encoder sends through its teacher (None: an encoder without one)."""
    if getattr(encoder, "teacher", None) is None:
        return None
    from codenn.static_code import teacher_covers
    scope = getattr(encoder, "teacher_scope", "documented")
    return lambda r: teacher_covers(r, scope)


class BuildProgress:
    """Progress of ingesting `total` functions, `teacher_total` of them through the teacher."""

    def __init__(self, total: int | None, teacher_total: int | None, encoder, *, show: bool = True,
                 done: int = 0, status_of: str | Path | None = None):
        self.uses_teacher = teacher_filter(encoder)
        weighted = total is not None and teacher_total is not None and self.uses_teacher is not None
        self.cost = TEACHER_COST if weighted else 1
        work = None if total is None else (total + (self.cost - 1) * teacher_total if weighted else total)
        self.total, self.done, self.work_total = total, done, work
        self.status_file = status_path(status_of) if status_of is not None else None
        self.started, self._written = time.time(), 0.0
        fmt = "{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]" if weighted else None
        # a resumed build's done work is not known exactly: its share of the functions stands in for it
        initial = int(done / total * work) if weighted and total else done
        self.bar = tqdm(total=work, initial=initial, desc="index", unit="fn", disable=not show, mininterval=1,
                        **({"bar_format": fmt} if fmt else {}))
        self.work_done = self._initial = initial
        self._show_functions()

    def update(self, batch: Sequence[dict]) -> None:
        """Count a batch just ingested."""
        heavy = sum(map(self.uses_teacher, batch)) if self.cost > 1 else 0
        work = len(batch) + (self.cost - 1) * heavy
        self.done += len(batch)
        self.work_done += work
        self._show_functions()
        self.bar.update(work)
        if self.status_file is not None and time.time() - self._written >= WRITE_EVERY:
            self.write_status()

    def eta_seconds(self) -> float | None:
        """Seconds left at the work rate so far (None before any work or without a total)."""
        elapsed = time.time() - self.started
        if not self.work_total or self.work_done <= self._initial or elapsed <= 0:
            return None
        rate = (self.work_done - self._initial) / elapsed
        return max(0.0, (self.work_total - self.work_done) / rate)

    def write_status(self, stage: str = "encoding") -> None:
        """Rewrite the status file (atomically) with the functions done, the share of the work and the ETA."""
        self._written = time.time()
        eta = self.eta_seconds() if stage == "encoding" else None
        work = self.work_total
        status = {"pid": os.getpid(), "stage": stage, "functions_done": self.done, "functions_total": self.total,
                  "percent": round(100 * self.work_done / work, 1) if work else None,
                  "eta_seconds": None if eta is None else round(eta), "started": round(self.started),
                  "updated": round(self._written)}
        with contextlib.suppress(OSError):   # a status file that cannot be written must not stop the build
            with atomic_open(self.status_file, "w", encoding="utf-8") as f:
                json.dump(status, f)

    def close(self) -> None:
        """Close the bar; the status file says the encoding is over (the build clears it when it is done)."""
        self.bar.close()
        if self.status_file is not None:
            self.write_status("vectors")

    def _show_functions(self) -> None:
        if self.cost > 1:
            self.bar.set_description_str(f"index {self.done:,}/{self.total:,} fn", refresh=False)
