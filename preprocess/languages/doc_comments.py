"""Doc comments above a declaration (JSDoc, Javadoc, Go, Rust, C/C++), cleaned to their first sentence."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..functions import first_sentence

COMMENT_TYPES = frozenset({"comment", "line_comment", "block_comment"})
_INLINE_TAG = re.compile(r"\{@(?:link|linkplain|code|literal|value)\s+([^}\s]*)(?:\s+([^}]*))?\}")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_DECORATION = re.compile(r"^[\s*/=#~+-]*$")
_DIRECTIVE = re.compile(r"^(go:|\+build|nolint|lint:|eslint|jshint|prettier-ignore|istanbul|@ts-)")


@dataclass(frozen=True)
class DocComment:
    """Which comments document a declaration: `jsdoc` (/** */ only), `rust` (/// or /** */, and //! in
    the body), or `any` (a /* */ block or a run of // lines directly above: Go, C, C++)."""

    style: str = "any"

    def find(self, site, start_node, src: bytes) -> tuple[str, int | None]:
        """(first sentence of the doc comment, its first row) or ("", None)."""
        block = comments_above(start_node, src)
        if self.style == "jsdoc":
            block = block[-1:] if block and block[-1][1].startswith("/**") and not block[-1][1].startswith("/***") else []
        elif self.style == "rust":
            block = _rust_docs(block)
        elif block and block[-1][1].startswith("/*"):
            block = block[-1:]
        else:
            block = _trailing_line_run(block)
        if block:
            desc = first_sentence(clean("\n".join(t for _, t in block)))
            return desc, block[0][0]
        if self.style == "rust":
            return first_sentence(clean(_inner_docs(site.node, src))), None
        return "", None


def comments_above(node, src: bytes) -> list[tuple[int, str]]:
    """The comments directly above a node, no blank line between, top first: (row, text)."""
    out = []
    top = node.start_point.row
    sib = node.prev_sibling
    while sib is not None and sib.type in COMMENT_TYPES and sib.end_point.row >= top - 1:
        before = sib.prev_sibling
        if before is not None and before.end_point.row == sib.start_point.row:
            break  # a trailing comment of the previous line's code
        out.append((sib.start_point.row, src[sib.start_byte:sib.end_byte].decode("utf-8", errors="replace")))
        top = sib.start_point.row
        sib = before
    return out[::-1]


def _trailing_line_run(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The run of // comments that ends right above the declaration."""
    run = []
    for row, t in reversed(block):
        if not t.startswith("//"):
            break
        run.append((row, t))
    return run[::-1]


def _rust_docs(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    if block and block[-1][1].startswith("/**"):
        return block[-1:]
    run = []
    for row, t in reversed(block):
        if not (t.startswith("///") and not t.startswith("////")):
            break
        run.append((row, t))
    return run[::-1]


def _inner_docs(fn_node, src: bytes) -> str:
    """Rust `//!` lines at the start of a function body document the function."""
    body = fn_node.child_by_field_name("body")
    lines = []
    for c in (body.named_children if body is not None else ()):
        t = src[c.start_byte:c.end_byte].decode("utf-8", errors="replace")
        if c.type != "line_comment" or not t.startswith("//!"):
            break
        lines.append(t)
    return "\n".join(lines)


def clean(comment: str) -> str:
    """Comment markers, decoration, block tags (@param...), inline tags and HTML removed; lines kept."""
    out = []
    for line in comment.replace("\r", "").split("\n"):
        s = line.strip()
        if s.startswith("/*"):
            s = s.lstrip("/").lstrip("*!")
        if s.endswith("*/"):
            s = s[:-2].rstrip("*").rstrip()
        if s.startswith("//"):
            s = s[2:].lstrip("/!")
        elif s.startswith("*"):
            s = s.lstrip("*")
        s = s.strip()
        if s.startswith("@"):
            break  # block tags: @param, @return, @throws, @example ...
        if _DIRECTIVE.match(s):
            continue
        if _DECORATION.match(s):
            s = ""
        s = _INLINE_TAG.sub(lambda m: m.group(2) or m.group(1).split("#")[-1], s)
        out.append(_HTML_TAG.sub("", s))
    return "\n".join(out).strip()
