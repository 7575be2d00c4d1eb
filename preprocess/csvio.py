"""The functions.csv contract: its columns, an atomic writer and a streaming reader."""
from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Iterable, Iterator

from codesearch_common.fsutil import atomic_open

COLUMNS = ("id", "repo", "path", "start_line", "end_line", "url", "language",
           "name", "apiseq", "tokens", "desc", "code")
csv.field_size_limit(sys.maxsize)


def write_functions(path: str | Path, rows: Iterable[dict]) -> int:
    """Write rows (dicts with COLUMNS) atomically; return how many were written."""
    n = 0
    with atomic_open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow(row)
            n += 1
    return n


def read_functions(path: str | Path) -> Iterator[dict]:
    """Yield rows of functions.csv with integer id and line numbers."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `make extract` first")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = set(COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: not a functions.csv (missing columns: {', '.join(sorted(missing))})")
        for row in reader:
            for key in ("id", "start_line", "end_line"):
                row[key] = int(row[key])
            yield row
