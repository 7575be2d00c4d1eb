"""Build a docstring -> code benchmark file from a dataset split of our own corpus.

    python -m benchmarks.quality.docstring_set --data data/dataset --functions data/functions.csv --split test \
        --out data/bench/default-test.jsonl [--limit 5000]

Each pair of the split becomes one record: the query is the docstring's first sentence (the
dataset's `desc`), the code is the function with its docstring (another language's doc comment) cut
out, so that the answer is not written in the code it asks for. `valid` (training-side repositories never trained on) is the set
fusion weights may be tuned on; `test` is for reporting only.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import textwrap
from pathlib import Path

import numpy as np

from benchmarks.benchfile import write_bench
from preprocess.csvio import read_functions


def strip_docstring(code: str) -> str:
    """The function's source without the lines of its docstring (unchanged when it has none or won't parse)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError, RecursionError):
        return code
    if not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return code
    body = tree.body[0].body
    doc = body[0] if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
        and isinstance(body[0].value.value, str) else None
    if doc is None or len(body) < 2:   # a function that is only a docstring keeps it (it would not parse)
        return code
    lines = code.splitlines()
    del lines[doc.lineno - 1 : doc.end_lineno]
    return "\n".join(lines)


_LEADING_COMMENT = re.compile(r"^\s*(/\*.*?\*/[ \t]*\n|([ \t]*//[^\n]*\n)+)", re.S)


def strip_doc_comment(code: str) -> str:
    """A tree-sitter language's function without the comment block it starts with, dedented again."""
    return textwrap.dedent(_LEADING_COMMENT.sub("", code, count=1))


def strip_doc(code: str, language: str) -> str:
    """The function without its documentation: Python's docstring, another language's doc comment."""
    return strip_docstring(code) if language == "python" else strip_doc_comment(code)


def build(data: Path, functions: Path, split: str, limit: int | None, seed: int = 0) -> list[dict]:
    """Records of the split's pairs (a seeded sample of `limit` when given)."""
    ids_path = data / f"{split}.ids.json"
    if not ids_path.exists():
        raise FileNotFoundError(f"{ids_path} is missing: run `make dataset` first")
    ids = [int(i) for i in json.loads(ids_path.read_text(encoding="utf-8"))]
    if limit is not None and limit < len(ids):
        ids = sorted(np.random.default_rng(seed).choice(ids, limit, replace=False).tolist())
    wanted, out = set(ids), {}
    for row in read_functions(functions):
        if row["id"] in wanted and row["desc"].strip():
            lang = row.get("language") or "python"
            out[row["id"]] = {"id": f"{split}-{row['id']}", "query": row["desc"], "code": strip_doc(row["code"], lang),
                              "language": lang}
    return [out[i] for i in ids if i in out]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.quality.docstring_set", description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/dataset")
    p.add_argument("--functions", default="data/functions.csv")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"))
    p.add_argument("--out", required=True)
    p.add_argument("--limit", type=int, help="a seeded sample of this many pairs")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        records = build(Path(args.data), Path(args.functions), args.split, args.limit, args.seed)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_bench(args.out, records)
    print(f"{len(records):,} records ({args.split}) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
