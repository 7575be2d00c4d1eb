"""Speed against the MiniLM peer, in one run, as ratios on the same functions (the machine is shared).

    python -m benchmarks.speed.speed [--bench ../shared/bench/cosqa-dev.jsonl] [--model data/model]
                               [--sizes 10000,100000,1000000] [--time-cap 2400] [--json]

Measures preprocessing (our AST extraction vs MiniLM's tokenizer) and encoding in functions/s, the
index build time of the same sample, query latency p50/p99 (ours: Searcher.search, hybrid, k=10;
MiniLM: encode the query + exact FAISS search) and resident memory at each corpus size. Each latency
point runs in its own process; a point whose projected time exceeds what is left of --time-cap is
skipped with a note.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.benchfile import BenchFormatError, pool_records, read_bench
from benchmarks.peers import MiniLMPeer, minilm_missing, set_threads
from benchmarks.quality.quality import default_model, machine

DEFAULT_BENCH = "../shared/bench/cosqa-dev.jsonl"


@dataclass
class SpeedConfig:
    """What to measure and how long it may take."""

    bench: str = DEFAULT_BENCH
    model: str = "data/model"
    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    sample: int = 256            # functions encoded and indexed by both systems
    queries: int = 200           # timed queries per latency point
    time_cap: float = 2400.0     # seconds for the whole run (1M: ~20 min to build on 2 shared cores)
    progress: bool = True
    minilm: bool = True          # measure the peer (MiniLM)


class Clock:
    """The run's time budget."""

    def __init__(self, cap: float):
        self.t0, self.cap = time.perf_counter(), cap

    def left(self) -> float:
        return self.cap - (time.perf_counter() - self.t0)


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def worker(kind: str, args: list[str], timeout: float, progress: bool) -> dict:
    """Run one speed worker process; its last stdout line is its JSON result."""
    cmd = [sys.executable, "-m", "benchmarks.speed.speed_workers", kind, *args] + ([] if progress else ["--quiet"])
    if timeout <= 0:
        raise TimeoutError("no time left")
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE,
                       text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{kind} failed (exit {p.returncode}): {(p.stderr or '').strip()[-300:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def measure_local(cfg: SpeedConfig, work: Path, out: dict) -> None:
    """Preprocessing, encoding and build of the same sample by both systems; saves pool vectors."""
    from index.build import build_index
    from index.encoders import load_encoder
    from index.manifest import IndexConfig
    import faiss
    bench = read_bench(cfg.bench)
    (records, _), t_extract = timed(pool_records, bench)
    enc = load_encoder(cfg.model)
    n = min(cfg.sample, bench.nb)
    sample = records[:n]
    _, t_ours = timed(enc.encode_functions, sample)
    xb, _ = timed(enc.encode_functions, records)
    np.save(work / "ours.npy", xb / np.maximum(np.linalg.norm(xb, axis=1, keepdims=True), 1e-12))
    _, t_build = timed(build_index, sample, cfg.model, work / "sample-index", IndexConfig(progress=False))
    _, t_build_pool = timed(build_index, records, cfg.model, work / "pool-index", IndexConfig(progress=False))
    rows = out["rows"]
    teacher = getattr(enc, "teacher", None)   # loaded by the encodes above
    teacher_row = f"teacher functions/s ({n} code heads; minilm: the stock model as the peer runs it)"
    if teacher is not None:
        _, t_teacher = timed(teacher.encode, [r.get("code") or "" for r in sample])
        rows[teacher_row] = {"ours": n / t_teacher}
    rows["preprocess functions/s"] = {"ours": bench.nb / t_extract}
    rows[f"encoding functions/s ({n} functions)"] = {"ours": n / t_ours}
    rows[f"index build s ({n} functions)"] = {"ours": t_build}
    rows[f"index build s (whole pool, {bench.nb} functions)"] = {"ours": t_build_pool}
    out["encoder"] = str(enc.identity)
    why = "MiniLM peer skipped: --no-minilm" if not cfg.minilm else minilm_missing()
    if why:
        out["notes"].append(why)
        return
    peer = MiniLMPeer(progress=False)
    codes = bench.codes[:n]
    peer.model                                            # load before timing
    _, t_tok = timed(peer.model.tokenize, bench.codes)
    rows["preprocess functions/s"]["minilm"] = bench.nb / t_tok
    xs, t_peer = timed(peer.encode, codes)
    rows[f"encoding functions/s ({n} functions)"]["minilm"] = n / t_peer
    if teacher_row in rows:
        rows[teacher_row]["minilm"] = n / t_peer
    flat = faiss.IndexFlatIP(xs.shape[1])
    _, t_add = timed(flat.add, xs)
    rows[f"index build s ({n} functions)"]["minilm"] = t_peer + t_add
    cached = peer.cache_path(bench.codes)
    if cached.exists():                                   # the quality run's pool embeddings
        np.save(work / "minilm.npy", np.load(cached))
    else:
        out["notes"].append(f"MiniLM latency corpora are built from {n} encoded functions (no cached pool "
                            "embeddings: run `make eval` first for the whole pool)")
        np.save(work / "minilm.npy", xs)


def measure_sizes(cfg: SpeedConfig, work: Path, clock: Clock, out: dict) -> None:
    """Query latency and memory at each corpus size, for both systems, within the time cap."""
    prev = None
    common = ["--bench", cfg.bench, "--queries", str(cfg.queries)]
    for size in cfg.sizes:
        lat, mem = f"query p50/p99 ms ({size:,})", f"resident MiB ({size:,})"
        out["rows"][lat], out["rows"][mem] = {}, {}
        if prev is not None:
            projected = prev[1] * size / prev[0] * 1.3    # build grows a little faster than linearly (HNSW)
            if projected > clock.left():
                out["notes"].append(f"{size:,} functions skipped: building would take ~{projected:.0f} s, "
                                    f"{max(clock.left(), 0):.0f} s of --time-cap left")
                continue
        idx = work / f"index-{size}"
        try:
            # the peer first: it needs no build, so a long build of ours cannot cost its point
            if (work / "minilm.npy").exists():
                m = worker("query-minilm", common + ["--base", str(work / "minilm.npy"), "--size", str(size)],
                           clock.left(), cfg.progress)
                out["rows"][lat]["minilm"] = (m["p50_ms"], m["p99_ms"])
                out["rows"][mem]["minilm"] = m["rss_mb"]
            b = worker("build-ours", common + ["--model", cfg.model, "--base", str(work / "ours.npy"),
                                               "--size", str(size), "--out", str(idx)], clock.left(), cfg.progress)
            prev = (size, b["build_s"])
            out["rows"].setdefault("index build s (synthetic corpus)", {})[f"{size:,}"] = b["build_s"]
            q = worker("query-ours", common + ["--model", cfg.model, "--index", str(idx)], clock.left(), cfg.progress)
            out["rows"][lat]["ours"] = (q["p50_ms"], q["p99_ms"])
            out["rows"][mem]["ours"] = q["rss_mb"]
        except (subprocess.TimeoutExpired, TimeoutError):
            out["notes"].append(f"{size:,} functions: stopped at --time-cap ({cfg.time_cap:.0f} s)")
            return
        finally:
            subprocess.run(["rm", "-rf", str(idx)], check=False)


def advantage(row: str, ours, peer) -> float | None:
    """How many times better ours is (>1: ours faster / smaller)."""
    if ours is None or peer is None:
        return None
    o, p = (ours[0], peer[0]) if isinstance(ours, (tuple, list)) else (ours, peer)
    higher_is_better = "functions/s" in row
    return (o / p) if higher_is_better else (p / o) if o else None


def markdown(out: dict) -> str:
    """The measurements as a Markdown table with ours' advantage factor."""
    lines = ["| measure | ours | MiniLM | ours' advantage (×) |", "|---|---|---|---|"]

    def fmt(v):
        if v is None:
            return "—"
        if isinstance(v, (tuple, list)):
            return f"{v[0]:.1f} / {v[1]:.1f}"
        return f"{v:,.1f}" if v >= 10 else f"{v:.3f}"
    for row, vals in out["rows"].items():
        if row == "index build s (synthetic corpus)":
            continue
        a = advantage(row, vals.get("ours"), vals.get("minilm"))
        lines.append(f"| {row} | {fmt(vals.get('ours'))} | {fmt(vals.get('minilm'))} | "
                     f"{'—' if a is None else f'{a:.1f}'} |")
    builds = out["rows"].get("index build s (synthetic corpus)", {})
    if builds:
        lines.append("")
        lines.append("ours, index build of the latency corpora: " +
                     ", ".join(f"{k} functions {v:.0f} s" for k, v in builds.items()))
    return "\n".join(lines)


def run(cfg: SpeedConfig) -> dict:
    clock = Clock(cfg.time_cap)
    out = {"bench": cfg.bench, "model": cfg.model, "rows": {}, "notes": [],
           "date": time.strftime("%Y-%m-%d"), "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        measure_local(cfg, Path(tmp), out)
        measure_sizes(cfg, Path(tmp), clock, out)
    out["seconds"] = round(time.perf_counter() - clock.t0, 1)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed.speed", description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=DEFAULT_BENCH, help=f"benchmark file whose pool and queries are used ({DEFAULT_BENCH})")
    ap.add_argument("--model", default=None, help="trained model directory, or `hashing` "
                    "(default: data/model, else the shipped codenn/pretrained)")
    ap.add_argument("--sizes", default="10000,100000,1000000", help="corpus sizes for the latency points")
    ap.add_argument("--sample", type=int, default=256, help="functions encoded and indexed by both systems")
    ap.add_argument("--queries", type=int, default=200, help="timed queries per latency point")
    ap.add_argument("--time-cap", type=float, default=2400, help="seconds for the whole run")
    ap.add_argument("--no-minilm", action="store_true", help="measure ours only")
    ap.add_argument("--threads", type=int, default=1, help="torch/FAISS threads for every system (0: their default)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    args.model = args.model or default_model()
    try:
        sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
        if not sizes or min(sizes) < 1 or args.sample < 1 or args.queries < 1:
            raise ValueError
    except ValueError:
        print("error: --sizes must be positive integers separated by commas; --sample and --queries >= 1",
              file=sys.stderr)
        return 2
    cfg = SpeedConfig(args.bench, args.model, sizes, args.sample, args.queries, args.time_cap, not args.quiet,
                      minilm=not args.no_minilm)
    if args.model != "hashing" and not args.model.startswith("hashing:") and not Path(args.model, "config.json").is_file():
        print(f"error: no trained model in {args.model} (run `make train`, or pass --model hashing)", file=sys.stderr)
        return 2
    set_threads(args.threads)          # also read by the worker processes (OMP_NUM_THREADS)
    try:
        out = run(cfg)
        out["threads"] = args.threads
    except (FileNotFoundError, BenchFormatError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(markdown(out))
    for note in out["notes"]:
        print(f"note: {note}")
    print(f"{out['date']}, {out['machine']}, {args.threads or 'default'} thread(s); {out['seconds']:.0f} s; "
          f"encoder {out.get('encoder')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
