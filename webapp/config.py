"""The web app's own defaults: request limits and page layout (a dataclass, unknown keys rejected)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class WebConfig:
    max_query_chars: int = 1000   # the searcher refuses longer queries too; checked here before any work
    max_k: int = 1000             # API: results per request
    page_size: int = 10           # page: results per page by default
    max_page_size: int = 100      # page: a bigger k is a 400 (the page renders every hit's code)
    max_page: int = 100           # page: deepest page reachable
    max_offset: int = 10_000      # API: deepest offset reachable
    code_lines: int = 30          # lines of a function's code shown on the page before "N more lines"
    modes: tuple[str, ...] = ("hybrid", "best", "neural", "lexical")
    default_mode: str = "hybrid"

    @classmethod
    def from_mapping(cls, values: dict | None) -> "WebConfig":
        """Build from a dict of overrides; an unknown key is an error, not silently ignored."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown web config key(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**values)
