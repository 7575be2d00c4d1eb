"""Read, merge and atomically write `repos.jsonl`, the crawler's manifest of repositories."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

from codesearch_common.fsutil import atomic_open

SOURCES = ("github", "pypi", "npm", "local")


@dataclass
class RepoRecord:
    """One repository (or package, or local folder) that the extractor will read."""

    name: str                 # unique key in the manifest, e.g. "psf/requests", "pypi/attrs", "stdlib/json"
    source: str               # github | pypi | npm | local
    url: str | None = None    # browsable base URL (https://github.com/o/r) or file:// URL
    licence: str | None = None  # SPDX id when known
    stars: int | None = None
    sha: str | None = None    # commit sha (or tag) that permalinks point at
    path: str | None = None   # local path of the checkout / folder / single module file
    subdir: str = ""          # where `path` sits inside the upstream repository (for permalinks)
    version: str | None = None  # package version for PyPI rows
    status: str = "ok"        # ok | failed | skipped
    error: str | None = None  # reason when status != ok
    extra: dict = field(default_factory=dict)  # exclude: gitignore patterns; languages: read only these; ...

    def to_json(self) -> str:
        d = {k: v for k, v in asdict(self).items() if not (k == "extra" and not v)}
        return json.dumps(d, sort_keys=True, ensure_ascii=False)


def read_manifest(path: str | Path) -> list[RepoRecord]:
    """Return the records of a manifest; a missing file is an empty manifest."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                records.append(RepoRecord(**d))
            except (json.JSONDecodeError, TypeError) as e:
                raise ValueError(f"{path}:{lineno}: not a manifest record ({e})") from None
    return records


def write_manifest(path: str | Path, records: Iterable[RepoRecord]) -> None:
    """Write records sorted by name, atomically."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        for r in sorted(records, key=lambda r: r.name):
            f.write(r.to_json() + "\n")


def merge_records(existing: Iterable[RepoRecord], new: Iterable[RepoRecord]) -> list[RepoRecord]:
    """Upsert `new` into `existing` by name (new wins); no duplicates."""
    by_name = {r.name: r for r in existing}
    for r in new:
        by_name[r.name] = r
    return sorted(by_name.values(), key=lambda r: r.name)


def permalink(repo: RepoRecord, relpath: str, start: int, end: int) -> str:
    """Link to lines start..end of `relpath` (relative to repo.path) at the recorded commit."""
    full = "/".join(p for p in (repo.subdir.strip("/"), relpath) if p)
    url = (repo.url or "").rstrip("/")
    if url.startswith("file://"):
        return f"{url}/{relpath}#L{start}-L{end}" if relpath else f"{url}#L{start}-L{end}"
    if url and repo.sha:
        if "gitlab" in url:
            return f"{url}/-/blob/{repo.sha}/{full}#L{start}-L{end}"
        return f"{url}/blob/{repo.sha}/{full}#L{start}-L{end}"
    if repo.path:  # no commit to pin (e.g. a PyPI sdist): the unpacked file is the exact source
        root = Path(repo.path)
        base = (root.parent if root.suffix == ".py" else root).as_uri()
        return f"{base}/{relpath}#L{start}-L{end}"
    if url:
        return f"{url}/{full}#L{start}-L{end}"
    return f"{full}#L{start}-L{end}"
