"""Decide whether a declared licence (SPDX id, expression, or package metadata) is on an allow list."""
from __future__ import annotations

import re

# trove classifier (last part) -> SPDX id; "BSD License" names no variant, 3-clause is the common one
CLASSIFIER_SPDX = {
    "MIT License": "MIT",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "BSD License": "BSD-3-Clause",
    "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "ISC License (ISCL)": "ISC",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "The Unlicense (Unlicense)": "Unlicense",
    "zlib/libpng License": "Zlib",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Historical Permission Notice and Disclaimer (HPND)": "HPND",
    "GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
    "GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2.0-only",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
    "GNU Affero General Public License v3": "AGPL-3.0-only",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
}
# free-text License fields seen in older metadata, lower-cased -> SPDX id
LICENSE_FIELD_ALIASES = {
    "mit license": "MIT", "the mit license": "MIT", "mit licence": "MIT",
    "apache 2.0": "Apache-2.0", "apache license 2.0": "Apache-2.0", "apache license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0", "apache 2": "Apache-2.0",
    "bsd": "BSD-3-Clause", "bsd license": "BSD-3-Clause", "new bsd license": "BSD-3-Clause",
    "isc license": "ISC", "psf": "PSF-2.0", "mpl 2.0": "MPL-2.0",
}
_SPDX_TOKEN = re.compile(r"\(|\)|[A-Za-z0-9.+:-]+")
_BARE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,39}$")


def parse_allowed(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Turn "MIT,Apache-2.0" (or a list) into a tuple of SPDX ids."""
    items = text.split(",") if isinstance(text, str) else list(text)
    allowed = tuple(s.strip() for s in items if s.strip())
    if not allowed:
        raise ValueError("the licence list is empty")
    return allowed


def expression_allowed(expr: str | None, allowed: tuple[str, ...] | list[str]) -> bool:
    """True when an SPDX expression can be satisfied with allowed licences (OR: any, AND: all)."""
    if not expr:
        return False
    ok = {a.lower() for a in allowed}
    tokens = _SPDX_TOKEN.findall(expr)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def atom() -> bool:
        tok = peek()
        if tok is None or tok.upper() in ("AND", "OR", "WITH", ")"):
            raise ValueError(expr)
        take()
        if tok == "(":
            value = any_of()
            if peek() != ")":
                raise ValueError(expr)
            take()
            return value
        if peek() is not None and peek().upper() == "WITH":
            take()  # an exception only widens what the licence permits
            if peek() is None:
                raise ValueError(expr)
            take()
        return tok.lower() in ok

    def all_of() -> bool:
        value = atom()
        while peek() is not None and peek().upper() == "AND":
            take()
            value = atom() and value
        return value

    def any_of() -> bool:
        value = all_of()
        while peek() is not None and peek().upper() == "OR":
            take()
            value = all_of() or value
        return value

    try:
        value = any_of()
    except ValueError:
        return False
    return value and pos == len(tokens)


def licence_from_metadata(md) -> str | None:
    """Read a package's licence: License-Expression, else licence classifiers (OR'ed), else a known License field."""
    expr = (md.get("License-Expression") or "").strip()
    if expr:
        return expr
    ids = []
    for c in md.get_all("Classifier") or []:
        if c.startswith("License ::"):
            spdx = CLASSIFIER_SPDX.get(c.split(" :: ")[-1].strip())
            if spdx and spdx not in ids:
                ids.append(spdx)
    if ids:
        # several licence classifiers declare alternatives (dual licensing)
        return ids[0] if len(ids) == 1 else " OR ".join(ids)
    text = " ".join((md.get("License") or "").split())
    if not text or text.upper() == "UNKNOWN":
        return None
    if text.lower() in LICENSE_FIELD_ALIASES:
        return LICENSE_FIELD_ALIASES[text.lower()]
    return text if _BARE_ID.match(text) else None
