"""CODEnn retrieval quality next to BM25: the test split (whole and pools of 1,000) and CoSQA dev.

python -m benchmarks.quality.codenn_quality --model data/model --data data/dataset --functions data/functions.csv \\
    --cosqa ../shared/bench/cosqa-dev.jsonl [--json out.json]

Test split: each pair's description asks for its function. BM25 (bm25s) indexes the same functions'
code with the docstring removed (the description is its first sentence, so keeping it would leak
the answer), identifier-split with the shared description tokenizer. CoSQA dev: real web queries
over 6,267 distinct functions; BM25 over the whole code as given, the neural model over the
name / API / tokens fields extracted from it.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

import codenn
from codenn.evaluate import encode_pairs, split_arrays
from codenn.metrics import cosine_ranks, pools, pool_ranks, summarize, whole_split_ranks
from preprocess.csvio import read_functions
from preprocess.functions import extract_functions_from_source
from preprocess.reader import CodeSearchDataset
from preprocess.text import tokenize_desc


def strip_docstrings(code: str) -> str:
    """The code without docstrings (unparsed from its AST); the raw text when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and body
                and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0].value, "value", None), str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def bm25_scores(docs: list[list[str]]):
    """Index token lists with bm25s; return a function query_tokens -> scores over every doc."""
    import bm25s
    retriever = bm25s.BM25()
    retriever.index(docs, show_progress=False)
    return lambda q: retriever.get_scores(q) if q else np.zeros(len(docs), dtype=np.float32)


def bm25_ranks(docs: list[list[str]], queries: list[list[str]], gold: np.ndarray, pool_size: int = 0,
               seed: int = 0) -> dict[str, np.ndarray]:
    """Whole-pool ranks, and (pool_size > 0, queries aligned with docs) ranks within DeepCS pools."""
    score = bm25_scores(docs)
    S = [score(q) for q in queries]                                         # nq x (nd,)
    out = {"whole": np.array([1 + int((s > s[g]).sum()) for s, g in zip(S, gold)])}
    if pool_size:
        ranks = []
        for idx in pools(len(queries), pool_size, seed):
            for j, i in enumerate(idx):
                s = S[i][idx]
                ranks.append(1 + int((s > s[j]).sum()))
        out[f"pool{pool_size}"] = np.array(ranks)
    return out


def eval_test_split(model, data: Path, functions: Path, pool_size: int, seed: int) -> dict:
    enc = codenn.load(model)
    arrays = split_arrays(CodeSearchDataset(data, "test", enc.max_lens))
    t0 = time.perf_counter()
    xq, xb = encode_pairs(enc.model, arrays)
    res = {"codenn": {"whole": summarize(whole_split_ranks(xq, xb)),
                      f"pool{pool_size}": summarize(pool_ranks(xq, xb, pool_size, seed))},
           "encode_seconds": round(time.perf_counter() - t0, 2)}
    ids = json.loads((data / "test.ids.json").read_text())
    want = set(ids)
    rows = {r["id"]: r for r in read_functions(functions) if r["id"] in want}
    docs = [tokenize_desc(strip_docstrings(rows[i]["code"])) for i in ids]
    queries = [tokenize_desc(rows[i]["desc"]) for i in ids]
    ranks = bm25_ranks(docs, queries, np.arange(len(ids)), pool_size, seed)
    res["bm25"] = {k: summarize(v) for k, v in ranks.items()}
    return res


def cosqa_pool(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(distinct codes, queries, gold code index per query) of a benchmark JSONL file."""
    codes, index, queries, gold = [], {}, [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec["code"] not in index:
            index[rec["code"]] = len(codes)
            codes.append(rec["code"])
        if rec.get("query"):
            queries.append(rec["query"])
            gold.append(index[rec["code"]])
    return codes, queries, np.array(gold)


def code_record(code: str) -> tuple[dict, bool]:
    """functions.csv-style fields of a code snippet's first function; (fallback, False) when it does not parse."""
    try:
        found = extract_functions_from_source(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        found = []
    if found:
        return found[0], True
    return {"name": "", "apiseq": "", "tokens": " ".join(tokenize_desc(code))}, False


@torch.no_grad()
def raw_query_vectors(enc, queries: list[str]) -> np.ndarray:
    """Queries through the description encoder exactly as typed (encode_queries may clean them first)."""
    ids, lens = enc.field_tensors("desc", queries)
    return enc.model.encode_desc(ids.to(enc.device), lens.to(enc.device)).float().cpu().numpy()


def cosqa(model, path: Path) -> dict:
    codes, queries, gold = cosqa_pool(path)
    enc = codenn.load(model)
    recs, ok = zip(*(code_record(c) for c in codes))
    xb, xq = enc.encode_functions(list(recs)), enc.encode_queries(queries)
    res = {"pool": len(codes), "queries": len(queries), "unparsed": int(len(ok) - sum(ok)),
           "codenn": summarize(cosine_ranks(xq, xb, gold)),
           "codenn_raw_queries": summarize(cosine_ranks(raw_query_vectors(enc, queries), xb, gold))}
    ranks = bm25_ranks([tokenize_desc(c) for c in codes], [tokenize_desc(q) for q in queries], gold)
    res["bm25"] = summarize(ranks["whole"])
    return res


def table(title: str, rows: dict[str, dict]) -> str:
    lines = [f"**{title}**", "", "| method | MRR | SR@1 | SR@5 | SR@10 | nDCG@10 | n |", "|---|---|---|---|---|---|---|"]
    for name, m in rows.items():
        lines.append(f"| {name} | {m['mrr']:.3f} | {m['sr@1']:.3f} | {m['sr@5']:.3f} | {m['sr@10']:.3f} | "
                     f"{m['ndcg@10']:.3f} | {m['n']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="data/model")
    p.add_argument("--data", default="data/dataset")
    p.add_argument("--functions", default="data/functions.csv")
    p.add_argument("--cosqa", default="../shared/bench/cosqa-dev.jsonl")
    p.add_argument("--pool-size", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-test", action="store_true")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)
    try:
        out = {"model": str(args.model), "identity": codenn.load(args.model).identity}
        if not args.skip_test:
            out["test"] = eval_test_split(args.model, Path(args.data), Path(args.functions), args.pool_size, args.seed)
        out["cosqa"] = cosqa(args.model, Path(args.cosqa))
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if "test" in out:
        t = out["test"]
        proto = f"pool{args.pool_size}"
        print(table("test split, whole", {"CODEnn": t["codenn"]["whole"], "BM25": t["bm25"]["whole"]}), end="\n\n")
        print(table(f"test split, pools of {args.pool_size}", {"CODEnn": t["codenn"][proto], "BM25": t["bm25"][proto]}), end="\n\n")
    c = out["cosqa"]
    print(table(f"CoSQA dev ({c['queries']} queries, pool {c['pool']}, {c['unparsed']} unparsed)",
                {"CODEnn": c["codenn"], "CODEnn, queries as typed": c["codenn_raw_queries"], "BM25": c["bm25"]}))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
