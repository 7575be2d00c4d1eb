"""Find repositories with GitHub's search API, verify their licence, shallow-clone them in parallel."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import git
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from .api import ApiClient, ApiError, RetryConfig
from .clone import CloneConfig, CloneError, clone, head_sha
from .journal import ManifestJournal, sigterm_as_interrupt
from .licences import expression_allowed, parse_allowed
from .manifest import RepoRecord
from .search import SearchConfig, iter_repositories

log = logging.getLogger("crawler.github")


@dataclass
class GitHubConfig:
    """A GitHub crawl: the search, the licence filter, the clones and where results go."""

    out: str = "data/repos.jsonl"
    repos_dir: str = "data/repos"
    api_url: str = "https://api.github.com"
    max_repos: int = 100          # licence-verified repositories to take (cloned or failed); 0: all
    licences: tuple[str, ...] = ("MIT",)
    jobs: int = 4                 # parallel clones
    retry_failed: bool = False
    flush_seconds: float = 5.0
    search: SearchConfig = field(default_factory=SearchConfig)
    clone: CloneConfig = field(default_factory=CloneConfig)
    retry: RetryConfig = field(default_factory=RetryConfig)


def checkout_dir(cfg: GitHubConfig, full_name: str) -> Path:
    """Where owner/repo is cloned."""
    return Path(cfg.repos_dir, "github", *full_name.split("/")).resolve()


def base_record(item: dict) -> RepoRecord:
    """The manifest record of a search result, before cloning."""
    licence = (item.get("license") or {}).get("spdx_id")
    return RepoRecord(name=item["full_name"], source="github",
                      url=item.get("html_url") or f"https://github.com/{item['full_name']}",
                      licence=licence, stars=item["stargazers_count"])


def fetch_repository(item: dict, cfg: GitHubConfig) -> RepoRecord:
    """Clone one licence-verified repository (or adopt a finished checkout); failures become records."""
    rec = base_record(item)
    dest = checkout_dir(cfg, rec.name)
    try:
        sha = head_sha(dest) if dest.exists() else None
        if sha is None:
            if dest.exists():
                raise CloneError(f"{dest} exists and is not a git checkout; remove it to clone again")
            url = item.get("clone_url")
            if not isinstance(url, str) or not url:
                raise CloneError("search result has no clone_url")
            sha = clone(url, dest, cfg.clone)
    except CloneError as e:
        rec.status, rec.error = "failed", str(e)
        return rec
    except (OSError, git.GitError) as e:
        rec.status, rec.error = "failed", f"{type(e).__name__}: {e}"[:300]
        return rec
    rec.sha, rec.path = sha, str(dest)
    return rec


def is_done(rec: RepoRecord, cfg: GitHubConfig) -> bool:
    """True when the manifest already holds a final answer for this repository under this config."""
    if rec.status == "ok":
        return bool(rec.path) and Path(rec.path).exists()
    if rec.status == "skipped":
        return not expression_allowed(rec.licence, cfg.licences)  # reconsidered when the allow list grows
    return not cfg.retry_failed


def crawl(cfg: GitHubConfig, client: ApiClient) -> Counter:
    """Search, filter and clone until max_repos repositories are answered; return counts by outcome.

    The manifest is the only state: what it already answers is skipped (and counts towards max_repos),
    so a crawl killed and restarted ends with the manifest an uninterrupted crawl would have written.
    """
    counts: Counter = Counter()
    bar = tqdm(total=cfg.max_repos or None, unit="repo", desc="github")

    def on_add(rec: RepoRecord) -> None:  # runs under the journal's lock
        counts[rec.status] += 1
        if rec.status != "skipped":
            bar.update()
        bar.set_postfix(ok=counts["ok"], failed=counts["failed"], skipped=counts["skipped"])

    journal = ManifestJournal(cfg.out, cfg.flush_seconds, on_add=on_add)
    pool = ThreadPoolExecutor(max_workers=cfg.jobs)
    pending: set[Future] = set()
    taken = 0
    try:
        for item in iter_repositories(client, cfg.search):
            if cfg.max_repos and taken >= cfg.max_repos:
                break
            rec = journal.get(item["full_name"])
            if rec is not None and rec.source != "github":
                log.warning("%s: the manifest already has a %s record of that name; left alone", rec.name, rec.source)
                continue
            if rec is not None and is_done(rec, cfg):
                counts["done before"] += 1
                if rec.status != "skipped":
                    taken += 1
                    bar.update()
                continue
            new = base_record(item)
            if not expression_allowed(new.licence, cfg.licences):
                new.status = "skipped"
                new.error = f"licence {new.licence or 'none'} is not one of {', '.join(cfg.licences)}"
                journal.add(new)
                continue
            taken += 1
            # workers record their own results: the main thread may be waiting on the search API
            pending.add(pool.submit(lambda it: journal.add(fetch_repository(it, cfg)), item))
            while len(pending) >= 2 * cfg.jobs:  # a bounded queue: search no further ahead than needed
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                _raise_first(done)
        done, _ = wait(pending)
        _raise_first(done)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)  # queued clones wait for the restart
        raise
    finally:
        # on an API error the queued clones are licence-verified work: finish them before leaving
        pool.shutdown(wait=True)
        bar.close()
        journal.flush()
    return counts


def _raise_first(done: set[Future]) -> None:
    for f in done:
        if f.exception() is not None:
            raise f.exception()


def add_arguments(p: argparse.ArgumentParser) -> None:
    d, s, c = GitHubConfig(), SearchConfig(), CloneConfig()
    p.add_argument("--query", default=s.query, help="search qualifiers (stars: ranges are added by the crawler)")
    p.add_argument("--max-repos", type=int, default=d.max_repos,
                   help="repositories with an allowed licence to take, cloned or failed (0: every result)")
    p.add_argument("--min-stars", type=int, default=s.min_stars, help="ignore repositories with fewer stars")
    p.add_argument("--max-stars", type=int, default=s.max_stars,
                   help="ignore repositories with more stars (to split a crawl across machines)")
    p.add_argument("--licences", default=",".join(d.licences), help="allowed SPDX ids (license.spdx_id), comma-separated")
    p.add_argument("--out", default=d.out, help="manifest to update (also the crawl's resume state)")
    p.add_argument("--repos-dir", default=d.repos_dir, help="clones go to REPOS_DIR/github/OWNER/REPO")
    p.add_argument("--api-url", default=d.api_url, help="API base URL (GitHub Enterprise: https://HOST/api/v3)")
    p.add_argument("--jobs", type=int, default=d.jobs, help="parallel clones")
    p.add_argument("--clone-timeout", type=float, default=c.timeout_s, help="seconds allowed for one clone")
    p.add_argument("--max-mb", type=float, default=c.max_mb, help="size cap of one checkout, in MB")
    p.add_argument("--retry-failed", action="store_true", help="clone again repositories recorded as failed")
    p.add_argument("--max-tries", type=int, default=RetryConfig.max_tries, help="tries per API request")
    p.add_argument("--per-page", type=int, default=s.per_page, help="search results per page (at most 100)")
    p.add_argument("--result-cap", type=int, default=s.result_cap, help="results the API gives per query")
    p.add_argument("--flush-seconds", type=float, default=d.flush_seconds, help="rewrite the manifest at most this often")


def config_from_args(args: argparse.Namespace) -> GitHubConfig:
    """Build the config from parsed arguments; raise ValueError on bad values."""
    if args.jobs < 1 or args.max_tries < 1:
        raise ValueError("--jobs and --max-tries must be at least 1")
    if not 1 <= args.per_page <= 100 or args.result_cap < args.per_page:
        raise ValueError("--per-page must be 1..100 and --result-cap at least --per-page")
    if args.max_repos < 0 or args.min_stars < 0 or (args.max_stars is not None and args.max_stars < args.min_stars):
        raise ValueError("--max-repos and --min-stars must be >= 0 and --max-stars >= --min-stars")
    if args.clone_timeout <= 0 or args.max_mb <= 0:
        raise ValueError("--clone-timeout and --max-mb must be positive")
    search = SearchConfig(query=args.query, per_page=args.per_page, result_cap=args.result_cap,
                          min_stars=args.min_stars, max_stars=args.max_stars)
    return GitHubConfig(out=args.out, repos_dir=args.repos_dir, api_url=args.api_url, max_repos=args.max_repos,
                        licences=parse_allowed(args.licences), jobs=args.jobs, retry_failed=args.retry_failed,
                        flush_seconds=args.flush_seconds, search=search,
                        clone=CloneConfig(timeout_s=args.clone_timeout, max_mb=args.max_mb),
                        retry=RetryConfig(max_tries=args.max_tries))


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    token = os.environ.get("GITHUB_TOKEN") or None
    try:
        cfg = config_from_args(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        if not token:
            log.warning("GITHUB_TOKEN is not set: unauthenticated search allows 10 requests a minute")
        with sigterm_as_interrupt(), logging_redirect_tqdm():
            counts = crawl(cfg, ApiClient(cfg.api_url, token=token, retry=cfg.retry))
    except (ApiError, ValueError, OSError) as e:
        msg = str(e).replace(token, "***") if token else str(e)
        print(f"error: {msg} (the manifest keeps what was finished)", file=sys.stderr)
        return 1
    print(f"github: {counts['ok']} cloned, {counts['failed']} failed, {counts['skipped']} skipped (licence), "
          f"{counts['done before']} done before -> {cfg.out}")
    return 0
