"""Turn search hits into what the page shows: highlighted code, safe links, page numbers."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import urlsplit

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

LINK_SCHEMES = ("http", "https", "file")  # never javascript:, data: etc. from a crawled record
CSS_CLASS = "highlight"
WHOLE_LINES = 5000   # a function's whole body on its own page or in a result's <details>


@dataclass(frozen=True)
class HitView:
    name: str
    repo: str
    path: str
    start_line: int
    end_line: int
    url: str | None
    language: str
    score: float
    desc: str
    code_html: Markup
    hidden_lines: int
    id: int | None = None
    full_html: Markup | None = None   # the whole function, for the result's <details> when code_html is cut short


def safe_url(url: str | None) -> str | None:
    """Return url when its scheme is one a result may link to, else None."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in LINK_SCHEMES else None


@functools.lru_cache(maxsize=32)
def lexer_for(language: str):
    try:
        return get_lexer_by_name(language or "text", stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


@functools.lru_cache(maxsize=2048)
def highlight_code(code: str, language: str, start_line: int, marked: tuple[int, ...], max_lines: int) -> tuple[Markup, int]:
    """Highlight the first max_lines lines of code (numbered from start_line, `marked` lines flagged).

    Returns the HTML (Pygments escapes the code) and how many lines were left out.
    """
    lines = code.splitlines()
    hidden = max(0, len(lines) - max_lines)
    shown = "\n".join(lines[:max_lines]) + "\n"
    formatter = HtmlFormatter(cssclass=CSS_CLASS, linenos="inline", linenostart=max(1, start_line),
                              hl_lines=[n for n in marked if 1 <= n <= max_lines], wrapcode=True)
    return Markup(highlight(shown, lexer_for(language), formatter)), hidden


@functools.lru_cache(maxsize=1)
def pygments_css() -> str:
    """Return the stylesheet for highlighted code (served as a file: the CSP forbids inline styles)."""
    return HtmlFormatter(style="default").get_style_defs(f".{CSS_CLASS}") + (
        f"\n.{CSS_CLASS} .hll {{ background-color: #fff3b0; }}\n")


def hit_view(hit, max_lines: int) -> HitView:
    """Build what one result shows from a Hit."""
    marked = tuple(sorted(set(getattr(hit, "matched_lines", None) or ())))
    code_html, hidden = highlight_code(hit.code or "", hit.language or "", int(hit.start_line), marked, max_lines)
    full = highlight_code(hit.code, hit.language or "", int(hit.start_line), marked, WHOLE_LINES)[0] if hidden else None
    fid = getattr(hit, "id", None)
    return HitView(name=hit.name, repo=hit.repo, path=hit.path, start_line=int(hit.start_line),
                   end_line=int(hit.end_line), url=safe_url(hit.url), language=hit.language or "",
                   score=float(hit.score), desc=hit.desc or "", code_html=code_html, hidden_lines=hidden,
                   id=int(fid) if fid is not None else None, full_html=full)


def browsable(url: str | None) -> bool:
    """True for a permalink a browser follows from an http page (file:// ones it refuses)."""
    return bool(url) and not url.lower().startswith("file:")


def page_numbers(page: int, last: int, width: int = 2) -> list[int | None]:
    """Page links to show: first, last and a window around the current page; None marks a gap."""
    keep = {1, last} | set(range(max(1, page - width), min(last, page + width) + 1))
    out: list[int | None] = []
    for n in sorted(keep):
        prev = out[-1] if out else n - 1
        if n - prev == 2:  # a gap of one page: show the page rather than "..."
            out.append(prev + 1)
        elif n - prev > 2:
            out.append(None)
        out.append(n)
    return out
