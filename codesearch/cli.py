"""The `codesearch` command: search an index, build or update it (`codesearch index build|add|remove|sync|info`), serve MCP."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from index.errors import IndexCorruptError, IndexMissingError, ModelMismatchError, ModelMissingError, QueryError

from . import mcp_cli, sync_cli

DEFAULT_INDEX = "data/index"
EXPECTED = (QueryError, IndexMissingError, ModelMismatchError, ModelMissingError, IndexCorruptError, FileNotFoundError,
            ValueError,
            OSError)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codesearch", description="Neural + lexical code search over an index folder.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("search", help="search the index")
    s.add_argument("query")
    s.add_argument("-k", type=int, default=10, help="number of results (1..1000)")
    s.add_argument("--offset", type=int, default=0, help="skip this many results (pagination)")
    s.add_argument("--mode", default="hybrid", help="hybrid (default) | best (a transformer encodes the query too) | neural | lexical")
    s.add_argument("--repo", help="only this repository")
    s.add_argument("--lang", help="only this language")
    s.add_argument("--path", help="only paths matching this glob, e.g. 'json/*.py'")
    s.add_argument("--json", action="store_true", help="print JSON for programs")
    s.add_argument("--index", default=DEFAULT_INDEX, help=f"index folder (default {DEFAULT_INDEX})")
    s.add_argument("--model", help="model directory (default: the one the index was built with)")
    ix = sub.add_parser("index", help="build or update the index").add_subparsers(dest="action", required=True)
    b = ix.add_parser("build", help="build an index from functions.csv")
    b.add_argument("--functions", required=True, help="functions.csv from `make extract`")
    b.add_argument("--model", required=True, help="trained model directory, or 'hashing[:DIM]' (untrained baseline)")
    b.add_argument("--out", default=DEFAULT_INDEX)
    b.add_argument("--data", help="accepted for the Makefile; the functions are encoded from --functions")
    b.add_argument("--kind", choices=("auto", "flat", "hnsw", "ivfpq"), help="FAISS index type (default auto)")
    b.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. vectors.flat_max=100000 or lexical.boosts='{\"name\": 2}'")
    b.add_argument("--teacher", choices=("auto", "documented", "all", "none"),
                   help="a distilled model's transformer vectors for documented functions, all of them, "
                        "all when there are at most teacher_all_max (default auto), or none (a quick index)")
    b.add_argument("--teacher-tokens", type=int, help="code tokens the teacher reads (default: the model's, 128)")
    b.add_argument("--teacher-fp32", action="store_true", help="full-precision teacher (slower; a GPU uses it anyway)")
    b.add_argument("--backend", choices=("native", "milvus"), default="native",
                   help="where vectors and BM25 live: native files (default) or a Milvus collection")
    b.add_argument("--milvus-uri", help="milvus-lite file or http://host:19530 (default: milvus.db in the index folder)")
    b.add_argument("--milvus-fusion", choices=("ours", "weighted", "rrf"), default="ours",
                   help="hybrid fusion: ours over Milvus's two lists (default; ranks as the native engine), or "
                        "Milvus's weighted or RRF ranker (~0.13 lower MRR on cosqa-dev)")
    b.add_argument("--ray", metavar="ADDRESS", help="encode on a Ray cluster (`auto`: a local one); needs the distributed extra")
    b.add_argument("--resume", action="store_true",
                   help="commit progress as the build goes (every checkpoint_rows functions, default 100,000) and "
                        "continue the build a killed run of this command left in .OUT.partial")
    b.add_argument("--no-progress", action="store_true")
    a = ix.add_parser("add", help="add the functions of new repositories")
    a.add_argument("--functions", required=True, help="a functions.csv holding the new repositories")
    a.add_argument("--repo", action="append", default=[], help="add only this repository (repeatable)")
    a.add_argument("--replace", action="store_true", help="replace repositories already indexed")
    a.add_argument("--index", default=DEFAULT_INDEX)
    a.add_argument("--model", help="model directory (default: the one the index was built with)")
    a.add_argument("--no-progress", action="store_true")
    r = ix.add_parser("remove", help="remove repositories")
    r.add_argument("repos", nargs="+")
    r.add_argument("--index", default=DEFAULT_INDEX)
    i = ix.add_parser("info", help="print the index manifest")
    i.add_argument("--index", default=DEFAULT_INDEX)
    sync_cli.add_parser(ix)
    mcp_cli.add_parser(sub)
    return p


def cmd_search(args) -> int:
    from index.live import open_index
    searcher = open_index(args.index, args.model)
    res = searcher.search(args.query, k=args.k, mode=args.mode, repo=args.repo, lang=args.lang, path=args.path,
                          offset=args.offset)
    if args.json:
        print(json.dumps(res.to_dict(), ensure_ascii=False))
    else:
        print(render(res, args.offset))
    return 0


def render(res, offset: int = 0) -> str:
    """Plain text for people: rank, name, place, score, description, permalink, the matching lines."""
    head = f"{len(res.hits)} of {res.total} results for {res.query[:80]!r} ({res.mode}, {res.took_ms:.1f} ms)"
    out = [head, ""]
    if not res.hits:
        out.append("no matching functions")
    for n, h in enumerate(res.hits, offset + 1):
        out.append(f"{n}. {h.name}  [{h.repo}]  {h.path}:{h.start_line}-{h.end_line}  score {h.score:.4f}")
        if h.desc:
            out.append(f"   {h.desc[:160]}")
        out.append(f"   {h.url}")
        lines = h.code.splitlines()
        shown = [i for i in h.matched_lines if i <= len(lines)][:3] or list(range(1, min(2, len(lines)) + 1))
        for i in shown:
            out.append(f"   {h.start_line + i - 1:>6} | {lines[i - 1][:120]}")
        out.append("")
    return "\n".join(out).rstrip()


def cmd_build(args) -> int:
    from codenn.static_code import teacher_covers
    from preprocess.csvio import read_functions
    from index.build_select import run_build
    from index.manifest import IndexConfig
    flags = [f"vectors.kind={args.kind}"] if args.kind else []
    flags += [f"teacher={args.teacher}"] if args.teacher else []
    flags += [f"teacher_tokens={args.teacher_tokens}"] if args.teacher_tokens else []
    flags += ["teacher_int8=false"] if args.teacher_fp32 else []
    cfg = IndexConfig(progress=not args.no_progress).override(flags + args.set)
    # one cheap pass counts the rows (a progress bar with an end, the teacher's `auto` scope) and the
    # documented ones (the teacher's work, which the bar's ETA weighs)
    total = documented = 0
    for r in read_functions(args.functions):
        total += 1
        documented += teacher_covers(r, "documented")
    if not total:  # a missing or empty file is reported before any progress bar
        raise ValueError(f"{args.functions} holds no functions: nothing to index")
    m = run_build(args, cfg, total, documented)
    b = m["build"]
    print(f"indexed {m['size']:,} functions of {m['repos']:,} repositories into {args.out} "
          f"({m['vectors']['kind']}, model {m['model']['identity']}; encoding {b['functions_per_second']:,.0f} fn/s, "
          f"{b['total_seconds']:.1f} s in all)")
    return 0


def cmd_add(args) -> int:
    from preprocess.csvio import read_functions
    from index.update import add_functions
    wanted = set(args.repo)
    records = [r for r in read_functions(args.functions) if not wanted or r["repo"] in wanted]
    missing = wanted - {r["repo"] for r in records}
    if missing:
        raise ValueError(f"{args.functions} holds no functions of {', '.join(sorted(missing))}")
    m = add_functions(args.index, records, args.model, replace=args.replace, progress=not args.no_progress)
    print(f"added {len(records):,} functions; the index now holds {m['size']:,} functions "
          f"of {m['repos']:,} repositories")
    return 0


def cmd_remove(args) -> int:
    from index.update import remove_repos
    m = remove_repos(args.index, args.repos)
    print(f"removed {', '.join(args.repos)}; the index now holds {m['size']:,} functions "
          f"of {m['repos']:,} repositories")
    return 0


def cmd_info(args) -> int:
    from index.manifest import read_manifest
    print(json.dumps(read_manifest(args.index), indent=2, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    run = cmd_search if args.command == "search" else mcp_cli.run if args.command == "mcp" else {
        "build": cmd_build, "add": cmd_add, "remove": cmd_remove, "info": cmd_info, "sync": sync_cli.run}[args.action]
    try:
        return run(args)
    except BrokenPipeError:      # `codesearch search ... | head`
        return 0
    except EXPECTED as e:
        if os.environ.get("CODESEARCH_DEBUG"):
            raise
        msg = str(e) if not isinstance(e, OSError) or not e.filename else f"{e.strerror}: {e.filename}"
        print(f"codesearch: error: {msg}", file=sys.stderr)
        return 2 if isinstance(e, QueryError) else 1
    except KeyboardInterrupt:
        print("codesearch: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: still one line, the traceback on request
        if os.environ.get("CODESEARCH_DEBUG"):
            raise
        print(f"codesearch: internal error: {type(e).__name__}: {e} (CODESEARCH_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
