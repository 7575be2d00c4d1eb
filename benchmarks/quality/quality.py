"""Search quality on a benchmark file: our modes and the peers, side by side, in one run.

    python -m benchmarks.quality.quality ../shared/bench/cosqa-dev.jsonl --model data/model [--json]

Indexes the file's pool with the trained model in a temporary folder, scores every query over the
whole pool in each mode (ours: neural, lexical, hybrid; peers: bm25, minilm), and reports MRR,
SuccessRate@1/5/10 and nDCG@10 from fully sorted ranks, with the median time of one query.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

from benchmarks.benchfile import BenchFormatError, read_bench
from benchmarks.peers import minilm_missing, set_threads
from benchmarks.quality.modes import MODES, Context
from benchmarks.ranking import METRICS, scores_row, whole_pool_ranks

DEFAULT_MODES = tuple(MODES)     # every registered mode: adding one to MODES adds it here
DEFAULT_CHART = "docs/quality.png"


@dataclass
class QualityConfig:
    """What to evaluate and where the outputs go."""

    modes: tuple[str, ...] = DEFAULT_MODES
    model_dir: str = "data/model"
    chart: str | None = DEFAULT_CHART
    cache_dir: str | None = None
    time_sample: int = 50
    progress: bool = True
    explicit_modes: bool = False     # modes named by the user: a missing requirement is an error
    index_settings: tuple[str, ...] = ()   # IndexConfig overrides for our index (e.g. teacher_int8=false)


def default_model() -> str:
    """data/model when trained here, else the pretrained model shipped in codenn/pretrained."""
    if (Path("data/model") / "config.json").is_file():
        return "data/model"
    import importlib.util
    spec = importlib.util.find_spec("codenn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / "pretrained" / "config.json").is_file():
            return str(Path(folder) / "pretrained")
    return "data/model"


def machine() -> str:
    """One line naming this machine: CPU, cores, OS, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def missing(need: str, cfg: QualityConfig) -> str | None:
    """Why a requirement of a mode is not met (None when it is)."""
    if need == "model":
        # `hashing[:DIM]` names the index's built-in untrained encoder: no model directory needed
        builtin = cfg.model_dir == "hashing" or cfg.model_dir.startswith("hashing:")
        if not builtin and not (Path(cfg.model_dir) / "config.json").is_file():
            return f"no trained model in {cfg.model_dir} (run `make train`, or pass --model hashing)"
        import importlib.util
        if importlib.util.find_spec("index.build") is None or importlib.util.find_spec("index.searcher") is None:
            return "the index package is not built yet (index.build / index.searcher missing)"
        return None
    if need == "minilm":
        return minilm_missing()
    if need == "teacher":
        try:
            meta = json.loads((Path(cfg.model_dir) / "config.json").read_text(encoding="utf-8")).get("meta", {})
        except (OSError, ValueError):
            return f"no model config in {cfg.model_dir}"
        return None if meta.get("index_teacher") else f"{cfg.model_dir} is not a distilled model (no index teacher)"
    raise ValueError(f"unknown requirement {need!r}")


