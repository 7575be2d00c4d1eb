"""Read a benchmark file (DESIGN.md, "Benchmark file format") into a pool, queries and gold indices.

JSONL, one record per line: {"query": str (optional), "code": str, "language": str, "id": str}.
The pool is the set of distinct `code` values (first-seen order); each record with a query asks for
its code; records without one are distractors.
"""
from __future__ import annotations

import hashlib
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from preprocess.functions import extract_functions_from_source
from preprocess.text import tokenize_desc

_DEF_NAME = re.compile(r"\b(?:def|function|func|fn)\s+([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*)\s*\(")


class BenchFormatError(ValueError):
    """A benchmark file that does not follow the format (the message names file and line)."""


@dataclass
class Bench:
    """A benchmark: the pool of distinct codes and the queries that each ask for one of them."""

    path: str
    sha256: str                                      # of the file's bytes: the key of peer caches
    codes: list[str] = field(default_factory=list)   # (nb,) distinct code strings
    languages: list[str] = field(default_factory=list)
    code_ids: list[str] = field(default_factory=list)  # id of the first record holding each code
    queries: list[str] = field(default_factory=list)   # (nq,)
    query_ids: list[str] = field(default_factory=list)
    gold: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (nq,) into codes

    @property
    def nb(self) -> int:
        return len(self.codes)

    @property
    def nq(self) -> int:
        return len(self.queries)


def write_bench(path: str | Path, records: list[dict]) -> None:
    """Write benchmark records as JSONL, atomically (the folder is created)."""
    from codesearch_common.fsutil import atomic_open

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def _field(rec: dict, key: str, where: str, required: bool) -> str | None:
    value = rec.get(key)
    if value is None:
        if required:
            raise BenchFormatError(f"{where}: missing {key!r}")
        return None
    if not isinstance(value, str):
        raise BenchFormatError(f"{where}: {key!r} must be a string, not {type(value).__name__}")
    return value


def read_bench(path: str | Path) -> Bench:
    """Parse a benchmark file; raise BenchFormatError (or FileNotFoundError) with a one-line reason."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such benchmark file")
    raw = path.read_bytes()
    bench = Bench(path=str(path), sha256=hashlib.sha256(raw).hexdigest())
    index: dict[str, int] = {}
    gold: list[int] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BenchFormatError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise BenchFormatError(f"{where}: not JSON ({e.msg})") from None
        if not isinstance(rec, dict):
            raise BenchFormatError(f"{where}: a record must be a JSON object")
        code = _field(rec, "code", where, required=True)
        if not code.strip():
            raise BenchFormatError(f"{where}: empty 'code'")
        query = _field(rec, "query", where, required=False)
        language = _field(rec, "language", where, required=False) or ""
        rid = rec.get("id")
        rid = str(rid) if rid is not None else f"line-{lineno}"
        if code not in index:
            index[code] = len(bench.codes)
            bench.codes.append(code)
            bench.languages.append(language)
            bench.code_ids.append(rid)
        if query is not None and query.strip():
            bench.queries.append(query)
            bench.query_ids.append(rid)
            gold.append(index[code])
    bench.gold = np.asarray(gold, dtype=np.int64)
    if not bench.codes:
        raise BenchFormatError(f"{path}: no records")
    if not bench.queries:
        raise BenchFormatError(f"{path}: no record has a query")
    return bench


# a file name for each language's extractor (TypeScript vs TSX and C vs C++ go by extension)
_SNIPPET_PATH = {"javascript": "snippet.js", "typescript": "snippet.ts", "java": "Snippet.java", "go": "snippet.go",
                 "rust": "snippet.rs", "c": "snippet.c", "cpp": "snippet.cpp"}
_WRAP = "__Snippet"   # a method alone is no JS/TS/Java program: it is parsed inside a class of this name


def _parse_first_function(code: str, language: str = "python") -> dict | None:
    """The first (outermost) function of code, trying it dedented too; None when nothing parses."""
    if language and language != "python":
        return _parse_other(code, language)
    for source in (code, textwrap.dedent(code)):
        try:
            found = extract_functions_from_source(source)
        except (SyntaxError, ValueError, RecursionError):
            continue
        if found:
            return found[0]
    return None


def _parse_other(code: str, language: str) -> dict | None:
    """A tree-sitter language's first function; a lone method is parsed inside a class."""
    from preprocess.languages.registry import extractor

    path = _SNIPPET_PATH.get(language)
    if path is None:
        return None
    extract = extractor(language)
    found, errors = extract(code.encode("utf-8"), path)
    wrappers = [f"class {_WRAP} {{\n{code}\n}}\n"] if language in ("javascript", "typescript", "java") else []
    if language in ("javascript", "typescript"):   # `name: function () {...}` of an object literal
        wrappers.append(f"const {_WRAP} = {{\n{code}\n}};\n")
    for source in wrappers:
        if found and not errors:
            break
        wrapped, wrapped_errors = extract(source.encode("utf-8"), path)
        if wrapped and (not found or not wrapped_errors):
            found, errors = [dict(r, name=r["name"].removeprefix(f"{_WRAP}.")) for r in wrapped], wrapped_errors
    return found[0] if found else None


def fallback_record(code: str) -> dict:
    """A record for code that does not parse: its words as tokens, its raw text as desc."""
    m = _DEF_NAME.search(code)
    return {
        "name": (m.group(1) or m.group(2)) if m else "snippet",
        "apiseq": "",
        "tokens": " ".join(dict.fromkeys(tokenize_desc(code))),
        "desc": " ".join(code.split()),
    }


def pool_records(bench: Bench, repo: str = "bench") -> tuple[list[dict], int]:
    """functions.csv-style records of the pool (id = pool index + 1) and how many fell back to raw text."""
    records, fallbacks = [], 0
    for i, code in enumerate(bench.codes):
        fields = _parse_first_function(code, bench.languages[i] or "python")
        if fields is None:
            fallbacks += 1
            fields = fallback_record(code)
        n_lines = code.count("\n") + 1
        records.append({
            "id": i + 1, "repo": repo, "path": bench.code_ids[i], "start_line": 1, "end_line": n_lines,
            "url": "", "language": bench.languages[i] or "python",
            "name": fields["name"], "apiseq": fields["apiseq"], "tokens": fields["tokens"],
            "desc": fields["desc"], "code": code,
        })
    return records, fallbacks
