"""Query-style rewrites of a docstring's first sentence, and phrases from identifiers.

People type "python read json file" or "how to sort dict by value", not "Return the parsed
contents of the JSON file at *path*.". Training the teacher on docstrings alone teaches it the
docstring register; these deterministic rewrites give it the typed register too.
"""
from __future__ import annotations

import re

from .text import split_identifier

# words a typed query leaves out: articles, pronouns, auxiliaries, filler
DROPPED = frozenset("""
a an the this that these those it its it's they them their we our you your i me my he she his her
is are was were be been being do does did will would shall should can could may might must
and or of for to in on at by with from into onto as if then than so such some any each every which who whom
given specified provided respective corresponding also just only very
""".split())

# a docstring's third-person verb, as a typed query says it ("Returns the x" -> "return x")
_VERB_S = re.compile(r"^(\w+?)(ies|es|s)$")
_KEEP_S = frozenset("is was has does process access class address pass alias status bias analysis".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*|\d+")
_MARKUP = re.compile(r"[`*:]+|\b(?:func|meth|class|attr|obj|mod|data|py):")


def words_of(sentence: str) -> list[str]:
    """Lower-cased words of a sentence, reST/markdown markup removed."""
    return [w.lower() for w in _WORD.findall(_MARKUP.sub(" ", sentence))]


def base_verb(word: str) -> str:
    """`returns` -> `return`, `applies` -> `apply`, `processes` -> `process`; other words unchanged."""
    if word in _KEEP_S or len(word) < 4:
        return word
    m = _VERB_S.match(word)
    if not m:
        return word
    stem, ending = m.groups()
    if ending == "ies":
        return stem + "y"
    if ending == "es" and re.search(r"(s|x|z|ch|sh)$", stem):
        return stem
    return stem + ending[:-1] if ending == "es" else stem


def plain(sentence: str) -> str:
    """Lower case, articles, pronouns and auxiliaries dropped, the leading verb in its base form."""
    ws = words_of(sentence)
    if ws:
        ws[0] = base_verb(ws[0])
    return " ".join(w for w in ws if w not in DROPPED)


def keywords(sentence: str) -> str:
    """Only the content words, each once, in order (a keyword-style query)."""
    seen: dict[str, None] = {}
    for w in plain(sentence).split():
        if len(w) > 2 and not w.isdigit():
            seen.setdefault(w, None)
    return " ".join(seen)


def how_to(sentence: str) -> str:
    """"how to <plain form>" (empty when nothing is left)."""
    p = plain(sentence)
    return f"how to {p}" if p else ""


def with_language(sentence: str, language: str) -> str:
    """"<language> <keywords>", the form web searches take."""
    k = keywords(sentence)
    return f"{language} {k}" if k else ""


def name_phrase(name: str) -> str:
    """`parse_http_date` -> "parse http date"; `Cookie.getValue` -> "cookie get value"."""
    parts = [p for piece in name.split(".") for p in split_identifier(piece)]
    return " ".join(p.lower() for p in parts if p)


def query_forms(desc: str, name: str, language: str) -> list[str]:
    """The docstring sentence and its distinct typed forms, in a fixed order (empty forms left out)."""
    forms = [desc.strip(), plain(desc), how_to(desc), with_language(desc, language), keywords(desc),
             name_phrase(name)]
    out: dict[str, None] = {}
    for f in forms:
        if f and len(f.split()) >= 2:
            out.setdefault(f, None)
    return list(out)
