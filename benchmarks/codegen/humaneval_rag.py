"""HumanEval pass@k of one model with and without retrieval from our search index, side by side.

    python -m benchmarks.codegen.humaneval_rag --model data/codegen-rag --index data/index --retrieve 3 \\
        [--n 10 --temperature 0.8] [--limit N] [--out data/bench/humaneval_rag.json]

Both runs use the same model, problems, seeds and sampling settings; only the prompt differs (the
top-K functions the index returns for the problem's docstring come first). Reports pass@k, the
number of problems solved (at least one passing sample), the mean prompt length in tokens and how
many prompts had to be left-truncated to fit the model's context.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from codegen import rag
from codegen.humaneval import languages as langs
from codegen.humaneval.data import default_bench_dir, load_problems
from codegen.humaneval.generation import (GenerationConfig, generate_samples, load_completer,
                                          model_prompt, uses_language_tag)
from codegen.humaneval.harness import Harness, HarnessConfig
from codesearch_common.fsutil import atomic_open


def prompt_stats(problems: dict, completer, cfg: GenerationConfig, backend: str, retriever, rag_cfg) -> dict:
    """Mean prompt tokens and prompts longer than the context leaves room for (our own models only)."""
    if backend != "local":  # a Hugging Face model's tokenizer and context are its own business
        return {}
    room = completer.model.context_length - cfg.max_new_tokens
    tag = uses_language_tag(cfg, backend)
    lengths = [len(completer.tokenizer.encode(model_prompt(langs.context(p, "humaneval"), "humaneval", tag,
                                                           retriever, rag_cfg)))
               for p in problems.values()]
    return {"prompt_tokens_mean": round(sum(lengths) / len(lengths), 1),
            "prompts_truncated": sum(n > room for n in lengths)}


def run_one(problems, completer, backend, cfg: GenerationConfig, harness: Harness, retriever, rag_cfg,
            ks) -> dict:
    """Generate, execute and summarise one configuration."""
    t = time.monotonic()
    samples = generate_samples(problems, "humaneval", completer, cfg, backend, retriever, rag_cfg)
    gen_s = time.monotonic() - t
    report = harness.evaluate(samples, {"humaneval": problems})["humaneval"]
    out = {k: v for k, v in report.summary.items() if k.startswith("pass@") or k in ("n_problems", "n_samples", "solved")}
    out.update(prompt_stats(problems, completer, cfg, backend, retriever, rag_cfg), generate_s=round(gen_s, 1),
               solved_tasks=[r["task_id"] for r in report.problems if r["c"] > 0])
    return out


def main(argv=None) -> int:
    """Run without and with retrieval; print a table and write JSON to --out."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="model folder (codegen.train or Hugging Face)")
    p.add_argument("--index", default="data/index", help="search index folder to retrieve from")
    p.add_argument("--retrieve", type=int, default=3, metavar="K")
    p.add_argument("--n", type=int, default=1, help="samples per problem")
    p.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--limit", type=int, help="first N problems")
    p.add_argument("--bench-dir", default=None)
    p.add_argument("--out", default="data/bench/humaneval_rag.json")
    args = p.parse_args(argv)
    if not Path(args.index, "manifest.json").exists():
        print(f"error: {args.index}: no search index (make index builds one)", file=sys.stderr)
        return 2
    try:
        problems = load_problems(Path(args.bench_dir) if args.bench_dir else default_bench_dir(), "humaneval")
        cfg = GenerationConfig(n=args.n, temperature=args.temperature, max_new_tokens=args.max_new_tokens)
        completer, backend = load_completer(args.model, cfg)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.limit:
        problems = dict(list(problems.items())[: args.limit])
    ks = tuple(k for k in (1, 10, 100) if k <= args.n)
    harness = Harness(HarnessConfig(ks=ks, progress=False))
    rag_cfg = rag.RagConfig(k=args.retrieve)
    figures = {"model": args.model, "index": args.index, "n": args.n, "temperature": args.temperature,
               "max_new_tokens": args.max_new_tokens, "retrieve": args.retrieve,
               "without": run_one(problems, completer, backend, cfg, harness, None, None, ks),
               "with": run_one(problems, completer, backend, cfg, harness, rag.index_retriever(args.index),
                               rag_cfg, ks)}
    print(f"{'retrieval':<10} {'problems':>8} " + " ".join(f"{'pass@' + str(k):>9}" for k in ks)
          + f" {'solved':>7} {'prompt tok':>10} {'truncated':>9}")
    for name in ("without", "with"):
        r = figures[name]
        print(f"{name:<10} {r['n_problems']:>8} " + " ".join(f"{r[f'pass@{k}']:>9.4f}" for k in ks)
              + f" {r['solved']:>7} {r.get('prompt_tokens_mean', '-'):>10} {r.get('prompts_truncated', '-'):>9}")
    with atomic_open(args.out, "w") as f:  # makes the folder too
        json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
