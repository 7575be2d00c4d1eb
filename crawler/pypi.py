"""Fetch PyPI source distributions with pip and keep those whose licence is allowed."""
from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.contrib.logging import logging_redirect_tqdm

from .journal import sigterm_as_interrupt
from .licences import expression_allowed, licence_from_metadata, parse_allowed
from .manifest import RepoRecord
from .registry import crawl_packages, requested_specs
from .sdist import PipConfig, SdistError, canonical_name, pip_download, read_pkg_info, unpack
from .wheel import download_wheel, read_wheel_metadata, unpack_wheel

log = logging.getLogger("crawler.pypi")
DEFAULT_TOP_LIST = Path(__file__).with_name("top_pypi.txt")
_GITHUB = re.compile(r"^https?://(?:www\.)?github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?(?:[/#?].*)?$")
# Project-URL labels that name the source repository, best first (labels compared normalised)
SOURCE_LABELS = ("source", "sourcecode", "repository", "code", "github", "homepage")


@dataclass
class PyPIConfig:
    """Where and how PyPI packages are fetched."""

    out: str = "data/repos.jsonl"
    repos_dir: str = "data/repos"
    licences: tuple[str, ...] = ("MIT",)
    jobs: int = 2
    max_mb: float = 300.0
    retry_failed: bool = False
    flush_seconds: float = 5.0
    wheels: bool = False        # fetch wheels (no build step, works offline) instead of sdists
    pip: PipConfig = field(default_factory=PipConfig)


def top_packages(n: int, path: str | Path = DEFAULT_TOP_LIST) -> list[str]:
    """Return the first n names of a most-downloaded list (one name a line, # comments)."""
    names = [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines()]
    names = [ln for ln in names if ln and not ln.startswith("#")]
    if n > len(names):
        raise ValueError(f"{path} lists {len(names)} packages, fewer than the {n} asked for")
    return names[:n]


def github_url(url: str | None) -> str | None:
    """Return https://github.com/owner/repo for any URL inside a GitHub repository, else None."""
    m = _GITHUB.match((url or "").strip())
    return f"https://github.com/{m.group(1)}/{m.group(2)}" if m else None


def source_url(md, name: str) -> str:
    """The package's GitHub repository from its metadata, else its PyPI page."""
    labelled = {}
    for entry in md.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        labelled.setdefault(re.sub(r"[^a-z]", "", label.lower()), url.strip())
    candidates = [labelled[k] for k in SOURCE_LABELS if k in labelled]
    candidates += [md.get("Home-page")] + list(labelled.values())
    for url in candidates:
        if github_url(url):
            return github_url(url)
    return f"https://pypi.org/project/{name}/"


def fetch_package(requirement: str, cfg: PyPIConfig) -> RepoRecord:
    """Download, check and unpack one package (its sdist, or its wheel); every outcome becomes a record (never raises SdistError)."""
    name, _ = canonical_name(requirement)
    rec = RepoRecord(name=f"pypi/{name}", source="pypi", url=f"https://pypi.org/project/{name}/")
    try:
        with tempfile.TemporaryDirectory(prefix="crawler-pip-") as tmp:
            fetch, read, unpack_to, kind = ((download_wheel, read_wheel_metadata, unpack_wheel, "wheel")
                                            if cfg.wheels else (pip_download, read_pkg_info, unpack, "sdist"))
            archive = fetch(requirement, Path(tmp), cfg.pip)
            md = read(archive)
            rec.version = (md.get("Version") or "").strip() or None
            rec.url = source_url(md, name)
            rec.licence = licence_from_metadata(md)
            rec.extra = {kind: archive.name}
            if not expression_allowed(rec.licence, cfg.licences):
                rec.status = "skipped"
                rec.error = f"licence {rec.licence or 'unknown'} is not one of {', '.join(cfg.licences)}"
                return rec
            dest = Path(cfg.repos_dir, "pypi", name).resolve()
            unpack_to(archive, dest, cfg.max_mb)
            rec.path = str(dest)
    except (SdistError, OSError) as e:
        rec.status, rec.error = "failed", str(e)
    return rec


def crawl(requirements: list[str], cfg: PyPIConfig) -> Counter:
    """Fetch every requirement not already done into the manifest; return counts by outcome."""
    return crawl_packages(requirements, cfg, "pypi", canonical_name, lambda req: fetch_package(req, cfg))


def add_arguments(p: argparse.ArgumentParser) -> None:
    d, dp = PyPIConfig(), PipConfig()
    p.add_argument("packages", nargs="*", help="packages to fetch: name or name==version")
    p.add_argument("--top", type=int, help="also fetch the N most downloaded packages of --top-list")
    p.add_argument("--top-list", default=str(DEFAULT_TOP_LIST), help="most-downloaded list, one name a line")
    p.add_argument("--out", default=d.out, help="manifest to update")
    p.add_argument("--repos-dir", default=d.repos_dir, help="packages are unpacked under REPOS_DIR/pypi/")
    p.add_argument("--licences", default=",".join(d.licences), help="allowed SPDX ids, comma-separated")
    p.add_argument("--jobs", type=int, default=d.jobs, help="parallel pip downloads")
    p.add_argument("--wheels", action="store_true", help="fetch wheels (pip --only-binary :all:) instead of sdists")
    p.add_argument("--max-mb", type=float, default=d.max_mb, help="refuse sdists that unpack to more than this")
    p.add_argument("--retry-failed", action="store_true", help="try again packages the manifest records as failed")
    p.add_argument("--flush-seconds", type=float, default=d.flush_seconds, help="rewrite the manifest at most this often")
    p.add_argument("--index-url", help="pip --index-url (a PyPI mirror, or a local simple index)")
    p.add_argument("--extra-index-url", action="append", default=[], help="pip --extra-index-url (repeatable)")
    p.add_argument("--find-links", action="append", default=[], help="pip --find-links (repeatable)")
    p.add_argument("--no-index", action="store_true", help="pip --no-index: only --find-links")
    p.add_argument("--no-build-isolation", action="store_true", help="pip --no-build-isolation")
    p.add_argument("--timeout", type=float, default=dp.timeout_s, help="seconds allowed for one pip download")


def config_from_args(args: argparse.Namespace) -> PyPIConfig:
    """Build the config from parsed arguments; raise ValueError on bad values."""
    if args.jobs < 1:
        raise ValueError("--jobs must be at least 1")
    if args.timeout <= 0 or args.max_mb <= 0:
        raise ValueError("--timeout and --max-mb must be positive")
    pip = PipConfig(index_url=args.index_url, extra_index_urls=args.extra_index_url, find_links=args.find_links,
                    no_index=args.no_index, build_isolation=not args.no_build_isolation, timeout_s=args.timeout)
    return PyPIConfig(out=args.out, repos_dir=args.repos_dir, licences=parse_allowed(args.licences), jobs=args.jobs,
                      max_mb=args.max_mb, retry_failed=args.retry_failed, flush_seconds=args.flush_seconds, wheels=args.wheels,
                      pip=pip)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = config_from_args(args)
        requirements = requested_specs(args, canonical_name, top_packages)
        with sigterm_as_interrupt(), logging_redirect_tqdm():
            counts = crawl(requirements, cfg)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"pypi: {counts['ok']} unpacked, {counts['skipped']} skipped (licence), {counts['failed']} failed, "
          f"{counts['done before']} done before -> {cfg.out}")
    return 0
