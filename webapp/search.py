"""Run one validated search against the shared Searcher (shared by the API and the page)."""
from __future__ import annotations

from flask import current_app

from .config import WebConfig
from .params import ParamError, SearchParams
from .resources import holder


def web_config() -> WebConfig:
    """Return the current app's WebConfig."""
    return current_app.config["WEB"]


def check_filters(params: SearchParams) -> None:
    """Raise ParamError when a repo or language filter names nothing in the index."""
    facets = holder().facets()
    if params.repo is not None and params.repo not in facets.repos:
        raise ParamError(f"unknown repository {params.repo!r} (the page's repository filter lists the indexed ones)")
    if params.lang is not None and params.lang not in facets.languages:
        raise ParamError(f"unknown language {params.lang!r}: indexed languages are {', '.join(facets.languages)}")


def run_search(params: SearchParams):
    """Search with validated parameters; return the searcher's SearchResult."""
    check_filters(params)
    return holder().get().search(params.q, k=params.k, mode=params.mode, repo=params.repo, lang=params.lang,
                                 offset=params.offset)
