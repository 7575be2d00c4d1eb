"""Which repositories may be trained on: registry packages only from the most downloaded ones.

The packages past the top 1,000 of each registry are reserved for held-out evaluation, so a
function from one of them stays searchable but is never a training pair. The standard library and
a user's own folders are not registry packages and are always allowed.
"""
from __future__ import annotations

import re
from functools import lru_cache
from importlib import metadata
from pathlib import Path

TOP_PYPI = Path(__file__).resolve().parent.parent / "crawler" / "top_pypi.txt"
TOP_NPM = Path(__file__).resolve().parent.parent / "crawler" / "top_npm.txt"
TOP_N = 1000


def normalise(name: str) -> str:
    """PEP 503 name normalisation: case and runs of -_. folded."""
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=4)
def top_packages(path: str = str(TOP_PYPI), n: int = TOP_N) -> frozenset[str]:
    """The first n names of a most-downloaded list (# comments skipped), normalised."""
    lines = (line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines())
    names = [x for x in lines if x and not x.startswith("#")]
    return frozenset(normalise(x) for x in names[:n])


@lru_cache(maxsize=1)
def _import_to_dists() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def distributions_of(repo: str) -> list[str] | None:
    """The registry distributions a repository name stands for (None: not a registry package)."""
    kind, _, name = repo.partition("/")
    if kind == "pypi":
        return [name]
    if kind == "site-packages":   # the default corpus names a venv package by its import name
        return _import_to_dists().get(name, [name])
    return None


def repo_allowed(repo: str, top: frozenset[str] | None = None) -> bool:
    """True when the repository may give training pairs."""
    if repo.startswith("npm/"):   # npm packages, crawled or bundled with npm (`npm/@scope/name` too)
        return normalise(repo[len("npm/"):]) in (top if top is not None else top_packages(str(TOP_NPM)))
    dists = distributions_of(repo)
    if dists is None:
        return True
    top = top if top is not None else top_packages()
    return any(normalise(d) in top for d in dists)
