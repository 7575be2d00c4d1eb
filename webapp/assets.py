"""The page's stylesheets and script, read into memory at start-up: no request reads the disk."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort

from .render import pygments_css

STATIC = Path(__file__).parent / "static"
TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
CACHE = {"Cache-Control": "public, max-age=3600"}

bp = Blueprint("assets", __name__)


def load_assets() -> dict[str, tuple[bytes, str]]:
    """Read every bundled asset: name -> (bytes, mimetype)."""
    assets = {p.name: (p.read_bytes(), TYPES[p.suffix]) for p in STATIC.iterdir() if p.suffix in TYPES}
    assets["pygments.css"] = (pygments_css().encode(), "text/css")
    return assets


ASSETS = load_assets()


@bp.get("/static/<name>")
def asset(name: str):
    """A bundled asset by name (a key into the in-memory table, never a path)."""
    if name not in ASSETS:
        abort(404)
    body, mimetype = ASSETS[name]
    return Response(body, mimetype=mimetype, headers=CACHE)