def runnable_modes(cfg: QualityConfig) -> tuple[list[str], list[str]]:
    """The modes to run and notes on those skipped; raise ValueError for an explicit mode that can't run."""
    unknown = [m for m in cfg.modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    run, notes = [], []
    for name in cfg.modes:
        why = next((w for w in (missing(n, cfg) for n in MODES[name].needs) if w), None)
        if why is None:
            run.append(name)
        elif cfg.explicit_modes:
            raise ValueError(f"mode {name} cannot run: {why}")
        else:
            notes.append(f"{name} skipped: {why}")
    return run, notes


def evaluate(path: str | Path, cfg: QualityConfig) -> dict:
    """Run every requested mode on a benchmark file; return the report as a JSON-ready dict."""
    bench = read_bench(path)
    names, notes = runnable_modes(cfg)
    ctx = Context(bench, model_dir=cfg.model_dir, cache_dir=cfg.cache_dir, time_sample=cfg.time_sample,
                  progress=cfg.progress, index_settings=list(cfg.index_settings))
    modes = {}
    ctx.records                      # parse the pool once: the report counts what did not parse
    try:
        for name in names:
            r = ctx.run(name)
            row = scores_row(whole_pool_ranks(r.S, bench.gold))
            row["ms_per_query"] = r.ms_per_query
            modes[name] = row
    finally:
        ctx.close()
    return {
        "bench": {"file": str(path), "sha256": bench.sha256, "queries": bench.nq, "pool": bench.nb,
                  "unparsed": ctx.unparsed},
        "index_settings": list(cfg.index_settings),
        "modes": modes,
        "build_s": ctx.build_s,
        "notes": notes + ctx.notes,
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
    }


def markdown_table(report: dict) -> str:
    """The report's modes as a Markdown table."""
    head = ["mode", *METRICS, "ms/query"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, row in report["modes"].items():
        cells = [name] + [f"{row[m]:.3f}" for m in METRICS] + [f"{row['ms_per_query']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_chart(report: dict, path: str | Path) -> None:
    """A grouped bar chart of every metric per mode, saved as PNG (atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from codesearch_common.fsutil import atomic_open
    names, metrics = list(report["modes"]), list(METRICS)
    x = np.arange(len(metrics))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
    for i, name in enumerate(names):
        vals = [report["modes"][name][m] for m in metrics]
        peer = name in MODES and MODES[name].label.startswith("peer")
        bars = ax.bar(x + (i - (len(names) - 1) / 2) * width, vals, width, label=name + (" (peer)" if peer else ""),
                      hatch="//" if peer else None, edgecolor="white" if peer else None)
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    b = report["bench"]
    ax.set_title(f"{Path(b['file']).name}: {b['queries']} queries, whole pool of {b['pool']:,} functions")
    ax.set_xticks(x, metrics)
    ax.set_ylim(0, 1.05)
    ax.legend(ncol=min(len(names), 6), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), frameon=False)
    fig.tight_layout()
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.quality.quality", description=__doc__.split("\n")[0])
    ap.add_argument("file", help="benchmark JSONL (DESIGN.md, 'Benchmark file format')")
    ap.add_argument("--model", default=None, help="trained model directory, or `hashing` for the untrained "
                    "baseline (default: data/model, else the shipped codenn/pretrained)")
    ap.add_argument("--modes", help=f"comma-separated, from: {', '.join(MODES)} (default: {','.join(DEFAULT_MODES)})")
    ap.add_argument("--json", action="store_true", help="print the report as one JSON object")
    ap.add_argument("--chart", default=DEFAULT_CHART, help=f"PNG bar chart path (default: {DEFAULT_CHART})")
    ap.add_argument("--no-chart", action="store_true", help="write no chart")
    ap.add_argument("--cache", help="peer embedding cache folder (default: $CODESEARCH_CACHE or data/cache)")
    ap.add_argument("--time-sample", type=int, default=50, help="single queries timed for batched scorers")
    ap.add_argument("--threads", type=int, default=1, help="torch/FAISS threads for every system (0: their default)")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--index-set", action="append", default=[], metavar="KEY=VALUE",
                    help="an index setting for our modes, e.g. teacher_tokens=256 or teacher_int8=false (repeatable)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip()) if args.modes else DEFAULT_MODES
    cache = str(Path(args.cache) / "peers") if args.cache else None
    cfg = QualityConfig(modes=modes, model_dir=args.model or default_model(), chart=None if args.no_chart else args.chart,
                        cache_dir=cache, time_sample=max(args.time_sample, 1), progress=not args.quiet,
                        explicit_modes=bool(args.modes), index_settings=tuple(args.index_set))
    set_threads(args.threads)
    try:
        report = evaluate(args.file, cfg)
    except (FileNotFoundError, BenchFormatError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not report["modes"]:
        print("error: no mode could run: " + "; ".join(report["notes"]), file=sys.stderr)
        return 2
    report["threads"] = args.threads
    if cfg.chart:
        try:
            write_chart(report, cfg.chart)
            report["chart"] = cfg.chart
        except ImportError:  # matplotlib comes with the `test` and `peers` extras, not the core install
            report["notes"].append("no chart: matplotlib is not installed (pip install -e .[peers])")
            cfg.chart = None
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    b = report["bench"]
    print(f"{b['file']}: {b['queries']} queries over a pool of {b['pool']:,} (whole pool, ranks fully sorted)")
    print(markdown_table(report))
    for note in report["notes"]:
        print(f"note: {note}")
    if cfg.chart:
        print(f"chart: {cfg.chart}")
    print(f"{report['date']}, {report['machine']}, {args.threads or 'default'} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
