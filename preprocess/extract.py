"""Extraction stage: every repository of the manifest -> data/functions.csv."""
from __future__ import annotations

import multiprocessing as mp
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from crawler.manifest import RepoRecord, permalink, read_manifest
from .csvio import write_functions
from .files import SourceFile, Skip, discover, read_source
from .functions import extract_functions_from_source


@dataclass
class ExtractConfig:
    """Knobs of the extraction stage."""

    workers: int = max(1, min(2, os.cpu_count() or 1))
    chunksize: int = 8
    language: str = "python"
    progress: bool = True


@dataclass
class ExtractStats:
    """Counts for the end-of-run summary."""

    files: int = 0
    functions: int = 0
    documented: int = 0
    repos: int = 0
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        line = f"{self.files:,} files, {self.functions:,} functions ({self.documented:,} documented) in {self.repos:,} repositories"
        n_skipped = sum(self.skipped.values())
        if n_skipped:
            parts = ", ".join(f"{n:,} {reason}" for reason, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))
            line += f"; skipped {n_skipped:,} files: {parts}"
        return line


def process_file(src: SourceFile) -> tuple[SourceFile, list[dict] | None, str | None]:
    """Extract one file's functions, or say why it was skipped (never raises)."""
    try:
        text = read_source(src.abspath)
        return src, extract_functions_from_source(text), None
    except Skip as e:
        return src, None, e.reason
    except (SyntaxError, ValueError):
        return src, None, "syntax errors"
    except (RecursionError, MemoryError):
        return src, None, "too deeply nested"


def iter_rows(repos: list[RepoRecord], cfg: ExtractConfig, stats: ExtractStats):
    """Yield functions.csv rows in a deterministic order (repo, path, position)."""
    by_name = {r.name: r for r in repos}
    files: list[SourceFile] = []
    for repo in sorted(repos, key=lambda r: r.name):
        found, skipped = discover(repo.name, repo.path)
        stats.skipped.update(skipped)
        stats.repos += 1
        files.extend(found)
    next_id = 0
    bar = tqdm(total=len(files), unit="file", desc="extract", disable=not cfg.progress)
    with mp.get_context("fork").Pool(cfg.workers) if cfg.workers > 1 else _Serial() as pool:
        for src, records, reason in pool.imap(process_file, files, chunksize=cfg.chunksize):
            bar.update()
            if reason:
                stats.skipped[reason] += 1
                continue
            stats.files += 1
            repo = by_name[src.repo]
            for rec in records:
                stats.functions += 1
                stats.documented += bool(rec["desc"])
                yield {
                    "id": next_id, "repo": src.repo, "path": src.relpath,
                    "url": permalink(repo, src.relpath, rec["start_line"], rec["end_line"]),
                    "language": cfg.language, **rec,
                }
                next_id += 1
    bar.close()


class _Serial:
    """A stand-in for Pool when one worker is asked for (easier to debug, no fork)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, fn, items, chunksize=1):
        return map(fn, items)


def extract(repos_path: str | Path, out_path: str | Path, cfg: ExtractConfig | None = None) -> ExtractStats:
    """Extract every ok repository of the manifest into out_path (atomic); return the counts."""
    cfg = cfg or ExtractConfig()
    repos_path = Path(repos_path)
    if not repos_path.exists():
        raise FileNotFoundError(f"{repos_path} does not exist: run `make corpus` (or `python -m crawler local PATH`) first")
    repos = [r for r in read_manifest(repos_path) if r.status == "ok" and r.path]
    for r in repos:
        if not Path(r.path).exists():
            raise FileNotFoundError(f"repository {r.name}: path {r.path} does not exist")
    stats = ExtractStats()
    write_functions(out_path, iter_rows(repos, cfg, stats))
    return stats
