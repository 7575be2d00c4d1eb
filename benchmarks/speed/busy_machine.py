"""A busy machine: `index build` of a slice alone, then two copies of it at once; the pair's wall time over the single's.

Two jobs on two cores can at best take twice as long together as one alone (each gets half the
machine); threads beyond the cores (torch, ONNX Runtime, FAISS pools sized for the whole machine
in each process) spin against each other and push the ratio past 2. The issue's bound is 2.3x.

    python -m benchmarks.speed.busy_machine --functions data/functions.csv --rows 50000 [--model codenn/pretrained]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codesearch_common.fsutil import atomic_open


def write_slice(functions: Path, rows: int, out: Path) -> dict:
    """The first `rows` functions of functions.csv into out; how many of them are documented."""
    from codenn.static_code import teacher_covers
    from preprocess.csvio import read_functions, write_functions
    kept = list(itertools.islice(read_functions(functions), rows))
    documented = sum(teacher_covers(r, "documented") for r in kept)
    return {"functions": write_functions(out, kept), "documented": documented}


def build(functions: Path, model: str, out: Path, teacher: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "index", "build", "--functions", str(functions), "--model", model,
                             "--out", str(out), "--teacher", teacher, "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def run(procs: list[subprocess.Popen]) -> float:
    """Wall seconds until every process has ended; a failed one stops the benchmark."""
    t0 = time.perf_counter()
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(f"index build failed ({p.returncode}): {err.strip()[-500:]}")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed.busy_machine", description=__doc__.split("\n\n")[0])
    ap.add_argument("--functions", type=Path, default=Path("data/functions.csv"))
    ap.add_argument("--rows", type=int, default=50_000, help="the slice: the first N functions")
    ap.add_argument("--model", default="codenn/pretrained")
    ap.add_argument("--teacher", default="auto", help="index build --teacher (auto: documented ones at this size)")
    ap.add_argument("--out", type=Path, default=None, help="write the figures here as JSON too")
    a = ap.parse_args(argv)
    if not a.functions.exists():
        print(f"error: {a.functions} does not exist (make extract)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="busy-") as tmp:
        tmp = Path(tmp)
        sliced = write_slice(a.functions, a.rows, tmp / "slice.csv")
        alone = run([build(tmp / "slice.csv", a.model, tmp / "alone", a.teacher)])
        pair = run([build(tmp / "slice.csv", a.model, tmp / f"pair{i}", a.teacher) for i in range(2)])
    result = {"functions": sliced["functions"], "documented": sliced["documented"], "cores": len(os.sched_getaffinity(0)),
              "alone_s": round(alone, 1), "pair_s": round(pair, 1), "ratio": round(pair / alone, 2), "bound": 2.3,
              "date": time.strftime("%Y-%m-%d")}
    print(f"index build of {sliced['functions']:,} functions ({sliced['documented']:,} documented): alone "
          f"{alone:.1f} s, two at once {pair:.1f} s: {pair / alone:.2f}x (bound 2.3x)")
    print(json.dumps(result))
    if a.out:
        with atomic_open(a.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
