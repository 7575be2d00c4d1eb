"""Extraction stage: every repository of the manifest -> data/functions.csv."""
from __future__ import annotations

import multiprocessing as mp
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from tqdm import tqdm

from crawler.manifest import RepoRecord, permalink, read_manifest
from .csvio import write_functions
from .files import SourceFile, Skip, discover, read_bytes
from .languages.registry import extractor


@dataclass
class ExtractConfig:
    """Knobs of the extraction stage."""

    workers: int = max(1, min(2, os.cpu_count() or 1))
    chunksize: int = 8
    languages: tuple[str, ...] | None = None   # only these languages (None: every supported one)
    progress: bool = True


@dataclass
class ExtractStats:
    """Counts for the end-of-run summary."""

    files: int = 0
    functions: int = 0
    documented: int = 0
    repos: int = 0
    skipped: Counter = field(default_factory=Counter)
    by_language: dict = field(default_factory=dict)   # language -> Counter(files, functions, parse_errors)

    def count(self, language: str, **n: int) -> None:
        self.by_language.setdefault(language, Counter()).update(n)

    def summary(self) -> str:
        line = f"{self.files:,} files, {self.functions:,} functions ({self.documented:,} documented) in {self.repos:,} repositories"
        if len(self.by_language) > 1 or any(c["parse_errors"] for c in self.by_language.values()):
            per = ", ".join(f"{lang} {c['functions']:,} from {c['files']:,} files"
                            + (f" ({c['parse_errors']:,} with parse errors)" if c["parse_errors"] else "")
                            for lang, c in sorted(self.by_language.items()))
            line += f" [{per}]"
        n_skipped = sum(self.skipped.values())
        if n_skipped:
            parts = ", ".join(f"{n:,} {reason}" for reason, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))
            line += f"; skipped {n_skipped:,} files: {parts}"
        return line


@dataclass
class FileResult:
    """What one file gave: its function records, or the reason it was skipped; and whether it parsed cleanly."""

    src: SourceFile
    records: list[dict] | None
    skip_reason: str | None = None
    parse_errors: bool = False


def process_file(src: SourceFile) -> FileResult:
    """Extract one file's functions (each record carries its language), or say why it was skipped; never raises."""
    try:
        records, parse_errors = extractor(src.language)(read_bytes(src.abspath), src.relpath)
    except Skip as e:
        return FileResult(src, None, e.reason)
    except UnicodeDecodeError:
        return FileResult(src, None, "undecodable")
    except (SyntaxError, ValueError):
        return FileResult(src, None, "syntax errors")
    except (RecursionError, MemoryError):
        return FileResult(src, None, "too deeply nested")
    for r in records:
        r["language"] = src.language
    return FileResult(src, records, None, parse_errors)


def discover_files(repos: list[RepoRecord], cfg: ExtractConfig, stats: ExtractStats) -> list[SourceFile]:
    """Every file to read, in the order rows are numbered (repository, then path); skips counted into stats."""
    files: list[SourceFile] = []
    for repo in sorted(repos, key=lambda r: r.name):
        wanted = repo.extra.get("languages") or cfg.languages   # the manifest may limit a repository's languages
        found, skipped = discover(repo.name, repo.path, repo.extra.get("exclude", ()), wanted)
        stats.skipped.update(skipped)
        stats.repos += 1
        files.extend(found)
    return files


def assemble_rows(results: Iterable[FileResult], repos: list[RepoRecord], stats: ExtractStats, bar) -> Iterator[dict]:
    """functions.csv rows from per-file results in file order: ids 0.. in (repo, path, position) order."""
    by_name = {r.name: r for r in repos}
    next_id = 0
    for res in results:
        bar.update()
        src = res.src
        if res.skip_reason:
            stats.skipped[res.skip_reason] += 1
            continue
        stats.files += 1
        stats.count(src.language, files=1, functions=len(res.records), parse_errors=int(res.parse_errors))
        repo = by_name[src.repo]
        for rec in res.records:
            stats.functions += 1
            stats.documented += bool(rec["desc"])
            yield {
                "id": next_id, "repo": src.repo, "path": src.relpath,
                "url": permalink(repo, src.relpath, rec["start_line"], rec["end_line"]), **rec,
            }
            next_id += 1


def iter_rows(repos: list[RepoRecord], cfg: ExtractConfig, stats: ExtractStats):
    """Yield functions.csv rows in a deterministic order (repo, path, position)."""
    files = discover_files(repos, cfg, stats)
    bar = tqdm(total=len(files), unit="file", desc="extract", disable=not cfg.progress)
    with mp.get_context("fork").Pool(cfg.workers) if cfg.workers > 1 else _Serial() as pool:
        yield from assemble_rows(pool.imap(process_file, files, chunksize=cfg.chunksize), repos, stats, bar)
    bar.close()


class _Serial:
    """A stand-in for Pool when one worker is asked for (easier to debug, no fork)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, fn, items, chunksize=1):
        return map(fn, items)


def ok_repos(repos_path: str | Path) -> list[RepoRecord]:
    """The manifest's fetched repositories; FileNotFoundError when it or one of their paths is missing."""
    repos_path = Path(repos_path)
    if not repos_path.exists():
        raise FileNotFoundError(f"{repos_path} does not exist: run `make corpus` (or `python -m crawler local PATH`) first")
    repos = [r for r in read_manifest(repos_path) if r.status == "ok" and r.path]
    for r in repos:
        if not Path(r.path).exists():
            raise FileNotFoundError(f"repository {r.name}: path {r.path} does not exist")
    return repos


def extract(repos_path: str | Path, out_path: str | Path, cfg: ExtractConfig | None = None) -> ExtractStats:
    """Extract every ok repository of the manifest into out_path (atomic); return the counts."""
    cfg = cfg or ExtractConfig()
    repos = ok_repos(repos_path)
    stats = ExtractStats()
    write_functions(out_path, iter_rows(repos, cfg, stats))
    return stats
