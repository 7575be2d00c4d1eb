"""Benchmark the HumanEval-X harness: canonical pass@1 (must be 1.0), wrong-solution pass@1 (must be
0.0) and throughput per language.

    python -m benchmarks.codegen.humaneval_harness [--langs python,cpp,...] [--limit N] [--workers W] \\
        [--out data/bench/humaneval_harness.json]

Throughput is distinct programs executed (built + run) per wall-clock second with W workers, and
the CPU seconds the sandboxed processes used per program (less sensitive to a busy machine).
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time

from codegen.humaneval.data import (DATASETS, Sample, default_bench_dir, load_problems, parse_langs,
                                    write_jsonl)
from codegen.humaneval.harness import Harness, HarnessConfig
from codegen.humaneval.languages import default_value_completion


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def bench_language(harness: Harness, lang: str, problems: dict[str, dict], wrong: bool) -> dict:
    """Score reference (or default-value) solutions of one language; return figures."""
    samples = [Sample(t, default_value_completion(p, lang) if wrong else p["canonical_solution"])
               for t, p in problems.items()]
    cpu0, t0 = _children_cpu(), time.monotonic()
    report = harness.evaluate(samples, {lang: problems})[lang]
    cpu, wall = _children_cpu() - cpu0, time.monotonic() - t0
    s = report.summary
    if "skipped" in s:
        return {"skipped": s["skipped"]}
    expected = 0 if wrong else 1
    odd = [r["task_id"] for r in report.problems if r["c"] != expected]
    return {"pass@1": s["pass@1"], "n_problems": s["n_problems"], "statuses": dict(report.statuses),
            "unexpected": odd, "programs_per_s": report.executed / wall if wall else 0.0,
            "cpu_s_per_program": cpu / max(1, report.executed), "wall_s": wall,
            "failures": {r["task_id"]: r["results"][0] for r in report.problems if r["c"] != expected}}


def main(argv=None) -> int:
    """Run the benchmark and print a table; write JSON figures to --out."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--langs", default=",".join(DATASETS))
    p.add_argument("--limit", type=int, help="first N problems per language")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--bench-dir", default=None)
    p.add_argument("--out", default="data/bench/humaneval_harness.json")
    args = p.parse_args(argv)
    harness = Harness(HarnessConfig(workers=args.workers, timeout_s=args.timeout, progress=True))
    figures = {"workers": args.workers, "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
               "isolation": harness.sandbox.capabilities(), "languages": {}}
    print(f"{'language':<10} {'problems':>8} {'canonical':>9} {'wrong':>7} {'progs/s':>8} {'cpu s/prog':>10}")
    for lang in parse_langs(args.langs):
        probs = load_problems(args.bench_dir or default_bench_dir(), lang)
        if args.limit:
            probs = dict(list(probs.items())[: args.limit])
        canon = bench_language(harness, lang, probs, wrong=False)
        if "skipped" in canon:
            print(f"{lang:<10} skipped: {canon['skipped']}")
            figures["languages"][lang] = canon
            continue
        wrong = bench_language(harness, lang, probs, wrong=True)
        note = harness.toolchain(lang).note
        figures["languages"][lang] = {"canonical": canon, "wrong": wrong, "note": note}
        print(f"{lang:<10} {canon['n_problems']:>8} {canon['pass@1']:>9.4f} {wrong['pass@1']:>7.4f} "
              f"{canon['programs_per_s']:>8.2f} {canon['cpu_s_per_program']:>10.2f}")
        for kind, fig in (("canonical", canon), ("wrong", wrong)):
            if fig["unexpected"]:
                print(f"  {kind} unexpected: {' '.join(fig['unexpected'])}")
        if note:
            print(f"  note: {note}")
        write_jsonl(args.out, [figures])  # after each language: a long run keeps what it measured
    write_jsonl(args.out, [figures])
    print(f"figures written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
