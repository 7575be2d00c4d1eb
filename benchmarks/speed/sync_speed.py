"""Time `codesearch index sync`: the first sync (a full build), a sync with no change, and a sync after editing one file.

The corpus (the default one unless --dirs) is copied into a work folder first, so the benchmark can
edit a file without touching the standard library or the venv. Each sync is timed twice: as the
`codesearch index sync` command (a new process: imports and, when something changed, the model load
included) and in-process with the model already loaded (what `--watch` does after its first sync).

    python -m benchmarks.speed.sync_speed --limit 5 --model hashing          # a quick check of the script
    python -m benchmarks.speed.sync_speed --out docs/sync_speed.json         # the issue's figures (default corpus)
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from codesearch_common.fsutil import atomic_open

ROOT = Path(__file__).resolve().parents[2]
EDIT = '\n\ndef synced_benchmark_function(values):\n    """Return the sum of the values (added by benchmarks.speed.sync_speed)."""\n    return sum(values)\n'


def corpus_dirs(limit: int | None) -> list:
    """The default corpus's repository records (a single-module one's path is its file)."""
    from crawler.local import default_corpus
    recs = default_corpus()
    return recs[:limit] if limit else recs


def ignore_lines(rec) -> list[str]:
    """`.codesearchignore` lines that keep a copy to what `make extract` reads of the record
    (its `exclude` patterns; only its `languages`), so the sync sees the same functions."""
    from preprocess.languages.registry import EXTENSIONS
    lines = list(rec.extra.get("exclude", ()))
    wanted = rec.extra.get("languages")
    if wanted:
        lines += [f"*{ext}" for ext, lang in sorted(EXTENSIONS.items()) if lang not in wanted]
    return lines


def copy_corpus(records: list, work: Path) -> list[str]:
    """Copy each repository into its own folder under work; return the folders."""
    out = []
    for rec in records:
        src = Path(rec.path)
        dst = work / rec.name.replace("/", "__")
        if src.is_file():
            dst.mkdir(parents=True)
            shutil.copy2(src, dst / src.name)
        else:
            shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        lines = ignore_lines(rec)
        if lines:
            (dst / ".codesearchignore").write_text("\n".join(lines) + "\n", encoding="utf-8")
        out.append(str(dst))
    return out


def cli_sync(index: Path, extra: list[str]) -> float:
    """Wall seconds of one `python -m index sync` (no folders: those the index was synced from)."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "index", "sync", "--index", str(index), "--no-progress", *extra],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def pick_file(index: Path) -> Path:
    """A Python file the index holds functions of, from the middle of the corpus (deterministic)."""
    from index.store import Store
    from index.manifest import read_manifest
    roots = read_manifest(index)["sync"]["roots"]
    store = Store(index / "store.sqlite", readonly=True)
    rows = store.db.execute("SELECT DISTINCT repo, path FROM functions WHERE path LIKE '%.py' ORDER BY repo, path").fetchall()
    store.close()
    repo, path = rows[len(rows) // 2]
    return Path(roots[repo]) / path


def run(dirs: list[str], index: Path, model: str, repeats: int) -> dict:
    from index.sync import SyncConfig, sync
    out = {}
    t = time.perf_counter()
    cli_sync(index, [*dirs, "--model", model])
    out["first_sync_full_build_s"] = round(time.perf_counter() - t, 2)
    cfg = SyncConfig(progress=False)
    r = sync([], index, cfg)       # loads nothing: no change
    out["functions"] = r.functions
    out["files"] = json.loads((index / "manifest.json").read_text())["sync"]["files"]
    out["no_change_cli_s"] = [round(cli_sync(index, []), 3) for _ in range(repeats)]
    out["no_change_in_process_s"] = [round(timed(lambda: sync([], index, cfg)), 3) for _ in range(repeats)]
    target = pick_file(index)
    original = target.read_text(encoding="utf-8", errors="replace")
    out["edited_file"] = str(target)
    encoder, cli, warm = None, [], []
    try:
        for i in range(repeats):
            target.write_text(original + EDIT.replace("values", f"values{i}"), encoding="utf-8")
            cli.append(round(cli_sync(index, []), 3))
            target.write_text(original + EDIT.replace("values", f"values{i}b"), encoding="utf-8")
            t = time.perf_counter()
            encoder = sync([], index, cfg, encoder=encoder).encoder
            warm.append(round(time.perf_counter() - t, 3))
    finally:
        target.write_text(original, encoding="utf-8")
        sync([], index, cfg, encoder=encoder)
    out["one_file_edit_cli_s"], out["one_file_edit_in_process_s"] = cli, warm
    full = out["first_sync_full_build_s"]
    for key in ("one_file_edit_cli_s", "one_file_edit_in_process_s"):
        out[key.replace("_s", "_speedup_vs_full")] = round(full / statistics.median(out[key]), 1)
    return out


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.speed.sync_speed", description=__doc__.split("\n")[0])
    p.add_argument("--dirs", nargs="*", help="folders to sync (default: a copy of the default corpus)")
    p.add_argument("--limit", type=int, help="only the first N repositories of the default corpus (a quick check)")
    p.add_argument("--model", default=str(ROOT / "codenn" / "pretrained"), help="model of the index (default: shipped)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--work", help="work folder (default: a temporary one, removed afterwards)")
    p.add_argument("--out", help="write the figures as JSON here")
    args = p.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="sync_speed."))
    try:
        from crawler.local import local_record
        dirs = copy_corpus([local_record(d) for d in args.dirs] if args.dirs else corpus_dirs(args.limit), work / "src")
        res = run(dirs, work / "index", args.model, args.repeats)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(res, indent=2))
    if args.out:
        with atomic_open(args.out, "w") as f:
            json.dump(res, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
