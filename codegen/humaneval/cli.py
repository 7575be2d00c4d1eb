"""HumanEval / HumanEval-X pass@k: execute completions in a sandbox, or generate them first.

    python -m codegen.humaneval --samples samples.jsonl [--lang cpp,java] [--json]
    python -m codegen.humaneval --canonical --lang python,cpp,java,js,go,rust      # harness self-check
    python -m codegen.humaneval --generate --model data/codegen --lang humaneval --n 20 \\
        --samples data/humaneval_samples.jsonl [--retrieve 3 --index data/index]

Samples use human-eval's JSONL format: {"task_id": "CPP/0", "completion": "..."}; the task id's
prefix names the language (HumanEval/ is OpenAI's original Python set). Per-problem results go to
--results (default: <samples>_results.jsonl).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from codegen import rag
from codegen.execution import SandboxError
from codegen.humaneval.data import (DATASETS, DataError, Sample, check_known, dataset_of,
                                    default_bench_dir, load_problems, parse_langs, read_samples,
                                    write_jsonl)
from codegen.humaneval.generation import GenerationConfig, generate_samples, load_completer
from codegen.humaneval.harness import Harness, HarnessConfig, LanguageReport
from codegen.humaneval.languages import default_value_completion


def _ints(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise argparse.ArgumentTypeError("k values must be positive integers")
    return ks


def build_parser() -> argparse.ArgumentParser:
    """Return the CLI parser."""
    p = argparse.ArgumentParser(prog="python -m codegen.humaneval", description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--generate", action="store_true", help="sample completions with --model first")
    mode.add_argument("--canonical", action="store_true", help="score the reference solutions")
    mode.add_argument("--wrong", action="store_true", help="score default-value (wrong) solutions")
    p.add_argument("--samples", help="samples JSONL to score (written first with --generate)")
    p.add_argument("--lang", help=f"comma-separated subset of {','.join(DATASETS)}")
    p.add_argument("--bench-dir", default=None, help="folder with HumanEval.jsonl.gz and humaneval-x/")
    p.add_argument("--results", help="per-problem results JSONL (default: <samples>_results.jsonl)")
    p.add_argument("--json", action="store_true", help='print {"<lang>": {"pass@1": ...}} only')
    p.add_argument("--k", type=_ints, default=(1, 10, 100), help="pass@k values (default 1,10,100)")
    p.add_argument("--limit", type=int, help="first N problems per language (generate/canonical/wrong)")
    p.add_argument("--workers", type=int, default=None, help="programs run in parallel (default: CPUs)")
    p.add_argument("--timeout", type=float, default=10.0, help="wall-clock seconds per program run")
    p.add_argument("--memory-mb", type=int, default=2048, help="memory limit per program")
    p.add_argument("--cache-dir", help="build caches (default ~/.cache/codegen-humaneval)")
    p.add_argument("--no-progress", action="store_true")
    g = p.add_argument_group("generation (--generate)")
    g.add_argument("--model", help="model folder: ours (codegen.train) or a Hugging Face one")
    g.add_argument("--backend", default="auto", choices=("auto", "local", "hf"))
    g.add_argument("--n", type=int, default=200, help="samples per problem")
    g.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    g.add_argument("--top-p", type=float, default=0.95)
    g.add_argument("--max-new-tokens", type=int, default=256)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="cpu")
    g.add_argument("--retrieve", type=int, default=0, metavar="K", help="put top-K indexed functions in the prompt")
    g.add_argument("--index", help="search index folder for --retrieve")
    g.add_argument("--no-eval", action="store_true", help="only write the samples file")
    return p


def _problems(args, langs: list[str]) -> dict[str, dict[str, dict]]:
    bench = Path(args.bench_dir) if args.bench_dir else default_bench_dir()
    out = {}
    for lang in langs:
        probs = load_problems(bench, lang)
        if args.limit:
            probs = dict(list(probs.items())[: args.limit])
        out[lang] = probs
    return out


def _reference_samples(problems: dict[str, dict[str, dict]], wrong: bool) -> list[Sample]:
    return [Sample(t, default_value_completion(p, lang) if wrong else p["canonical_solution"])
            for lang, probs in problems.items() for t, p in probs.items()]


def _generate(args, problems: dict[str, dict[str, dict]]) -> list[Sample]:
    if not args.model or not args.samples:
        raise DataError("--generate needs --model DIR and --samples OUT")
    cfg = GenerationConfig(n=args.n, temperature=args.temperature, top_p=args.top_p,
                           max_new_tokens=args.max_new_tokens, seed=args.seed, device=args.device,
                           backend=args.backend)
    retriever, rag_cfg = None, None
    if args.retrieve:
        if not args.index:
            raise DataError("--retrieve needs --index DIR (the search index)")
        retriever, rag_cfg = rag.index_retriever(args.index), rag.RagConfig(k=args.retrieve)
    completer, backend = load_completer(args.model, cfg)
    samples = []
    for lang, probs in problems.items():
        samples += generate_samples(probs, lang, completer, cfg, backend, retriever, rag_cfg,
                                    progress=not args.no_progress)
    write_jsonl(args.samples, ({"task_id": s.task_id, "completion": s.completion} for s in samples))
    return samples


def _load_samples(args, langs: list[str] | None) -> tuple[list[Sample], dict[str, dict[str, dict]]]:
    samples = read_samples(args.samples)
    present = list(dict.fromkeys(dataset_of(s.task_id) for s in samples))
    if langs:
        missing = [lang for lang in langs if lang not in present]
        if missing:
            raise DataError(f"--lang {','.join(missing)}: no such tasks in {args.samples}")
        samples = [s for s in samples if dataset_of(s.task_id) in langs]
    problems = _problems(argparse.Namespace(**{**vars(args), "limit": None}), langs or present)
    check_known(samples, {t: p for probs in problems.values() for t, p in probs.items()}, args.samples)
    return samples, problems


def _print_table(reports: dict[str, LanguageReport], ks: tuple[int, ...]) -> None:
    cols = [f"pass@{k}" for k in ks]
    print(f"{'language':<10} {'problems':>8} {'samples':>8} " + " ".join(f"{c:>9}" for c in cols)
          + f" {'solved':>7} {'progs/s':>8}")
    for lang, r in reports.items():
        s = r.summary
        if "skipped" in s:
            print(f"{lang:<10} skipped: {s['skipped']}")
            continue
        vals = " ".join(f"{s[c]:>9.4f}" if c in s else f"{'-':>9}" for c in cols)
        rate = r.executed / r.seconds if r.seconds else 0.0
        print(f"{lang:<10} {s['n_problems']:>8} {s['n_samples']:>8} {vals} {s['solved']:>7} {rate:>8.2f}")


def run(args) -> dict[str, LanguageReport]:
    """Run the selected mode and return per-language reports (None-free; skipped ones say why)."""
    langs = parse_langs(args.lang) if args.lang else None
    if args.generate or args.canonical or args.wrong:
        default = ["humaneval"] if args.generate else list(DATASETS)
        problems = _problems(args, langs or default)
        if args.generate:
            samples = _generate(args, problems)
            if args.no_eval:
                return {}
        else:
            samples = _reference_samples(problems, args.wrong)
    elif args.samples:
        samples, problems = _load_samples(args, langs)
    else:
        raise DataError("give --samples FILE, --canonical, --wrong or --generate")
    cfg = HarnessConfig(timeout_s=args.timeout, memory_mb=args.memory_mb, ks=args.k,
                        cache_dir=args.cache_dir, progress=not args.no_progress)
    if args.workers:
        cfg.workers = args.workers
    harness = Harness(cfg)
    reports = harness.evaluate(samples, problems)
    for lang in reports:
        note = harness.toolchain(lang).note
        if note:
            print(f"note: {lang}: {note}", file=sys.stderr)
    results = args.results or (str(Path(args.samples).with_suffix("")) + "_results.jsonl" if args.samples else None)
    if results:
        write_jsonl(results, (rec for r in reports.values() for rec in r.problems))
    return reports


def main(argv: list[str] | None = None) -> int:
    """Entry point: print a table (or JSON); 2 on bad input."""
    args = build_parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:
        # SIGTERM unwinds like Ctrl-C: running programs finish their cleanup (temp folders, uids).
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        reports = run(args)
    except (DataError, SandboxError, ValueError, RuntimeError, NotImplementedError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
    if args.json:
        print(json.dumps({lang: r.summary for lang, r in reports.items()}, indent=2))
    elif reports:
        _print_table(reports, args.k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
