"""Cold starts as a user meets them: each step is a new `codesearch` process, timed from outside.

On a copy of the given folders (default: requests and click from the venv): the first `index sync`
(a new index, the shipped model, its teacher), a sync after editing one file, and `search` repeated
(p50 and p90 over --runs). `--index` times searches of an existing index instead of the copy's.

    python -m benchmarks.speed.cold_start                              # requests + click
    python -m benchmarks.speed.cold_start --index data/index --runs 20 # the default corpus's index
"""
from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codesearch_common.fsutil import atomic_open

QUERIES = ["read a json file", "send an http request with retries", "parse command line options",
           "join url parts", "format a date as iso string"]
EDIT = '\n\ndef cold_start_benchmark_function(values):\n    """Return the sum of the values."""\n    return sum(values)\n'


def default_dirs() -> list[Path]:
    """requests and click as installed in this venv (about 1,000 functions together)."""
    return [Path(importlib.import_module(name).__file__).parent for name in ("requests", "click")]


def timed(argv: list[str]) -> float:
    """Seconds one `python -m codesearch ...` process takes; a failure stops the benchmark."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "codesearch", *argv], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode:
        raise SystemExit(f"codesearch {' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    return dt


def search_times(index: Path, runs: int) -> list[float]:
    return [timed(["search", QUERIES[i % len(QUERIES)], "--index", str(index), "-k", "10"]) for i in range(runs)]


def summary(times: list[float]) -> dict:
    qs = statistics.quantiles(times, n=10) if len(times) > 1 else times * 9
    return {"p50_s": round(statistics.median(times), 3), "p90_s": round(qs[8], 3), "runs": len(times)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dirs", nargs="*", type=Path, help="folders to copy and sync (default: requests, click)")
    ap.add_argument("--index", type=Path, help="time searches of this index instead of the synced copy's")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    out: dict = {}
    if args.index is None:
        with tempfile.TemporaryDirectory(prefix="cold-start-") as work:
            work = Path(work)
            folders = []
            for src in args.dirs or default_dirs():
                dst = work / src.name
                shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
                folders.append(str(dst))
            index = work / "index"
            out["first_sync_s"] = round(timed(["index", "sync", *folders, "--index", str(index), "--no-progress"]), 2)
            with open(index / "manifest.json") as f:
                out["functions"] = json.load(f).get("size")
            target = next(Path(folders[0]).rglob("*.py"))
            target.write_text(target.read_text() + EDIT)
            out["one_file_sync_s"] = round(timed(["index", "sync", "--index", str(index), "--no-progress"]), 2)
            out["search"] = summary(search_times(index, args.runs))
    else:
        out["search"] = summary(search_times(args.index, args.runs))
    line = json.dumps(out)
    print(line)
    if args.out:
        with atomic_open(args.out, "w") as f:
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
