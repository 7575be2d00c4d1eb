"""Extraction throughput per language, and the share of files with parse errors, on a real corpus of each.

    python -m benchmarks.speed.extraction_languages LANG=DIR [LANG=DIR ...] [--workers 2] [--out data/bench/languages.json]

Each DIR is registered as one repository and extracted with `--workers` processes (progress off),
keeping only the files of LANG (a DIR may hold several languages: `javascript=D typescript=D`).
Reported: files, functions, documented share, functions per wall-clock second, files with parse
errors (tree-sitter recovered and the functions outside the damage were kept) and files skipped.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from codesearch_common.fsutil import atomic_open
from crawler.manifest import RepoRecord, write_manifest
from preprocess.extract import ExtractConfig, extract
from preprocess.languages.registry import LANGUAGES


def measure(language: str, root: Path, workers: int, work: Path) -> dict:
    """Extract one language's files under root; return counts and rates."""
    manifest = work / f"{language}.jsonl"
    write_manifest(manifest, [RepoRecord(name=f"bench/{language}", source="local", url=root.as_uri(), path=str(root))])
    cfg = ExtractConfig(workers=workers, progress=False, languages=(language,))
    t = time.perf_counter()
    stats = extract(manifest, work / f"{language}.csv", cfg)
    wall = time.perf_counter() - t
    per = stats.by_language.get(language, {})
    files = per.get("files", 0)
    return {"language": language, "corpus": str(root), "files": files, "functions": stats.functions,
            "documented_share": round(stats.documented / max(stats.functions, 1), 3),
            "wall_s": round(wall, 2), "functions_per_s": round(stats.functions / max(wall, 1e-9), 1),
            "files_with_parse_errors": per.get("parse_errors", 0),
            "parse_error_share": round(per.get("parse_errors", 0) / max(files, 1), 4),
            "skipped": dict(stats.skipped)}


def parse_pairs(pairs: list[str]) -> list[tuple[str, Path]]:
    out = []
    for pair in pairs:
        lang, sep, path = pair.partition("=")
        if not sep or lang not in LANGUAGES:
            raise ValueError(f"{pair!r}: expected LANG=DIR with LANG one of {', '.join(LANGUAGES)}")
        if not Path(path).is_dir():
            raise ValueError(f"{path}: not a folder")
        out.append((lang, Path(path).resolve()))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("corpora", nargs="+", metavar="LANG=DIR")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default="data/bench/languages.json")
    args = p.parse_args(argv)
    try:
        corpora = parse_pairs(args.corpora)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-lang-") as tmp:
        for lang, root in corpora:
            row = measure(lang, root, args.workers, Path(tmp))
            rows.append(row)
            print(f"{lang:<11} {row['files']:>6,} files {row['functions']:>8,} functions "
                  f"({row['documented_share']:.0%} documented)  {row['functions_per_s']:>8,.0f} fn/s  "
                  f"parse errors in {row['files_with_parse_errors']:,} files ({row['parse_error_share']:.2%})", flush=True)
    load = os.getloadavg()[0]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.out, "w", encoding="utf-8") as f:
        json.dump({"workers": args.workers, "load_average_1m_after": round(load, 2), "rows": rows}, f, indent=1)
    print(f"load average after: {load:.2f} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
