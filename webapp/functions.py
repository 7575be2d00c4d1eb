"""One function by id: its own page (the target of file:// permalinks), "more like this" as a page and as JSON."""
from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, render_template, request, url_for
from werkzeug.exceptions import NotFound

from index import lookup
from index.errors import QueryError
from .pages import base_state
from .params import ParamError, parse_int
from .render import WHOLE_LINES, hit_view
from .resources import holder
from .search import web_config

bp = Blueprint("functions", __name__)
MAX_SIMILAR = 50


def find(fid: int) -> dict:
    """The record of an id, read from the index (never from a path in the request); 404 when there is none."""
    try:
        return lookup.record(holder().get(), fid)
    except QueryError as e:
        raise NotFound(str(e)) from None


def similar_hits(fid: int, k: int) -> list[dict]:
    find(fid)
    return lookup.similar(holder().get(), fid, k)


def parse_id() -> int:
    """The `id` argument: required, a whole number."""
    if not (request.args.get("id") or "").strip():
        raise ParamError("missing id: pass id=<the id of a search result>")
    return parse_int(request.args, "id", 0, 0, 2 ** 62)


@bp.get("/api/similar")
def api_similar():
    """The functions whose code vectors are nearest to function `id`: JSON like /api/search."""
    fid, k = parse_id(), parse_int(request.args, "k", 10, 1, MAX_SIMILAR)
    return {"id": fid, "k": k, "results": similar_hits(fid, k)}


@bp.get("/similar")
def similar_page():
    """"More like this": the search page listing the nearest functions of one function."""
    fid, cfg = parse_id(), web_config()
    k = parse_int(request.args, "k", cfg.page_size, 1, MAX_SIMILAR)
    origin = find(fid)
    hits = [hit_view(SimpleNamespace(**h, matched_lines=()), cfg.code_lines) for h in similar_hits(fid, k)]
    state = base_state()
    state["facets"] = holder().facets()
    state["result"] = {"hits": hits, "total": len(hits), "first": 1, "took_ms": 0.0, "page": 1, "pages": [],
                       "prev": None, "next": None, "unfiltered": url_for("pages.index"),
                       "repo_link": lambda repo: url_for("pages.index", repo=repo)}
    return render_template("similar.html", origin=origin, origin_link=url_for("functions.page", fid=fid), **state)


@bp.get("/function/<int:fid>")
def page(fid: int):
    """The whole function with its repository, path and lines, for permalinks a browser will not follow."""
    r = find(fid)
    view = hit_view(SimpleNamespace(**r, score=0.0, matched_lines=()), WHOLE_LINES)
    state = base_state()
    state["facets"] = holder().facets()
    return render_template("function.html", h=view, permalink=r["url"], **state)
