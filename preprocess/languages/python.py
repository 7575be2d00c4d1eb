"""Python through the standard library's `ast` (exact, and faster than tree-sitter for Python)."""
from __future__ import annotations

import io
import tokenize

from ..functions import extract_functions_from_source


def decode(raw: bytes) -> str:
    """Decode Python source by its PEP 263 declaration (UTF-8 by default); UnicodeDecodeError when it lies."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as e:
        raise UnicodeDecodeError("utf-8", raw[:1], 0, 1, str(e)) from None
    try:
        return raw.decode(encoding)
    except LookupError as e:
        raise UnicodeDecodeError("utf-8", raw[:1], 0, 1, str(e)) from None


def extract(raw: bytes, path: str = "") -> tuple[list[dict], bool]:
    """Records of every function; SyntaxError for a file `ast` cannot parse (Python has no partial parse)."""
    return extract_functions_from_source(decode(raw)), False
