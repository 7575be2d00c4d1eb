"""What the package-registry sources (PyPI, npm) share: resume rules and the parallel fetch loop."""
from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from .journal import ManifestJournal
from .licences import expression_allowed
from .manifest import RepoRecord

log = logging.getLogger("crawler")


def is_done(rec: RepoRecord | None, pinned: str | None, cfg) -> bool:
    """True when the manifest already holds a final answer for this package under this config."""
    if rec is None or (pinned and rec.version != pinned):
        return False
    if rec.status == "ok":
        return bool(rec.path) and Path(rec.path).exists()
    if rec.status == "skipped":
        return not expression_allowed(rec.licence, cfg.licences)  # reconsidered when the allow list grows
    return not cfg.retry_failed


def crawl_packages(specs: list[str], cfg, source: str, parse: Callable[[str], tuple[str, str | None]],
                   fetch: Callable[[str], RepoRecord]) -> Counter:
    """Fetch every spec the manifest does not already answer, `cfg.jobs` at a time; return counts by outcome.

    `parse(spec)` gives (name, pinned version); records are named `{source}/{name}`.
    """
    counts: Counter = Counter()
    bar = tqdm(unit="pkg", desc=source)

    def on_add(rec: RepoRecord) -> None:  # runs under the journal's lock
        counts[rec.status] += 1
        bar.update()
        bar.set_postfix(ok=counts["ok"], skipped=counts["skipped"], failed=counts["failed"])

    journal = ManifestJournal(cfg.out, cfg.flush_seconds, on_add=on_add)
    todo, seen = [], set()
    for spec in specs:
        name, pinned = parse(spec)
        if name in seen:
            continue
        seen.add(name)
        rec = journal.get(f"{source}/{name}")
        if rec is not None and rec.source != source:
            log.warning("%s/%s: the manifest already has a %s record of that name; left alone", source, name, rec.source)
            counts["conflict"] += 1
        elif is_done(rec, pinned, cfg):
            counts["done before"] += 1
        else:
            todo.append(spec)
    bar.reset(total=len(todo))
    pool = ThreadPoolExecutor(max_workers=cfg.jobs)
    try:
        # workers record their own results, so what finishes after Ctrl-C is kept too
        futures = [pool.submit(lambda s: journal.add(fetch(s)), spec) for spec in todo]
        for fut in as_completed(futures):
            fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        journal.flush()
    return counts


def requested_specs(args, parse: Callable[[str], tuple[str, str | None]], top_list) -> list[str]:
    """The packages a command line asks for (`--top N` of the top list first, then the named ones), validated."""
    specs = list(args.packages)
    if args.top is not None:
        if args.top < 1:
            raise ValueError("--top must be at least 1")
        specs = top_list(args.top, args.top_list) + specs
    if not specs:
        raise ValueError("name packages to fetch, or --top N for the most downloaded")
    for spec in specs:
        parse(spec)
    return specs
