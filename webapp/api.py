"""The JSON API: GET /api/search and GET /healthz."""
from __future__ import annotations

import time

from flask import Blueprint, request

from .params import parse_search
from .resources import IndexUnavailable, holder
from .search import run_search, web_config

bp = Blueprint("api", __name__)


@bp.get("/api/search")
def search():
    """Answer a search as JSON: the query, the ranked results and the time taken."""
    t0 = time.perf_counter()
    params = parse_search(request.args, web_config(), api=True)
    result = run_search(params)
    return {
        "query": result.query,
        "mode": result.mode,
        "k": params.k,
        "offset": params.offset,
        "repo": params.repo,
        "lang": params.lang,
        "total": int(result.total),
        "results": [hit.to_dict() for hit in result.hits],
        "took_ms": round((time.perf_counter() - t0) * 1000, 3),
    }


@bp.get("/healthz")
def healthz():
    """Report whether the index is open, how big it is and how far a build replacing it is (503 while there is none)."""
    building = holder().building()
    extra = {"building": building} if building else {}
    try:
        facets = holder().facets()
    except IndexUnavailable as e:
        return {"status": "unavailable", "error": str(e), **extra}, 503
    return {"status": "ok", "functions": facets.size, "repos": len(facets.repos), "languages": list(facets.languages),
            **extra}
