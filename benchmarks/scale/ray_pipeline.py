"""Ray pipeline against the single process on the same corpus: throughput, equality, Ray's fixed cost.

    python -m benchmarks.scale.ray_pipeline --repos data/repos.jsonl --model codenn/pretrained --workers 2

Starts a local Ray cluster (`--ray auto`'s, `--workers` CPUs), times its start-up and a first
trivial Ray Data job (the fixed cost every `--ray` run pays), then extracts the manifest's
repositories and indexes the result both ways, checking that the outputs are equal: byte-identical
functions.csv, the same store rows and the same top-10 for the benchmark file's queries.
On one 2-core machine expect no gain: the point is equality and the overhead.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from codesearch_common.ray_cluster import RayConfig, connect, data_context
from crawler.manifest import read_manifest, write_manifest
from index.build import build_index
from index.manifest import IndexConfig
from index.ray_build import build_index_ray
from index.searcher import Searcher
from preprocess.csvio import read_functions
from preprocess.extract import ExtractConfig, extract
from preprocess.ray_extract import extract_ray
from benchmarks.scale.index_10m import finish_report, load_queries


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, round(time.perf_counter() - t, 2)


def startup_cost(rcfg: RayConfig) -> dict:
    """Seconds to start the local cluster, and for a first two-item Ray Data job on it."""
    ray, init_s = timed(connect, rcfg)
    data_context(rcfg)
    _, job_s = timed(lambda: ray.data.from_items([{"x": 1}, {"x": 2}]).map_batches(lambda b: b, num_cpus=1).take_all())
    _, again_s = timed(lambda: ray.data.from_items([{"x": 1}, {"x": 2}]).map_batches(lambda b: b, num_cpus=1).take_all())
    return {"init_s": init_s, "first_job_s": job_s, "warm_job_s": again_s}


def same_index(a: Path, b: Path, queries: list[str]) -> dict:
    """Whether two indexes hold the same rows and answer the queries with the same top-10."""
    sa, sb = Searcher.open(a), Searcher.open(b)
    try:
        rows = [r for batch in sa.store.iter_records() for r in batch] == [r for batch in sb.store.iter_records() for r in batch]
        top = sum([h.id for h in sa.search(q).hits] == [h.id for h in sb.search(q).hits] for q in queries)
        return {"same_rows": rows, "same_top10": f"{top}/{len(queries)}"}
    finally:
        sa.close()
        sb.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repos", default="data/repos.jsonl")
    p.add_argument("--limit-repos", type=int, default=0, help="only the first N repositories (0: all)")
    p.add_argument("--model", default="codenn/pretrained")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--bench", default="../shared/bench/cosqa-dev.jsonl")
    p.add_argument("--queries", type=int, default=50)
    p.add_argument("--workdir", default="data/bench/ray-pipeline")
    p.add_argument("--out", default="data/bench/ray_pipeline.json")
    args = p.parse_args(argv)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    repos = [r for r in read_manifest(args.repos) if r.status == "ok" and r.path]
    repos = repos[: args.limit_repos] if args.limit_repos else repos
    write_manifest(work / "repos.jsonl", repos)
    rcfg = RayConfig(workers=args.workers)
    report = {"repos": len(repos), "workers": args.workers, "cpus": os.cpu_count(), "model": args.model,
              "load_avg_at_start": os.getloadavg(), "ray_startup": startup_cost(rcfg)}
    ecfg = ExtractConfig(workers=args.workers)
    stats, single_s = timed(extract, work / "repos.jsonl", work / "single.csv", ecfg)
    _, ray_s = timed(extract_ray, work / "repos.jsonl", work / "ray.csv", ecfg, rcfg)
    same = (work / "single.csv").read_bytes() == (work / "ray.csv").read_bytes()
    report["extract"] = {"functions": stats.functions, "files": stats.files, "single_s": single_s, "ray_s": ray_s,
                         "single_fn_per_s": round(stats.functions / single_s), "ray_fn_per_s": round(stats.functions / ray_s),
                         "identical_csv": same}
    total = sum(1 for _ in read_functions(work / "single.csv"))
    cfg = IndexConfig()
    _, isingle_s = timed(build_index, read_functions(work / "single.csv"), args.model, work / "index-single", cfg, total=total)
    _, iray_s = timed(build_index_ray, work / "single.csv", args.model, work / "index-ray", IndexConfig(), rcfg, total=total)
    report["index"] = {"functions": total, "single_s": isingle_s, "ray_s": iray_s,
                       "single_fn_per_s": round(total / isingle_s), "ray_fn_per_s": round(total / iray_s),
                       **same_index(work / "index-single", work / "index-ray", load_queries(args.bench, args.queries))}
    return finish_report(report, args.out)


if __name__ == "__main__":
    sys.exit(main())
