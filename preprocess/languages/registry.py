"""Which language a file is in (by extension), and the extractor that reads it."""
from __future__ import annotations

import os
from importlib import import_module
from typing import Callable

# extension -> language, as the functions.csv `language` column names it
EXTENSIONS = {
    ".py": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "typescript",
    ".java": "java",
    ".go": "go",
    ".rs": "rust",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}
LANGUAGES = tuple(sorted(set(EXTENSIONS.values())))
# language -> module:function of `extract(source: bytes, path: str) -> list[dict]`
_EXTRACTORS = {
    "python": "preprocess.languages.python:extract",
    "javascript": "preprocess.languages.javascript:extract",
    "typescript": "preprocess.languages.javascript:extract",
    "java": "preprocess.languages.java:extract",
    "go": "preprocess.languages.go:extract",
    "rust": "preprocess.languages.rust:extract",
    "c": "preprocess.languages.c_family:extract",
    "cpp": "preprocess.languages.c_family:extract",
}
_loaded: dict[str, Callable] = {}


def language_of(filename: str) -> str | None:
    """The language of a file name by its extension, or None for files we do not read."""
    ext = os.path.splitext(filename)[1]   # not PurePath: this runs for every file of every walk
    return EXTENSIONS.get(ext.lower()) if ext else None


def extractor(language: str) -> Callable[[bytes, str], list[dict]]:
    """The extract function of a language (imported on first use, so Python needs no tree-sitter)."""
    fn = _loaded.get(language)
    if fn is None:
        if language not in _EXTRACTORS:
            raise ValueError(f"no extractor for language {language!r} (known: {', '.join(LANGUAGES)})")
        module, name = _EXTRACTORS[language].split(":")
        fn = _loaded[language] = getattr(import_module(module), name)
    return fn
