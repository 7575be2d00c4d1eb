"""Text analysis shared by indexing and querying: lexical fields, query terms, matched lines, code hashes."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from preprocess.text import split_identifier, tokenize_desc

# Function words of English queries; code identifiers such as `not`, `if`, `list` stay searchable.
STOP_WORDS = frozenset("""
a about an and are as at be been being but by can could do does did doing for from get gets got had has have
having how i if in into is it its me my of on or our should so than that the their them then there these they
this those to too using use via was we were what when where which while who whom why will with would you your
""".split())

MAX_TERMS = 32          # a 1,000-character query has ~200 words; more terms only slow BM25 down
_TRIPLE = re.compile(r'"""[\s\S]*?(?:"""|\Z)|\'\'\'[\s\S]*?(?:\'\'\'|\Z)')
_COMMENT = re.compile(r"#[^\n]*")
_SPACE = re.compile(r"\s+")
_BODY_START = re.compile(r":[ \t]*(?:#[^\n]*)?\n")      # the end of a Python signature
_DOCSTRING = re.compile(r'\s*[rRuU]?("""|\'\'\')')
_WORD = re.compile(r"[A-Za-z0-9]+")                        # as preprocess.text.tokenize_desc
_split = lru_cache(maxsize=1 << 18)(lambda w: tuple(split_identifier(w)))


def docstring_of(code: str) -> str:
    """The docstring of a Python function's code (the string right after the signature), or ''."""
    m = _BODY_START.search(code, 0, 4000)
    d = m and _DOCSTRING.match(code, m.end())
    if not d:
        return ""
    end = code.find(d.group(1), d.end())
    return code[d.end(): end if end >= 0 else None]


def words(text: str) -> list[str]:
    """tokenize_desc with a cache of split identifiers (indexing splits the same words millions of times)."""
    return [p for w in _WORD.findall(text) for p in _split(w)]


def identifier_text(text: str) -> str:
    """Lower-cased words of free text or code, identifiers split (`loadJSON` -> 'load json')."""
    return " ".join(words(text))


def lexical_fields(record: dict) -> dict[str, str]:
    """The lexical index's text of one function: name tokens, description + docstring, all words of its code.

    The code field (signature, docstring, identifiers, comments, strings, with their frequencies) beat
    separate identifier fields on cosqa-dev (benchmarks/quality/index_fusion.py, docs/search-model.md).
    """
    code = record.get("code") or ""
    doc = docstring_of(code)
    desc = record.get("desc") or ""
    return {
        "name": " ".join(split_identifier(record.get("name") or "")),
        "doc": identifier_text(doc if desc and desc[:20] in doc else f"{desc} {doc}"),
        "code": identifier_text(code) or identifier_text(f"{record.get('tokens') or ''} {record.get('apiseq') or ''}"),
    }


def code_hash(code: str) -> int:
    """A signed 64-bit hash of code without docstrings, comments and whitespace (near-duplicate key)."""
    text = _SPACE.sub("", _COMMENT.sub("", _TRIPLE.sub("", code or "")))
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=8).digest(), "big", signed=True)


@dataclass(frozen=True)
class ParsedQuery:
    """A query as the scorers see it: the raw text, its words, and its lexical terms (no stop words)."""

    text: str
    words: tuple[str, ...]
    terms: tuple[str, ...]
    kind: str = "keywords"


QUERY_KINDS = ("keywords", "sentence", "identifier")
_IDENTIFIER = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]|[a-z][A-Z]|\w\.\w|\w\(")
SENTENCE_WORDS_MIN = 3


def query_kind(text: str, words: tuple[str, ...]) -> str:
    """What a query looks like: `identifier` (snake_case, camelCase, dotted or called names), `sentence`
    (docstring-like: capitalised, at least three words), else `keywords` (web search's lower-case phrases).

    On cosqa-dev 346 of 500 web queries are keywords and none is a sentence; of docstring queries from
    the default corpus's valid split, 73% are sentences and 22% identifiers.
    """
    t = text.strip()
    if _IDENTIFIER.search(t):
        return "identifier"
    if t[:1].isupper() and len(words) >= SENTENCE_WORDS_MIN:
        return "sentence"
    return "keywords"


def parse_query(text: str) -> ParsedQuery:
    """Split a query into words; query-language syntax (quotes, AND, -, :) is only ever words here."""
    words = tuple(tokenize_desc(text))
    terms = tuple(dict.fromkeys(w for w in words if w not in STOP_WORDS))[:MAX_TERMS]
    return ParsedQuery(text=text, words=words, terms=terms, kind=query_kind(text, words))


def matched_lines(codes: list[str], stems: set[str], stem) -> list[list[int]]:
    """For each code, the 1-based numbers of its lines holding a word whose stem is in `stems`.

    One analyzer call and one compiled pattern for the whole page, one regex scan per code.
    """
    if not stems:
        return [[] for _ in codes]
    found = set(_WORD.findall("\n".join(c or "" for c in codes)))  # words never span the joins
    parts = list({p for w in found for p in _split(w)})
    stemmed = stem(" ".join(parts)) if parts else []
    if len(stemmed) != len(parts):  # one token per word is the analyzer's behaviour; never assume it
        stemmed = [next(iter(stem(p)), p) for p in parts]
    hit_parts = {p for p, s in zip(parts, stemmed) if s in stems}
    # a hit word is one whose parts stem to a query stem, whichever code it is in: one pattern per page
    hit_words = {w for w in found if not hit_parts.isdisjoint(_split(w))}
    if not hit_words:
        return [[] for _ in codes]
    # the lookarounds make each match a whole run of word characters, as _WORD's are
    pattern = re.compile(r"(?<![A-Za-z0-9])(?:%s)(?![A-Za-z0-9])" % "|".join(map(re.escape, sorted(hit_words))))
    out = []
    for code in codes:
        lines = []
        line, last = 1, 0
        for m in pattern.finditer(code or ""):
            line += code.count("\n", last, m.start())
            last = m.start()
            if not lines or lines[-1] != line:
                lines.append(line)
        out.append(lines)
    return out
