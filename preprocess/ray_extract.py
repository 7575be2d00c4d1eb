"""Extraction on Ray Data: files are parsed by tasks across the cluster, rows numbered here in file order.

The driver discovers files exactly as the single-process run does (repositories sorted by name, then
`discover`'s order), ships them in chunks to tasks that call `process_file`, and reads the results
back in input order (`preserve_order`), so ids are assigned in the same (repo, path, position) order.
A task that raises or whose worker dies is re-run by Ray (`max_retries`); only a finished task's
output is ever read, and every file index is checked to arrive exactly once.
"""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from codesearch_common.ray_cluster import RayConfig, connect, data_context, worker_count
from .csvio import write_functions
from .extract import ExtractConfig, ExtractStats, assemble_rows, discover_files, ok_repos, process_file
from .files import SourceFile

def extract_batch(batch: dict, fn: Callable = process_file) -> dict:
    """Ray task: extract a chunk of files; each result is pickled whole (records, skip reason, counts)."""
    out = [pickle.dumps(fn(pickle.loads(src))) for src in batch["src"]]
    return {"i": np.asarray(batch["i"], np.int64), "result": np.array(out, dtype=object)}


def file_items(files: list[SourceFile]) -> list[dict]:
    """One Ray row per file: its position and the pickled SourceFile (whatever fields it grows)."""
    return [{"i": i, "src": pickle.dumps(s)} for i, s in enumerate(files)]


def stream_results(files: list[SourceFile], cfg: ExtractConfig, rcfg: RayConfig, fn: Callable = process_file):
    """Yield process_file's results in input order, computed by Ray tasks (each file exactly once)."""
    ray = connect(rcfg)
    data_context(rcfg)
    if not files:
        return
    ds = ray.data.from_items(file_items(files), override_num_blocks=min(len(files), 4 * worker_count(rcfg)))
    ds = ds.map_batches(extract_batch, fn_kwargs={"fn": fn}, batch_size=max(1, cfg.chunksize), batch_format="numpy",
                        concurrency=worker_count(rcfg),
                        max_retries=rcfg.max_retries, retry_exceptions=True, num_cpus=1)
    expected = 0
    for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
        for i, blob in zip(batch["i"], batch["result"]):
            if int(i) != expected:   # a lost or repeated chunk would show here, not as wrong ids
                raise RuntimeError(f"Ray returned file {int(i)} where file {expected} was due")
            expected += 1
            yield pickle.loads(blob)
    if expected != len(files):
        raise RuntimeError(f"Ray returned {expected} of {len(files)} files")


def iter_rows_ray(repos, cfg: ExtractConfig, stats: ExtractStats, rcfg: RayConfig, fn: Callable = process_file):
    """The single process's functions.csv rows (same ids and order), extracted on Ray."""
    files = discover_files(repos, cfg, stats)
    with tqdm(total=len(files), unit="file", desc="extract (ray)", disable=not cfg.progress) as bar:
        yield from assemble_rows(stream_results(files, cfg, rcfg, fn), repos, stats, bar)


def extract_ray(repos_path: str | Path, out_path: str | Path, cfg: ExtractConfig | None = None,
                rcfg: RayConfig | None = None, fn: Callable = process_file) -> ExtractStats:
    """`extract` on a Ray cluster: the same functions.csv, written atomically; return the counts."""
    cfg, rcfg = cfg or ExtractConfig(), rcfg or RayConfig()
    repos = ok_repos(repos_path)
    stats = ExtractStats()
    write_functions(out_path, iter_rows_ray(repos, cfg, stats, rcfg, fn))
    return stats
