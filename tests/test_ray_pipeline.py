"""The batch pipeline on a local two-node Ray cluster equals the single-process run."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

# one machine: every Ray service and node on the loopback address (Ray's switch for that, despite its name)
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

from codesearch_common.ray_cluster import RayConfig  # noqa: E402
from crawler.manifest import RepoRecord, write_manifest  # noqa: E402
from index import vectors  # noqa: E402
from index.build import build_index  # noqa: E402
from index.manifest import IndexConfig  # noqa: E402
from index.ray_build import batch_offsets, build_index_ray, read_rows  # noqa: E402
from index.searcher import Searcher  # noqa: E402
from index.store import Store  # noqa: E402
from preprocess.csvio import read_functions  # noqa: E402
from preprocess.extract import ExtractConfig, extract, process_file  # noqa: E402
from preprocess.ray_extract import extract_ray  # noqa: E402

STDLIB = Path(json.__file__).parent.parent
QUERIES = ["decode a json document", "escape html text", "parse the string", "encode object to json"]


@pytest.fixture(scope="module")
def cluster():
    """Two nodes of one CPU each on 127.0.0.1, small object stores: the smallest real cluster."""
    args = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
    c = Cluster(initialize_head=True, head_node_args={**args, "include_dashboard": False})
    c.add_node(**args)
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two small standard-library packages as repositories, one broken file among them."""
    tmp = tmp_path_factory.mktemp("corpus")
    broken = tmp / "broken"
    broken.mkdir()
    (broken / "bad.py").write_text("def f(:\n")
    (broken / "util.js").write_text("/** Read a config file. */\nfunction readConfig(path) {\n  return fs.readFileSync(path);\n}\n")
    (broken / "good.py").write_text("def read_config(path):\n    \"\"\"Read a config file.\"\"\"\n    return open(path).read()\n")
    repos = [RepoRecord(name="stdlib/json", source="local", url="file:///json", path=str(STDLIB / "json")),
             RepoRecord(name="stdlib/html", source="local", url="file:///html", path=str(STDLIB / "html")),
             RepoRecord(name="t/broken", source="local", url="file:///broken", path=str(broken))]
    write_manifest(tmp / "repos.jsonl", repos)
    single = tmp / "single.csv"
    stats = extract(tmp / "repos.jsonl", single, ExtractConfig(workers=1, progress=False))
    return tmp, single, stats


def test_ray_extraction_equals_the_single_process(cluster, corpus):
    tmp, single, stats = corpus
    out = tmp / "ray.csv"
    rstats = extract_ray(tmp / "repos.jsonl", out, ExtractConfig(progress=False), RayConfig(workers=2))
    assert out.read_bytes() == single.read_bytes()
    assert (rstats.files, rstats.functions, rstats.skipped, rstats.by_language) == \
        (stats.files, stats.functions, stats.skipped, stats.by_language)
    assert rstats.skipped and stats.functions > 20


def _fail_once(marker: str):
    """A process_file that kills its worker process the first time it runs anywhere in the cluster."""
    def fn(src):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return process_file(src)
        os.close(fd)
        os._exit(1)   # the worker dies midway through its chunk: nothing of it may survive twice
    return fn


def test_a_task_that_fails_once_is_retried_without_duplicates(cluster, corpus):
    tmp, single, _ = corpus
    marker, out = tmp / "failed-once", tmp / "retried.csv"
    extract_ray(tmp / "repos.jsonl", out, ExtractConfig(progress=False, chunksize=2), RayConfig(workers=2),
                fn=_fail_once(str(marker)))
    assert marker.exists()   # the failure did happen
    ids = [r["id"] for r in read_functions(out)]
    assert ids == list(range(len(ids)))
    assert out.read_bytes() == single.read_bytes()


def test_batch_offsets_read_back_every_row(corpus):
    _, single, _ = corpus
    rows = list(read_functions(single))
    got = [r for off, n in batch_offsets(single, 7) for r in read_rows(single, off, n)]
    assert got == rows


def _snapshot(index_dir):
    store = Store(Path(index_dir) / "store.sqlite", readonly=True)
    rows = [dict(r) for b in store.iter_records() for r in b]
    store.close()
    index = vectors.load(Path(index_dir) / "vectors.faiss")
    ids, xb = vectors.reconstruct_all(index)
    order = np.argsort(ids)
    return rows, ids[order], xb[order]


def test_ray_index_equals_the_single_process_build(cluster, corpus, tmp_path):
    _, single, _ = corpus
    cfg = IndexConfig(progress=False, batch_size=16)
    a = build_index(read_functions(single), "hashing", tmp_path / "single", cfg)
    b = build_index_ray(single, "hashing", tmp_path / "ray", IndexConfig(progress=False, batch_size=16),
                        RayConfig(workers=2))
    assert (a["size"], a["model"], a["vectors"]["kind"]) == (b["size"], b["model"], b["vectors"]["kind"])
    rows_a, ids_a, xa = _snapshot(tmp_path / "single")
    rows_b, ids_b, xb = _snapshot(tmp_path / "ray")
    assert rows_a == rows_b and np.array_equal(ids_a, ids_b)
    np.testing.assert_allclose(xa, xb, atol=1e-6)
    sa, sb = Searcher.open(tmp_path / "single"), Searcher.open(tmp_path / "ray")
    for q in QUERIES:
        ha, hb = sa.search(q, k=10), sb.search(q, k=10)
        assert ha.hits and [h.id for h in ha.hits] == [h.id for h in hb.hits]
    sa.close()
    sb.close()


def test_a_ray_build_resumes_a_killed_build_past_its_committed_batches(cluster, corpus, tmp_path):
    from index.checkpoint import partial_dir
    _, single, _ = corpus
    cfg = lambda: IndexConfig(progress=False, batch_size=16, checkpoint_rows=32)  # noqa: E731

    def interrupted():
        for i, r in enumerate(read_functions(single)):
            if i == 40:
                raise KeyboardInterrupt
            yield r
    with pytest.raises(KeyboardInterrupt):
        build_index(interrupted(), "hashing", tmp_path / "ray", cfg())
    assert partial_dir(tmp_path / "ray").exists()
    b = build_index_ray(single, "hashing", tmp_path / "ray", cfg(), RayConfig(workers=2), resume=True)
    assert b["build"]["resumed_from"] == 32 and b["size"] > 40
    build_index(read_functions(single), "hashing", tmp_path / "single", cfg())
    rows_a, ids_a, xa = _snapshot(tmp_path / "single")
    rows_b, ids_b, xb = _snapshot(tmp_path / "ray")
    assert rows_a == rows_b and np.array_equal(ids_a, ids_b)
    np.testing.assert_allclose(xa, xb, atol=1e-6)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
