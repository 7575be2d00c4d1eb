"""Errors as JSON (or the page's error state for a browser), never a traceback; security headers on every answer."""
from __future__ import annotations

import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from index.errors import QueryError
from .params import ParamError
from .resources import IndexUnavailable

log = logging.getLogger(__name__)

CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def wants_page() -> bool:
    """True for a browser asking for a page; API paths and other clients get JSON."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def error_response(status: int, message: str):
    """Answer an error as JSON, or as the page's error state when a browser asked for a page."""
    if wants_page():
        from .pages import render_error  # the page module imports this one
        return render_error(status, message)
    return {"error": message, "status": status}, status


def register(app: Flask) -> None:
    """Install the error handlers and the security headers on app."""

    @app.errorhandler(ParamError)
    @app.errorhandler(QueryError)
    def bad_param(e: ValueError):
        return error_response(400, str(e))

    @app.errorhandler(IndexUnavailable)
    def no_index(e: IndexUnavailable):
        return error_response(503, str(e))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        return error_response(e.code or 500, e.description or e.name)

    @app.errorhandler(Exception)
    def internal_error(e: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal server error (the server log has the details)")

    @app.after_request
    def security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

