"""The search page (works without JavaScript) and its results fragment for search-as-you-type."""
from __future__ import annotations

import math
import time

from flask import Blueprint, render_template, request, url_for

from index.errors import QueryError
from .params import ParamError, SearchParams, parse_search
from .render import hit_view, page_numbers
from .resources import Facets, IndexUnavailable, holder
from .search import run_search, web_config

bp = Blueprint("pages", __name__)
EXAMPLES = ("read a json file", "join two paths", "compute the sha256 of a file", "parse a url query string",
            "sort a dictionary by value")


def base_state() -> dict:
    """The page with an empty box, no filters chosen and nothing to report."""
    cfg = web_config()
    return {"q": "", "repo": "", "lang": "", "mode": cfg.default_mode, "modes": cfg.modes,
            "facets": Facets((), (), 0), "examples": EXAMPLES, "error": None, "unavailable": None, "result": None,
            "building": None}


def building_note(status: dict | None) -> str | None:
    """One line on a build that will replace the index being served: how far it is and how long it has left."""
    if not status:
        return None
    if status.get("stage") == "vectors":
        return ("Indexing: every function is encoded; building the vector index (a minute or two). Searching the "
                "index built before it meanwhile; the page switches to the new one when it is done.")
    done, total, pct, eta = (status.get(k) for k in ("functions_done", "functions_total", "percent", "eta_seconds"))
    left = "" if eta is None else f", about {max(1, round(eta / 60)):,} min left"
    share = f"{pct:.0f}%" if pct is not None else f"{done:,} functions"
    of = f" ({done:,} of {total:,} functions)" if total else ""
    return (f"Indexing: {share} done{left}{of}. Searching the index built before it meanwhile; "
            f"the page switches to the new one when it is done.")


def search_state() -> tuple[dict, int]:
    """Everything the page shows for this request, and its HTTP status."""
    cfg, args = web_config(), request.args
    state = base_state()
    # Echo what was asked (escaped by the template) even when it is refused below.
    state.update(q=(args.get("q") or "").strip()[:cfg.max_query_chars], repo=(args.get("repo") or "")[:200],
                 lang=(args.get("lang") or "")[:200], mode=(args.get("mode") or cfg.default_mode)[:40])
    state["building"] = building_note(holder().building())
    try:
        state["facets"] = holder().facets()
        if state["facets"].modes is not None:   # offer only the modes this index serves
            state["modes"] = tuple(m for m in cfg.modes if m in state["facets"].modes)
    except IndexUnavailable as e:
        state["unavailable"] = str(e)
        return state, 503
    try:
        params = parse_search(args, cfg, api=False)
        state.update(q=params.q, repo=params.repo or "", lang=params.lang or "", mode=params.mode)
        if params.q:
            t0 = time.perf_counter()
            result = run_search(params)
            state["result"] = results_view(params, result, (time.perf_counter() - t0) * 1000)
    except (ParamError, QueryError) as e:
        state["error"] = str(e)
        return state, 400
    return state, 200


def results_view(params: SearchParams, result, took_ms: float) -> dict:
    """The results part of the page: hits, counts and pagination links."""
    cfg = web_config()
    last = max(1, min(cfg.max_page, math.ceil(int(result.total) / params.k)))
    link = lambda page: url_for("pages.index", **params.link_args(cfg, page=page))  # noqa: E731
    return {
        "hits": [hit_view(hit, cfg.code_lines) for hit in result.hits],
        "total": int(result.total),
        "first": params.offset + 1,
        "took_ms": took_ms,
        "page": params.page,
        "pages": [(n, link(n) if n else None) for n in page_numbers(params.page, last)] if last > 1 else [],
        "prev": link(params.page - 1) if params.page > 1 else None,
        "next": link(params.page + 1) if params.page < last else None,
        "unfiltered": url_for("pages.index", **params.link_args(cfg, repo=None, lang=None, page=1)),
        "repo_link": lambda repo: url_for("pages.index", **params.link_args(cfg, repo=repo, page=1)),
    }


def render_error(status: int, message: str):
    """The page in its error state (for 404/405/500 when a browser asked for a page)."""
    state = base_state()
    state["error"] = message
    return render_template("search.html", **state), status


@bp.get("/")
def index():
    """The search page: the box, the filters and (with q) the results."""
    state, status = search_state()
    return render_template("search.html", **state), status


@bp.get("/results")
def results():
    """The results part of the page alone, for search-as-you-type."""
    state, status = search_state()
    return render_template("_results.html", **state), status
