"""Retrieval-augmented prompts: put the top-K indexed functions for a problem's docstring first.

A retriever is any `retriever(query: str, k: int) -> list[str]` returning code snippets, best first.
The search index provides one (`index_retriever`); tests use a fake.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

Retriever = Callable[[str, int], list[str]]

_PY_DOC = re.compile(r'("""|\'\'\')(.*?)\1', re.S)
_BLOCK_COMMENT = re.compile(r"/\*+(.*?)\*/", re.S)
_LINE_COMMENT = re.compile(r"^\s*//+ ?(.*)$", re.M)
_EXAMPLE = re.compile(r"^\s*(>>>|for example\b|example[s]?\b|e\.g\.|note:)", re.I)
_FUNC_NAME = re.compile(r"(?:def|func|fn|function|const)\s+(\w+)|(\w+)\s*\([^()]*\)\s*\{?\s*$", re.M)


@dataclass
class RagConfig:
    """How many snippets to fetch and how much prompt room they may take."""

    k: int = 0  # 0 disables retrieval
    max_snippet_chars: int = 800  # longer snippets are cut at a line boundary
    max_total_chars: int = 2000  # the retrieved block never exceeds this
    max_query_chars: int = 400
    snippet_language: str = "python"  # the index holds Python functions


def _description_lines(text: str) -> list[str]:
    """Return the lines of a docstring/comment up to its first example."""
    out = []
    for line in text.splitlines():
        line = line.strip().lstrip("*").strip()
        if _EXAMPLE.match(line):
            break
        out.append(line)
    return out


def query_of(ctx: str, lang: str, limit: int = 400) -> str:
    """Return the natural-language description in a problem's prompt: the retrieval query."""
    if lang in ("python", "humaneval"):
        docs = [m.group(2) for m in _PY_DOC.finditer(ctx)]
    else:
        docs = [m.group(1) for m in _BLOCK_COMMENT.finditer(ctx)]
        docs.append("\n".join(m.group(1) for m in _LINE_COMMENT.finditer(ctx)))
    words = " ".join(" ".join(_description_lines(d)) for d in docs if d.strip())
    words = re.sub(r"\s+", " ", words).strip()
    if not words:  # no docstring: fall back to the function name, split into words
        names = [a or b for a, b in _FUNC_NAME.findall(ctx)]
        name = names[-1] if names else ""
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").lower()
    return words[:limit]


def _cut(snippet: str, limit: int) -> str:
    """Cut a snippet to at most `limit` characters at a line boundary."""
    if len(snippet) <= limit:
        return snippet
    head = snippet[:limit]
    return head[: head.rfind("\n")] if "\n" in head else head


def _as_context(snippet: str, lang: str, cfg: RagConfig) -> str:
    """Render one snippet for a prompt in `lang`: as code when the languages match, else a comment."""
    same = lang in ("python", "humaneval") and cfg.snippet_language == "python"
    if same:
        return snippet.rstrip() + "\n\n\n"
    if lang in ("python", "humaneval"):
        return "".join(f"# {line}\n" for line in snippet.rstrip().splitlines()) + "\n"
    body = snippet.rstrip().replace("*/", "* /")  # a snippet must not close the comment early
    return f"/* Related {cfg.snippet_language} code:\n{body}\n*/\n\n"


def build_prompt(ctx: str, lang: str, snippets: list[str], cfg: RagConfig) -> str:
    """Return the prompt: retrieved snippets (within the character budget), then the problem."""
    block, seen = "", set()
    for s in snippets:
        s = _cut(s.strip("\n"), cfg.max_snippet_chars)
        if not s.strip() or s in seen:
            continue
        piece = _as_context(s, lang, cfg)
        if len(block) + len(piece) > cfg.max_total_chars:
            break
        seen.add(s)
        block += piece
    return block + ctx


def augment(ctx: str, lang: str, retriever: Retriever, cfg: RagConfig) -> str:
    """Query `retriever` with the problem's description and return the augmented prompt."""
    if cfg.k <= 0:
        return ctx
    snippets = retriever(query_of(ctx, lang, cfg.max_query_chars), cfg.k)
    return build_prompt(ctx, lang, list(snippets)[: cfg.k], cfg)


def index_retriever(index_dir: str) -> Retriever:
    """Return a retriever over the search index in `index_dir`: top-k functions' code for a query."""
    from index.searcher import Searcher

    searcher = Searcher.open(index_dir)
    return lambda query, k: [hit.code for hit in searcher.search(query, k=k).hits]
