"""Build a doc-comment -> code benchmark file for JavaScript/TypeScript from npm packages held out of training.

    python -m crawler npm PKG ... --out data/bench/npm-repos.jsonl --repos-dir data/bench/npm
    python -m benchmarks.quality.npm_docstring_set --repos data/bench/npm-repos.jsonl --out data/bench/npm-js-ts.jsonl \
        [--limit-per-language 1000] [--max-per-package 250]

Every package must lie outside the top 1,000 of npm (crawler/top_npm.txt), which is all a training
corpus of ours may take, so none of this code was trained on. Each documented function (a doc
comment of at least three words, a name of at least three letters) becomes one record: the query is
the first sentence of its doc comment, the code is the function with the comment cut out. A package
ships the same function several times (src/, lib/cjs, lib/esm, dist): the copy under src/ is kept,
and a description or a code seen before is dropped, so every query has one answer.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.benchfile import write_bench
from benchmarks.quality.docstring_set import strip_doc_comment
from crawler.manifest import read_manifest
from preprocess.allowlist import TOP_NPM, normalise, top_packages
from preprocess.csvio import read_functions
from preprocess.extract import ExtractConfig, extract

LANGUAGES = ("javascript", "typescript")
def _source_first(row: dict) -> tuple[int, str, int]:
    path = row["path"]
    return (0 if path.startswith("src/") or "/src/" in path else 1, path, row["start_line"])


def _sample(items: list, n: int | None, rng) -> list:
    if n is None or len(items) <= n:
        return items
    return [items[i] for i in sorted(rng.choice(len(items), n, replace=False).tolist())]


def build(manifest: Path, limit_per_language: int | None, seed: int = 0,
          max_per_package: int | None = 250) -> tuple[list[dict], dict]:
    """Records of the packages' documented functions, and counts for the summary."""
    repos = [r for r in read_manifest(manifest) if r.status == "ok"]
    if not repos:
        raise ValueError(f"{manifest}: no fetched packages")
    top = top_packages(str(TOP_NPM))
    trained = [r.name for r in repos if not r.name.startswith("npm/") or normalise(r.name[4:]) in top]
    if trained:
        raise ValueError(f"not held out of training (top-1,000 npm packages or not npm): {', '.join(trained)}")
    with tempfile.TemporaryDirectory(prefix="npm-bench-") as tmp:
        csv = Path(tmp) / "functions.csv"
        stats = extract(manifest, csv, ExtractConfig(progress=False, languages=LANGUAGES))
        rows = [r for r in read_functions(csv) if r["language"] in LANGUAGES]
    rows.sort(key=lambda r: (r["repo"], *_source_first(r)))
    seen_desc, seen_code, picked = set(), set(), {lang: [] for lang in LANGUAGES}
    for r in rows:
        own = r["name"].rsplit(".", 1)[-1]
        desc = r["desc"].strip()
        if len(desc.split()) < 3 or len(own) < 3 or desc.lower() in seen_desc:
            continue
        code = strip_doc_comment(r["code"])
        key = " ".join(code.split())
        if key in seen_code or code == r["code"]:
            continue
        seen_desc.add(desc.lower())
        seen_code.add(key)
        picked[r["language"]].append({"id": f"{r['repo']}:{r['path']}:{r['start_line']}", "query": desc,
                                      "code": code, "language": r["language"]})
    rng = np.random.default_rng(seed)
    records = []
    for lang in LANGUAGES:   # a few big packages would otherwise make most of the set
        by_pkg: dict[str, list] = {}
        for item in picked[lang]:
            by_pkg.setdefault(item["id"].split(":", 1)[0], []).append(item)
        items = [x for pkg in sorted(by_pkg) for x in _sample(by_pkg[pkg], max_per_package, rng)]
        records.extend(_sample(items, limit_per_language, rng))
    counts = {"packages": sorted(r.name for r in repos), "functions": stats.functions,
              "by_language": {lang: sum(1 for r in records if r["language"] == lang) for lang in LANGUAGES},
              "by_package": {}}
    for r in records:
        pkg = r["id"].split(":", 1)[0]
        counts["by_package"][pkg] = counts["by_package"].get(pkg, 0) + 1
    return records, counts


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.quality.npm_docstring_set", description=__doc__.splitlines()[0])
    p.add_argument("--repos", default="data/bench/npm-repos.jsonl", help="manifest of `python -m crawler npm`")
    p.add_argument("--out", required=True)
    p.add_argument("--limit-per-language", type=int, default=1000)
    p.add_argument("--max-per-package", type=int, default=250, help="a seeded sample of at most this many per package")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        records, counts = build(Path(args.repos), args.limit_per_language, args.seed, args.max_per_package)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_bench(args.out, records)
    print(json.dumps(counts, indent=1))
    print(f"{len(records):,} records -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
