"""The teacher alone as a bi-encoder (what the `best` mode's ranking rests on): stock against ours.

    python -m benchmarks.quality.teacher_quality ../shared/bench/cosqa-dev.jsonl --weights cs1 [--runtime onnx] [--int8]
        [--adapter DIR]   # also the stock teacher with a query-side adapter (codenn.teacher_tune.adapt)

Queries and the whole pool's code go through the same teacher (settings as the index uses them);
MRR, SR@1/5/10 and nDCG@10 from fully sorted ranks, one row per teacher.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from benchmarks.benchfile import BenchFormatError, read_bench
from benchmarks.ranking import METRICS, scores_row, whole_pool_ranks


def encode(bench, weights: str, runtime: str, int8: bool, max_tokens: int):
    """(queries, codes) vectors of a bench by one teacher (code at the index's settings, queries in fp32)."""
    from codenn.code_teacher import CodeTeacher, TeacherConfig
    code = CodeTeacher(TeacherConfig(weights=weights, runtime=runtime, int8=int8, max_tokens=max_tokens))
    xb = code.encode(bench.codes)                                               # (nb, 384)
    queries = CodeTeacher(TeacherConfig(weights=weights, runtime=runtime, int8=False, max_tokens=max_tokens))
    return queries.encode(bench.queries), xb                                    # (nq, 384), (nb, 384)


def figures(name: str, xq, xb, bench, t0: float) -> dict:
    return {"teacher": name, **scores_row(whole_pool_ranks(xq @ xb.T, bench.gold)), "seconds": round(time.time() - t0, 1)}


def evaluate(bench, weights: str, runtime: str, int8: bool, max_tokens: int, adapter: str = "") -> list[dict]:
    """One teacher's whole-pool figures on a bench, and with the query-side adapter when one is given."""
    t0 = time.time()
    xq, xb = encode(bench, weights, runtime, int8, max_tokens)
    name = f"all-MiniLM-L6-v2{'+' + weights if weights else ''}"
    rows = [figures(name, xq, xb, bench, t0)]
    if adapter:
        from codenn.teacher_tune.adapter import apply, load_adapter
        rows.append(figures(f"{name} + query adapter {adapter}", apply(xq, *load_adapter(adapter)), xb, bench, t0))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.quality.teacher_quality", description=__doc__)
    ap.add_argument("bench")
    ap.add_argument("--weights", default="cs1", help="our fine-tune (codenn/pretrained/teacher-NAME)")
    ap.add_argument("--runtime", default="onnx", choices=("onnx", "torch"))
    ap.add_argument("--int8", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--limit", type=int, default=0, help="first N queries only (0: all)")
    ap.add_argument("--adapter", default="", help="a query-side adapter folder to score over the stock teacher")
    a = ap.parse_args(argv)
    try:
        bench = read_bench(a.bench)
    except (BenchFormatError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.limit:
        bench.queries, bench.gold = bench.queries[: a.limit], bench.gold[: a.limit]
    rows = evaluate(bench, "", a.runtime, a.int8, a.max_tokens, a.adapter)
    rows += evaluate(bench, a.weights, a.runtime, a.int8, a.max_tokens) if a.weights else []
    print(f"{a.bench}: {len(bench.queries)} queries, pool {len(bench.codes)}, code {a.runtime}"
          f"{' int8' if a.int8 else ''} at {a.max_tokens} tokens")
    print("| teacher | " + " | ".join(METRICS) + " |\n|---|" + "---|" * len(METRICS))
    for r in rows:
        print(f"| {r['teacher']} | " + " | ".join(f"{r[m]:.3f}" for m in METRICS) + " |")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
