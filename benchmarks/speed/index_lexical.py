"""Compare lexical engines for the index: tantivy, bm25s and SQLite FTS5, on the same tokens.

    python -m benchmarks.speed.index_lexical --functions data/functions.csv [--n 182000] [--queries 300]

Every engine indexes the same analysed text of each function (index.analysis.lexical_fields, one
field, stemmed by the index's analyzer) and answers the same natural-language queries (the
benchmark file's, stop words removed) as an OR of their terms, top-100 by BM25, one query at a
time. Prints index time and query latency p50/p99 per engine; the engine of the index must meet
p50 <= 10 ms end to end at 1M functions, so its share has to be a few ms.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from index.analysis import lexical_fields, parse_query
from index.lexical import LexicalConfig, analyzer
from preprocess.csvio import read_functions


def percentiles(ts: list[float]) -> dict:
    a = np.asarray(ts) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 3), "p99_ms": round(float(np.percentile(a, 99)), 3)}


def run_tantivy(docs, queries, tmp, k):
    import tantivy
    from tantivy import Occur, Query
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", indexed=True, fast=True)
    sb.add_text_field("text", tokenizer_name="whitespace", index_option="freq")
    schema = sb.build()
    (Path(tmp) / "tantivy").mkdir()
    index = tantivy.Index(schema, str(Path(tmp) / "tantivy"))
    t = time.perf_counter()
    w = index.writer(200_000_000, 1)
    for i, d in enumerate(docs):
        w.add_document(tantivy.Document(id=i, text=" ".join(d)))
    w.commit()
    w.wait_merging_threads()
    index.reload()
    build = time.perf_counter() - t
    ts = []
    for q in queries:
        t = time.perf_counter()
        searcher = index.searcher()
        query = Query.boolean_query([(Occur.Should, Query.term_query(schema, "text", term)) for term in q])
        hits = searcher.search(query, limit=k, count=False).hits
        searcher.fast_field_values("id", [a for _, a in hits])
        ts.append(time.perf_counter() - t)
    return build, ts


def run_bm25s(docs, queries, tmp, k):
    import bm25s
    t = time.perf_counter()
    retriever = bm25s.BM25()
    retriever.index(docs, show_progress=False)
    build = time.perf_counter() - t
    ts = []
    for q in queries:
        t = time.perf_counter()
        retriever.retrieve([q], k=min(k, len(docs)), show_progress=False, n_threads=1)
        ts.append(time.perf_counter() - t)
    return build, ts


def run_fts5(docs, queries, tmp, k, conjunction="OR"):
    db = sqlite3.connect(str(Path(tmp) / f"fts-{conjunction}.sqlite"))
    t = time.perf_counter()
    db.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='unicode61')")
    db.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", ((i, " ".join(d)) for i, d in enumerate(docs)))
    db.commit()
    build = time.perf_counter() - t
    ts = []
    for q in queries:
        match = f" {conjunction} ".join(f'"{term}"' for term in q)
        t = time.perf_counter()
        db.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT ?", (match, k)).fetchall()
        ts.append(time.perf_counter() - t)
    db.close()
    return build, ts


BOOSTS = {"boosted 0.5/0.5/1": {"name": 0.5, "doc": 0.5, "code": 1.0},
          "unboosted 1/1/1": {"name": 1.0, "doc": 1.0, "code": 1.0}, "code only": {"name": 0, "doc": 0, "code": 1.0}}


def run_index(records, n, queries, tmp, k) -> dict:
    """The index's own LexicalIndex (three fields) over n replicated records, under several field boosts."""
    from benchmarks.scale.index_latency import replicate
    from index.lexical import LexicalIndex
    lex = LexicalIndex(Path(tmp) / "index-lexical", create=True)
    t = time.perf_counter()
    lex.add(replicate(records, n))
    lex.commit()
    out = {"index_s": round(time.perf_counter() - t, 1)}
    for label, boosts in BOOSTS.items():
        lex.cfg.boosts = boosts
        ts = []
        for q in queries:
            t = time.perf_counter()
            lex.top(q, k)
            ts.append(time.perf_counter() - t)
        out[label] = percentiles(ts)
    return out


ENGINES = {"tantivy": run_tantivy, "bm25s": run_bm25s, "fts5-or": run_fts5,
           "fts5-and": lambda d, q, t, k: run_fts5(d, q, t, k, "AND")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--functions", default="data/functions.csv")
    p.add_argument("--bench", default="../shared/bench/cosqa-dev.jsonl", help="where the queries come from")
    p.add_argument("--n", type=int, default=0, help="functions to index (0: all; more than the file: replicated, "
                                                    "renamed copies as in index_latency)")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("-k", type=int, default=100)
    p.add_argument("--engines", default=",".join(ENGINES), help=f"of {', '.join(ENGINES)}, index")
    p.add_argument("--out", default="data/bench/index_lexical.json")
    args = p.parse_args(argv)

    stem = analyzer(LexicalConfig()).analyze
    records = list(read_functions(args.functions))
    n = args.n or len(records)
    raw = [json.loads(line).get("query") for line in Path(args.bench).read_text().splitlines() if line.strip()]
    terms = [t for t in (parse_query(q).terms for q in raw if q) if t][: args.queries]
    queries = [stem(" ".join(t)) for t in terms]
    engines = args.engines.split(",")
    report = {"n": n, "queries": len(queries), "k": args.k, "engines": {}}
    with tempfile.TemporaryDirectory(prefix="index-lexical-") as tmp:
        if "index" in engines:  # the index's own three-field schema: only the boosts differ
            report["index"] = run_index(records, n, terms, tmp, args.k)
            print(json.dumps({"index": report["index"]}), flush=True)
            engines.remove("index")
        t = time.perf_counter()
        base = [stem(" ".join(lexical_fields(r).values())) for r in records] if engines else []
        docs = [base[i % len(base)] for i in range(n)] if engines else []
        print(f"{n:,} functions ({len(records):,} distinct), {len(queries)} queries, top-{args.k}; "
              f"analysis {time.perf_counter() - t:.0f} s", flush=True)
        for name in engines:
            build, ts = ENGINES[name](docs, queries, tmp, args.k)
            report["engines"][name] = {"index_s": round(build, 1), **percentiles(ts)}
            print(f"{name:9s} index {build:7.1f} s   query p50 {report['engines'][name]['p50_ms']:8.2f} ms   "
                  f"p99 {report['engines'][name]['p99_ms']:8.2f} ms", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
