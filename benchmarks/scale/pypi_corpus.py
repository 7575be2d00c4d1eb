"""Measure the corpus the PyPI crawler builds from the N most downloaded MIT-licensed packages.

    python -m benchmarks.scale.pypi_corpus --tops 100,500 --data data/pypi_corpus --time-cap 2700

Crawls the top N (resumably, largest N last, so each step only adds packages), then counts packages,
Python files, functions and documented functions. Counting uses the extractor (preprocess.extract)
when it is importable, else a plain ast walk (--ast forces it); the report says which.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from crawler.manifest import read_manifest, write_manifest
from crawler.pypi import canonical_name, top_packages


def crawl(n: int, data: Path, jobs: int, timeout: float) -> tuple[float, bool]:
    """Run the crawler for the top n under a wall-clock cap; return (seconds, finished)."""
    cmd = [sys.executable, "-m", "crawler", "pypi", "--top", str(n), "--jobs", str(jobs),
           "--out", str(data / "repos.jsonl"), "--repos-dir", str(data / "repos"), "--flush-seconds", "0"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    try:
        proc.wait(timeout=max(timeout, 1))
        return time.perf_counter() - t0, True
    except subprocess.TimeoutExpired:
        # SIGTERM: the crawler lets its running pip downloads finish and records them (<= pip's timeout)
        proc.terminate()
        proc.wait()
        return time.perf_counter() - t0, False


def ast_counts(paths: list[str]) -> Counter:
    """Count .py files that parse, their functions and documented functions, with ast alone."""
    c: Counter = Counter()
    for root in paths:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for fn in filenames:
                if not fn.endswith(".py"):
                    continue
                try:
                    tree = ast.parse(Path(dirpath, fn).read_bytes())
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    c["unparsable files"] += 1
                    continue
                c["files"] += 1
                for node in ast.walk(tree):
                    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        c["functions"] += 1
                        c["documented"] += bool((ast.get_docstring(node) or "").strip())
    return c


def extractor_counts(manifest: Path, out_csv: Path) -> Counter | None:
    """Count with the project's extractor, or return None when it is not importable."""
    try:
        from preprocess.extract import ExtractConfig, extract
    except ImportError:
        return None
    stats = extract(manifest, out_csv, ExtractConfig(workers=1, progress=False))
    return Counter(files=stats.files, functions=stats.functions, documented=stats.documented)


def failure_kind(error: str) -> str:
    """A short class for a failure reason: pip's error name, or the start of the message."""
    return error.removeprefix("pip download failed: ").split(":")[0][:60]


def measure(n: int, data: Path, use_ast: bool) -> dict:
    """Count the top-n subset of the manifest."""
    wanted = {f"pypi/{canonical_name(x)[0]}" for x in top_packages(n)}
    rows = [r for r in read_manifest(data / "repos.jsonl") if r.name in wanted]
    status = Counter(r.status for r in rows)
    subset = data / f"top{n}.jsonl"
    write_manifest(subset, rows)
    t0 = time.perf_counter()
    walked = ast_counts([r.path for r in rows if r.status == "ok" and r.path])
    counts = None if use_ast else extractor_counts(subset, data / f"functions_top{n}.csv")
    counter = "preprocess.extract"
    if counts is None:
        counter, counts = "ast walk", walked
    failures = Counter(failure_kind(r.error or "") for r in rows if r.status == "failed")
    return {"top": n, "answered": len(rows), "packages": status["ok"], "skipped_licence": status["skipped"],
            "failed": status["failed"], "files": counts["files"], "functions": counts["functions"],
            "documented": counts["documented"], "counted_with": counter,
            "ast_walk": {k: walked[k] for k in ("files", "functions", "documented", "unparsable files")},
            "count_seconds": round(time.perf_counter() - t0, 1), "failure_kinds": dict(failures.most_common(8))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tops", default="100,500", help="comma-separated N, crawled in increasing order")
    ap.add_argument("--data", default="data/pypi_corpus", help="working folder (manifest, unpacked packages)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--time-cap", type=float, default=2700, help="seconds for all the crawling together")
    ap.add_argument("--ast", action="store_true", help="count with ast even if the extractor is importable")
    args = ap.parse_args(argv)
    data = Path(args.data)
    tops = sorted(int(x) for x in args.tops.split(","))
    results, spent = [], 0.0
    for n in tops:
        seconds, finished = crawl(n, data, args.jobs, args.time_cap - spent)
        spent += seconds
        res = measure(n, data, args.ast)
        res.update(crawl_seconds_cumulative=round(spent, 1), finished=finished)
        results.append(res)
        print(json.dumps(res), flush=True)
        if not finished:
            break
    (data / "pypi_corpus.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n| top N | packages kept (MIT) | skipped (licence) | failed | files | functions | documented | crawl wall time |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        note = "" if r["finished"] else f" (cap hit: {r['answered']} of {r['top']} answered)"
        print(f"| {r['top']} | {r['packages']} | {r['skipped_licence']} | {r['failed']} | {r['files']:,} | "
              f"{r['functions']:,} | {r['documented']:,} | {r['crawl_seconds_cumulative'] / 60:.1f} min{note} |")
    print(f"counted with: {results[-1]['counted_with']}; plain ast walk of every .py file: "
          + "; ".join(f"top {r['top']}: {r['ast_walk']}" for r in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
