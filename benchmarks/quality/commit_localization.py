"""Commit localization: "where do I change this?" -- a commit's subject as the query, the one function it changed as the gold.

    python -m benchmarks.quality.commit_localization . --model codenn/pretrained      # this checkout's own history
    python -m benchmarks.quality.commit_localization ~/src/requests --rev v2.31.0 --json

From any git checkout: every non-merge commit reachable from --rev whose subject has at least
--min-words words and whose diff changes the body of exactly one function (functions of test and
documentation files do not count; a renamed source file, or a function added or removed, skips the
commit). Each side's functions come from the same extractors as `preprocess extract`, so every
language we extract takes part. The gold is that function as it stands at --rev (same path and
name, else the one function of that name; commits whose function is gone are dropped), the pool is
every function of --rev. The selected commits are written as a benchmark JSONL and measured by
benchmarks.quality.quality: every mode next to BM25 and MiniLM.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from preprocess.files import MAX_FILE_BYTES, SKIP_DIRS, VENDORED_DIRS, Skip, looks_generated
from preprocess.languages.registry import extractor, language_of

from benchmarks.benchfile import write_bench
from benchmarks.quality.quality import DEFAULT_MODES, QualityConfig, default_model, evaluate, markdown_table

TEST_OR_DOC_DIRS = {"test", "tests", "testing", "__tests__", "spec", "specs", "doc", "docs", "example", "examples"}
TEST_FILE = re.compile(r"(^test_.*|.*_test\.\w+$|.*\.(test|spec)\.\w+$|.*Tests?\.java$|^conftest\.py$)")
Key = tuple[str, str, int]    # (path, function name, occurrence of that name in the file)


@dataclass
class Selection:
    """The commits taken (query, gold key) and how many were left out, by reason."""

    revision: str = ""
    commits: int = 0
    selected: list[dict] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)


def counted(path: str) -> bool:
    """A source file whose functions count: a language we extract, not tests, docs or vendored code."""
    parts = path.split("/")
    if language_of(path) is None or any(p in SKIP_DIRS or p in VENDORED_DIRS for p in parts[:-1]):
        return False
    return not any(p.lower() in TEST_OR_DOC_DIRS for p in parts[:-1]) and not TEST_FILE.match(parts[-1])


def functions_of(data: bytes, path: str) -> dict[Key, dict]:
    """The functions of a file's bytes keyed by (path, name, occurrence); {} for what extraction skips."""
    if len(data) > MAX_FILE_BYTES or looks_generated(data):
        return {}
    language = language_of(path)
    try:
        records, _ = extractor(language)(data, path)
    except (Skip, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    out, seen = {}, Counter()
    for r in records:
        out[(path, r["name"], seen[r["name"]])] = dict(r, language=language)
        seen[r["name"]] += 1
    return out


def blob_functions(blob, path: str, cache: dict) -> dict[Key, dict]:
    if blob is None:
        return {}
    if (blob.hexsha, path) not in cache:
        cache[(blob.hexsha, path)] = functions_of(blob.data_stream.read(), path)
    return cache[(blob.hexsha, path)]


def changed_function(commit, cache: dict) -> tuple[Key | None, str]:
    """The one function whose body the commit changed, or None and why the commit is skipped."""
    if len(commit.parents) > 1:
        return None, "merge"
    if not commit.parents:
        return None, "first commit"
    changed: list[Key] = []
    for d in commit.parents[0].diff(commit):
        a, b = d.a_path, d.b_path
        if not (counted(a or "") or counted(b or "")):
            continue
        if d.renamed_file:
            return None, "renames a source file"
        old = blob_functions(d.a_blob, a, cache) if not d.new_file else {}
        new = blob_functions(d.b_blob, b, cache) if not d.deleted_file else {}
        for k in old.keys() | new.keys():
            if k not in old or k not in new:
                return None, "adds or removes a function"
            if old[k]["code"] != new[k]["code"]:
                changed.append(k)
    if not changed:
        return None, "changes no function"
    if len(changed) > 1:
        return None, "changes several functions"
    return changed[0], ""


def revision_functions(repo, rev: str) -> dict[Key, dict]:
    """Every function of the revision's tree (tests too: an index of the checkout holds them)."""
    out = {}
    for item in repo.commit(rev).tree.traverse():
        if item.type != "blob" or language_of(item.path) is None:
            continue
        if any(p in SKIP_DIRS or p in VENDORED_DIRS for p in item.path.split("/")[:-1]):
            continue
        out.update(functions_of(item.data_stream.read(), item.path))
    return out


def gold_at(key: Key, pool: dict[Key, dict], by_name: dict[str, list[Key]]) -> Key | None:
    """The function at the revision: same path and name, else the only one of that name (its file moved)."""
    if key in pool:
        return key
    same = by_name.get(key[1], [])
    return same[0] if len(same) == 1 else None


def select(checkout: str | Path, rev: str = "HEAD", min_words: int = 5, max_commits: int | None = None
           ) -> tuple[Selection, dict[Key, dict]]:
    """The commits of the checkout's history that make a query, and the revision's functions (the pool)."""
    import git
    try:
        repo = git.Repo(checkout, search_parent_directories=True)
        sel = Selection(revision=repo.commit(rev).hexsha)
    except (git.exc.GitError, git.exc.NoSuchPathError) as e:
        raise ValueError(f"{checkout} is not a git checkout: {type(e).__name__}") from None
    except (ValueError, git.BadName) as e:
        raise ValueError(f"{checkout} has no revision {rev!r} ({e})") from None
    pool = revision_functions(repo, rev)
    by_name: dict[str, list[Key]] = {}
    for k in pool:
        by_name.setdefault(k[1], []).append(k)
    cache: dict = {}
    for commit in repo.iter_commits(rev, max_count=max_commits):
        sel.commits += 1
        subject = commit.summary.strip()
        if len(subject.split()) < min_words:
            sel.skipped["subject under %d words" % min_words] += 1
            continue
        key, why = changed_function(commit, cache)
        if key is not None:
            key, why = gold_at(key, pool, by_name), "function gone at the revision"
        if key is None:
            sel.skipped[why] += 1
            continue
        sel.selected.append({"query": subject, "commit": commit.hexsha, "key": key})
    return sel, pool


def bench_records(sel: Selection, pool: dict[Key, dict]) -> list[dict]:
    """The benchmark JSONL: one record per selected commit (query + gold code), then the pool's functions."""
    def ident(k: Key) -> str:
        return f"{k[0]}:{k[1]}" + (f"#{k[2]}" if k[2] else "")
    out = [{"query": s["query"], "code": pool[s["key"]]["code"], "language": pool[s["key"]]["language"],
            "id": s["commit"][:12]} for s in sel.selected]
    return out + [{"code": r["code"], "language": r["language"], "id": ident(k)} for k, r in pool.items()]


def run(checkout: str, cfg: QualityConfig, rev: str = "HEAD", min_words: int = 5, max_commits: int | None = None,
        out: str | None = None) -> dict:
    """Select the commits, write their benchmark file, evaluate it; the quality report plus the commit counts."""
    sel, pool = select(checkout, rev, min_words, max_commits)
    counts = {"revision": sel.revision, "commits": sel.commits, "selected": len(sel.selected),
              "skipped": dict(sorted(sel.skipped.items())), "pool_functions": len(pool)}
    if not sel.selected:
        raise ValueError(f"no commit of {checkout} up to {rev} changes exactly one function with a "
                         f"{min_words}-word subject ({sel.commits} commits read)")
    with tempfile.TemporaryDirectory(prefix="commit-loc-") as tmp:
        path = out or str(Path(tmp) / "commits.jsonl")
        write_bench(path, bench_records(sel, pool))
        report = evaluate(path, cfg)
    report["commits"] = counts
    return report


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.quality.commit_localization", description=__doc__.split("\n")[0])
    ap.add_argument("checkout", nargs="?", default=".", help="a git checkout (default: the current folder)")
    ap.add_argument("--rev", default="HEAD", help="the revision whose functions are the pool (default HEAD)")
    ap.add_argument("--model", default=None, help="model directory or `hashing` (default: as benchmarks.quality.quality)")
    ap.add_argument("--modes", help=f"comma-separated (default: {','.join(DEFAULT_MODES)})")
    ap.add_argument("--min-words", type=int, default=5, help="words a commit subject needs (default 5)")
    ap.add_argument("--max-commits", type=int, help="read at most this many commits from --rev back")
    ap.add_argument("--out", help="keep the benchmark JSONL here")
    ap.add_argument("--json", action="store_true", help="print the report as one JSON object")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip()) if args.modes else DEFAULT_MODES
    cfg = QualityConfig(modes=modes, model_dir=args.model or default_model(), chart=None, progress=not args.quiet,
                        explicit_modes=bool(args.modes))
    try:
        report = run(args.checkout, cfg, args.rev, args.min_words, args.max_commits, args.out)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else render(report, args.checkout))
    return 0


def render(report: dict, checkout: str) -> str:
    """The report as text: the commit counts, the Markdown table, the notes."""
    c = report["commits"]
    return "\n".join([f"{checkout} at {c['revision'][:12]}: {c['selected']} of {c['commits']} commits "
                      f"over a pool of {c['pool_functions']:,} functions",
                      "skipped: " + ", ".join(f"{n} {why}" for why, n in c["skipped"].items()),
                      markdown_table(report), *(f"note: {n}" for n in report["notes"]),
                      f"{report['date']}, {report['machine']}"])


if __name__ == "__main__":
    sys.exit(main())
