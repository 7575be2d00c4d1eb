"""Extraction throughput on the Python standard library, and the wall time of the data stages.

    python -m benchmarks.speed.extraction [--workers 1,2] [--pipeline] [--out data/bench/extraction.json]

Throughput: the standard library's packages of the default corpus (the same records `make corpus`
registers) extracted to a temporary CSV, once per worker count, in functions per wall-clock second
(progress bars off). --pipeline also times `make corpus extract dataset` into a temporary DATA
folder, stage by stage, as a user runs it after the venv exists.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codesearch_common.fsutil import atomic_open
from crawler.local import default_corpus
from crawler.manifest import write_manifest
from preprocess.extract import ExtractConfig, extract


def time_extraction(workers: int, manifest: Path, work: Path) -> dict:
    """Extract the manifest's repositories with `workers` processes; return counts and rates."""
    cfg = ExtractConfig(workers=workers, progress=False)
    t = time.perf_counter()
    stats = extract(manifest, work / f"functions-{workers}.csv", cfg)
    wall = time.perf_counter() - t
    return {"workers": workers, "files": stats.files, "functions": stats.functions,
            "documented": stats.documented, "repos": stats.repos, "skipped": dict(stats.skipped),
            "wall_s": round(wall, 2), "functions_per_s": round(stats.functions / wall, 1)}


def time_pipeline(data: Path) -> dict:
    """Wall seconds of each `make` data stage into `data`; raises if a stage fails."""
    out = {}
    for stage in ("corpus", "extract", "dataset"):
        t = time.perf_counter()
        proc = subprocess.run(["make", "-s", stage, f"DATA={data}"], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"make {stage} failed:\n{proc.stderr[-2000:]}")
        out[stage] = round(time.perf_counter() - t, 1)
    out["total"] = round(sum(out.values()), 1)
    stats = json.loads((data / "dataset" / "stats.json").read_text())
    out["dataset_stats"] = stats
    return out


def main(argv=None) -> int:
    """Run the measurements, print them and write JSON to --out."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    p.add_argument("--pipeline", action="store_true", help="also time make corpus extract dataset")
    p.add_argument("--out", default="data/bench/extraction.json")
    args = p.parse_args(argv)
    stdlib = [r for r in default_corpus() if r.name.startswith("stdlib/")]
    figures = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_avg_1m_start": os.getloadavg()[0],
               "stdlib_packages": len(stdlib), "extraction": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest = work / "repos.jsonl"
        write_manifest(manifest, stdlib)
        for w in (int(x) for x in args.workers.split(",")):
            r = time_extraction(w, manifest, work)
            figures["extraction"].append(r)
            print(f"stdlib, {w} worker(s): {r['files']:,} files, {r['functions']:,} functions "
                  f"({r['documented']:,} documented) in {r['wall_s']} s = {r['functions_per_s']:,} functions/s")
        if args.pipeline:
            figures["pipeline"] = time_pipeline(work / "data")
            pl = figures["pipeline"]
            print(f"make corpus extract dataset: {pl['corpus']} + {pl['extract']} + {pl['dataset']} = {pl['total']} s")
    figures["load_avg_1m_end"] = os.getloadavg()[0]
    with atomic_open(args.out, "w") as f:  # makes the folder too
        json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
