"""What `index sync` reads: the folders' source files, their git blob ids, and how they changed since the last sync."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from crawler.local import local_record
from crawler.manifest import RepoRecord
from preprocess.extract import process_file
from preprocess.files import discover

Key = tuple[str, str]   # (repo, path relative to the repository root)


@dataclass(frozen=True)
class FileState:
    """A source file as the index knows it: content id and the stat that lets a sync skip re-reading it."""

    blob: str
    size: int
    mtime_ns: int


@dataclass
class Changes:
    """How the folders differ from the index: files to extract, files gone, files moved unchanged."""

    added: list[Key] = field(default_factory=list)      # new or changed content
    deleted: list[Key] = field(default_factory=list)    # gone, or changed (their old functions go)
    renamed: list[tuple[Key, Key]] = field(default_factory=list)   # (old, new), same content

    def __bool__(self) -> bool:
        return bool(self.added or self.deleted or self.renamed)

    def summary(self) -> str:
        return f"{len(self.added)} files to read, {len(self.deleted)} removed or changed, {len(self.renamed)} renamed"


def repo_records(dirs: list[str]) -> list[RepoRecord]:
    """One repository per folder (git checkouts keep their remote and HEAD for permalinks); names must differ."""
    records, seen = [], {}
    for d in dirs:
        if not os.path.isdir(d):
            raise ValueError(f"not a folder: {d}")
        r = local_record(d)
        if r.name in seen:
            raise ValueError(f"{d} and {seen[r.name]} would both be repository {r.name!r}: rename one folder")
        seen[r.name] = d
        records.append(r)
    return sorted(records, key=lambda r: r.name)


def blob_id(path: str) -> str:
    """The file's git blob id (sha1 of 'blob <size>\\0' + bytes): what `git hash-object` prints."""
    with open(path, "rb") as f:
        data = f.read()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def scan(repos: list[RepoRecord], known: dict[Key, FileState], racy_ns: int) -> tuple[dict[Key, FileState], dict]:
    """Every source file of the folders with its state, and the source files by key.

    A file whose size and mtime match the index's record keeps its blob id unread, as git's index
    does, unless its mtime is not safely before the last sync (racy_ns): an edit within the same
    clock tick would otherwise go unseen.
    """
    states: dict[Key, FileState] = {}
    sources = {}
    for repo in repos:
        found, _ = discover(repo.name, repo.path)
        for src in found:
            try:
                st = os.stat(src.abspath)
            except OSError:
                continue   # vanished between listing and stat: the next sync sees it
            key = (repo.name, src.relpath)
            old = known.get(key)
            if old is not None and old.size == st.st_size and old.mtime_ns == st.st_mtime_ns \
                    and st.st_mtime_ns < racy_ns:
                states[key] = old
            else:
                try:
                    states[key] = FileState(blob_id(src.abspath), st.st_size, st.st_mtime_ns)
                except OSError:
                    continue
            sources[key] = src
    return states, sources


def diff(old: dict[Key, FileState], new: dict[Key, FileState]) -> Changes:
    """Added, deleted and renamed files; a rename is a file gone and one new with the same blob, in one repository."""
    ch = Changes()
    gone = {k: s.blob for k, s in old.items() if k not in new or new[k].blob != s.blob}
    fresh = sorted(k for k, s in new.items() if k not in old or old[k].blob != s.blob)
    by_blob: dict[tuple[str, str, str], list[Key]] = {}
    for k in sorted(gone):
        if k not in new:   # only a path that disappeared can be the source of a move
            by_blob.setdefault((k[0], gone[k], suffix(k[1])), []).append(k)
    for k in fresh:
        # same repository, same bytes, same extension (a .js renamed .ts is another language: extracted again)
        src = by_blob.get((k[0], new[k].blob, suffix(k[1])))
        if src and k not in old:
            ch.renamed.append((src.pop(0), k))
        else:
            ch.added.append(k)
    moved = {o for o, _ in ch.renamed}
    ch.deleted = sorted(k for k in gone if k not in moved)
    return ch


def suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def restatted(old: dict[Key, FileState], new: dict[Key, FileState]) -> dict[Key, FileState]:
    """Files whose content is the same but whose size/mtime moved (touched, checked out): worth remembering."""
    return {k: s for k, s in new.items() if k in old and old[k].blob == s.blob and old[k] != s}


def extract(src) -> tuple[list[dict], str | None]:
    """(function records, skip reason) of one file, whatever shape the extractor returns."""
    res = process_file(src)
    if isinstance(res, tuple):
        _, records, reason = res
    else:
        records, reason = res.records, res.skip_reason
    return records or [], reason

