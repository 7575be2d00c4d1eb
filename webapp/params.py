"""Parse and bound the query-string parameters of a search request, before any search work is done."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .config import WebConfig


class ParamError(ValueError):
    """A request parameter is missing, malformed or out of bounds (answered with a 400)."""


@dataclass(frozen=True)
class SearchParams:
    q: str
    k: int
    mode: str
    repo: str | None
    lang: str | None
    offset: int

    @property
    def page(self) -> int:
        return self.offset // self.k + 1

    def link_args(self, cfg: WebConfig, **changes) -> dict:
        """The page's query-string arguments that reproduce this search (defaults left out), with changes."""
        args = {"q": self.q, "repo": self.repo, "lang": self.lang, "mode": self.mode, "k": self.k,
                "page": self.page}
        args.update(changes)
        defaults = {"mode": cfg.default_mode, "k": cfg.page_size, "page": 1}
        return {key: v for key, v in args.items() if v not in (None, "") and defaults.get(key) != v}


def parse_int(args: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ParamError(f"{name} must be an integer, got {raw[:20]!r}") from None
    if not lo <= value <= hi:
        raise ParamError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def parse_query(args: Mapping[str, str], cfg: WebConfig, required: bool) -> str:
    q = (args.get("q") or "").strip()
    if len(q) > cfg.max_query_chars:
        raise ParamError(f"query too long: {len(q)} characters (at most {cfg.max_query_chars})")
    if required and not q:
        raise ParamError("empty query: pass q=<what the function should do>")
    return q


def parse_filter(args: Mapping[str, str], name: str) -> str | None:
    value = (args.get(name) or "").strip()
    if len(value) > 200:  # no repository or language name is this long; don't echo a huge value back
        raise ParamError(f"{name} filter too long: {len(value)} characters")
    return value or None


def parse_search(args: Mapping[str, str], cfg: WebConfig, api: bool) -> SearchParams:
    """Parse q, k, mode, repo, lang and offset (API) or page (HTML page); raise ParamError when out of bounds."""
    q = parse_query(args, cfg, required=api)
    k = parse_int(args, "k", cfg.page_size, 1, cfg.max_k if api else cfg.max_page_size)
    mode = (args.get("mode") or cfg.default_mode).strip()
    if mode not in cfg.modes:
        raise ParamError(f"unknown mode {mode[:40]!r}: use one of {', '.join(cfg.modes)}")
    if api:
        offset = parse_int(args, "offset", 0, 0, cfg.max_offset)
    else:
        offset = (parse_int(args, "page", 1, 1, cfg.max_page) - 1) * k
    return SearchParams(q=q, k=k, mode=mode, repo=parse_filter(args, "repo"), lang=parse_filter(args, "lang"),
                        offset=offset)
