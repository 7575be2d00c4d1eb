"""Page through GitHub repository search past its 1,000-results-per-query cap by splitting on stars."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Iterator

from .api import ApiClient, ApiError

log = logging.getLogger("crawler.search")


@dataclass
class SearchConfig:
    """What to search for and how the search API pages."""

    query: str = "language:python license:mit"
    per_page: int = 100
    result_cap: int = 1000        # GitHub returns at most this many results per query
    min_stars: int = 0
    max_stars: int | None = None
    earliest: str = "2008-01-01"  # created-date splits start here (GitHub opened in 2008)
    latest: str | None = None     # ... and end here (None: today, UTC)


def stars_qualifier(lo: int, hi: int | None) -> str:
    """The `stars:` qualifier for lo <= stars <= hi (hi None: no upper bound)."""
    if hi is None:
        return f"stars:>={lo}" if lo > 0 else ""
    return f"stars:{lo}..{hi}" if lo < hi else f"stars:{hi}"


def iter_repositories(client: ApiClient, cfg: SearchConfig) -> Iterator[dict]:
    """Yield each matching repository once, most stars first, lazily (one page at a time).

    Each window asks for `stars:min..upper` sorted by stars; when it is cut off at the cap, the next
    window's upper bound is the fewest stars seen (repositories on that boundary come again and are
    dropped as duplicates). A star count shared by more repositories than the cap is split further
    by creation date.
    """
    seen: set[str] = set()
    upper = cfg.max_stars
    while upper is None or upper >= cfg.min_stars:
        q = " ".join(x for x in (cfg.query, stars_qualifier(cfg.min_stars, upper)) if x)
        stars, total = [], 0
        for item, total in _window(client, q, cfg):
            stars.append(item["stargazers_count"])
            if item["full_name"] not in seen:
                seen.add(item["full_name"])
                yield item
        if not stars or total <= cfg.result_cap:
            return  # this window held every repository left
        low = min(stars)
        if low == max(stars):
            log.info("more than %d repositories have %d stars; splitting them by creation date", cfg.result_cap, low)
            for item in _split_by_date(client, cfg, low):
                if item["full_name"] not in seen:
                    seen.add(item["full_name"])
                    yield item
            upper = low - 1
        else:
            upper = low


def _fetch(client: ApiClient, q: str, page: int, cfg: SearchConfig) -> tuple[list[dict], int]:
    """One page of search results and the query's total count, shape-checked."""
    params = {"q": q, "sort": "stars", "order": "desc", "per_page": cfg.per_page, "page": page}
    data = client.get_json("/search/repositories", params)
    items, total = data.get("items"), data.get("total_count")
    if not isinstance(items, list) or not isinstance(total, int):
        raise ApiError(f"unexpected search response for {q!r} page {page}: no items/total_count")
    for it in items:
        if not isinstance(it, dict) or not isinstance(it.get("full_name"), str) \
                or not isinstance(it.get("stargazers_count"), int):
            raise ApiError(f"unexpected search result for {q!r} page {page}: {str(it)[:120]}")
    if data.get("incomplete_results"):
        log.warning("GitHub says the results for %r page %d are incomplete (search timed out)", q, page)
    return items, total


def _window(client: ApiClient, q: str, cfg: SearchConfig,
            first: tuple[list[dict], int] | None = None) -> Iterator[tuple[dict, int]]:
    """Yield (item, total_count) for every page of one query, up to the result cap."""
    last_page = max(1, cfg.result_cap // cfg.per_page)
    for page in range(1, last_page + 1):
        items, total = first if (page == 1 and first) else _fetch(client, q, page, cfg)
        for item in items:
            yield item, total
        if len(items) < cfg.per_page or page * cfg.per_page >= total:
            return


def _split_by_date(client: ApiClient, cfg: SearchConfig, stars: int) -> Iterator[dict]:
    """Yield the repositories with exactly `stars` stars, bisecting creation dates until each part fits."""
    latest = dt.date.fromisoformat(cfg.latest) if cfg.latest else dt.datetime.now(dt.timezone.utc).date()
    stack = [(dt.date.fromisoformat(cfg.earliest), latest)]
    while stack:
        a, b = stack.pop()
        q = " ".join(x for x in (cfg.query, f"stars:{stars}", f"created:{a}..{b}") if x)
        first = _fetch(client, q, 1, cfg)
        if first[1] > cfg.result_cap and a < b:
            mid = a + dt.timedelta(days=(b - a).days // 2)
            stack += [(mid + dt.timedelta(days=1), b), (a, mid)]  # the older half first
            continue
        if first[1] > cfg.result_cap:
            log.warning("%d repositories with %d stars were created on %s; only %d are reachable",
                        first[1], stars, a, cfg.result_cap)
        for item, _ in _window(client, q, cfg, first):
            yield item
